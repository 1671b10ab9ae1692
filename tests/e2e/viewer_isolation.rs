//! Viewers on their own topics (`R/session/{s}/viewer/{id}/…`) cannot be disturbed by a client
//! that writes in their name, even on a broker without an ACL; a viewer on the shared topics
//! (the protocol before rtcam 0.4) still plays, and loses exactly that (docs/protocol.md).

use std::time::Duration;

use crate::support;

use serde_json::json;
use support::viewer::{TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-isolation";
const ROOT: &str = "rtcam/cam-isolation";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_on_its_own_topics_cannot_be_hung_up_in_its_name() {
    if !support::netns::enter(
        module_path!(),
        "a_viewer_on_its_own_topics_cannot_be_hung_up_in_its_name",
    ) {
        return;
    }
    let port = support::embedded_broker();
    let device = support::Device::start(support::device_config(port, DEVICE));
    let alice = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "alice"), 3)
        .await
        .expect("alice joins on her own topics");
    let mut legacy_opts = ViewerOptions::new(port, DEVICE, "legacy");
    legacy_opts.shared_topics = true;
    let legacy = Viewer::join_connected(legacy_opts, 3)
        .await
        .expect("a viewer on the shared topics still joins");
    for v in [&alice, &legacy] {
        assert!(
            v.wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 10)
                .await,
            "{} plays: {}",
            v.opts.viewer_id,
            v.counts()
        );
    }

    // Mallory knows both sessions and ids (every client can read them without an ACL).
    let mallory = TestMqtt::connect("127.0.0.1", port, "mallory").await;
    let a = format!("{ROOT}/session/{}", alice.session);
    let bogus = json!({"viewer": "alice", "candidate": "candidate:1 1 udp 2130706431 198.18.9.9 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0});
    mallory
        .publish(
            format!("{a}/hangup"),
            json!({"viewer": "alice", "reason": "left"}),
        )
        .await;
    mallory
        .publish(format!("{a}/candidate/viewer"), bogus.clone())
        .await;
    // On her own topics naming alice, and on alice's topics from another client: the first
    // is refused (its topic is mallory's), the second only an ACL stops (docs/security.md).
    mallory
        .publish(
            format!("{a}/viewer/mallory/hangup"),
            json!({"viewer": "alice", "reason": "left"}),
        )
        .await;
    // A hangup in the device's style on the shared topic: alice does not listen there.
    mallory
        .publish(format!("{a}/hangup"), json!({"reason": "shutdown"}))
        .await;
    let fps = alice.fps_over(Duration::from_secs(3)).await;
    assert!(
        fps >= 25.0,
        "alice kept playing: {fps:.1} fps; {}",
        alice.counts()
    );
    assert!(
        alice.seen.lock().unwrap().hangups.is_empty(),
        "alice was never told to hang up"
    );

    // The shared-topic viewer is what it always was: anyone can hang it up in its name.
    mallory
        .publish(
            format!("{ROOT}/session/{}/hangup", legacy.session),
            json!({"viewer": "legacy", "reason": "left"}),
        )
        .await;
    let mut status = TestMqtt::connect("127.0.0.1", port, "status").await;
    status.subscribe(&format!("{ROOT}/status")).await;
    let one_left = status
        .next_matching(Duration::from_secs(5), |_, p| {
            serde_json::from_slice::<serde_json::Value>(p).is_ok_and(|v| v["viewers"] == 1)
        })
        .await;
    assert!(
        one_left.is_some(),
        "the forged hangup ended the shared-topic viewer's session (what it loses)"
    );
    let fps = alice.fps_over(Duration::from_secs(1)).await;
    assert!(fps >= 20.0, "alice still plays: {fps:.1} fps");
    alice.hangup().await;
    device.stop().await;
}
