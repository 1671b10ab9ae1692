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

/// The RTP header extension by which a sender asks the receiver for a playout delay range
/// (libwebrtc's, which Chromium and Firefox read): video packets carry min = max = 0, "show
/// each picture as soon as it is decoded", which is what a live camera wants. Without it
/// Chromium adds its smoothing render delay (docs/benchmarks.md).
pub const PLAYOUT_DELAY_URI: &str = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay";
/// The extension's payload: 12-bit minimum and maximum in 10 ms units, both 0.
pub const ZERO_PLAYOUT_DELAY: [u8; 3] = [0, 0, 0];

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

/// The negotiated H.264 codec our stream fits: constrained baseline with packetization mode
/// 1 (the profile we offer first, then any level of it), `None` when the viewer took none.
pub fn pick_h264(negotiated: &[RTCRtpCodecParameters]) -> Option<RTCRtpCodecParameters> {
    let h264: Vec<&RTCRtpCodecParameters> = negotiated
        .iter()
        .filter(|c| c.capability.mime_type.eq_ignore_ascii_case(MIME_TYPE_H264))
        .filter(|c| fmtp_has(&c.capability.sdp_fmtp_line, "packetization-mode", "1"))
        .collect();
    let profile = |c: &&RTCRtpCodecParameters, p: &str| {
        fmtp_value(&c.capability.sdp_fmtp_line, "profile-level-id")
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(p))
    };
    h264.iter()
        .find(|c| profile(c, "42e01f"))
        .or_else(|| h264.iter().find(|c| profile(c, "42e0")))
        .or_else(|| h264.iter().find(|c| profile(c, "42")))
        .map(|c| (*c).clone())
}

fn fmtp_value<'a>(fmtp: &'a str, key: &str) -> Option<&'a str> {
    fmtp.split(';').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        k.trim().eq_ignore_ascii_case(key).then(|| v.trim())
    })
}

fn fmtp_has(fmtp: &str, key: &str, value: &str) -> bool {
    fmtp_value(fmtp, key) == Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264(pt: u8, fmtp: &str) -> RTCRtpCodecParameters {
        RTCRtpCodecParameters {
            capability: RTCRtpCodecCapability {
                mime_type: "video/h264".into(),
                clock_rate: 90_000,
                sdp_fmtp_line: fmtp.into(),
                ..Default::default()
            },
            payload_type: pt,
            ..Default::default()
        }
    }

    #[test]
    fn picks_constrained_baseline_mode_1() {
        let offered = [
            h264(96, "packetization-mode=0;profile-level-id=42e01f"),
            h264(98, "profile-level-id=640c1f;packetization-mode=1"),
            h264(
                102,
                "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
            ),
        ];
        assert_eq!(pick_h264(&offered).map(|c| c.payload_type), Some(102));
        assert_eq!(
            pick_h264(&offered[..2]),
            None,
            "mode 0 or high profile only"
        );
        assert_eq!(
            pick_h264(&[h264(100, "packetization-mode=1;profile-level-id=42E034")])
                .map(|c| c.payload_type),
            Some(100)
        );
    }
}
