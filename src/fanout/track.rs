//! The video each viewer is sent: the encoder's access units are packetized **once** (one
//! H.264 packetizer, one RTP timestamp line) and every viewer's [`ViewerTrack`] forwards the
//! packets under its own SSRC and its own sequence numbers, so it can skip the temporal
//! layers its link cannot carry (thinning) without a gap the receiver would take for loss.
//!
//! A viewer's layer set changes only at a base-layer picture: nothing in layer 0 refers to
//! the others, and every picture of a higher layer refers back to a base picture the viewer
//! has. Packets leave through the viewer's [`pacer`](super::pacer), stamped with
//! `abs-send-time` when the viewer negotiated it (what Chromium's REMB estimator needs); a
//! picture that would overfill the pacer's queue is dropped and the viewer is resynchronised
//! with an IDR.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::mpsc;
use tracing::debug;
use webrtc::rtp::packet::Packet;
use webrtc::rtp::packetizer::Packetizer;

use super::binding::Binding;
use super::codecs::ZERO_PLAYOUT_DELAY;
use super::keyframe::KeyframeRequests;
use super::pacer::{self, Batch};
use super::rate::{RateControl, ViewerRate};
use super::resend::Resender;

/// RTP payload size (what webrtc-rs uses: fits any path's MTU with SRTP and extensions).
const RTP_MTU: usize = 1200;

/// Which encode a unit comes from: the main one, or the second one for slow viewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stream {
    #[default]
    Main = 0,
    Low = 1,
}

/// One encoded access unit on its way to the viewers.
pub struct VideoUnit {
    pub data: Bytes,
    pub duration: Duration,
    pub temporal_id: u8,
    pub keyframe: bool,
    pub stream: Stream,
}

/// Every viewer's video track, fed from one packetizer per stream.
pub struct VideoTracks {
    packetizers: [Mutex<Box<dyn Packetizer + Send + Sync>>; 2],
    viewers: Mutex<Vec<Weak<ViewerTrack>>>,
    rate: Arc<RateControl>,
    /// Keyframe requests per stream.
    keyframes: [Arc<KeyframeRequests>; 2],
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // No code that can panic runs under these locks; recover the data regardless.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl VideoTracks {
    /// `keyframes` are the main stream's requests, `low_keyframes` the second stream's.
    pub fn new(
        rate: Arc<RateControl>,
        keyframes: Arc<KeyframeRequests>,
        low_keyframes: Arc<KeyframeRequests>,
    ) -> Arc<Self> {
        let packetizer = || -> Mutex<Box<dyn Packetizer + Send + Sync>> {
            Mutex::new(Box::new(webrtc::rtp::packetizer::new_packetizer(
                RTP_MTU,
                0, // payload type and SSRC are each viewer's
                0,
                Box::<webrtc::rtp::codecs::h264::H264Payloader>::default(),
                Box::new(webrtc::rtp::sequence::new_random_sequencer()),
                90_000,
            )))
        };
        Arc::new(Self {
            packetizers: [packetizer(), packetizer()],
            viewers: Mutex::new(Vec::new()),
            rate,
            keyframes: [keyframes, low_keyframes],
        })
    }

    /// A new viewer's track; it is fed until the last reference to it is dropped.
    pub fn track_for(&self, session: &str) -> Arc<ViewerTrack> {
        let track = Arc::new_cyclic(|me| ViewerTrack {
            session: session.to_string(),
            rate: self.rate.join(session, Instant::now()),
            keyframes: self.keyframes.clone(),
            binding: Mutex::new(None),
            state: Mutex::new(SendState::default()),
            resender: Mutex::new(Resender::default()),
            pacer: pacer::start(me.clone()),
            queued: AtomicUsize::new(0),
        });
        let mut viewers = lock(&self.viewers);
        viewers.retain(|v| v.strong_count() > 0);
        viewers.push(Arc::downgrade(&track));
        track
    }

    /// Packetizes `unit` once and hands it to every viewer.
    pub async fn write(&self, unit: &VideoUnit) {
        let samples = (unit.duration.as_secs_f64() * 90_000.0) as u32;
        let packetizer = &self.packetizers[unit.stream as usize];
        let packets = match lock(packetizer).packetize(&unit.data, samples) {
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
            viewer.send(&packets, unit);
        }
    }
}

