//! Real links: the device (`rtcam demo`, its broker inside) in a namespace of its own, the
//! viewers in the test's, joined by a veth whose device → viewer side is shaped with `tc`
//! (token bucket) and nftables (random loss). See [`support::shaped`].
//!
//! - a cap below what even the easy pattern needs (150 kbit/s): the stream adapts down to it;
//! - a cap below the configured rate (600 kbit/s, demanding pattern): the target goes under the
//!   cap, the stream keeps its rate, and recovers to the maximum once the cap is lifted; the
//!   same run without adaptation is printed for contrast;
//! - 3 % random loss: the rate holds;
//! - two viewers, one capped at 300 kbit/s: the other keeps its rate, the capped one gets a
//!   second stream (or, with `second_stream = false`, is thinned);
//! - headless Chromium behind the 600 kbit/s cap: its receiver reports and transport-wide
//!   feedback drive it.

use std::time::{Duration, Instant};

use crate::support;
use support::process::Proc;
use support::series::{seconds, summary, table, Summary};
use support::shaped::{DeviceNet, DEVICE_IP, VIEWER_IPS};
use support::viewer::{Viewer, ViewerOptions};

const BROKER_PORT: u16 = 1883;

/// Starts `rtcam demo` in the device namespace with `video` as its `[video]` table.
pub fn start_device(net: &DeviceNet, dir: &std::path::Path, device: &str, video: &str) -> Proc {
    let config = dir.join(format!("{device}.toml"));
    std::fs::write(&config, format!("[video]\n{video}\n")).expect("write config");
    let mut cmd = net.command(env!("CARGO_BIN_EXE_rtcam"));
    cmd.arg("demo")
        .args(["--device-id", device])
        .args(["--broker-listen", &format!("{DEVICE_IP}:{BROKER_PORT}")])
        .args(["--broker-ws-listen", &format!("{DEVICE_IP}:8083")])
        .args(["--http-listen", &format!("{DEVICE_IP}:8080")])
        .arg("--config")
        .arg(&config)
        .env(
            "RUST_LOG",
            std::env::var("RTCAM_NET_LOG").unwrap_or_else(|_| "rtcam=info,warn".into()),
        );
    Proc::spawn("rtcam demo (device namespace)", &mut cmd)
}

/// A viewer on the link, from address `VIEWER_IPS[which]`.
pub async fn join(device: &str, which: usize) -> Viewer {
    let mut opts = ViewerOptions::new(BROKER_PORT, device, &format!("net-viewer-{which}"));
    opts.host = DEVICE_IP.into();
    opts.only_ip = Some(VIEWER_IPS[which].parse().unwrap());
    let v = Viewer::join_connected(opts, 3)
        .await
        .expect("the viewer connects over the link");
    assert!(
        v.wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
            .await,
        "first picture"
    );
    v
}

/// Runs for `secs` seconds from now, then prints the table; returns the start.
async fn watch(v: &Viewer, title: &str, secs: u64) -> Instant {
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let rows = seconds(&v.seen.lock().unwrap(), start, secs);
    println!("{}", table(title, &rows));
    start
}

fn window(v: &Viewer, from: Instant, skip: u64, len: u64) -> Summary {
    summary(
        &v.seen.lock().unwrap(),
        from + Duration::from_secs(skip),
        Duration::from_secs(len),
    )
}

fn last_target(v: &Viewer) -> u64 {
    let seen = v.seen.lock().unwrap();
    seen.stats
        .last()
        .and_then(|(_, s)| s["target_kbps"].as_u64())
        .expect("the device sends its stats")
}

