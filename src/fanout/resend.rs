//! Retransmissions for one viewer (its NACKs), with a budget (sans-IO).
//!
//! A receiver that loses packets asks for them again; on a congested link a naive responder
//! turns that into a storm (measured with webrtc-rs' NACK generator behind a 150 kbit/s cap:
//! 1200 packets a second resent, 19 of every 20 dropped by the router, the stream frozen).
//! Here a packet is resent at most once per round trip, and all resending together stays
//! within [`BUDGET_SHARE`] of the viewer's video bitrate (a token bucket [`BUDGET_DEPTH`]
//! deep): what does not fit is not resent, and the receiver asks for a keyframe instead.
//! Random loss of a few percent costs a few percent; on a link that is full, resending is
//! what would overfill it (measured with a budget of half the estimate: resends took a third
//! of a 150 kbit/s link and kept the loss at 30 %).

use std::time::{Duration, Instant};

use webrtc::rtp::packet::Packet;

/// Packets kept per viewer (at 50–200 packets a second, 5–20 s: far more than a round trip).
pub const HISTORY: usize = 1024;
/// Share of the viewer's video bitrate resending may use.
pub const BUDGET_SHARE: f64 = 0.15;
/// Depth of the budget's bucket, as time at its rate: a router drops packets in bursts,
/// and a burst resent only in part still costs the viewer a keyframe.
pub const BUDGET_DEPTH: Duration = Duration::from_secs(1);
/// The bucket holds at least this many bytes (five full packets).
pub const MIN_BUDGET_BYTES: f64 = 6_000.0;
/// Shortest time between two resends of one packet, when the RTT is not known yet or less.
pub const MIN_RESEND_GAP: Duration = Duration::from_millis(50);

struct Entry {
    packet: Packet,
    resent_at: Option<Instant>,
}

pub struct Resender {
    slots: Vec<Option<Entry>>,
    tokens: f64,
    refilled: Option<Instant>,
    resent: u64,
    refused: u64,
}

impl Default for Resender {
    fn default() -> Self {
        Self {
            slots: (0..HISTORY).map(|_| None).collect(),
            tokens: 0.0,
            refilled: None,
            resent: 0,
            refused: 0,
        }
    }
}

impl Resender {
    /// Keeps a packet as it was sent (its final sequence number).
    pub fn record(&mut self, packet: Packet) {
        let slot = usize::from(packet.header.sequence_number) % HISTORY;
        self.slots[slot] = Some(Entry {
            packet,
            resent_at: None,
        });
    }

    /// The packets to send again for the sequence numbers a NACK names, within the budget
    /// of a viewer whose video gets `video_bps`, with round trip `rtt`.
    pub fn take(
        &mut self,
        seqs: &[u16],
        now: Instant,
        rtt: Option<Duration>,
        video_bps: u32,
    ) -> Vec<Packet> {
        let rate = f64::from(video_bps) * BUDGET_SHARE / 8.0; // bytes a second
        let depth = (rate * BUDGET_DEPTH.as_secs_f64()).max(MIN_BUDGET_BYTES);
        let elapsed = self
            .refilled
            .map_or(BUDGET_DEPTH, |t| now.saturating_duration_since(t));
        self.tokens = (self.tokens + rate * elapsed.as_secs_f64()).min(depth);
        self.refilled = Some(now);
        let gap = rtt.unwrap_or(MIN_RESEND_GAP).max(MIN_RESEND_GAP);
        let mut out = Vec::new();
        // A NACK may name a packet twice; each is considered once (sorted: linear, whatever
        // a hostile viewer sends).
        let mut unique = seqs.to_vec();
        unique.sort_unstable();
        unique.dedup();
        for seq in unique {
            let Some(entry) = self.slots[usize::from(seq) % HISTORY].as_mut() else {
                continue;
            };
            if entry.packet.header.sequence_number != seq {
                continue; // overwritten: too old
            }
            if entry
                .resent_at
                .is_some_and(|t| now.saturating_duration_since(t) < gap)
            {
                continue;
            }
            let size = (entry.packet.payload.len() + 12) as f64;
            if size > self.tokens {
                self.refused += 1;
                continue;
            }
            self.tokens -= size;
            entry.resent_at = Some(now);
            self.resent += 1;
            out.push(entry.packet.clone());
        }
        out
    }

    /// (packets resent, requests refused for the budget) since start.
    pub fn counters(&self) -> (u64, u64) {
        (self.resent, self.refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, len: usize) -> Packet {
        let mut p = Packet::default();
        p.header.sequence_number = seq;
        p.payload = vec![0u8; len].into();
        p
    }

    fn seqs(ps: &[Packet]) -> Vec<u16> {
        ps.iter().map(|p| p.header.sequence_number).collect()
    }

    #[test]
    fn resends_what_it_has_once_per_round_trip() {
        let mut r = Resender::default();
        for seq in 65_530..=65_535u16 {
            r.record(packet(seq, 1000));
        }
        r.record(packet(0, 1000)); // across the wrap
        let t = Instant::now();
        let rtt = Some(Duration::from_millis(80));
        let got = r.take(&[65_534, 0, 7, 65_534], t, rtt, 2_000_000);
        assert_eq!(
            seqs(&got),
            vec![0, 65_534],
            "7 was never sent; duplicates once"
        );
        let again = r.take(&[65_534], t + Duration::from_millis(40), rtt, 2_000_000);
        assert!(again.is_empty(), "not twice within a round trip");
        let later = r.take(&[65_534], t + Duration::from_millis(100), rtt, 2_000_000);
        assert_eq!(seqs(&later), vec![65_534]);
    }

    #[test]
    fn a_nack_storm_is_held_to_the_budget() {
        let mut r = Resender::default();
        for seq in 0..1000u16 {
            r.record(packet(seq, 1000));
        }
        let t0 = Instant::now();
        let mut bytes = 0;
        // Every 100 ms for 10 s, a NACK for everything; estimate 100 kbit/s.
        for i in 0..100u32 {
            let now = t0 + Duration::from_millis(100) * i;
            let all: Vec<u16> = (0..1000).collect();
            bytes += r.take(&all, now, None, 100_000).len() * 1012;
        }
        let bps = bytes as f64 * 8.0 / 10.0;
        assert!(
            bps <= 0.5 * 100_000.0 * 1.1 + 3_000.0 * 8.0 / 10.0,
            "{bps} bit/s resent"
        );
        assert!(r.counters().1 > 0, "refusals counted");
    }

    #[test]
    fn overwritten_history_is_not_resent() {
        let mut r = Resender::default();
        r.record(packet(5, 100));
        r.record(packet(5 + HISTORY as u16, 100));
        let got = r.take(&[5], Instant::now(), None, 1_000_000);
        assert!(got.is_empty());
    }
}