#[derive(Default)]
struct SendState {
    seq: u16,
    /// The highest temporal layer forwarded, fixed from one base picture to the next.
    layer: u8,
    /// A picture was dropped (the queue was full): nothing more until an IDR.
    waiting_for_idr: bool,
    /// The stream forwarded; another one is switched to at its next IDR.
    stream: Stream,
    /// Added to the stream's RTP timestamps, so they run on across a switch.
    ts_offset: u32,
    /// The last unit forwarded: its timestamp (as sent) and duration (90 kHz).
    last_ts: Option<(u32, u32)>,
    /// When an IDR of the stream this viewer should switch to was asked for.
    switch_asked: Option<(Stream, Instant)>,
    /// Whether the viewer has been sent its first picture (an IDR).
    opened: bool,
}

/// One viewer's video: implements webrtc-rs' [`TrackLocal`] for its one binding.
pub struct ViewerTrack {
    session: String,
    rate: ViewerRate,
    keyframes: [Arc<KeyframeRequests>; 2],
    binding: Mutex<Option<Arc<Binding>>>,
    state: Mutex<SendState>,
    resender: Mutex<Resender>,
    pacer: mpsc::UnboundedSender<Batch>,
    /// Bytes waiting in the pacer.
    queued: AtomicUsize,
}

impl ViewerTrack {
    /// This viewer's rate control handle (where its RTCP goes).
    pub fn rate(&self) -> &ViewerRate {
        &self.rate
    }

    /// A keyframe request from this viewer (PLI/FIR), for the stream it is sent.
    pub fn request_keyframe(&self, now: Instant) {
        let stream = lock(&self.state).stream;
        self.keyframes[stream as usize].request_from(self.rate.id(), now);
    }

    /// The viewer is gone: its pending keyframe requests go with it.
    pub fn forget_keyframes(&self) {
        for k in &self.keyframes {
            k.forget(self.rate.id());
        }
    }

    /// The SSRC its video is sent under, once negotiated.
    pub fn ssrc(&self) -> Option<u32> {
        lock(&self.binding).as_ref().map(|b| b.ssrc)
    }

    /// Negotiated: packets go to `binding` from now on.
    pub(super) fn bound(&self, binding: Binding) {
        {
            let mut s = lock(&self.state);
            // Numbered from a random start before the first packet can go out.
            s.seq = rand::random();
            // Pictures before the first IDR would be undecodable: the first one asks for it.
            s.waiting_for_idr = true;
        }
        *lock(&self.binding) = Some(Arc::new(binding));
    }

    pub(super) fn unbound(&self) {
        *lock(&self.binding) = None;
    }

    pub(super) fn output(&self) -> Option<Arc<Binding>> {
        lock(&self.binding).clone()
    }

    pub(super) fn dequeued(&self, bytes: usize) {
        self.queued.fetch_sub(
            bytes.min(self.queued.load(Ordering::Relaxed)),
            Ordering::Relaxed,
        );
    }

    pub(super) fn send_failed(&self, e: &webrtc::Error) {
        debug!(session = %self.session, cause = %e, "sending video failed");
    }

    fn enqueue(&self, packets: Vec<Packet>, opening: bool) {
        let bytes: usize = packets.iter().map(|p| p.payload.len()).sum();
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        let batch = Batch {
            packets,
            bytes,
            opening,
        };
        if self.pacer.send(batch).is_err() {
            self.dequeued(bytes);
        }
    }

