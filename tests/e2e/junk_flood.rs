//! A stranger floods the device's topics at 50 messages a second while a viewer watches:
//! - junk that is no WebRTC answer (text, broken JSON, oversized, bogus candidates): nothing
//!   is claimed, the watcher keeps its frame rate, and a new viewer still joins in seconds;
//! - answers that look right but do not fit the offer, each claiming the standby session: the
//!   device's cost is bounded, since each next offer waits longer (0.25 s doubling to 8 s).
//!
//! Throughout, the device (the real binary) stays connected to the broker (its retained
//! status never says otherwise) and its memory stays put: RSS grows by less than 8 MiB, and
//! a second round of misfit answers (at the longest back-off by then) adds less than 2 MiB.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support;
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-flood";
const ROOT: &str = "rtcam/cam-flood";

/// An answer that passes the device's shape check but has one media section of the offer's two.
const MISFIT: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
    a=fingerprint:sha-256 AB:CD\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n\
    a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=mid:0\r\na=setup:active\r\n";

/// Floods for `length` at 50 messages/s, always at the current standby session (read from the
/// retained offer); `misfits` sends well-formed misfit answers, else junk. Returns the
/// distinct sessions offered meanwhile.
async fn flood(port: u16, length: Duration, misfits: bool) -> BTreeSet<String> {
    // A client id per round: a second client under the first one's id would kick it off.
    static ROUNDS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let round = ROUNDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let id = format!("flooder-{misfits}-{round}");
    let mut mallory = TestMqtt::connect("127.0.0.1", port, &id).await;
    mallory.subscribe(&format!("{ROOT}/offer")).await;
    let mut sessions = BTreeSet::new();
    let mut current = String::from("none");
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < length {
        while let Ok((_, p)) = mallory.rx.try_recv() {
            if let Some(s) = serde_json::from_slice::<Value>(&p)
                .ok()
                .and_then(|v| v["session"].as_str().map(String::from))
            {
                if sessions.insert(s.clone()) {
                    println!("FLOOD: offer {s} at {:?}", start.elapsed());
                }
                current = s;
            }
        }
        n += 1;
        let s = format!("{ROOT}/session/{current}");
        let viewer = format!("junk-{n}");
        let (topic, payload): (String, Vec<u8>) = match (misfits, n % 5) {
            (true, _) => (
                format!("{s}/answer"),
                json!({"type": "answer", "sdp": MISFIT, "viewer": viewer}).to_string().into(),
            ),
            (false, 0) => (format!("{s}/answer"), b"{not json".to_vec()),
            (false, 1) => (
                format!("{s}/answer"),
                json!({"type": "answer", "sdp": "v=0\r\nhello\r\n", "viewer": viewer}).to_string().into(),
            ),
            (false, 2) => (format!("{s}/answer"), vec![b'x'; 100 * 1024]),
            (false, 3) => (
                format!("{s}/candidate/viewer"),
                json!({"viewer": viewer, "candidate": "candidate:1 1 udp 1 198.18.9.9 9 typ host", "sdpMid": "0"}).to_string().into(),
            ),
            (false, _) => (
                format!("{s}/viewer/{viewer}/answer"),
                json!({"type": "answer", "sdp": "v=0\r\n"}).to_string().into(),
            ),
        };
        mallory
            .publish_with(topic, payload, rumqttc::QoS::AtMostOnce, false)
            .await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sessions
}

fn fps_since(v: &Viewer, from: usize, secs: f64) -> f64 {
    (v.seen.lock().unwrap().decoded.len() - from) as f64 / secs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_junk_neither_keeps_viewers_out_nor_wears_the_device_down() {
    if !support::netns::enter(
        module_path!(),
        "a_flood_of_junk_neither_keeps_viewers_out_nor_wears_the_device_down",
    ) {
        return;
    }
    // mosquitto, as deployed (rumqttd was seen to hold back the retained offers it owed the
    // flooding client while that client published 50 messages a second).
    let broker = support::mosquitto::Mosquitto::start().expect("mosquitto (CI installs it)");
    let port = broker.port;
    let dir = std::env::temp_dir().join(format!("rtcam-flood-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut device = support::process::run_device(&dir, port, DEVICE, "");
    let mut status = TestMqtt::connect("127.0.0.1", port, "status-watch").await;
    status.subscribe(&format!("{ROOT}/status")).await;
    let watcher = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "watcher"), 3)
        .await
        .expect("the watcher joins");
    let pid = device.pid().to_string();
    let rss_before = support::process::proc_stats(&pid).rss_kib;

    // Junk: the watcher keeps playing and a newcomer joins during the flood.
    let before = watcher.seen.lock().unwrap().decoded.len();
    let flooding = tokio::spawn(flood(port, Duration::from_secs(8), false));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let t0 = Instant::now();
    let newcomer = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "newcomer"), 3)
        .await
        .expect("a new viewer joins during the flood");
    let joined = t0.elapsed();
    let offered = flooding.await.unwrap();
    let fps = fps_since(&watcher, before, 8.0);
    println!(
        "FLOOD junk: newcomer connected in {joined:?}; watcher {fps:.1} fps; {} offers",
        offered.len()
    );
    assert!(
        joined < Duration::from_secs(5),
        "joined within 5 s: {joined:?}"
    );
    assert!(
        fps >= 25.0,
        "the watcher kept playing: {fps:.1} fps; {}",
        watcher.counts()
    );
    newcomer.hangup().await;

    // Misfit answers claim every offer and fail: the offers slow down.
    let before = watcher.seen.lock().unwrap().decoded.len();
    let offered = flood(port, Duration::from_secs(10), true).await;
    let fps = fps_since(&watcher, before, 10.0);
    println!(
        "FLOOD misfits: {} offers in 10 s; watcher {fps:.1} fps",
        offered.len()
    );
    assert!(
        offered.len() <= 15,
        "the device made at most ~6 offers in 10 s, not one per answer: {}",
        offered.len()
    );
    assert!(fps >= 25.0, "the watcher kept playing: {fps:.1} fps");
    // A second round, at the longest back-off by now, adds little to what the first left.
    let rss_mid = support::process::proc_stats(&pid).rss_kib;
    let offered = flood(port, Duration::from_secs(10), true).await;
    println!("FLOOD misfits again: {} offers in 10 s", offered.len());
    // Once the flood stops, the next offer (at most 8 s away) is a real viewer's.
    let mut probe = TestMqtt::connect("127.0.0.1", port, "after").await;
    probe.subscribe(&format!("{ROOT}/status")).await;
    probe.subscribe(&format!("{ROOT}/offer")).await;
    assert!(wait_for_offer(&mut probe, ROOT, Duration::from_secs(12))
        .await
        .is_some());
    // Measured with the same viewers as before: the watcher alone.
    let rss_after = support::process::proc_stats(&pid).rss_kib;
    let late = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "late"), 3)
        .await
        .expect("a viewer joins after the flood");
    let mut states = Vec::new();
    while let Ok((_, p)) = status.rx.try_recv() {
        let v: Value = serde_json::from_slice(&p).unwrap_or_default();
        states.push(v["state"].as_str().unwrap_or("?").to_string());
    }
    println!(
        "FLOOD: device RSS {rss_before} KiB before, {rss_mid} KiB after one misfit round, \
         {rss_after} KiB after two; statuses {states:?}"
    );
    assert!(
        states.iter().all(|s| s == "online"),
        "the device stayed on the broker: {states:?}"
    );
    assert!(
        rss_after < rss_before + 8 * 1024 && rss_after < rss_mid + 2 * 1024,
        "the device's memory stayed put: {rss_before} KiB -> {rss_mid} KiB -> {rss_after} KiB"
    );
    late.hangup().await;
    watcher.hangup().await;
    assert!(device.terminate(), "the device stops cleanly");
    std::fs::remove_dir_all(&dir).ok();
}
