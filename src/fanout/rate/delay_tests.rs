use super::*;

const MS: Duration = Duration::from_millis(1);

/// Sends `n` packets of `bytes`, `gap` apart from `*t`; returns their sequence numbers and
/// send times.
fn send(
    d: &mut TransportDelay,
    t: &mut Instant,
    n: usize,
    bytes: usize,
    gap: Duration,
) -> Vec<(u16, Instant)> {
    (0..n)
        .map(|_| {
            let at = *t;
            *t += gap;
            (d.stamp(at, bytes), at)
        })
        .collect()
}

/// Feedback for `sent`, each arriving `offset_us + delay(i)` after it was sent (viewer clock
/// = our clock + `offset_us`).
fn feedback(
    sent: &[(u16, Instant)],
    epoch: Instant,
    offset_us: i64,
    delay: impl Fn(usize) -> Option<Duration>,
) -> Feedback {
    Feedback {
        base_seq: sent[0].0,
        arrivals: sent
            .iter()
            .enumerate()
            .map(|(i, (_, at))| {
                delay(i).map(|d| (at.duration_since(epoch) + d).as_micros() as i64 + offset_us)
            })
            .collect(),
    }
}

#[test]
fn a_steady_path_has_no_queue_and_a_building_queue_shows_every_feedback() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    let offset = -7_000_000_000; // the viewer's clock is far from ours: it does not matter
    for _ in 0..10 {
        let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
        let s = d
            .on_feedback(t, &feedback(&sent, epoch, offset, |_| Some(20 * MS)))
            .unwrap();
        assert_eq!(s.queue, Duration::ZERO);
    }
    // Now each feedback's packets wait 15 ms longer than the last one's.
    let mut queues = Vec::new();
    for k in 1..=4u32 {
        let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
        let s = d
            .on_feedback(
                t,
                &feedback(&sent, epoch, offset, |_| Some(20 * MS + 15 * MS * k)),
            )
            .unwrap();
        queues.push(s.queue.as_millis());
    }
    assert_eq!(queues, [15, 30, 45, 60]);
}

#[test]
fn one_burst_does_not_read_as_a_queue() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    d.on_feedback(t, &feedback(&sent, epoch, 0, |_| Some(20 * MS)));
    // A keyframe: the last half of the packets wait behind the first.
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    let s = d
        .on_feedback(
            t,
            &feedback(&sent, epoch, 0, |i| Some(20 * MS + 10 * MS * i as u32)),
        )
        .unwrap();
    assert_eq!(s.queue, Duration::ZERO);
}

#[test]
fn the_acknowledged_rate_is_what_arrived() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    // 1250-byte packets every 5 ms: 2 Mbit/s sent; every other one lost: 1 Mbit/s arrived.
    let sent = send(&mut d, &mut t, 100, 1250, 5 * MS);
    let s = d
        .on_feedback(
            t,
            &feedback(&sent, epoch, 0, |i| (i % 2 == 0).then_some(20 * MS)),
        )
        .unwrap();
    let acked = s.acked_bps.unwrap();
    assert!((990_000..=1_030_000).contains(&acked), "{acked}");
    // What was sent meanwhile counts the lost packets too.
    let sent_bps = s.sent_bps.unwrap();
    assert!((1_950_000..=2_050_000).contains(&sent_bps), "{sent_bps}");
    // Too little arrived to tell a rate.
    let mut d = TransportDelay::new(epoch);
    let mut t = epoch;
    let sent = send(&mut d, &mut t, 3, 1250, 5 * MS);
    let s = d
        .on_feedback(t, &feedback(&sent, epoch, 0, |_| Some(20 * MS)))
        .unwrap();
    assert_eq!(s.acked_bps, None);
}

#[test]
fn unknown_repeated_and_lost_packets_are_not_counted() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    // Nothing arrived: no sample.
    assert_eq!(d.on_feedback(t, &feedback(&sent, epoch, 0, |_| None)), None);
    // Sequence numbers we never sent: no sample.
    let stranger = Feedback {
        base_seq: sent[0].0.wrapping_add(5000),
        arrivals: vec![Some(1); 100],
    };
    assert_eq!(d.on_feedback(t, &stranger), None);
    let fb = feedback(&sent, epoch, 0, |_| Some(20 * MS));
    assert!(d.on_feedback(t, &fb).is_some());
    // The same feedback again acknowledges nothing new.
    assert_eq!(d.on_feedback(t, &fb), None);
    // A huge, absurd feedback reads at most the log.
    let flood = Feedback {
        base_seq: 0,
        arrivals: vec![Some(i64::MAX); 65_535],
    };
    assert_eq!(d.on_feedback(t, &flood), None);
}

#[test]
fn a_clock_jump_restarts_the_baseline() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    d.on_feedback(t, &feedback(&sent, epoch, 0, |_| Some(20 * MS)));
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    let s = d
        .on_feedback(t, &feedback(&sent, epoch, 60_000_000, |_| Some(20 * MS)))
        .unwrap();
    assert_eq!(
        s.queue,
        Duration::ZERO,
        "a minute later on the viewer's clock"
    );
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    let s = d
        .on_feedback(t, &feedback(&sent, epoch, 60_000_000, |_| Some(50 * MS)))
        .unwrap();
    assert_eq!(s.queue, 30 * MS, "and measured from there");
}

#[test]
fn the_base_is_forgotten_after_its_window() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    d.on_feedback(t, &feedback(&sent, epoch, 0, |_| Some(20 * MS)));
    // The path got longer (a new route): after the window, 80 ms is the new base.
    let mut last = Duration::MAX;
    for _ in 0..120 {
        let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
        last = d
            .on_feedback(t, &feedback(&sent, epoch, 0, |_| Some(80 * MS)))
            .unwrap()
            .queue;
    }
    assert_eq!(last, Duration::ZERO);
}

#[test]
fn sequence_numbers_wrap() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    d.next_seq = u16::MAX - 3;
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    assert_eq!(sent[4].0, 0);
    let s = d.on_feedback(t, &feedback(&sent, epoch, 0, |_| Some(20 * MS)));
    assert!(s.is_some());
}

#[test]
fn loss_is_counted_once_per_packet() {
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    assert_eq!(d.take_loss(), None, "no feedback yet");
    let sent = send(&mut d, &mut t, 10, 1000, 10 * MS);
    let fb = feedback(&sent, epoch, 0, |i| (i % 5 != 0).then_some(20 * MS));
    d.on_feedback(t, &fb);
    d.on_feedback(t, &fb); // repeated: nothing new
    assert_eq!(d.take_loss(), Some((2, 10)));
    // One of the two shows up in a later feedback after all.
    let late = Feedback {
        base_seq: sent[5].0,
        arrivals: vec![Some(30_000)],
    };
    d.on_feedback(t, &late);
    assert_eq!(d.take_loss(), Some((0, 1)));
    assert_eq!(d.take_loss(), None);
}

#[test]
fn what_a_quiet_sender_sent_meanwhile_is_its_own_rate() {
    // 200 kbit/s, with a delay spike at the end.
    let epoch = Instant::now();
    let mut t = epoch;
    let mut d = TransportDelay::new(epoch);
    let sent = send(&mut d, &mut t, 20, 1250, 50 * MS);
    let s = d
        .on_feedback(
            t,
            &feedback(&sent, epoch, 0, |i| {
                Some(if i > 15 { 120 * MS } else { 20 * MS })
            }),
        )
        .unwrap();
    let sent_bps = s.sent_bps.unwrap();
    assert!((190_000..=260_000).contains(&sent_bps), "{sent_bps}");
}
