//! Shared helpers for the integration tests: network namespace, real mosquitto, an
//! in-process device and a webrtc-rs test viewer.

pub mod host;
pub mod janus;
pub mod mosquitto;
pub mod mqtt_client;
pub mod nat;
pub mod netns;
pub mod process;
pub mod secure_broker;
pub mod series;
pub mod shaped;
pub mod slow_stun;
pub mod turn;
pub mod viewer;
pub mod vm;
pub mod whip_endpoint;

use std::net::{SocketAddr, TcpListener};

use tokio::sync::oneshot;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// The aarch64 rtcam binary named by `RTCAM_ARM_BINARY` (`scripts/test.sh` builds it with
/// `cross/build.sh aarch64` and sets it). Without it: `None` with a SKIPPED line, and under
/// CI (`CI=true`) a failure.
pub fn arm_binary() -> Option<std::ffi::OsString> {
    let binary = std::env::var_os("RTCAM_ARM_BINARY");
    if binary.is_none() {
        let msg = "RTCAM_ARM_BINARY is not set: build the aarch64 binary with \
                   `cross/build.sh aarch64` (./scripts/test.sh does it and sets the variable)";
        if std::env::var("CI").is_ok_and(|v| v == "true" || v == "1") {
            panic!("{msg}");
        }
        eprintln!("SKIPPED: {msg}");
    }
    binary
}

/// Starts the embedded broker on free loopback ports; returns the TCP port.
pub fn embedded_broker() -> u16 {
    let tcp: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ws: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    rtcam::broker::start(tcp, ws)
        .expect("embedded broker")
        .tcp
        .port()
}

/// A device config for tests: synthetic sources, the broker on `port`.
pub fn device_config(port: u16, device: &str) -> rtcam::Config {
    let mut c = rtcam::Config {
        device_id: device.into(),
        ..Default::default()
    };
    c.mqtt.url = format!("mqtt://127.0.0.1:{port}");
    c.mqtt.keep_alive_s = 5;
    c
}

/// A running in-process device; stopped (cleanly) by [`Device::stop`].
pub struct Device {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), rtcam::Error>>,
}

impl Device {
    pub fn start(config: rtcam::Config) -> Self {
        rtcam::telemetry::init();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(rtcam::run(config, async {
            let _ = rx.await;
        }));
        Self {
            stop: Some(tx),
            task,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let r = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task)
            .await
            .expect("device stops within 10 s");
        r.expect("device task").expect("device ran without error");
    }
}

/// Watches a 640x480 device for 5 s after the stream settles: what the viewer measured.
pub async fn watch_and_measure(port: u16, device: &str, trickle: bool) -> viewer::WindowReport {
    watch_and_measure_size(port, device, trickle, 640, 480).await
}

/// Watches a device for 5 s after the stream settles and returns what the viewer measured.
pub async fn watch_and_measure_size(
    port: u16,
    device: &str,
    trickle: bool,
    width: usize,
    height: usize,
) -> viewer::WindowReport {
    use std::time::{Duration, Instant};
    let mut opts = viewer::ViewerOptions::new(port, device, "viewer-measure");
    opts.trickle = trickle;
    let v = viewer::Viewer::join(opts).await.expect("join");
    assert!(
        v.wait_connected(Duration::from_secs(15)).await,
        "viewer connected"
    );
    assert!(
        v.wait_until(Duration::from_secs(20), |s| !s.decoded.is_empty())
            .await,
        "first picture"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let from = Instant::now();
    tokio::time::sleep(Duration::from_millis(5200)).await;
    let r = viewer::window_report(
        &v.seen.lock().unwrap(),
        from,
        Duration::from_secs(5),
        width,
        height,
    );
    v.hangup().await;
    println!("{device}: {r:?}");
    println!(
        "LATENCY {device}: capture->decoded p50={} ms p95={} ms over {} frames",
        r.latency_p50_ms, r.latency_p95_ms, r.decoded
    );
    r
}

/// The assertions of the end-to-end stream tests (640x480@30 with audio).
pub fn assert_healthy_stream(r: &viewer::WindowReport) {
    assert!(
        (120..=180).contains(&r.sent),
        "about 150 frames sent in 5 s at 30 fps: {r:?}"
    );
    assert!(
        r.decoded as f64 >= 0.9 * r.sent as f64,
        "at least 90 % decoded: {r:?}"
    );
    assert!(r.increasing, "frame numbers increase: {r:?}");
    assert!(r.sizes_ok, "640x480 pictures: {r:?}");
    assert!(
        (225..=275).contains(&r.audio_packets),
        "about 50 Opus packets/s: {r:?}"
    );
}
