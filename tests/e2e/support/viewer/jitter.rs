//! A receiver's jitter buffer, as small as a test viewer can have and still behave like a
//! browser on a lossy link: packets are put back in order, a missing one is waited for (the
//! NACK interceptor asks the device to resend it) for at most [`WAIT_FOR_MISSING`], then given
//! up on; after a loss, pictures are dropped until the next IDR, which is asked for with a PLI.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use webrtc::rtp::packet::Packet;

/// How long a missing packet is waited for before it counts as lost.
pub const WAIT_FOR_MISSING: Duration = Duration::from_millis(400);

/// What the buffer hands on.
pub enum Out {
    /// A complete access unit's packets, in order.
    Unit(Vec<Packet>),
    /// Packets were lost: everything until the next IDR is undecodable.
    Lost,
}

#[derive(Default)]
pub struct Jitter {
    /// Extended sequence number → packet and when it arrived.
    held: BTreeMap<u64, (Packet, Instant)>,
    next: Option<u64>,
    highest: Option<u64>,
}

impl Jitter {
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return u64::from(seq) + (1 << 16);
        };
        // The candidate closest to the highest seen.
        let base = h & !0xffff;
        [base.wrapping_sub(1 << 16), base, base + (1 << 16)]
            .into_iter()
            .map(|b| b + u64::from(seq))
            .min_by_key(|c| c.abs_diff(h))
            .unwrap_or(base + u64::from(seq))
    }

    /// Takes a packet; returns what became complete.
    pub fn push(&mut self, pkt: Packet, now: Instant) -> Vec<Out> {
        let seq = self.extend(pkt.header.sequence_number);
        if self.next.is_some_and(|n| seq < n) {
            return Vec::new(); // late duplicate or a retransmission given up on
        }
        self.highest = Some(self.highest.map_or(seq, |h| h.max(seq)));
        self.next.get_or_insert(seq);
        self.held.insert(seq, (pkt, now));
        self.drain(now)
    }

    /// Checks for given-up losses when no packet arrives (call every few ms).
    pub fn tick(&mut self, now: Instant) -> Vec<Out> {
        self.drain(now)
    }

    fn drain(&mut self, now: Instant) -> Vec<Out> {
        let mut out = Vec::new();
        while let Some(next) = self.next {
            // A whole unit from `next` on: contiguous packets up to a marker.
            let mut end = None;
            let mut seq = next;
            while let Some((p, _)) = self.held.get(&seq) {
                if p.header.marker {
                    end = Some(seq);
                    break;
                }
                seq += 1;
            }
            if let Some(end) = end {
                let unit = (next..=end)
                    .filter_map(|s| self.held.remove(&s).map(|(p, _)| p))
                    .collect();
                out.push(Out::Unit(unit));
                self.next = Some(end + 1);
                continue;
            }
            // Incomplete: `seq` is missing. Waited for since the first later packet came.
            let Some(since) = self.held.range(seq + 1..).map(|(_, (_, at))| *at).min() else {
                break;
            };
            if now.duration_since(since) < WAIT_FOR_MISSING {
                break;
            }
            // Give up: skip to the first packet after the next marker we hold.
            let resume = self
                .held
                .range(seq..)
                .find(|(_, (p, _))| p.header.marker)
                .map(|(s, _)| s + 1);
            let Some(resume) = resume else { break };
            self.held.retain(|s, _| *s >= resume);
            self.next = Some(resume);
            out.push(Out::Lost);
        }
        out
    }
}