    /// Takes this viewer's share of one access unit: skipped when its layer is not sent to
    /// it, dropped (and an IDR asked for) when its queue is full, else numbered and queued.
    fn send(&self, packets: &[Packet], unit: &VideoUnit) {
        let Some(binding) = self.output() else {
            return;
        };
        let bytes: usize = packets.iter().map(|p| p.payload.len()).sum();
        let limit = pacer::pacing_bps(self.rate.estimate_and_rtt().0) / 8.0
            * pacer::QUEUE_LIMIT.as_secs_f64();
        let queued = self.queued.load(Ordering::Relaxed) as f64;
        let mut s = lock(&self.state);
        if unit.stream != s.stream && !self.switch_to(&mut s, packets, unit) {
            return;
        }
        if unit.temporal_id == 0 {
            s.layer = self.rate.max_layer();
        }
        if unit.temporal_id > s.layer {
            return;
        }
        // An IDR may overfill the queue by one limit: it is what the viewer waits for.
        // An IDR always enters an empty queue, however large: refusing it would refuse every
        // picture after it too, and the next IDR would be as large.
        let room = if unit.keyframe { 2.0 * limit } else { limit };
        let fits = queued + bytes as f64 <= room || (unit.keyframe && queued == 0.0);
        if !fits || (s.waiting_for_idr && !unit.keyframe) {
            if !s.waiting_for_idr {
                debug!(session = %self.session, queued_bytes = queued as u64, "viewer's queue full: picture dropped, IDR requested");
            }
            s.waiting_for_idr = true;
            self.keyframes[s.stream as usize].request_from(self.rate.id(), Instant::now());
            return;
        }
        s.waiting_for_idr = false;
        let opening = !s.opened;
        s.opened = true;
        let first = s.seq;
        s.seq = s.seq.wrapping_add(packets.len() as u16);
        let offset = s.ts_offset;
        let ts = packets
            .first()
            .map_or(0, |p| p.header.timestamp.wrapping_add(offset));
        s.last_ts = Some((ts, (unit.duration.as_secs_f64() * 90_000.0) as u32));
        drop(s);
        let mut out = Vec::with_capacity(packets.len());
        let mut resender = lock(&self.resender);
        for (i, p) in packets.iter().enumerate() {
            let mut pkt = p.clone();
            pkt.header.ssrc = binding.ssrc;
            pkt.header.payload_type = binding.payload_type;
            pkt.header.sequence_number = first.wrapping_add(i as u16);
            pkt.header.timestamp = pkt.header.timestamp.wrapping_add(offset);
            if let Some((id, mid)) = &binding.mid {
                let _ = pkt.header.set_extension(*id, mid.clone());
            }
            if let Some(id) = binding.playout_delay {
                let _ = pkt
                    .header
                    .set_extension(id, Bytes::from_static(&ZERO_PLAYOUT_DELAY));
            }
            resender.record(pkt.clone());
            out.push(pkt);
        }
        drop(resender);
        self.rate.note_sent(bytes);
        self.enqueue(out, opening);
    }

    /// A unit of another stream than the one forwarded: whether to switch to it now. Only
    /// to the stream the rate control wants for this viewer, and only at one of its IDRs
    /// (asked for once a second until it comes); the timestamps then continue from the
    /// last unit sent, one picture later.
    fn switch_to(&self, s: &mut SendState, packets: &[Packet], unit: &VideoUnit) -> bool {
        let wanted = if self.rate.wants_low() {
            Stream::Low
        } else {
            Stream::Main
        };
        if unit.stream != wanted {
            return false;
        }
        let now = Instant::now();
        if !unit.keyframe {
            let due = s.switch_asked.map_or(true, |(to, at)| {
                to != wanted || now.saturating_duration_since(at) >= Duration::from_secs(1)
            });
            if due {
                self.keyframes[wanted as usize].request_from(self.rate.id(), now);
                s.switch_asked = Some((wanted, now));
            }
            return false;
        }
        let first = packets.first().map_or(0, |p| p.header.timestamp);
        s.ts_offset = s.last_ts.map_or(0, |(ts, samples)| {
            ts.wrapping_add(samples.max(1)).wrapping_sub(first)
        });
        debug!(session = %self.session, stream = ?wanted, "viewer's video switched stream");
        s.stream = wanted;
        s.switch_asked = None;
        s.waiting_for_idr = false;
        true
    }

    /// The viewer lost `seqs` (a NACK): resends what the history and the budget allow.
    pub fn resend(&self, seqs: &[u16]) {
        if self.output().is_none() {
            return;
        }
        let (estimate, rtt) = self.rate.estimate_and_rtt();
        let video = self.rate.video_share(estimate);
        let packets = lock(&self.resender).take(seqs, Instant::now(), rtt, video);
        if !packets.is_empty() {
            self.rate
                .note_sent(packets.iter().map(|p| p.payload.len()).sum());
            self.enqueue(packets, false);
        }
    }
}

impl Drop for ViewerTrack {
    fn drop(&mut self) {
        let (resent, refused) = lock(&self.resender).counters();
        debug!(session = %self.session, resent, refused_for_budget = refused, "video track closed");
    }
}

#[cfg(test)]
#[path = "track_tests.rs"]
mod tests;
