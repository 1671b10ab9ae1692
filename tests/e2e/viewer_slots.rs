//! Viewer slots with `max_viewers = 2`: two viewers racing for one offer (one wins, the other
//! hears `taken` by its own id), two viewers sharing one encode, a third that finds no offer
//! while full, gets `taken` for a late answer, and plays as soon as a hangup frees a slot.

use std::collections::HashMap;
use std::time::Duration;

use crate::support;

use serde_json::Value;
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-slots";
const ROOT: &str = "rtcam/cam-slots";

async fn offer_watcher(port: u16, id: &str) -> TestMqtt {
    let mut p = TestMqtt::connect("127.0.0.1", port, id).await;
    p.subscribe(&format!("{ROOT}/status")).await;
    p.subscribe(&format!("{ROOT}/offer")).await;
    p
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slots_race_sharing_full_taken_and_hangup() {
    if !support::netns::enter(module_path!(), "slots_race_sharing_full_taken_and_hangup") {
        return;
    }
    let port = support::embedded_broker();
    let mut config = support::device_config(port, DEVICE);
    config.webrtc.max_viewers = 2;
    let device = support::Device::start(config);

    // Two viewers answer the same standby offer at the same moment.
    let mut p = offer_watcher(port, "mqtt-race").await;
    let offer = wait_for_offer(&mut p, ROOT, Duration::from_secs(20))
        .await
        .expect("standby offer");
    let first_session = offer["session"].as_str().unwrap().to_string();
    let (pa, pb) = (
        TestMqtt::connect("127.0.0.1", port, "viewer-ra").await,
        TestMqtt::connect("127.0.0.1", port, "viewer-rb").await,
    );
    let (a, b) = tokio::join!(
        Viewer::answer(
            ViewerOptions::new(port, DEVICE, "ra"),
            pa,
            ROOT.into(),
            offer.clone()
        ),
        Viewer::answer(
            ViewerOptions::new(port, DEVICE, "rb"),
            pb,
            ROOT.into(),
            offer.clone()
        ),
    );
    let (a, b) = (a.expect("answer a"), b.expect("answer b"));
    let a_won = a.wait_connected(Duration::from_secs(10)).await;
    let (winner, loser) = if a_won { (a, b) } else { (b, a) };
    assert!(
        winner.wait_connected(Duration::from_secs(10)).await,
        "the winner connects"
    );
    assert!(
        loser
            .wait_until(Duration::from_secs(5), |s| !s.errors.is_empty())
            .await,
        "the loser hears about it"
    );
    let err = loser.seen.lock().unwrap().errors[0].clone();
    assert_eq!(err["code"], "taken", "{err}");
    assert_eq!(err["viewer"], loser.opts.viewer_id.as_str(), "{err}");
    assert!(!loser.seen.lock().unwrap().connected);
    assert!(
        winner.seen.lock().unwrap().errors.is_empty(),
        "the winner ignores the loser's error"
    );
    loser.pc.close().await.ok();

    // A second viewer (non-trickling: all candidates inside its answer) takes the next offer.
    let mut opts = ViewerOptions::new(port, DEVICE, "second");
    opts.trickle = false;
    let second = Viewer::join(opts).await.expect("second viewer joins");
    // The claim cleared the retained offer before the loser was told, so a viewer arriving
    // now never finds the claimed offer.
    assert_ne!(
        second.session, first_session,
        "a claimed offer stayed retained"
    );
    assert!(
        second.wait_connected(Duration::from_secs(15)).await,
        "second viewer connects"
    );
    assert!(
        second
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 60)
            .await
    );
    assert!(
        winner
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 60)
            .await
    );

    // One encode fanned out: the same frame number arrives as the same bytes at both.
    let hashes: HashMap<u32, u64> = winner
        .seen
        .lock()
        .unwrap()
        .decoded
        .iter()
        .map(|d| (d.frame, d.au_hash))
        .collect();
    let second_decoded = second.seen.lock().unwrap().decoded.clone();
    let common_frames: Vec<_> = second_decoded
        .iter()
        .filter(|d| hashes.contains_key(&d.frame))
        .collect();
    assert!(
        common_frames.len() >= 30,
        "both viewers decode the same frames: {}",
        common_frames.len()
    );
    assert!(
        common_frames.iter().all(|d| hashes[&d.frame] == d.au_hash),
        "identical access units: one shared encoder"
    );

    // Full: the status says 2 of 2 and no standby offer is retained.
    let mut third_watcher = offer_watcher(port, "mqtt-third").await;
    let status = third_watcher
        .next_matching(Duration::from_secs(5), |t, _| t.ends_with("/status"))
        .await
        .expect("status");
    let status: Value = serde_json::from_slice(&status.1).unwrap();
    assert_eq!(
        (status["viewers"].as_u64(), status["max_viewers"].as_u64()),
        (Some(2), Some(2)),
        "{status}"
    );
    assert!(
        wait_for_offer(&mut third_watcher, ROOT, Duration::from_secs(3))
            .await
            .is_none(),
        "no standby offer while full"
    );

    // A late answer to the claimed first session is refused as taken.
    let late = Viewer::answer(
        ViewerOptions::new(port, DEVICE, "late"),
        TestMqtt::connect("127.0.0.1", port, "viewer-late").await,
        ROOT.into(),
        offer.clone(),
    )
    .await
    .expect("late answer sent");
    assert!(
        late.wait_until(Duration::from_secs(5), |s| !s.errors.is_empty())
            .await,
        "late viewer told"
    );
    assert_eq!(late.seen.lock().unwrap().errors[0]["code"], "taken");
    late.pc.close().await.ok();

    // The winner hangs up: a slot frees and a third viewer gets an offer and plays.
    winner.hangup().await;
    let third = Viewer::join(ViewerOptions::new(port, DEVICE, "third"))
        .await
        .expect("third joins after hangup");
    assert_ne!(third.session, first_session);
    assert!(
        third.wait_connected(Duration::from_secs(15)).await,
        "third viewer connects"
    );
    assert!(
        third
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
            .await,
        "third viewer plays"
    );

    third.hangup().await;
    second.hangup().await;
    device.stop().await;
}
