//! Malformed and hostile viewer messages get a clear `bad_request` (when the sender can be
//! named), never crash the device, and never disturb a viewer that is already watching.

use std::time::Duration;

use crate::support;

use serde_json::{json, Value};
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-bad-input";
const ROOT: &str = "rtcam/cam-bad-input";

async fn expect_error(mqtt: &mut TestMqtt, viewer: &str) -> Value {
    let (_, payload) = mqtt
        .next_matching(Duration::from_secs(10), |t, p| {
            t.ends_with("/error")
                && serde_json::from_slice::<Value>(p)
                    .map(|v| v["viewer"] == viewer)
                    .unwrap_or(false)
        })
        .await
        .unwrap_or_else(|| panic!("an error message for viewer {viewer}"));
    serde_json::from_slice(&payload).expect("error JSON")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_viewer_messages_are_refused_without_harm() {
    if !support::netns::enter(
        module_path!(),
        "bad_viewer_messages_are_refused_without_harm",
    ) {
        return;
    }
    let port = support::embedded_broker();
    let device = support::Device::start(support::device_config(port, DEVICE));

    // A well-behaved viewer is watching throughout.
    let watcher = Viewer::join(ViewerOptions::new(port, DEVICE, "watcher"))
        .await
        .expect("join");
    assert!(watcher.wait_connected(Duration::from_secs(15)).await);
    assert!(
        watcher
            .wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
            .await
    );

    let mut mqtt = TestMqtt::connect("127.0.0.1", port, "hostile").await;
    mqtt.subscribe(&format!("{ROOT}/status")).await;
    mqtt.subscribe(&format!("{ROOT}/offer")).await;
    mqtt.subscribe(&format!("{ROOT}/session/+/error")).await;
    let offer = wait_for_offer(&mut mqtt, ROOT, Duration::from_secs(20))
        .await
        .expect("standby offer");
    let session = offer["session"].as_str().expect("session id").to_string();
    let answer_topic = format!("{ROOT}/session/{session}/answer");

    // Not JSON at all: nobody to answer, only logged.
    mqtt.publish_raw(answer_topic.clone(), b"\xff\xfe not json {")
        .await;
    // JSON without an SDP: refused, and the sender is told why.
    mqtt.publish(
        answer_topic.clone(),
        json!({"type": "answer", "viewer": "no-sdp"}),
    )
    .await;
    let e = expect_error(&mut mqtt, "no-sdp").await;
    assert_eq!(e["code"], "bad_request", "{e}");
    assert!(e["message"].as_str().unwrap().contains("sdp"), "{e}");
    // Wrong type.
    mqtt.publish(
        answer_topic.clone(),
        json!({"type": "offer", "sdp": "v=0\r\n", "viewer": "wrong-type"}),
    )
    .await;
    let e = expect_error(&mut mqtt, "wrong-type").await;
    assert_eq!(e["code"], "bad_request", "{e}");
    // Text that is not a WebRTC answer: refused before it can claim anything.
    mqtt.publish(
        answer_topic.clone(),
        json!({"type": "answer", "sdp": "v=0\r\nthis is not an SDP\r\n", "viewer": "not-sdp"}),
    )
    .await;
    let e = expect_error(&mut mqtt, "not-sdp").await;
    assert_eq!(e["code"], "bad_request", "{e}");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("not a WebRTC answer"),
        "{e}"
    );
    // One that looks like an answer but does not fit the offer (one media section of two):
    // it claims the standby session, is rejected by the peer connection, and a new standby
    // offer follows.
    let misfit = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=fingerprint:sha-256 AB:CD\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\nc=IN IP4 0.0.0.0\r\n\
        a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdefghijkl\r\na=mid:0\r\na=setup:active\r\n";
    mqtt.publish(
        answer_topic.clone(),
        json!({"type": "answer", "sdp": misfit, "viewer": "bad-sdp"}),
    )
    .await;
    let e = expect_error(&mut mqtt, "bad-sdp").await;
    assert_eq!(e["code"], "bad_request", "{e}");
    // Candidates: garbage JSON, a bogus candidate line, and a message for an unknown session.
    let cand_topic = format!("{ROOT}/session/{session}/candidate/viewer");
    mqtt.publish_raw(cand_topic.clone(), b"[1,2,3]").await;
    mqtt
        .publish(
            cand_topic,
            json!({"viewer": "bad-sdp", "candidate": "candidate:garbage", "sdpMid": "0", "sdpMLineIndex": 0}),
        )
        .await;
    mqtt.publish(
        format!("{ROOT}/session/no-such-session/hangup"),
        json!({"reason": "bye", "viewer": "ghost"}),
    )
    .await;
    // A viewer id that is far too long is refused as well.
    mqtt.publish(
        answer_topic,
        json!({"type": "answer", "sdp": "v=0\r\n", "viewer": "x".repeat(5000)}),
    )
    .await;

    // The watcher never noticed: its picture keeps coming for the next 2 s.
    let before = watcher.seen.lock().unwrap().decoded.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = watcher.seen.lock().unwrap().decoded.len();
    assert!(
        after >= before + 45,
        "the watcher kept decoding ({before} -> {after} pictures in 2 s)"
    );
    assert!(
        watcher.seen.lock().unwrap().errors.is_empty(),
        "no error reached the watcher"
    );

    // And the device still hands out fresh standby offers that play.
    let newcomer = Viewer::join(ViewerOptions::new(port, DEVICE, "newcomer"))
        .await
        .expect("a new standby offer after the bad answers");
    assert_ne!(
        newcomer.session, session,
        "the rejected session was replaced"
    );
    assert!(newcomer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        newcomer
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
            .await,
        "the newcomer decodes"
    );
    newcomer.hangup().await;
    watcher.hangup().await;
    device.stop().await;
}
