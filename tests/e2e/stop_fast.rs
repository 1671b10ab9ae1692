//! SIGTERM to the `rtcam` binary ends it within 2 s whatever it is doing — streaming to a
//! viewer, backing off from a camera that is not there, reconnecting to a broker that is
//! gone — and, where the broker is up, leaves the offline status and no offer behind.

use std::time::Duration;

use crate::support;
use support::mosquitto::Mosquitto;
use support::process::{run_device, Proc};
use support::viewer::{TestMqtt, Viewer, ViewerOptions};

const STOP_BOUND: Duration = Duration::from_secs(2);

async fn wait_online(port: u16, device: &str) {
    let mut m = TestMqtt::connect("127.0.0.1", port, &format!("watch-{device}")).await;
    m.subscribe(&format!("rtcam/{device}/status")).await;
    let online = m
        .next_matching(Duration::from_secs(20), |_, p| {
            serde_json::from_slice::<serde_json::Value>(p)
                .map(|v| v["state"] == "online")
                .unwrap_or(false)
        })
        .await;
    assert!(online.is_some(), "{device} came online");
}

/// SIGTERM, then checks the bound and (with a broker) what was left on it.
async fn stop_and_check(mut proc: Proc, port: Option<u16>, device: &str, state: &str) {
    let (status, took) = proc.terminate_within(Duration::from_secs(10));
    println!("STOP {state}: exited {status:?} after {took:?}");
    let status = status.unwrap_or_else(|| panic!("{state}: still running 10 s after SIGTERM"));
    assert!(status.success(), "{state}: clean exit: {status:?}");
    assert!(took <= STOP_BOUND, "{state}: stopped in {took:?}");
    let Some(port) = port else {
        return;
    };
    let mut m = TestMqtt::connect("127.0.0.1", port, &format!("after-{device}")).await;
    m.subscribe(&format!("rtcam/{device}/status")).await;
    m.subscribe(&format!("rtcam/{device}/offer")).await;
    let status = m
        .next_matching(Duration::from_secs(5), |t, _| t.ends_with("/status"))
        .await
        .expect("retained status");
    assert_eq!(&status.1[..], br#"{"state":"offline"}"#, "{state}");
    let offer = m
        .next_matching(Duration::from_secs(1), |t, _| t.ends_with("/offer"))
        .await;
    assert!(offer.is_none(), "{state}: no retained offer: {offer:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_within_two_seconds_in_every_state() {
    if !support::netns::enter(
        module_path!(),
        "sigterm_stops_within_two_seconds_in_every_state",
    ) {
        return;
    }
    let Some(mut broker) = Mosquitto::start() else {
        return;
    };
    let port = broker.port;
    let dir = std::env::temp_dir().join(format!("rtcam-stop-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Streaming to a connected viewer.
    let proc = run_device(&dir, port, "stop-streaming", "");
    wait_online(port, "stop-streaming").await;
    let viewer = Viewer::join(ViewerOptions::new(port, "stop-streaming", "v"))
        .await
        .expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        viewer
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
            .await
    );
    stop_and_check(proc, Some(port), "stop-streaming", "streaming").await;
    assert!(
        viewer
            .wait_until(Duration::from_secs(3), |s| !s.hangups.is_empty())
            .await,
        "the viewer was told the device hung up"
    );
    viewer.pc.close().await.ok();

    // The camera is missing: the capture thread sleeps in its back-off (0.5, 1, 2, 4 s …).
    let proc = run_device(
        &dir,
        port,
        "stop-nocamera",
        "[video]\nsource = \"v4l2\"\ndevice = \"/dev/video-missing\"\n",
    );
    wait_online(port, "stop-nocamera").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    stop_and_check(
        proc,
        Some(port),
        "stop-nocamera",
        "camera missing, mid back-off",
    )
    .await;

    // The broker is gone: the MQTT task is reconnecting with back-off.
    let proc = run_device(&dir, port, "stop-nobroker", "");
    wait_online(port, "stop-nobroker").await;
    broker.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop_and_check(proc, None, "stop-nobroker", "broker down").await;

    std::fs::remove_dir_all(&dir).ok();
}
