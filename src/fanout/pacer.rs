//! Pacing: a viewer's packets leave spread out at [`PACING_FACTOR`] times its estimate
//! instead of in one burst per picture. A keyframe is tens of packets; sent at once it
//! overflows a small router buffer and is lost (measured behind a 150 kbit/s token bucket with
//! 200 ms of buffer: most IDRs lost, the stream undecodable), spread out it passes. The
//! factor is lower than libwebrtc's 2.5 because a thinned viewer may be sent more than its
//! link carries: at 2.5 times its estimate an IDR overflowed a 150 ms router buffer every
//! time; the cost is that a keyframe takes about its size over 1.2 times the estimate
//! (20 KB at 1.5 Mbit/s: 90 ms).
//!
//! A viewer's first picture (the IDR it waits for to show anything) is the exception: it goes
//! at [`OPENING_PACING_FACTOR`] times the estimate, so a join does not wait for it to trickle
//! out (a 7 KB IDR at 1 Mbit/s took 45 ms of a 100 ms join in Chromium). Nothing is known of
//! the link yet at that point, and the estimate it would be paced at is only the start value.
//!
//! One task per viewer drains its queue. The queue is bounded ([`QUEUE_LIMIT`] of delay at
//! the pacing rate): the track refuses a picture that would not fit, so a viewer whose link
//! collapsed cannot grow memory or delay without bound.

use std::sync::Weak;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;
use webrtc::rtp::extension::abs_send_time_extension::AbsSendTimeExtension;
use webrtc::rtp::extension::transport_cc_extension::TransportCcExtension;
use webrtc::rtp::packet::Packet;
use webrtc::util::Marshal;

use super::track::ViewerTrack;

/// Pacing rate as a multiple of the viewer's estimate.
pub const PACING_FACTOR: f64 = 1.2;
/// Pacing rate of a viewer's first picture, as a multiple of its estimate.
pub const OPENING_PACING_FACTOR: f64 = 8.0;
/// Slowest pacing rate, bit/s.
pub const MIN_PACING_BPS: f64 = 100_000.0;
/// Most delay the queue may hold at the pacing rate.
pub const QUEUE_LIMIT: Duration = Duration::from_millis(500);
/// Bytes of headers (RTP, SRTP tag, UDP, IP) counted per packet.
pub const PACKET_OVERHEAD: usize = 50;

/// How long `bytes` take at `bps`.
pub fn send_time(bytes: usize, bps: f64) -> Duration {
    Duration::from_secs_f64((bytes + PACKET_OVERHEAD) as f64 * 8.0 / bps.max(MIN_PACING_BPS))
}

/// The pacing rate for an estimate.
pub fn pacing_bps(estimate_bps: u32) -> f64 {
    (f64::from(estimate_bps) * PACING_FACTOR).max(MIN_PACING_BPS)
}

/// The pacing rate `bps` of a batch, or of a viewer's first picture.
pub fn opening_bps(bps: f64, opening: bool) -> f64 {
    if opening {
        bps * OPENING_PACING_FACTOR / PACING_FACTOR
    } else {
        bps
    }
}

/// Packets on their way out, and what they add up to.
pub(super) struct Batch {
    pub packets: Vec<Packet>,
    pub bytes: usize,
    /// The viewer's first picture.
    pub opening: bool,
}

/// Starts the pacer of `track`; it ends when the track is dropped.
pub(super) fn start(track: Weak<ViewerTrack>) -> mpsc::UnboundedSender<Batch> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(pace(track, rx));
    tx
}

async fn pace(track: Weak<ViewerTrack>, mut rx: mpsc::UnboundedReceiver<Batch>) {
    let mut next = tokio::time::Instant::now();
    while let Some(batch) = rx.recv().await {
        if !send_batch(&track, batch, &mut next).await {
            break;
        }
    }
}

/// Sends one batch, paced; false once the track is gone. Neither the track nor its
/// connection is held across the waits: a viewer that leaves (or whose estimate fell so low
/// that a keyframe takes seconds) releases its connection at once.
async fn send_batch(
    track: &Weak<ViewerTrack>,
    batch: Batch,
    next: &mut tokio::time::Instant,
) -> bool {
    let mut failed = None;
    let mut unbound = false;
    // The rate once per batch (one picture): the estimate changes once a report.
    let bps = match track.upgrade() {
        Some(t) => pacing_bps(t.rate().estimate_and_rtt().0),
        None => return false,
    };
    let bps = opening_bps(bps, batch.opening);
    for mut p in batch.packets {
        let now = tokio::time::Instant::now();
        if *next > now {
            tokio::time::sleep_until(*next).await;
        } else {
            *next = now; // idle time is not saved up for a burst later
        }
        *next += send_time(p.payload.len(), bps);
        let Some((t, out)) = track.upgrade().and_then(|t| t.output().map(|o| (t, o))) else {
            unbound = true; // gone, not negotiated, or unbound: nothing to send to
            break;
        };
        if let Some(id) = out.abs_send_time {
            let stamp = AbsSendTimeExtension::new(SystemTime::now());
            if let Ok(b) = stamp.marshal() {
                let _ = p.header.set_extension(id, b);
            }
        }
        if let Some(id) = out.transport_cc {
            let bytes = p.payload.len() + PACKET_OVERHEAD;
            let seq = t.rate().stamp_transport(std::time::Instant::now(), bytes);
            let ext = TransportCcExtension {
                transport_sequence: seq,
            };
            if let Ok(b) = ext.marshal() {
                let _ = p.header.set_extension(id, b);
            }
        }
        drop(t);
        if let Err(e) = out.writer.write_rtp(&p).await {
            failed = Some(e);
        }
    }
    let Some(t) = track.upgrade() else {
        return false;
    };
    t.dequeued(batch.bytes);
    if let Some(e) = failed.filter(|_| !unbound) {
        t.send_failed(&e);
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_keyframe_is_spread_over_its_share_of_time() {
        // 20 packets of 1200 bytes at an estimate of 250 kbit/s: 300 kbit/s pacing.
        let total: Duration = (0..20).map(|_| send_time(1200, pacing_bps(250_000))).sum();
        assert!(
            (Duration::from_millis(640)..=Duration::from_millis(680)).contains(&total),
            "{total:?}"
        );
        // Never slower than the floor.
        assert_eq!(pacing_bps(0), MIN_PACING_BPS);
    }
}
