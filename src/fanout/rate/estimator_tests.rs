use super::*;

const S: Duration = Duration::from_secs(1);
const RTT: Option<Duration> = Some(Duration::from_millis(20));

fn lost(percent: f64) -> u8 {
    (percent / 100.0 * 256.0).round().min(255.0) as u8
}

/// Reports once a second for `secs` seconds, the viewer receiving what is sent.
fn run(e: &mut Estimator, t: &mut Instant, secs: u32, loss: f64, rtt: Option<Duration>) {
    for _ in 0..secs {
        *t += S;
        let sent = e.estimate_bps();
        e.on_receiver_report(*t, lost(loss), rtt, sent);
    }
}

#[test]
fn grows_about_8_percent_a_second_without_loss() {
    let mut e = Estimator::new(500_000, 50_000, 2_000_000);
    let mut t = Instant::now();
    run(&mut e, &mut t, 10, 0.0, RTT);
    let grown = f64::from(e.estimate_bps()) / 500_000.0;
    assert!((2.0..2.3).contains(&grown), "{grown}");
    run(&mut e, &mut t, 60, 0.0, RTT);
    assert_eq!(e.estimate_bps(), 2_000_000, "stops at the ceiling");
}

#[test]
fn holds_between_2_and_10_percent_and_cuts_by_half_the_loss_above() {
    let mut e = Estimator::new(1_000_000, 50_000, 2_000_000);
    let mut t = Instant::now();
    run(&mut e, &mut t, 5, 5.0, RTT);
    assert_eq!(e.estimate_bps(), 1_000_000);
    // 30 % lost of 1 M: half the loss (850 k) or 95 % of what arrived (665 k).
    run(&mut e, &mut t, 1, 30.0, RTT);
    let cut = e.estimate_bps();
    assert!((660_000..=670_000).contains(&cut), "{cut}");
    run(&mut e, &mut t, 30, 60.0, RTT);
    assert_eq!(e.estimate_bps(), 50_000, "never below the floor");
}

#[test]
fn three_percent_random_loss_does_not_collapse_the_estimate() {
    let mut e = Estimator::new(1_500_000, 100_000, 1_500_000);
    let mut t = Instant::now();
    run(&mut e, &mut t, 60, 3.0, RTT);
    assert_eq!(e.estimate_bps(), 1_500_000);
}

#[test]
fn a_cut_starts_from_what_was_sent_and_growth_from_what_was_carried() {
    let mut e = Estimator::new(1_500_000, 50_000, 1_500_000);
    let t0 = Instant::now();
    // The encoder only needed 200 kbit/s; half of it was lost: 100 k arrived.
    e.on_receiver_report(t0 + S, 128, RTT, 200_000);
    assert_eq!(e.estimate_bps(), 95_000);
    // A quiet scene: 60 kbit/s sent, no loss: growth stops at 1.5 x that (+10 k).
    let mut t = t0 + S;
    for _ in 0..20 {
        t += S;
        e.on_receiver_report(t, 0, RTT, 60_000);
    }
    assert_eq!(
        e.estimate_bps(),
        100_000,
        "grown to what was carried, no further"
    );
    // ... and not cut for it either.
    e.on_receiver_report(t + S, 0, RTT, 10_000);
    assert_eq!(e.estimate_bps(), 100_000);
}

#[test]
fn one_congestion_event_is_cut_once() {
    let mut e = Estimator::new(1_000_000, 50_000, 2_000_000);
    let t = Instant::now();
    e.on_receiver_report(t, 128, RTT, 1_000_000);
    e.on_receiver_report(t + Duration::from_millis(100), 128, RTT, 1_000_000);
    assert_eq!(e.estimate_bps(), 475_000);
    e.on_receiver_report(t + S, 128, RTT, 1_000_000);
    assert_eq!(e.estimate_bps(), 356_250);
}

#[test]
fn a_growing_queue_holds_then_cuts_before_any_loss() {
    let mut e = Estimator::new(1_000_000, 50_000, 2_000_000);
    let mut t = Instant::now();
    run(&mut e, &mut t, 3, 0.0, Some(Duration::from_millis(20)));
    let before = e.estimate_bps();
    run(&mut e, &mut t, 2, 0.0, Some(Duration::from_millis(80)));
    assert_eq!(e.estimate_bps(), before, "hold at +60 ms");
    run(&mut e, &mut t, 1, 0.0, Some(Duration::from_millis(180)));
    assert_eq!(
        e.estimate_bps(),
        (f64::from(before) * 0.85) as u32,
        "cut at +160 ms"
    );
    assert_eq!(e.observed().rtt, Some(Duration::from_millis(180)));
}

