//! Messages far bigger than anything the protocol allows, on every topic the device subscribes
//! to, retained or not, at QoS 0 and 1: the device stays connected (its status never turns
//! offline), the viewer watching keeps playing, and a new viewer still joins. Against
//! mosquitto with the shipped limit (`max_packet_size 1048576`: it delivers up to 1 MiB and
//! disconnects the publisher of anything bigger) and against the embedded broker (which
//! delivers up to 256 KiB). Before `mqtt.max_message_kib`, one retained 300 KiB message kept
//! the device flapping offline/online forever. The device is the real binary, and its memory
//! stays put (RSS grows by less than 8 MiB over the flood).

use std::time::{Duration, Instant};

use rumqttc::QoS;

use crate::support;
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

/// A JSON answer `size` bytes long (so it is not refused for being something else).
fn answer_of(size: usize) -> Vec<u8> {
    let head = r#"{"type":"answer","viewer":"hostile","sdp":"v=0 "#;
    let mut v = head.as_bytes().to_vec();
    v.resize(size.saturating_sub(2).max(v.len()), b'a');
    v.extend_from_slice(br#""}"#);
    v
}

/// Floods `device` (process `pid`) on the broker at `port` with messages of each of `sizes`
/// bytes while a viewer watches, then checks nothing was disturbed.
async fn flood(port: u16, device: &str, pid: u32, sizes: &[usize]) {
    let root = format!("rtcam/{device}");
    let watcher = Viewer::join_connected(ViewerOptions::new(port, device, "watcher"), 3)
        .await
        .expect("the watcher joins");
    assert!(
        watcher
            .wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
            .await,
        "the watcher plays"
    );
    let mut status = TestMqtt::connect("127.0.0.1", port, "status-watch").await;
    status.subscribe(&format!("{root}/status")).await;
    let mut hostile = TestMqtt::connect("127.0.0.1", port, "hostile").await;
    hostile.subscribe(&format!("{root}/offer")).await;
    hostile.subscribe(&format!("{root}/status")).await;
    let offer = wait_for_offer(&mut hostile, &root, Duration::from_secs(20))
        .await
        .expect("standby offer");
    let standby = offer["session"].as_str().expect("session").to_string();
    // The retained status the watcher was told at subscribe time: drained.
    while status
        .next_matching(Duration::from_millis(300), |_, _| true)
        .await
        .is_some()
    {}

    let rss_before = support::process::proc_stats(&pid.to_string()).rss_kib;
    let start = Instant::now();
    let decoded_before = watcher.seen.lock().unwrap().decoded.len();
    let topics = [
        format!("{root}/session/{standby}/answer"),
        format!("{root}/session/deadbeef/candidate/viewer"),
        format!("{root}/session/{standby}/hangup"),
    ];
    let mut sent = 0;
    for &size in sizes {
        for topic in &topics {
            for (qos, retain) in [(QoS::AtMostOnce, true), (QoS::AtLeastOnce, false)] {
                hostile
                    .publish_with(topic.clone(), answer_of(size), qos, retain)
                    .await;
                sent += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    println!("OVERSIZED {device}: {sent} messages of {sizes:?} bytes sent");
    tokio::time::sleep(Duration::from_secs(5)).await;
    let secs = start.elapsed().as_secs_f64();
    let fps = (watcher.seen.lock().unwrap().decoded.len() - decoded_before) as f64 / secs;
    let mut changes = Vec::new();
    while let Some((_, p)) = status
        .next_matching(Duration::from_millis(200), |_, _| true)
        .await
    {
        changes.push(String::from_utf8_lossy(&p).into_owned());
    }
    let rss_after = support::process::proc_stats(&pid.to_string()).rss_kib;
    println!(
        "OVERSIZED {device}: watcher {fps:.1} fps over {secs:.1} s; status changes {changes:?}; \
         RSS {rss_before} -> {rss_after} KiB"
    );
    assert!(
        rss_after < rss_before + 8 * 1024,
        "the device's memory stayed put: {rss_before} KiB -> {rss_after} KiB"
    );
    assert!(
        changes.iter().all(|c| !c.contains("offline")),
        "the device never went offline: {changes:?}"
    );
    assert!(
        fps >= 25.0,
        "the watcher kept playing: {fps:.1} fps; {}",
        watcher.counts()
    );
    // A viewer joining now meets the retained junk (on the standby's own answer topic too).
    let t0 = Instant::now();
    let late = Viewer::join_connected(ViewerOptions::new(port, device, "late"), 3)
        .await
        .expect("a new viewer joins after the flood");
    let joined = t0.elapsed();
    println!("OVERSIZED {device}: a new viewer connected in {joined:?}");
    assert!(
        joined < Duration::from_secs(5),
        "joined within 5 s: {joined:?}"
    );
    assert!(
        late.wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
            .await,
        "the new viewer plays: {}",
        late.counts()
    );
    late.hangup().await;
    watcher.hangup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_messages_never_disconnect_the_device() {
    if !support::netns::enter(
        module_path!(),
        "oversized_messages_never_disconnect_the_device",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtcam-oversized-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broker = support::mosquitto::Mosquitto::start().expect("mosquitto (CI installs it)");
    let mut device = support::process::run_device(&dir, broker.port, "cam-big-mosq", "");
    // 300 KiB and 1000 KiB reach the device; 2 MiB is refused by mosquitto.
    let sizes = [300 << 10, 1000 << 10, 2 << 20];
    flood(broker.port, "cam-big-mosq", device.pid(), &sizes).await;
    assert!(device.terminate(), "the device stops cleanly");

    let port = support::embedded_broker();
    let mut device = support::process::run_device(&dir, port, "cam-big-embedded", "");
    // 255 KiB reaches the device; 300 KiB is refused by rumqttd (256 KiB).
    let sizes = [255 << 10, 300 << 10];
    flood(port, "cam-big-embedded", device.pid(), &sizes).await;
    assert!(device.terminate(), "the device stops cleanly");
    std::fs::remove_dir_all(&dir).ok();
}
