//! End to end through the embedded broker: the test viewer finds the device over MQTT only,
//! answers, trickles, and decodes at least 90 % of the frames sent in a 5 s window; with
//! `webrtc.zero_playout_delay = false` no packet asks for a playout delay.

use crate::support;
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewer_decodes_stream_via_embedded_broker() {
    if !support::netns::enter(module_path!(), "viewer_decodes_stream_via_embedded_broker") {
        return;
    }
    let port = support::embedded_broker();
    let mut config = support::device_config(port, "cam-embedded");
    config.webrtc.zero_playout_delay = false;
    let device = support::Device::start(config);
    let report = support::watch_and_measure(port, "cam-embedded", true).await;
    support::assert_healthy_stream(&report);
    assert!(
        report.video_rtp > 100 && report.zero_playout_delay == 0,
        "zero_playout_delay = false: the extension is not offered, so not sent: {report:?}"
    );
    device.stop().await;
}
