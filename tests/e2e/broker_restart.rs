//! The broker goes away and comes back empty (mosquitto without persistence): the device
//! reconnects with back-off, re-subscribes, re-publishes its retained status and standby
//! offer, and a new viewer plays. rumqttc does none of this by itself.

use std::time::{Duration, Instant};

use crate::support;

use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-broker-restart";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_recovers_from_a_broker_restart() {
    if !support::netns::enter(module_path!(), "device_recovers_from_a_broker_restart") {
        return;
    }
    let Some(mut broker) = support::mosquitto::Mosquitto::start() else {
        return;
    };
    let device = support::Device::start(support::device_config(broker.port, DEVICE));
    let root = format!("rtcam/{DEVICE}");
    let mut mqtt = TestMqtt::connect("127.0.0.1", broker.port, "mqtt-before").await;
    mqtt.subscribe(&format!("{root}/status")).await;
    mqtt.subscribe(&format!("{root}/offer")).await;
    assert!(
        wait_for_offer(&mut mqtt, &root, Duration::from_secs(20))
            .await
            .is_some(),
        "online with an offer before the restart"
    );

    // Down for 3 s, then back with no retained messages at all.
    broker.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    broker.restart();
    let back = Instant::now();

    let mut mqtt = TestMqtt::connect("127.0.0.1", broker.port, "mqtt-after").await;
    mqtt.subscribe(&format!("{root}/status")).await;
    mqtt.subscribe(&format!("{root}/offer")).await;
    let offer = wait_for_offer(&mut mqtt, &root, Duration::from_secs(40)).await;
    println!(
        "BROKER RESTART: status and offer re-published {:.1} s after the broker came back",
        back.elapsed().as_secs_f64()
    );
    assert!(
        offer.is_some(),
        "the device re-published its status and offer"
    );

    // And it answers a viewer again (its session subscriptions came back too).
    let viewer = Viewer::join(ViewerOptions::new(broker.port, DEVICE, "viewer-after"))
        .await
        .expect("join after the restart");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        viewer
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
            .await,
        "the viewer plays after the restart"
    );
    viewer.hangup().await;
    device.stop().await;
}
