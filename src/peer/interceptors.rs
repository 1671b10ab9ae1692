//! The RTP/RTCP interceptors and header extensions every peer runs: webrtc-rs' sender and
//! receiver reports and NACK generator. NACKs for our video are answered by the viewer's own
//! track (`fanout::resend`: a history and a budget, so a lossy link cannot turn them into a
//! storm), not by webrtc-rs' responder, which resends whatever is asked. And for
//! bandwidth feedback on video `abs-send-time` + REMB (which rtcam reads) rather than
//! transport-wide congestion control (which it does not: rtcam writes no transport-wide
//! sequence numbers, so offering it on video would only confuse the viewer's choice).
//! Transport-wide feedback stays on audio, where the device receives the viewers' talkback.

use webrtc::api::interceptor_registry::configure_rtcp_reports;
use webrtc::api::media_engine::MediaEngine;
use webrtc::interceptor::nack::generator::Generator;
use webrtc::interceptor::registry::Registry;
use webrtc::interceptor::twcc::receiver::Receiver;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpHeaderExtensionCapability, RTPCodecType};
use webrtc::rtp_transceiver::RTCPFeedback;
use webrtc::sdp::extmap::{ABS_SEND_TIME_URI, TRANSPORT_CC_URI};

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
    registry.add(Box::new(Generator::builder()));
    registry = configure_rtcp_reports(registry);
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: ABS_SEND_TIME_URI.to_owned(),
        },
        RTPCodecType::Video,
        None,
    )?;
    media.register_feedback(
        RTCPFeedback {
            typ: "transport-cc".to_owned(),
            parameter: String::new(),
        },
        RTPCodecType::Audio,
    );
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: TRANSPORT_CC_URI.to_owned(),
        },
        RTPCodecType::Audio,
        None,
    )?;
    registry.add(Box::new(Receiver::builder()));
    Ok(registry)
}
