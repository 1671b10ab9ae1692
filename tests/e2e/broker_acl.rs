//! A locked-down mosquitto, configured as `docs/security.md` says: no anonymous access, the
//! accounts made by `deploy/broker-accounts.sh` (one for the camera, one shared by the family's
//! viewers) and the shipped ACL `deploy/mosquitto-rtcam.acl`. An authorised viewer streams;
//! anonymous clients and wrong passwords are refused; another client on the viewers' account
//! can neither read the first viewer's session, nor hang it up or send it device messages,
//! nor replace the camera's offer or status.

use std::process::Command;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet};
use serde_json::{json, Value};

use crate::support;
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-acl";
const ROOT: &str = "rtcam/cam-acl";
const ALICE: &str = "rtcam-viewer-alice";

/// Whether the broker accepts a connection with these credentials.
async fn accepted(port: u16, id: &str, credentials: Option<(&str, &str)>) -> Result<(), String> {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    if let Some((u, p)) = credentials {
        opts.set_credentials(u, p);
    }
    let (_client, mut eventloop) = AsyncClient::new(opts, 10);
    let polled = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(ConnectionError::ConnectionRefused(code)) => return Err(format!("{code:?}")),
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await;
    polled.unwrap_or_else(|_| Err("no ConnAck within 5 s".into()))
}

fn accounts(dir: &std::path::Path, what: &str, name: &str, password: &str) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/broker-accounts.sh");
    let status = Command::new(script)
        .arg("--dir")
        .arg(dir)
        .args([what, name, password])
        .status()
        .expect("run deploy/broker-accounts.sh");
    assert!(status.success(), "broker-accounts.sh {what} {name}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_acl_confines_each_viewer_to_its_own_topics() {
    if !support::netns::enter(
        module_path!(),
        "the_shipped_acl_confines_each_viewer_to_its_own_topics",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtcam-acl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    accounts(&dir, "add-device", DEVICE, "device-secret");
    accounts(&dir, "add-viewer", "family", "family-secret");
    let conf = format!(
        "allow_anonymous false\npassword_file {0}/passwd\nacl_file {0}/acl",
        dir.display()
    );
    let broker = support::mosquitto::Mosquitto::start_with(&conf).expect("mosquitto (CI has it)");
    let port = broker.port;
    let family = Some(("family", "family-secret"));

    assert!(
        accepted(port, "anon", None).await.is_err(),
        "anonymous refused"
    );
    assert!(
        accepted(port, "guess", Some(("family", "wrong")))
            .await
            .is_err(),
        "a wrong password is refused"
    );
    assert_eq!(accepted(port, "probe", family).await, Ok(()));

    let mut config = support::device_config(port, DEVICE);
    config.mqtt.username = DEVICE.into();
    config.mqtt.password = "device-secret".into();
    let device = support::Device::start(config);

    let mut opts = ViewerOptions::new(port, DEVICE, ALICE);
    opts.credentials = Some(("family".into(), "family-secret".into()));
    opts.client_id_is_viewer_id = true;
    let alice = Viewer::join_connected(opts, 3)
        .await
        .expect("an authorised viewer joins through the ACL");
    assert!(
        alice
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 10
                && !s.stats.is_empty())
            .await,
        "alice plays and gets the device's stats on her own topics: {}",
        alice.counts()
    );

    // Mallory has the family's password too, but her own client id.
    let mut mallory = TestMqtt::connect_as("127.0.0.1", port, "mallory", family).await;
    mallory.subscribe(&format!("{ROOT}/session/#")).await;
    let a = format!("{ROOT}/session/{}", alice.session);
    let hangup = json!({"viewer": ALICE, "reason": "left"});
    mallory
        .publish(format!("{a}/viewer/{ALICE}/hangup"), hangup.clone())
        .await;
    mallory.publish(format!("{a}/hangup"), hangup).await;
    mallory
        .publish(
            format!("{a}/viewer/{ALICE}/device/hangup"),
            json!({"reason": "shutdown"}),
        )
        .await;
    let fake_offer = json!({"type": "offer", "session": "fake", "sdp": "v=0\r\n"});
    mallory
        .client
        .publish(
            format!("{ROOT}/offer"),
            rumqttc::QoS::AtLeastOnce,
            true,
            fake_offer.to_string(),
        )
        .await
        .unwrap();
    mallory
        .client
        .publish(
            format!("{ROOT}/status"),
            rumqttc::QoS::AtLeastOnce,
            true,
            r#"{"state":"offline"}"#,
        )
        .await
        .unwrap();

    let fps = alice.fps_over(Duration::from_secs(3)).await;
    assert!(
        fps >= 25.0,
        "alice kept playing: {fps:.1} fps; {}",
        alice.counts()
    );
    assert!(
        alice.seen.lock().unwrap().hangups.is_empty(),
        "no hangup reached alice"
    );
    let mut leaked = Vec::new();
    while let Some((topic, _)) = mallory
        .next_matching(Duration::from_millis(200), |_, _| true)
        .await
    {
        leaked.push(topic);
    }
    assert!(
        leaked.iter().all(|t| !t.contains(ALICE)),
        "mallory read nothing of alice's session: {leaked:?}"
    );

    // The camera's retained state is still its own.
    let mut observer = TestMqtt::connect_as("127.0.0.1", port, "observer", family).await;
    observer.subscribe(&format!("{ROOT}/status")).await;
    observer.subscribe(&format!("{ROOT}/offer")).await;
    let offer: Value = wait_for_offer(&mut observer, ROOT, Duration::from_secs(10))
        .await
        .expect("the camera is online with an offer");
    assert_ne!(
        offer["session"], "fake",
        "mallory could not replace the offer"
    );
    println!(
        "ACL: alice {fps:.1} fps with mallory on the same account; mallory saw {} messages, none of alice's",
        leaked.len()
    );
    alice.hangup().await;
    device.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
