//! RTCP from one viewer's sender: picture loss (PLI) and full intra requests (FIR) become
//! keyframe requests of the shared encoder.

use std::sync::Arc;

use tracing::debug;
use webrtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;

use crate::fanout::KeyframeRequests;

pub(super) async fn read_rtcp(
    sender: Arc<RTCRtpSender>,
    keyframes: Arc<KeyframeRequests>,
    session: String,
) {
    while let Ok((packets, _)) = sender.read_rtcp().await {
        for p in packets {
            let any = p.as_any();
            if any.downcast_ref::<PictureLossIndication>().is_some() {
                debug!(%session, "PLI: keyframe requested");
                keyframes.request();
            } else if any.downcast_ref::<FullIntraRequest>().is_some() {
                debug!(%session, "FIR: keyframe requested");
                keyframes.request();
            }
        }
    }
}
