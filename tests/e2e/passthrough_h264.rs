//! H.264 from a camera that encodes on its own goes to viewers untouched: a recorded stream
//! (tests/data, made by `cargo run --example make_fixtures`) is played through the H.264
//! source trait, and the test viewer decodes exactly the recorded access units.

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::time::{Duration, Instant};

use crate::support;

use support::viewer::{Viewer, ViewerOptions};

const DEVICE: &str = "cam-passthrough";
const FIXTURE: &str = "tests/data/synthetic-320x240-15fps.h264";
const FIXTURE_FRAMES: u32 = 90;

fn hash(au: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    au.hash(&mut h);
    h.finish()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recorded_h264_is_passed_through_and_decodes() {
    if !support::netns::enter(
        module_path!(),
        "recorded_h264_is_passed_through_and_decodes",
    ) {
        return;
    }
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE);
    let recorded: HashSet<u64> =
        rtcam::h264::split_access_units(&std::fs::read(&path).expect("fixture"))
            .iter()
            .map(|au| hash(au))
            .collect();
    assert_eq!(
        recorded.len(),
        FIXTURE_FRAMES as usize,
        "90 distinct access units"
    );

    let port = support::embedded_broker();
    let mut config = support::device_config(port, DEVICE);
    config.video.source = rtcam::config::VideoSourceKind::H264file;
    config.video.file = path.display().to_string();
    config.video.width = 320;
    config.video.height = 240;
    config.video.fps = 15;
    let device = support::Device::start(config);

    let viewer = Viewer::join(ViewerOptions::new(port, DEVICE, "viewer-passthrough"))
        .await
        .expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        viewer
            .wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
            .await,
        "first picture"
    );
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let (window, undecodable): (Vec<_>, usize) = {
        let seen = viewer.seen.lock().unwrap();
        let window = seen
            .decoded
            .iter()
            .filter(|d| d.at >= from)
            .map(|d| (d.frame, d.width, d.height, d.au_hash))
            .collect();
        (window, seen.undecodable)
    };
    println!(
        "passthrough: {} pictures decoded in 4 s, {undecodable} undecodable",
        window.len()
    );
    assert!(
        window.len() >= 54,
        "at least 90 % of 60 frames decoded in 4 s at 15 fps: {}",
        window.len()
    );
    assert!(
        window.iter().all(|d| d.1 == 320 && d.2 == 240),
        "320x240 pictures"
    );
    assert!(
        window.iter().all(|d| recorded.contains(&d.3)),
        "every access unit received is byte for byte one of the recording (no re-encode)"
    );
    // The recording loops: each frame number follows the previous one modulo 90.
    let in_order = window
        .windows(2)
        .filter(|w| w[1].0 == (w[0].0 + 1) % FIXTURE_FRAMES)
        .count();
    assert!(
        in_order as f64 >= 0.9 * (window.len() - 1) as f64,
        "frames arrive in recorded order ({in_order} of {} steps)",
        window.len() - 1
    );
    viewer.hangup().await;
    device.stop().await;
}
