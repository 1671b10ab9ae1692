//! The watchdog through a real notify socket: pinged while the capture thread turns and the
//! MQTT task lives, silent (and the status says why) when either stops.

use std::os::unix::net::UnixDatagram;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::Harness;
use crate::systemd::Notifier;

/// Every datagram that arrives within `window`.
fn receive_for(socket: &UnixDatagram, window: Duration) -> Vec<String> {
    let deadline = Instant::now() + window;
    let mut got = Vec::new();
    let mut buf = [0u8; 512];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        socket
            .set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match socket.recv(&mut buf) {
            Ok(n) => got.push(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => break,
        }
    }
    got
}

fn pings(messages: &[String]) -> usize {
    messages
        .iter()
        .filter(|m| m.as_str() == "WATCHDOG=1")
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_watchdog_is_pinged_only_while_capture_and_mqtt_are_alive() {
    let path = std::env::temp_dir().join(format!("rtcam-notify-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let socket = UnixDatagram::bind(&path).unwrap();
    let period = Duration::from_millis(50);
    let stall = Duration::from_millis(300);
    let h = Harness::start_with(2, Some((Notifier::to_path(path.clone()), period, stall)));

    // The capture thread turns: pings keep coming.
    let beats = h.beats.clone();
    let turning = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ticker = {
        let (beats, turning) = (beats.clone(), turning.clone());
        tokio::spawn(async move {
            for _ in 0..400 {
                if turning.load(Ordering::Relaxed) {
                    beats.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };
    let s = socket.try_clone().unwrap();
    let healthy = tokio::task::spawn_blocking(move || receive_for(&s, Duration::from_millis(600)))
        .await
        .unwrap();
    assert!(
        healthy.iter().any(|m| m.starts_with("READY=1")),
        "{healthy:?}"
    );
    assert!(pings(&healthy) >= 5, "pinged while healthy: {healthy:?}");

    // The thread wedges: after the stall limit the pings stop and the status says why.
    turning.store(false, Ordering::Relaxed);
    let s = socket.try_clone().unwrap();
    let stalled = tokio::task::spawn_blocking(move || receive_for(&s, Duration::from_millis(900)))
        .await
        .unwrap();
    let at = stalled
        .iter()
        .position(|m| m.contains("unhealthy") && m.contains("video capture thread"))
        .unwrap_or_else(|| panic!("an unhealthy status: {stalled:?}"));
    assert_eq!(
        pings(&stalled[at..]),
        0,
        "no ping once stalled: {stalled:?}"
    );

    // It turns again: pings resume.
    turning.store(true, Ordering::Relaxed);
    let s = socket.try_clone().unwrap();
    let again = tokio::task::spawn_blocking(move || receive_for(&s, Duration::from_millis(400)))
        .await
        .unwrap();
    assert!(pings(&again) >= 3, "pinged again: {again:?}");

    // The MQTT task ends (its channel closes): the pings stop although capture turns.
    let Harness {
        mqtt, stop, task, ..
    } = h;
    drop(mqtt);
    let s = socket.try_clone().unwrap();
    let orphaned = tokio::task::spawn_blocking(move || receive_for(&s, Duration::from_millis(400)))
        .await
        .unwrap();
    let at = orphaned
        .iter()
        .position(|m| m.contains("MQTT task has ended"))
        .unwrap_or_else(|| panic!("an unhealthy status: {orphaned:?}"));
    assert_eq!(pings(&orphaned[at..]), 0, "{orphaned:?}");

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    ticker.abort();
    let _ = std::fs::remove_file(&path);
}
