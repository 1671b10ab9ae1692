//! The RTP/RTCP interceptors every peer runs: webrtc-rs' defaults (NACK, sender and receiver
//! reports, TWCC receiver), except that the NACK responder keeps a short history.
//!
//! Its default is 8192 packets per stream: at 50–200 packets a second that is 40–160 s of
//! video nobody will ask for again (a retransmission is only useful within about one RTT), and
//! memory that grows for minutes after every join (measured: +7.8 MB over the first 5 minutes
//! of a soak with three viewers, then flat). 1024 packets is 5–20 s of video.

use webrtc::api::interceptor_registry::{configure_rtcp_reports, configure_twcc_receiver_only};
use webrtc::api::media_engine::MediaEngine;
use webrtc::interceptor::nack::generator::Generator;
use webrtc::interceptor::nack::responder::Responder;
use webrtc::interceptor::registry::Registry;
use webrtc::rtp_transceiver::rtp_codec::RTPCodecType;
use webrtc::rtp_transceiver::RTCPFeedback;

/// log2 of the packets kept per stream for retransmission.
pub const NACK_HISTORY_LOG2: u8 = 10;

/// The interceptor registry, with the feedback it needs registered on `media`.
pub fn registry(media: &mut MediaEngine) -> Result<Registry, webrtc::Error> {
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: "nack".to_owned(),
                parameter: parameter.to_owned(),
            },
            RTPCodecType::Video,
        );
    }
    let mut registry = Registry::new();
    registry.add(Box::new(
        Responder::builder().with_log2_size(NACK_HISTORY_LOG2),
    ));
    registry.add(Box::new(Generator::builder()));
    registry = configure_rtcp_reports(registry);
    configure_twcc_receiver_only(registry, media)
}
