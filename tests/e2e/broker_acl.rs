//! The locked-down mosquitto rtcam ships, `deploy/mosquitto-rtcam-secure.conf`, run as it is
//! (only its paths and ports moved): TLS only, with the certificates of `deploy/broker-ca.sh`,
//! the accounts of `deploy/broker-accounts.sh` (one for the camera, one shared by the family's
//! viewers) and the shipped ACL `deploy/mosquitto-rtcam.acl`. The camera connects over
//! `mqtts://` with `mqtt.ca_file`; an authorised viewer streams over `mqtts://`; a client that
//! does not trust the CA is refused with words that say so; anonymous clients and wrong
//! passwords are refused; another client on the viewers' account can neither read the first
//! viewer's session, nor hang it up or send it device messages, nor replace the camera's offer
//! or status.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use rumqttc::{AsyncClient, ConnectionError, Event, MqttOptions, Packet};
use serde_json::{json, Value};

use crate::support;
use support::mqtt_client::trusting;
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-acl";
const ROOT: &str = "rtcam/cam-acl";
const ALICE: &str = "rtcam-viewer-alice";

/// Whether the broker accepts a connection with these credentials.
async fn accepted(
    port: u16,
    tls: &Arc<rustls::ClientConfig>,
    id: &str,
    credentials: Option<(&str, &str)>,
) -> Result<(), String> {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_transport(rumqttc::Transport::tls_with_config(
        rumqttc::TlsConfiguration::Rustls(tls.clone()),
    ));
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

/// What `rtcam status` says about a broker whose certificate it cannot verify.
fn status_error(config: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rtcam"))
        .args(["status", "--config"])
        .arg(config)
        .output()
        .expect("run rtcam status");
    assert!(!out.status.success(), "rtcam status fails without the CA");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_acl_confines_each_viewer_to_its_own_topics() {
    if !support::netns::enter(
        module_path!(),
        "the_shipped_acl_confines_each_viewer_to_its_own_topics",
    ) {
        return;
    }
    let secure = support::secure_broker::SecureBroker::start(
        "acl",
        (DEVICE, "device-secret"),
        ("family", "family-secret"),
    )
    .expect("mosquitto (CI has it)");
    let (broker, dir, ca) = (&secure.broker, &secure.dir, &secure.ca);
    let port = broker.port;
    let family = Some(("family", "family-secret"));
    let tls = trusting(ca);

    assert!(
        accepted(port, &tls, "anon", None).await.is_err(),
        "anonymous refused"
    );
    assert!(
        accepted(port, &tls, "guess", Some(("family", "wrong")))
            .await
            .is_err(),
        "a wrong password is refused"
    );
    assert_eq!(accepted(port, &tls, "probe", family).await, Ok(()));

    // Without the CA (the system's roots only) the certificate does not verify, and rtcam
    // says so and what to do.
    let mut config = support::device_config(port, DEVICE);
    config.mqtt.url = format!("mqtts://127.0.0.1:{port}");
    config.mqtt.username = DEVICE.into();
    config.mqtt.password = "device-secret".into();
    let untrusting = dir.join("no-ca.toml");
    std::fs::write(
        &untrusting,
        format!(
            "device_id = \"{DEVICE}\"\n[mqtt]\nurl = \"mqtts://127.0.0.1:{port}\"\n\
             username = \"{DEVICE}\"\npassword = \"device-secret\"\n"
        ),
    )
    .unwrap();
    let said = status_error(&untrusting);
    println!("TLS: rtcam status without the CA: {said}");
    assert!(
        said.contains("does not verify") && said.contains("mqtt.ca_file"),
        "rtcam status explains the unverified certificate: {said}"
    );
    let by_name = dir.join("by-name.toml");
    let ca_line = format!("ca_file = \"{}\"\n", ca.display());
    std::fs::write(
        &by_name,
        std::fs::read_to_string(&untrusting)
            .unwrap()
            .replace("127.0.0.1", "127.0.0.2")
            + &ca_line,
    )
    .unwrap();
    // 127.0.0.2 is loopback too, but the certificate lists only localhost and 127.0.0.1.
    let said = status_error(&by_name);
    println!("TLS: rtcam status by a name the certificate does not list: {said}");
    assert!(
        said.contains("not for \"127.0.0.2\""),
        "rtcam status names the host the certificate does not list: {said}"
    );

    config.mqtt.ca_file = ca.to_string_lossy().into_owned();
    let device = support::Device::start(config);

    let mut opts = ViewerOptions::new(port, DEVICE, ALICE);
    opts.credentials = Some(("family".into(), "family-secret".into()));
    opts.client_id_is_viewer_id = true;
    opts.tls = Some(tls.clone());
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
    let mut mallory =
        TestMqtt::connect_with("127.0.0.1", port, "mallory", family, Some(tls.clone())).await;
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
    let mut observer =
        TestMqtt::connect_with("127.0.0.1", port, "observer", family, Some(tls.clone())).await;
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
}

/// Runs `rtcam status --wait 10` with the config `toml`; returns (success, its output).
fn status_with(dir: &Path, name: &str, toml: &str) -> (bool, String) {
    let config = dir.join(name);
    std::fs::write(&config, toml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rtcam"))
        .args(["status", "--wait", "10", "--config"])
        .arg(&config)
        .output()
        .expect("run rtcam status");
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_that_wants_client_certificates_admits_the_camera_with_one() {
    if !support::netns::enter(
        module_path!(),
        "a_broker_that_wants_client_certificates_admits_the_camera_with_one",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtcam-client-cert-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/broker-ca.sh");
    for args in [
        &["server", "localhost", "127.0.0.1"][..],
        &["client", "cam-cert"],
    ] {
        let ok = Command::new(script)
            .arg("--dir")
            .arg(&dir)
            .args(args)
            .status();
        assert!(ok.is_ok_and(|s| s.success()), "broker-ca.sh {args:?}");
    }
    let d = dir.display();
    // mosquitto's own client-certificate login: the certificate's CN is the user name.
    let broker = support::mosquitto::Mosquitto::start_config(|port, _| {
        format!(
            "per_listener_settings false\nallow_anonymous false\n\
             listener {port} 127.0.0.1\ncertfile {d}/server.crt\nkeyfile {d}/server.key\n\
             cafile {d}/ca.crt\nrequire_certificate true\nuse_identity_as_username true\n"
        )
    })
    .expect("mosquitto (CI has it)");
    let mut config = support::device_config(broker.port, "cam-cert");
    config.mqtt.url = format!("mqtts://127.0.0.1:{}", broker.port);
    config.mqtt.ca_file = format!("{d}/ca.crt");
    config.mqtt.client_cert_file = format!("{d}/cam-cert.crt");
    config.mqtt.client_key_file = format!("{d}/cam-cert.key");
    let device = support::Device::start(config);

    let base = format!(
        "device_id = \"cam-cert\"\n[mqtt]\nurl = \"mqtts://127.0.0.1:{}\"\nca_file = \"{d}/ca.crt\"\n",
        broker.port
    );
    let with_cert = format!(
        "{base}client_cert_file = \"{d}/cam-cert.crt\"\nclient_key_file = \"{d}/cam-cert.key\"\n"
    );
    let (ok, said) = status_with(&dir, "with-cert.toml", &with_cert);
    println!("TLS client certificate: rtcam status with one: {said}");
    assert!(
        ok && said.contains("online"),
        "the camera is online: {said}"
    );
    let (ok, said) = status_with(&dir, "without-cert.toml", &base);
    println!("TLS client certificate: rtcam status without one: {said}");
    assert!(
        !ok && said.contains("client certificate"),
        "without a certificate rtcam says the broker wants one: {said}"
    );
    device.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}