fn when_target_below(v: &Viewer, since: Instant, kbps: u64) -> Option<Duration> {
    let seen = v.seen.lock().unwrap();
    seen.stats
        .iter()
        .find(|(at, s)| *at >= since && s["target_kbps"].as_u64().is_some_and(|t| t < kbps))
        .map(|(at, _)| at.duration_since(since))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_below_the_easy_pattern_is_followed_down() {
    if !support::netns::enter(
        module_path!(),
        "a_cap_below_the_easy_pattern_is_followed_down",
    ) {
        return;
    }
    let net = DeviceNet::new();
    let dir = std::env::temp_dir().join("rtcam-net-150");
    std::fs::create_dir_all(&dir).unwrap();
    let mut device = start_device(
        &net,
        &dir,
        "cap150",
        "bitrate_kbps = 1500\nmin_bitrate_kbps = 50",
    );
    net.cap(150, 200);
    let v = join("cap150", 0).await;
    let start = watch(&v, "Cap 150 kbit/s, bars pattern, start 1500 kbit/s", 30).await;
    let s = window(&v, start, 10, 20);
    println!("CAP 150: {s:?}\n{}", net.qdisc_stats());
    println!("viewer: {}", v.counts());
    // Issue #11: ≥ 15 fps, no freeze over 500 ms, p95 added delay ≤ 300 ms. Measured
    // 17.2–17.6 fps, gaps 104–181 ms, p95 72–140 ms (docs/benchmarks.md).
    assert!(s.fps >= 15.0, "{s:?}");
    assert!(s.max_gap_ms <= 500, "{s:?}");
    assert!(s.delay_p95_ms <= 300, "{s:?}");
    v.hangup().await;
    assert!(device.terminate());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cap_below_the_configured_rate_then_recovery() {
    if !support::netns::enter(
        module_path!(),
        "a_cap_below_the_configured_rate_then_recovery",
    ) {
        return;
    }
    let net = DeviceNet::new();
    let dir = std::env::temp_dir().join("rtcam-net-600");
    std::fs::create_dir_all(&dir).unwrap();
    let video = "pattern = \"busy\"\nbitrate_kbps = 1500\nmin_bitrate_kbps = 100";
    let mut device = start_device(&net, &dir, "cap600", video);
    let v = join("cap600", 0).await;
    net.cap(600, 200);
    let capped = Instant::now();
    let start = watch(&v, "Cap 600 kbit/s, busy pattern, start 1500 kbit/s", 30).await;
    let below = when_target_below(&v, capped, 600);
    let s = window(&v, start, 10, 20);
    println!(
        "CAP 600: target below the cap after {below:?}; {s:?}\n{}",
        net.qdisc_stats()
    );
    assert!(
        below.is_some_and(|t| t <= Duration::from_secs(10)),
        "{below:?}"
    );
    // Issue #11: ≥ 25 fps, no freeze over 500 ms, p95 ≤ 200 ms. Measured 27.2–27.8 fps,
    // gaps 220–317 ms, p95 114–158 ms. Without adaptation: 1–3 fps, 2 s gaps.
    assert!(s.fps >= 25.0, "{s:?}");
    assert!(s.max_gap_ms <= 500, "{s:?}");
    assert!(s.delay_p95_ms <= 200, "{s:?}");

    net.uncap();
    let lifted = Instant::now();
    // The issue asks for 30 s; measured 18.5–25.5 s.
    let deadline = lifted + Duration::from_secs(30);
    while Instant::now() < deadline && last_target(&v) < 1500 {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows = seconds(&v.seen.lock().unwrap(), lifted, lifted.elapsed().as_secs());
    println!("{}", table("Cap lifted", &rows));
    println!(
        "RECOVERY: target {} kbit/s after {:?}",
        last_target(&v),
        lifted.elapsed()
    );
    assert!(last_target(&v) >= 1500, "back to the maximum within 30 s");
    v.hangup().await;
    assert!(device.terminate());

    // For contrast: the same cap without adaptation (printed, not judged).
    let video = format!("{video}\nadapt_bitrate = false");
    let mut device = start_device(&net, &dir, "fixed600", &video);
    let v = join("fixed600", 0).await;
    net.cap(600, 200);
    let start = watch(&v, "Cap 600 kbit/s without adaptation (contrast)", 15).await;
    println!("FIXED 1500 OVER 600: {:?}", window(&v, start, 5, 10));
    v.hangup().await;
    assert!(device.terminate());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_percent_random_loss_keeps_the_rate() {
    if !support::netns::enter(module_path!(), "three_percent_random_loss_keeps_the_rate") {
        return;
    }
    let net = DeviceNet::new();
    let dir = std::env::temp_dir().join("rtcam-net-loss");
    std::fs::create_dir_all(&dir).unwrap();
    let video = "pattern = \"busy\"\nbitrate_kbps = 1500\nmin_bitrate_kbps = 100";
    let mut device = start_device(&net, &dir, "loss3", video);
    let v = join("loss3", 0).await;
    net.lose(30);
    let start = watch(&v, "3 % random loss, busy pattern, 1500 kbit/s", 20).await;
    let s = window(&v, start, 5, 15);
    let target = last_target(&v);
    println!(
        "LOSS 3 %: target {target} kbit/s; {s:?}\nviewer: {}",
        v.counts()
    );
    assert!(s.fps >= 25.0, "{s:?}");
    assert!(target >= 750, "the target holds: {target}");
    v.hangup().await;
    assert!(device.terminate());
}

/// Two viewers, the second capped at 300 kbit/s; with `second_stream` on it gets an encode
/// of its own, else it is thinned. Returns the free and the slow viewer's windows.
async fn two_viewers(name: &str, second_stream: bool) -> (Summary, Summary, serde_json::Value) {
    let net = DeviceNet::new();
    let dir = std::env::temp_dir().join(format!("rtcam-net-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let video = format!(
        "pattern = \"busy\"\nbitrate_kbps = 1500\nmin_bitrate_kbps = 100\nsecond_stream = {second_stream}"
    );
    let mut device = start_device(&net, &dir, name, &video);
    // 300 kbit/s to the second viewer's address only, with 150 ms of buffer.
    net.cap_to(VIEWER_IPS[1], 300, 300_000 / 8 * 150 / 1000);
    let free = join(name, 0).await;
    let slow = join(name, 1).await;
    let start = Instant::now();
    tokio::time::sleep(Duration::from_secs(30)).await;
    for (which, v) in [("free", &free), ("slow", &slow)] {
        let rows = seconds(&v.seen.lock().unwrap(), start, 30);
        let title = format!("Two viewers (second stream {second_stream}): the {which} one");
        println!("{}", table(&title, &rows));
    }
    let (f, s) = (window(&free, start, 10, 20), window(&slow, start, 10, 20));
    let stats = slow
        .seen
        .lock()
        .unwrap()
        .stats
        .last()
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let target = last_target(&free);
    println!(
        "TWO VIEWERS (second stream {second_stream}): target {target} kbit/s; free {f:?}; slow {s:?}; slow's stats {stats}\n{}",
        net.qdisc_stats()
    );
    // Issue #11 asks for ≥ 28 fps; measured 29.2–29.7.
    assert!(f.fps >= 28.0, "the free viewer keeps its rate: {f:?}");
    assert!(target >= 1000, "and its bitrate: {target} kbit/s");
    free.hangup().await;
    slow.hangup().await;
    assert!(device.terminate());
    (f, s, stats)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_viewer_gets_a_second_stream_and_the_fast_one_keeps_its_rate() {
    if !support::netns::enter(
        module_path!(),
        "a_slow_viewer_gets_a_second_stream_and_the_fast_one_keeps_its_rate",
    ) {
        return;
    }
    let (_, slow, stats) = two_viewers("two", true).await;
    assert!(
        stats["second_stream_kbps"]
            .as_u64()
            .is_some_and(|k| k < 300),
        "the slow viewer is sent the second stream, under its cap: {stats}"
    );
    // Measured 28.0–29.0 fps, p95 85–105 ms (every picture at half size, at the rate its link
    // carries); at full size it was 21.5–23.7 fps.
    assert!(slow.fps >= 20.0, "{slow:?}");
    assert!(slow.delay_p95_ms <= 300, "{slow:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_second_stream_a_slow_viewer_is_thinned() {
    if !support::netns::enter(
        module_path!(),
        "without_a_second_stream_a_slow_viewer_is_thinned",
    ) {
        return;
    }
    let (_, slow, stats) = two_viewers("thin", false).await;
    // Every fourth picture of a 1 Mbit/s stream does not fit 300 kbit/s: the slow viewer
    // gets what passes (about one picture a second; measured 0.55–1 fps, p95 194–418 ms over
    // about ten pictures), with no queue building up (that would be seconds).
    assert!(slow.fps >= 0.2, "the slow viewer keeps decoding: {slow:?}");
    assert!(slow.delay_p95_ms <= 800, "{slow:?}");
    assert_ne!(
        stats["layers"],
        serde_json::json!("all"),
        "thinned: {stats}"
    );
    assert!(stats.get("second_stream_kbps").is_none(), "{stats}");
}

#[test]
fn chromium_behind_a_capped_link() {
    if !support::netns::enter_alone(module_path!(), "chromium_behind_a_capped_link") {
        return;
    }
    crate::browser::require_browser_tools();
    let net = DeviceNet::new();
    let dir = std::env::temp_dir().join("rtcam-net-chromium");
    std::fs::create_dir_all(&dir).unwrap();
    let video = "pattern = \"busy\"\nbitrate_kbps = 1500\nmin_bitrate_kbps = 100";
    let mut device = start_device(&net, &dir, "browser-cap", video);
    net.cap(600, 200);
    let shot = crate::browser::artifacts().join("capped.png");
    let url = format!("http://{DEVICE_IP}:8080/");
    let report = crate::browser::run_browser(&url, "shaped", &shot, &[]);
    let m = &report["viewer"];
    println!("CHROMIUM CAP 600: {m}\n{}", net.qdisc_stats());
    let fps = m["fpsMeasured"].as_f64().unwrap_or(0.0);
    let target = m["device"]["target_kbps"].as_u64().unwrap_or(u64::MAX);
    assert!(target < 600, "the device adapted to the cap: {m}");
    // Measured 27.9 fps.
    assert!(fps >= 24.0, "Chromium plays on: {fps} fps; {m}");
    assert!(
        m["device"]["queue_ms"].as_u64().is_some(),
        "Chromium sends transport-wide feedback (offered on video) and the device reads it: {m}"
    );
    assert!(device.terminate());
}
