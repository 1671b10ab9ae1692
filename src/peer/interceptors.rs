//! The RTP/RTCP interceptors and header extensions every peer runs: webrtc-rs' sender and
//! receiver reports and NACK generator. NACKs for our video are answered by the viewer's own
//! track (`fanout::resend`: a history and a budget, so a lossy link cannot turn them into a
//! storm), not by webrtc-rs' responder, which resends whatever is asked.
//!
//! Bandwidth feedback on video: transport-wide sequence numbers (stamped by the viewer's
//! pacer, not by webrtc-rs' sender interceptor: the pacer knows the real send time) so the
//! viewer reports every packet's arrival about every 100 ms, which the device turns into a
//! queueing delay (`fanout::rate::delay`); and `abs-send-time` + REMB for viewers that do
//! not do transport-wide feedback. Only video carries the sequence numbers: the audio the
//! device sends does not need them. On audio, transport-wide feedback is offered so the
//! device answers for the talkback it receives (webrtc-rs' receiver interceptor).
//!
//! The playout-delay extension, when configured, so video packets can ask for no playout
//! delay (`fanout::track` stamps it).

use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::MediaEngine;
use webrtc::interceptor::nack::generator::Generator;
use webrtc::interceptor::registry::Registry;
use webrtc::interceptor::twcc::receiver::Receiver;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpHeaderExtensionCapability, RTPCodecType};
use webrtc::rtp_transceiver::RTCPFeedback;
use webrtc::sdp::extmap::{ABS_SEND_TIME_URI, TRANSPORT_CC_URI};

use crate::fanout::codecs::PLAYOUT_DELAY_URI;

/// The interceptor registry, with the feedback it needs registered on `media`; offers the
/// playout-delay extension (`fanout::codecs::PLAYOUT_DELAY_URI`) when `zero_playout_delay`.
pub fn registry(
    media: &mut MediaEngine,
    zero_playout_delay: bool,
) -> Result<Registry, webrtc::Error> {
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
    registry.add(Box::new(Generator::builder()));
    registry = configure_rtcp_reports(registry);
    let playout_delay = zero_playout_delay.then_some(PLAYOUT_DELAY_URI);
    for uri in std::iter::once(ABS_SEND_TIME_URI).chain(playout_delay) {
        media.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: uri.to_owned(),
            },
            RTPCodecType::Video,
            None,
        )?;
    }
    for kind in [RTPCodecType::Video, RTPCodecType::Audio] {
        media.register_feedback(
            RTCPFeedback {
                typ: "transport-cc".to_owned(),
                parameter: String::new(),
            },
            kind,
        );
        media.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: TRANSPORT_CC_URI.to_owned(),
            },
            kind,
            None,
        )?;
    }
    registry.add(Box::new(Receiver::builder()));
    Ok(registry)
}
