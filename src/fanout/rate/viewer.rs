//! One viewer's handle on the rate control (held by its video track): what its peer reports
//! and what its track sends go in here; its layers and stream come out.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tracing::debug;

use super::{Feedback, RateControl, TransportDelay, MIN_TRANSPORT_PACKETS};

/// One viewer's side of the rate control: what the peer reports and what its video track
/// sends. Dropping it removes the viewer.
pub struct ViewerRate {
    pub(super) id: u64,
    pub(super) rate: Arc<RateControl>,
    pub(super) sent_bytes: AtomicU64,
    pub(super) layer: Arc<AtomicU8>,
    /// Whether it is sent the second stream.
    pub(super) on_low: Arc<AtomicBool>,
    /// Its packets' transport-wide sequence numbers and what its feedback says of them.
    pub(super) transport: Mutex<TransportDelay>,
}

impl ViewerRate {
    /// Its key in the rate control and in the keyframe requests.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether this viewer should be sent the second stream now.
    pub fn wants_low(&self) -> bool {
        self.on_low.load(Ordering::Relaxed)
    }

    /// The highest temporal layer this viewer is sent now.
    pub fn max_layer(&self) -> u8 {
        self.layer.load(Ordering::Relaxed)
    }

    /// Its track sent `bytes` of RTP payload.
    pub fn note_sent(&self, bytes: usize) {
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A receiver report for this viewer's video: `fraction_lost` of 256, and the RTT when
    /// the report answered a sender report.
    ///
    /// Where the viewer sends transport-wide feedback, the report cannot claim more loss than
    /// the feedback showed since the last report (see [`TransportDelay::take_loss`]). The
    /// report's fraction is what is left after retransmission, the feedback's is every first
    /// transmission lost, so normally the report is the lower one and counts; a report above
    /// the feedback is a viewer's miscount.
    pub fn receiver_report(&self, now: Instant, fraction_lost: u8, rtt: Option<Duration>) {
        let bytes = self.sent_bytes.swap(0, Ordering::Relaxed);
        let transport = self
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_loss();
        let reported = fraction_lost;
        let fraction_lost = match transport {
            Some((lost, total)) if total >= MIN_TRANSPORT_PACKETS => {
                fraction_lost.min((u64::from(lost) * 256 / u64::from(total)).min(255) as u8)
            }
            _ => fraction_lost,
        };
        debug!(
            id = self.id,
            report_loss = reported,
            feedback_lost = transport.map(|t| t.0),
            feedback_packets = transport.map(|t| t.1),
            "receiver report"
        );
        let mut s = self.rate.lock();
        if let Some(e) = s.viewers.get_mut(&self.id) {
            let dt = now
                .saturating_duration_since(e.last_report)
                .as_secs_f64()
                .max(0.05);
            // The first report: the track may have waited minutes as a standby offer, so
            // what was sent per second since its creation means nothing.
            let first = !e.reported;
            e.last_report = now;
            e.reported = true;
            // Everything on the wire: video payload and its headers, and the audio.
            let video = bytes as f64 * 8.0 / dt;
            let audio = f64::from(self.rate.limits.audio_bps);
            e.sent_bps = if bytes == 0 || first {
                0 // nothing sent yet: unknown, not "nothing fits"
            } else {
                (video * 1.05 + 8_000.0 + audio).min(f64::from(u32::MAX)) as u32
            };
            let sent = e.sent_bps;
            e.estimator
                .on_receiver_report(now, fraction_lost, rtt, sent);
        }
    }

    /// This viewer's estimate (bit/s) and last round trip.
    pub fn estimate_and_rtt(&self) -> (u32, Option<Duration>) {
        let s = self.rate.lock();
        s.viewers
            .get(&self.id)
            .map_or((self.rate.limits.min_bps, None), |e| {
                (e.estimator.estimate_bps(), e.estimator.observed().rtt)
            })
    }

    /// The part of an estimate of this viewer left for video payload.
    pub fn video_share(&self, estimate_bps: u32) -> u32 {
        self.rate.limits.video_share(estimate_bps)
    }

    /// A video packet of `bytes` (headers included) leaves for this viewer now: its
    /// transport-wide sequence number.
    pub fn stamp_transport(&self, now: Instant, bytes: usize) -> u16 {
        self.transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stamp(now, bytes)
    }

    /// Transport-wide feedback from this viewer.
    pub fn transport_feedback(&self, now: Instant, feedback: &Feedback) {
        let sample = self
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .on_feedback(now, feedback);
        let Some(sample) = sample else { return };
        // What arrived is video; the estimate is for all the viewer receives.
        let audio = self.rate.limits.audio_bps;
        let acked = sample.acked_bps.map(|a| a.saturating_add(audio));
        let sent = sample.sent_bps.map(|a| a.saturating_add(audio));
        let mut s = self.rate.lock();
        if let Some(e) = s.viewers.get_mut(&self.id) {
            e.estimator.on_queue_delay(now, sample.queue, acked, sent);
        }
    }

    /// A REMB from this viewer (bit/s).
    pub fn remb(&self, now: Instant, bps: u64) {
        let mut s = self.rate.lock();
        if let Some(e) = s.viewers.get_mut(&self.id) {
            let sent = e.sent_bps;
            e.estimator.on_remb(now, bps, sent);
        }
    }
}

impl Drop for ViewerRate {
    fn drop(&mut self) {
        self.rate.lock().viewers.remove(&self.id);
    }
}