#[test]
fn remb_caps_only_well_below_what_is_sent_and_after_warming_up() {
    let mut e = Estimator::new(1_000_000, 50_000, 2_000_000);
    let t0 = Instant::now();
    e.on_receiver_report(t0, 0, RTT, 800_000);
    let start = e.estimate_bps();
    // A browser's first REMBs start from a trickle: ignored for 5 s.
    e.on_remb(t0 + S, 100_000, 800_000);
    assert_eq!(e.estimate_bps(), start);
    let t = t0 + REMB_WARMUP;
    // A static scene: 150 kbit/s sent, REMB follows it down to 140 k: no news.
    e.on_remb(t, 140_000, 150_000);
    assert_eq!(e.estimate_bps(), start);
    // 800 kbit/s sent, the viewer says 400 k.
    e.on_remb(t, 400_000, 800_000);
    assert_eq!(e.estimate_bps(), 400_000);
    assert_eq!(e.observed().remb_bps, Some(400_000));
}

#[test]
fn absurd_input_stays_in_range() {
    let mut e = Estimator::new(1_000_000, 100_000, 1_500_000);
    let t = Instant::now();
    e.on_receiver_report(t, 0, RTT, 1_000_000);
    let later = t + REMB_WARMUP;
    e.on_remb(later, u64::MAX, u32::MAX);
    e.on_remb(later, 0, u32::MAX);
    assert_eq!(e.estimate_bps(), 100_000);
    e.on_receiver_report(t, 255, Some(Duration::from_secs(3600)), u32::MAX);
    e.on_receiver_report(t + Duration::from_secs(3600), 0, None, u32::MAX);
    let est = e.estimate_bps();
    assert!((100_000..=1_500_000).contains(&est), "{est}");
    // Reports out of order in time do not panic or jump.
    e.on_receiver_report(t, 0, Some(Duration::ZERO), 0);
    assert!(e.estimate_bps() <= 1_500_000);
}

#[test]
fn a_lowest_rtt_measured_through_a_full_queue_is_forgotten() {
    let mut e = Estimator::new(500_000, 50_000, 2_000_000);
    let mut t = Instant::now();
    // The first 5 s all go through a 300 ms queue; then the queue drains.
    run(&mut e, &mut t, 5, 0.0, Some(Duration::from_millis(300)));
    run(&mut e, &mut t, 12, 0.0, Some(Duration::from_millis(5)));
    let before = e.estimate_bps();
    // A queue of 150 ms now counts (against 5 ms, not 300).
    run(&mut e, &mut t, 1, 0.0, Some(Duration::from_millis(155)));
    assert!(e.estimate_bps() < before, "cut for the queue");
}

#[test]
fn a_queue_in_transport_feedback_holds_growth_then_cuts_to_what_arrived() {
    let mut e = Estimator::new(700_000, 50_000, 2_000_000);
    let t0 = Instant::now();
    e.on_receiver_report(t0, 0, RTT, 700_000);
    let before = e.estimate_bps();
    // A queue of 30 ms: the next report does not grow the estimate.
    e.on_queue_delay(
        t0 + S * 7 / 10,
        Duration::from_millis(30),
        Some(640_000),
        None,
    );
    e.on_receiver_report(t0 + S, 0, RTT, 700_000);
    assert_eq!(e.estimate_bps(), before);
    assert_eq!(e.observed().queue, Some(Duration::from_millis(30)));
    // 70 ms: cut to 85 % of the 600 kbit/s that arrived.
    e.on_queue_delay(
        t0 + S + S / 10,
        Duration::from_millis(70),
        Some(600_000),
        Some(700_000),
    );
    assert_eq!(e.estimate_bps(), 510_000);
    // The queue is still draining 100 ms later: no second cut that soon.
    e.on_queue_delay(
        t0 + S + S / 5,
        Duration::from_millis(65),
        Some(600_000),
        None,
    );
    assert_eq!(e.estimate_bps(), 510_000);
    // Drained: growth resumes, multiplicative up to 90 % of the 600 k level, additive after.
    let mut t = t0 + 2 * S;
    e.on_queue_delay(t, Duration::ZERO, Some(510_000), None);
    for _ in 0..5 {
        t += S;
        e.on_receiver_report(t, 0, RTT, e.estimate_bps());
    }
    let grown = e.estimate_bps();
    // 510 k → 595 k (two seconds at 8 %), then about 3 % a second.
    assert!((640_000..=690_000).contains(&grown), "{grown}");
}

