//! A viewer's video track as webrtc-rs sees it: [`TrackLocal`], whose `bind` (once the
//! connection is negotiated) says where its packets go and under which SSRC, payload type and
//! header extension ids.

use std::any::Any;
use std::sync::Arc;

use bytes::Bytes;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecParameters, RTPCodecType};
use webrtc::sdp::extmap::{ABS_SEND_TIME_URI, SDES_MID_URI, TRANSPORT_CC_URI};
use webrtc::track::track_local::{TrackLocal, TrackLocalContext, TrackLocalWriter};

use super::codecs::{self, PLAYOUT_DELAY_URI};
use super::track::ViewerTrack;

/// Where a negotiated viewer's packets go.
pub(super) struct Binding {
    pub(super) ssrc: u32,
    pub(super) payload_type: u8,
    pub(super) writer: Arc<dyn TrackLocalWriter + Send + Sync>,
    /// The mid extension's id and the value it carries, when negotiated.
    pub(super) mid: Option<(u8, Bytes)>,
    /// The playout-delay extension's id, when negotiated.
    pub(super) playout_delay: Option<u8>,
    pub(super) abs_send_time: Option<u8>,
    /// The transport-wide sequence number's extension id, when negotiated.
    pub(super) transport_cc: Option<u8>,
}

#[async_trait::async_trait]
impl TrackLocal for ViewerTrack {
    async fn bind(&self, t: &TrackLocalContext) -> webrtc::error::Result<RTCRtpCodecParameters> {
        let codec =
            codecs::pick_h264(t.codec_parameters()).ok_or(webrtc::Error::ErrUnsupportedCodec)?;
        let ext_id = |uri: &str| {
            t.header_extensions()
                .iter()
                .find(|e| e.uri == uri)
                .and_then(|e| u8::try_from(e.id).ok())
        };
        let mid = ext_id(SDES_MID_URI).zip(t.mid().map(|m| Bytes::copy_from_slice(m.as_bytes())));
        self.bound(Binding {
            ssrc: t.ssrc(),
            payload_type: codec.payload_type,
            writer: t.write_stream(),
            mid,
            playout_delay: ext_id(PLAYOUT_DELAY_URI),
            abs_send_time: ext_id(ABS_SEND_TIME_URI),
            transport_cc: ext_id(TRANSPORT_CC_URI),
        });
        Ok(codec)
    }

    async fn unbind(&self, _t: &TrackLocalContext) -> webrtc::error::Result<()> {
        self.unbound();
        Ok(())
    }

    fn id(&self) -> &str {
        "video"
    }

    fn rid(&self) -> Option<&str> {
        None
    }

    fn stream_id(&self) -> &str {
        "rtcam"
    }

    fn kind(&self) -> RTPCodecType {
        RTPCodecType::Video
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
