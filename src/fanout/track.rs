//! The video each viewer is sent: the encoder's access units are packetized **once** (one
//! H.264 packetizer, one RTP timestamp line) and every viewer's [`ViewerTrack`] forwards the
//! packets under its own SSRC and its own sequence numbers, so it can skip the temporal
//! layers its link cannot carry (thinning) without a gap the receiver would take for loss.
//!
//! A viewer's layer set changes only at a base-layer picture: nothing in layer 0 refers to
//! the others, and every picture of a higher layer refers back to a base picture the viewer
//! has. Each outgoing packet carries `abs-send-time` when the viewer negotiated it (what
//! Chromium's REMB estimator needs).

use std::any::Any;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tracing::debug;
use webrtc::rtp::extension::abs_send_time_extension::AbsSendTimeExtension;
use webrtc::rtp::packetizer::Packetizer;
use webrtc::rtp_transceiver::rtp_codec::{RTCRtpCodecParameters, RTPCodecType};
use webrtc::sdp::extmap::{ABS_SEND_TIME_URI, SDES_MID_URI};
use webrtc::track::track_local::{TrackLocal, TrackLocalContext, TrackLocalWriter};
use webrtc::util::Marshal;

use super::codecs;
use super::rate::{RateControl, ViewerRate};

/// RTP payload size (what webrtc-rs uses: fits any path's MTU with SRTP and extensions).
const RTP_MTU: usize = 1200;

/// One encoded access unit on its way to the viewers.
pub struct VideoUnit {
    pub data: Bytes,
    pub duration: Duration,
    pub temporal_id: u8,
}

/// Every viewer's video track, fed from one packetizer.
pub struct VideoTracks {
    packetizer: Mutex<Box<dyn Packetizer + Send + Sync>>,
    viewers: Mutex<Vec<Weak<ViewerTrack>>>,
    rate: Arc<RateControl>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code that can panic runs under these locks; recover the data regardless.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl VideoTracks {
    pub fn new(rate: Arc<RateControl>) -> Arc<Self> {
        let packetizer = webrtc::rtp::packetizer::new_packetizer(
            RTP_MTU,
            0, // payload type and SSRC are each viewer's
            0,
            Box::<webrtc::rtp::codecs::h264::H264Payloader>::default(),
            Box::new(webrtc::rtp::sequence::new_random_sequencer()),
            90_000,
        );
        Arc::new(Self {
            packetizer: Mutex::new(Box::new(packetizer)),
            viewers: Mutex::new(Vec::new()),
            rate,
        })
    }

    /// A new viewer's track; it is fed until the last reference to it is dropped.
    pub fn track_for(&self, session: &str) -> Arc<ViewerTrack> {
        let track = Arc::new(ViewerTrack {
            session: session.to_string(),
            rate: self.rate.join(session, Instant::now()),
            binding: Mutex::new(None),
            state: Mutex::new(SendState::default()),
        });
        let mut viewers = lock(&self.viewers);
        viewers.retain(|v| v.strong_count() > 0);
        viewers.push(Arc::downgrade(&track));
        track
    }

    /// Viewers currently fed.
    pub fn viewer_count(&self) -> usize {
        lock(&self.viewers)
            .iter()
            .filter(|v| v.strong_count() > 0)
            .count()
    }

    /// Packetizes `unit` once and hands it to every viewer.
    pub async fn write(&self, unit: &VideoUnit) {
        let samples = (unit.duration.as_secs_f64() * 90_000.0) as u32;
        let packets = match lock(&self.packetizer).packetize(&unit.data, samples) {
            Ok(p) => p,
            Err(e) => {
                debug!(cause = %e, "packetizing video failed; unit dropped");
                return;
            }
        };
        let viewers: Vec<Arc<ViewerTrack>> = lock(&self.viewers)
            .iter()
            .filter_map(Weak::upgrade)
            .collect();
        for viewer in viewers {
            viewer.send(&packets, unit.temporal_id).await;
        }
    }
}

struct Binding {
    ssrc: u32,
    payload_type: u8,
    writer: Arc<dyn TrackLocalWriter + Send + Sync>,
    mid: Option<(u8, Bytes)>,
    abs_send_time: Option<u8>,
}

#[derive(Default)]
struct SendState {
    seq: u16,
    /// The highest temporal layer forwarded, fixed from one base picture to the next.
    layer: u8,
}

/// One viewer's video: implements webrtc-rs' [`TrackLocal`] for its one binding.
pub struct ViewerTrack {
    session: String,
    rate: ViewerRate,
    binding: Mutex<Option<Arc<Binding>>>,
    state: Mutex<SendState>,
}

impl ViewerTrack {
    /// This viewer's rate control handle (where its RTCP goes).
    pub fn rate(&self) -> &ViewerRate {
        &self.rate
    }

    /// The SSRC its video is sent under, once negotiated.
    pub fn ssrc(&self) -> Option<u32> {
        lock(&self.binding).as_ref().map(|b| b.ssrc)
    }

    async fn send(&self, packets: &[webrtc::rtp::packet::Packet], temporal_id: u8) {
        let Some(binding) = lock(&self.binding).clone() else {
            return;
        };
        let first_seq = {
            let mut s = lock(&self.state);
            if temporal_id == 0 {
                s.layer = self.rate.max_layer();
            }
            if temporal_id > s.layer {
                return;
            }
            let first = s.seq;
            s.seq = s.seq.wrapping_add(packets.len() as u16);
            first
        };
        let send_time = binding.abs_send_time.map(|id| {
            let ext = AbsSendTimeExtension::new(SystemTime::now());
            (id, ext.marshal().unwrap_or_default())
        });
        let mut bytes = 0;
        for (i, p) in packets.iter().enumerate() {
            let mut pkt = p.clone();
            pkt.header.ssrc = binding.ssrc;
            pkt.header.payload_type = binding.payload_type;
            pkt.header.sequence_number = first_seq.wrapping_add(i as u16);
            if let Some((id, mid)) = &binding.mid {
                let _ = pkt.header.set_extension(*id, mid.clone());
            }
            if let Some((id, time)) = &send_time {
                let _ = pkt.header.set_extension(*id, time.clone());
            }
            bytes += pkt.payload.len();
            if let Err(e) = binding.writer.write_rtp(&pkt).await {
                debug!(session = %self.session, cause = %e, "sending video failed");
                return;
            }
        }
        self.rate.note_sent(bytes);
    }
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
        *lock(&self.binding) = Some(Arc::new(Binding {
            ssrc: t.ssrc(),
            payload_type: codec.payload_type,
            writer: t.write_stream(),
            mid,
            abs_send_time: ext_id(ABS_SEND_TIME_URI),
        }));
        lock(&self.state).seq = rand::random();
        Ok(codec)
    }

    async fn unbind(&self, _t: &TrackLocalContext) -> webrtc::error::Result<()> {
        *lock(&self.binding) = None;
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
