//! End to end through the embedded broker: the test viewer finds the device over MQTT,
//! answers, trickles, and decodes ≥ 90 % of the frames sent in a 5 s window.

mod common;

use std::time::{Duration, Instant};

use common::viewer::{window_report, Viewer, ViewerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_decodes_stream_via_embedded_broker() {
    if !common::netns::enter("viewer_decodes_stream_via_embedded_broker") {
        return;
    }
    let port = common::embedded_broker();
    let device = common::Device::start(common::device_config(port, "cam-embedded"));
    let viewer = Viewer::join(ViewerOptions::new(port, "cam-embedded", "viewer-a")).await.expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await, "viewer connected");
    // Let the stream settle, then measure a 5 s window.
    assert!(viewer.wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty()).await, "first picture");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let r = window_report(&viewer.seen.lock().unwrap(), from, Duration::from_secs(5), 640, 480);
    println!("embedded broker window: {r:?}");
    println!(
        "LATENCY capture->decoded p50={} ms p95={} ms ({} frames)",
        r.latency_p50_ms, r.latency_p95_ms, r.decoded
    );
    assert!((120..=180).contains(&r.sent), "about 150 frames sent in 5 s at 30 fps: {r:?}");
    assert!(r.decoded as f64 >= 0.9 * r.sent as f64, "≥ 90 % decoded: {r:?}");
    assert!(r.increasing, "frame numbers increase: {r:?}");
    assert!(r.sizes_ok, "640x480 pictures: {r:?}");
    assert!((225..=275).contains(&r.audio_packets), "~50 Opus packets/s: {r:?}");
    viewer.hangup().await;
    device.stop().await;
}