#[test]
fn a_queue_without_a_known_rate_cuts_by_15_percent() {
    let mut e = Estimator::new(400_000, 50_000, 2_000_000);
    let t0 = Instant::now();
    e.on_queue_delay(t0, Duration::from_millis(100), None, None);
    assert_eq!(e.estimate_bps(), 340_000);
    // A rate that arrived above the estimate does not raise it.
    e.on_queue_delay(t0 + 2 * S, Duration::from_millis(100), Some(900_000), None);
    assert_eq!(e.estimate_bps(), 340_000);
}

#[test]
fn a_delay_spike_while_the_sender_sends_little_cuts_15_percent_not_to_what_arrived() {
    // 1.5 Mbit/s estimated, but the encoder (starved of CPU) sent 200 kbit/s, which arrived,
    // late: the path showed nothing of its rate, so no cut to 170 kbit/s.
    let mut e = Estimator::new(1_500_000, 50_000, 2_000_000);
    let t0 = Instant::now();
    e.on_receiver_report(t0, 0, RTT, 1_500_000);
    let before = f64::from(e.estimate_bps());
    e.on_queue_delay(
        t0 + S / 10,
        Duration::from_millis(90),
        Some(200_000),
        Some(210_000),
    );
    assert_eq!(e.estimate_bps(), (before * DELAY_CUT_TO) as u32);
    // Back to normal: it grows again (8 % a second), no creeping from a bogus low level.
    let mut t = t0 + S / 10;
    for _ in 0..3 {
        t += S;
        e.on_receiver_report(t, 0, RTT, e.estimate_bps());
    }
    assert!(f64::from(e.estimate_bps()) > before, "{}", e.estimate_bps());
    // A sender that filled the path: the cut goes to 85 % of what arrived, as before.
    let mut e = Estimator::new(1_500_000, 50_000, 2_000_000);
    e.on_receiver_report(t0, 0, RTT, 1_500_000);
    e.on_queue_delay(
        t0 + S / 10,
        Duration::from_millis(90),
        Some(600_000),
        Some(1_400_000),
    );
    assert_eq!(e.estimate_bps(), 510_000);
    // So did a quiet sender whose packets arrived at half the rate they left.
    let mut e = Estimator::new(1_500_000, 50_000, 2_000_000);
    e.on_receiver_report(t0, 0, RTT, 1_500_000);
    e.on_queue_delay(
        t0 + S / 10,
        Duration::from_millis(90),
        Some(150_000),
        Some(300_000),
    );
    assert_eq!(e.estimate_bps(), 127_500);
}

#[test]
fn an_rtt_spike_while_the_sender_sends_little_cuts_15_percent_of_the_estimate() {
    let mut e = Estimator::new(1_500_000, 50_000, 2_000_000);
    let mut t = Instant::now();
    // A quiet scene: 180 kbit/s of a 1.5 Mbit/s estimate, 20 ms round trips.
    for _ in 0..3 {
        t += S;
        e.on_receiver_report(t, 0, RTT, 180_000);
    }
    let before = f64::from(e.estimate_bps());
    // One report through a starved CPU: 150 ms.
    t += S;
    e.on_receiver_report(t, 0, Some(Duration::from_millis(150)), 180_000);
    assert_eq!(e.estimate_bps(), (before * DELAY_CUT_TO) as u32);
    // A sender that filled its estimate: the cut is from what it sent, as before.
    let mut e = Estimator::new(500_000, 50_000, 2_000_000);
    let mut t = Instant::now();
    run(&mut e, &mut t, 3, 0.0, RTT);
    t += S;
    e.on_receiver_report(t, 0, Some(Duration::from_millis(150)), 600_000);
    assert_eq!(e.estimate_bps(), 510_000);
}
