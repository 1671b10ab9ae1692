//! The codecs rtcam offers. Tracks and the media engine must agree on them.

use webrtc::api::media_engine::{MediaEngine, MIME_TYPE_H264, MIME_TYPE_OPUS};
use webrtc::rtp_transceiver::rtp_codec::{
    RTCRtpCodecCapability, RTCRtpCodecParameters, RTPCodecType,
};
use webrtc::rtp_transceiver::RTCPFeedback;

/// H.264 constrained baseline level 3.1, packetization mode 1 (what every browser decodes).
pub const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";
/// RTP payload type of H.264 in our offers.
pub const H264_PAYLOAD_TYPE: u8 = 102;
/// Opus with in-band FEC.
pub const OPUS_FMTP: &str = "minptime=10;useinbandfec=1";
/// RTP payload type of Opus in our offers.
pub const OPUS_PAYLOAD_TYPE: u8 = 111;

/// The H.264 capability of the video track.
pub fn h264_capability() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![
            RTCPFeedback {
                typ: "goog-remb".into(),
                parameter: String::new(),
            },
            RTCPFeedback {
                typ: "ccm".into(),
                parameter: "fir".into(),
            },
            RTCPFeedback {
                typ: "nack".into(),
                parameter: String::new(),
            },
            RTCPFeedback {
                typ: "nack".into(),
                parameter: "pli".into(),
            },
        ],
    }
}

/// The Opus capability of the audio track (SDP always says 2 channels for Opus).
pub fn opus_capability() -> RTCRtpCodecCapability {
    RTCRtpCodecCapability {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: OPUS_FMTP.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Registers exactly our two codecs.
pub fn register(m: &mut MediaEngine) -> webrtc::error::Result<()> {
    m.register_codec(
        RTCRtpCodecParameters {
            capability: h264_capability(),
            payload_type: H264_PAYLOAD_TYPE,
            ..Default::default()
        },
        RTPCodecType::Video,
    )?;
    m.register_codec(
        RTCRtpCodecParameters {
            capability: opus_capability(),
            payload_type: OPUS_PAYLOAD_TYPE,
            ..Default::default()
        },
        RTPCodecType::Audio,
    )
}
