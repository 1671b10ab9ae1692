use super::*;

fn limits() -> Limits {
    Limits {
        start_bps: 1_000_000,
        min_bps: 50_000,
        max_bps: 1_500_000,
        temporal_layers: 3,
        pixels: 640 * 480,
        fps: 30,
        audio_bps: 0,
        scalable: false,
        second_stream: false,
    }
}

const S: Duration = Duration::from_secs(1);
const RTT: Option<Duration> = Some(Duration::from_millis(10));

/// `rate` sent `kbps` to the viewer for a second, which then reports `lost` (of 256).
fn second(rate: &ViewerRate, now: &mut Instant, kbps: usize, lost: u8) {
    *now += S;
    rate.note_sent(kbps * 1000 / 8);
    rate.receiver_report(*now, lost, RTT);
}

#[test]
fn a_lossy_viewer_is_thinned_and_the_other_keeps_the_rate() {
    let rc = RateControl::new(limits(), true);
    let mut now = Instant::now();
    let free = rc.join("free", now);
    let capped = rc.join("capped", now);
    for _ in 0..8 {
        second(&free, &mut now.clone(), 1000, 0);
        second(&capped, &mut now, 300, 100);
    }
    let plan = rc.plan(now);
    assert_eq!(capped.max_layer(), 0, "{plan:?}");
    assert_eq!(free.max_layer(), 2);
    let snap = rc.snapshot();
    assert_eq!(snap.viewers.len(), 2);
    let c = snap.viewers.iter().find(|v| v.session == "capped").unwrap();
    assert!(c.observed.loss > 0.3 && c.estimate_bps < 200_000, "{c:?}");
    assert_eq!(c.fps, 7.5);
    assert_eq!(c.observed.rtt, RTT);
    drop(capped);
    assert_eq!(rc.snapshot().viewers.len(), 1, "a dropped handle leaves");
}

#[test]
fn not_adaptive_keeps_the_start_rate_and_every_layer() {
    let rc = RateControl::new(limits(), false);
    let mut now = Instant::now();
    let v = rc.join("v", now);
    for _ in 0..5 {
        second(&v, &mut now, 1000, 200);
    }
    let plan = rc.plan(now);
    assert_eq!((plan.encoder_bps, plan.frame_divisor), (1_000_000, 1));
    assert_eq!(v.max_layer(), 2);
    let snap = rc.snapshot();
    assert!(!snap.adaptive);
    assert!(snap.viewers[0].estimate_bps < 500_000, "still estimated");
}

#[test]
fn layer_shares_are_measured_from_the_encoder_output() {
    let rc = RateControl::new(limits(), true);
    for i in 0..400u32 {
        let tid = [0u8, 2, 1, 2][(i % 4) as usize];
        rc.note_encoded(tid, if tid == 0 { 6000 } else { 2000 });
    }
    let shares = RateControl::shares(&rc.lock());
    assert!((shares.upto[0] - 0.5).abs() < 0.03, "{shares:?}");
    assert!((shares.upto[1] - 0.667).abs() < 0.03, "{shares:?}");
    assert!((shares.upto[2] - 1.0).abs() < 1e-9, "{shares:?}");
}

#[test]
fn only_viewers_that_report_count_and_silence_is_congestion() {
    let rc = RateControl::new(limits(), true);
    let mut now = Instant::now();
    let standby = rc.join("standby", now);
    assert!(
        rc.snapshot().viewers.is_empty(),
        "a standby peer is not a viewer"
    );
    let v = rc.join("v", now);
    second(&v, &mut now, 1000, 0);
    assert_eq!(rc.snapshot().viewers.len(), 1);
    let before = rc.snapshot().viewers[0].estimate_bps;
    // Silent for 6 s: cut about 12.5 % a second after the first 3.
    for _ in 0..60 {
        now += Duration::from_millis(100);
        rc.plan(now);
    }
    let after = rc.snapshot().viewers[0].estimate_bps;
    assert!(
        after < before * 3 / 4 && after > before / 3,
        "{before} -> {after}"
    );
    drop(standby);
}

#[test]
fn a_report_claiming_more_loss_than_the_feedback_showed_is_not_believed() {
    let rc = RateControl::new(limits(), true);
    let mut now = Instant::now();
    let v = rc.join("v", now);
    second(&v, &mut now, 1000, 0);
    let before = v.estimate_and_rtt().0;
    // 100 packets sent; the viewer's feedback has 98 of them, its report says 89 % lost
    // (webrtc-rs' miscount across a sequence-number wrap).
    let seqs: Vec<u16> = (0..100).map(|_| v.stamp_transport(now, 1200)).collect();
    let arrivals = (0..100)
        .map(|i| (i % 50 != 7).then_some(i64::from(i) * 10_000))
        .collect();
    v.transport_feedback(
        now,
        &Feedback {
            base_seq: seqs[0],
            arrivals,
        },
    );
    second(&v, &mut now, 1000, 228);
    let after = v.estimate_and_rtt().0;
    assert!(after >= before, "{before} → {after}");
    assert_eq!(rc.snapshot().viewers[0].observed.loss, 5.0 / 256.0);
    // Without feedback the report counts as it is.
    second(&v, &mut now, 1000, 228);
    assert!(v.estimate_and_rtt().0 < after / 2);
}
