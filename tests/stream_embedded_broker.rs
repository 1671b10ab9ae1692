//! End to end through the embedded broker: the test viewer finds the device over MQTT only,
//! answers, trickles, and decodes at least 90 % of the frames sent in a 5 s window.

mod common;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_decodes_stream_via_embedded_broker() {
    if !common::netns::enter("viewer_decodes_stream_via_embedded_broker") {
        return;
    }
    let port = common::embedded_broker();
    let device = common::Device::start(common::device_config(port, "cam-embedded"));
    let report = common::watch_and_measure(port, "cam-embedded", true).await;
    common::assert_healthy_stream(&report);
    device.stop().await;
}
