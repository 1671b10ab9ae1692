//! `video.source = "command"` with a real producer: Debian's `gst-launch-1.0` writes H.264
//! (x264, passed through by rtcam) or raw I420 (encoded by rtcam) to its stdout. The viewer
//! decodes the pictures (a moving ball: they change), the H.264 command is restarted after
//! it ends, and no producer is left running once the daemon stops.

use std::time::{Duration, Instant};

use crate::support;
use rtcam::config::{CameraFormat, VideoSourceKind};
use support::viewer::{Viewer, ViewerOptions};

/// Fails with what to install when GStreamer is missing (CI installs it).
fn require_gstreamer() {
    let ok = std::process::Command::new("gst-inspect-1.0")
        .args(["x264enc"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "gst-launch-1.0 with x264enc is needed: apt-get install gstreamer1.0-tools \
         gstreamer1.0-plugins-base gstreamer1.0-plugins-ugly (scripts/install-deps.sh test)"
    );
}

/// Whether a process whose command line contains `marker` is running.
fn running(marker: &str) -> bool {
    std::process::Command::new("pgrep")
        .args(["-f", marker])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Runs the device with `command` writing `format`, a viewer watches for `secs`; returns
/// the unstamped pictures it decoded, and the time of the first one. `continuous`: the
/// command never ends by itself, so it must be running at the end.
async fn watch(
    device: &str,
    format: CameraFormat,
    command: &str,
    marker: &str,
    secs: u64,
    continuous: bool,
) -> (Vec<(Instant, usize, usize, u64)>, Instant) {
    require_gstreamer();
    let port = support::embedded_broker();
    let mut config = support::device_config(port, device);
    config.video.source = VideoSourceKind::Command;
    config.video.format = format;
    config.video.command = command.into();
    config.video.width = 320;
    config.video.height = 240;
    config.video.fps = 15;
    let dev = support::Device::start(config);
    let viewer = Viewer::join(ViewerOptions::new(
        port,
        device,
        &format!("{device}-viewer"),
    ))
    .await
    .expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        viewer
            .wait_until(Duration::from_secs(15), |s| !s
                .unstamped_pictures
                .is_empty())
            .await,
        "a first picture from the command"
    );
    let first = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let pictures = viewer.seen.lock().unwrap().unstamped_pictures.clone();
    assert!(
        !continuous || running(marker),
        "the command runs while the device does"
    );
    viewer.hangup().await;
    dev.stop().await;
    let gone = Instant::now() + Duration::from_secs(3);
    while running(marker) && Instant::now() < gone {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!running(marker), "the command stops with the device");
    (pictures, first)
}

fn check_pictures(
    pictures: &[(Instant, usize, usize, u64)],
    from: Instant,
    secs: f64,
    min_fps: f64,
) {
    let window: Vec<_> = pictures.iter().filter(|p| p.0 >= from).collect();
    let fps = window.len() as f64 / secs;
    let distinct: std::collections::HashSet<u64> = window.iter().map(|p| p.3).collect();
    println!(
        "command source: {} pictures in {secs} s ({fps:.1} fps), {} distinct",
        window.len(),
        distinct.len()
    );
    assert!(fps >= min_fps, "{fps:.1} fps");
    assert!(window.iter().all(|p| p.1 == 320 && p.2 == 240), "320x240");
    // A run of the command starts its animation over: pictures repeat across runs.
    assert!(distinct.len() * 3 >= window.len(), "the pictures move");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn h264_from_gstreamer_is_passed_through_and_the_command_is_restarted() {
    if !support::netns::enter(
        module_path!(),
        "h264_from_gstreamer_is_passed_through_and_the_command_is_restarted",
    ) {
        return;
    }
    // 60 buffers at 15 fps: the command ends after 4 s and is started again 1 s later.
    let marker = "rtcame2eh264";
    let command = format!(
        "gst-launch-1.0 -q videotestsrc name={marker} is-live=true num-buffers=60 pattern=ball \
         ! video/x-raw,width=320,height=240,framerate=15/1 \
         ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=15 bframes=0 \
         ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! fdsink fd=1"
    );
    let (pictures, first) = watch("cmd-h264", CameraFormat::H264, &command, marker, 9, false).await;
    // Two runs of 4 s with a restart between (1 s back-off, the pipeline's start, its first
    // IDR): measured 9.9–11.6 fps over the 9 s.
    check_pictures(&pictures, first, 9.0, 6.0);
    // The first run ends about 4 s in: pictures come again after it.
    let late = pictures
        .iter()
        .filter(|p| p.0 >= first + Duration::from_millis(6_500))
        .count();
    assert!(late >= 15, "pictures after the restart: {late}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_pictures_from_gstreamer_are_encoded_by_rtcam() {
    if !support::netns::enter(
        module_path!(),
        "raw_pictures_from_gstreamer_are_encoded_by_rtcam",
    ) {
        return;
    }
    let marker = "rtcame2eraw";
    let command = format!(
        "gst-launch-1.0 -q videotestsrc name={marker} is-live=true pattern=ball \
         ! video/x-raw,format=I420,width=320,height=240,framerate=15/1 ! fdsink fd=1"
    );
    let (pictures, first) = watch("cmd-raw", CameraFormat::Yu12, &command, marker, 4, true).await;
    check_pictures(&pictures, first, 4.0, 13.0);
}
