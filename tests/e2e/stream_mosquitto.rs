//! End to end through a real mosquitto started on a free loopback port: the same checks as
//! the embedded-broker test, with a viewer that trickles its candidates; and every video
//! packet asks for no playout delay.

use crate::support;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_decodes_stream_via_mosquitto() {
    if !support::netns::enter(module_path!(), "viewer_decodes_stream_via_mosquitto") {
        return;
    }
    let Some(broker) = support::mosquitto::Mosquitto::start() else {
        return;
    };
    let device = support::Device::start(support::device_config(broker.port, "cam-mosquitto"));
    let report = support::watch_and_measure(broker.port, "cam-mosquitto", true).await;
    support::assert_healthy_stream(&report);
    // The viewer accepted the playout-delay extension (as browsers do): every video packet
    // asks it to show each picture once decoded (webrtc.zero_playout_delay, default on).
    assert!(
        report.video_rtp > 100 && report.zero_playout_delay == report.video_rtp,
        "every video packet asks for no playout delay: {report:?}"
    );
    device.stop().await;
    // A clean stop leaves the device offline and its offer cleared on the broker.
    let mut mqtt = support::viewer::TestMqtt::connect("127.0.0.1", broker.port, "mqtt-after").await;
    mqtt.subscribe("rtcam/cam-mosquitto/status").await;
    mqtt.subscribe("rtcam/cam-mosquitto/offer").await;
    let status = mqtt
        .next_matching(std::time::Duration::from_secs(5), |t, _| {
            t.ends_with("/status")
        })
        .await
        .expect("retained status");
    assert_eq!(&status.1[..], br#"{"state":"offline"}"#);
    let offer = mqtt
        .next_matching(std::time::Duration::from_secs(2), |t, _| {
            t.ends_with("/offer")
        })
        .await;
    assert!(
        offer.is_none(),
        "no retained offer after a clean stop: {offer:?}"
    );
}
