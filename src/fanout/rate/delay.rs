//! Queueing delay from transport-wide feedback (sans-IO: the send times, the feedback and
//! the time come in as arguments).
//!
//! Every video packet a viewer is sent carries a transport-wide sequence number
//! (`draft-holmer-rmcat-transport-wide-cc-extensions`); the viewer reports, about every
//! 100 ms, when each one arrived on its own clock. Arrival minus send time is the one-way
//! delay plus an unknown, constant clock offset, so its lowest value over the last
//! [`BASE_WINDOW`] is the empty-path delay and anything above it is time spent in a queue
//! somewhere on the path. That is the signal receiver reports give only once a second
//! (through the round trip): ten times as often, a router queue is seen when it holds tens
//! of milliseconds, before it overflows.
//!
//! Each feedback gives one sample: the **lowest** delay among the packets it newly
//! acknowledges. A queue that persists lifts every packet's delay; the burst of one
//! keyframe lifts only the packets behind it. The feedback also says what arrived: the
//! acknowledged rate over the last [`ACKED_WINDOW`], which is what a full link carries, and
//! how fast everything was sent over the span in which those packets left (a sender that
//! sends well below its estimate does not fill the link, and what arrived is then no measure
//! of it).
//!
//! Everything in feedback is untrusted: sequence numbers we did not send are ignored, at
//! most [`LOG_LEN`] entries are read, and a delay that jumps by more than [`MAX_QUEUE`]
//! (a clock reset, or a lie) restarts the baseline instead of reading as a queue.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::window::WindowedMin;

/// Packets remembered (sent and not yet acknowledged or expired).
pub const LOG_LEN: usize = 4096;
/// How long a lowest delay counts as the path's base.
pub const BASE_WINDOW: Duration = Duration::from_secs(10);
/// The window over which the acknowledged rate is measured.
pub const ACKED_WINDOW: Duration = Duration::from_millis(500);
/// Shortest span of arrivals a rate is computed from.
const MIN_ACKED_SPAN_US: i64 = 200_000;
/// A larger queue than this is taken for a clock jump.
pub const MAX_QUEUE: Duration = Duration::from_secs(5);

/// One transport-wide feedback, decoded: for every sequence number from `base_seq` on,
/// its arrival time on the viewer's clock (µs), or `None` when it did not arrive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feedback {
    pub base_seq: u16,
    pub arrivals: Vec<Option<i64>>,
}

/// What one feedback says.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DelaySample {
    /// Time in queues: the lowest delay of this feedback above the path's base.
    pub queue: Duration,
    /// What arrived over the last [`ACKED_WINDOW`] (bit/s, packet headers included), once
    /// enough has arrived to tell.
    pub acked_bps: Option<u32>,
    /// What was sent (lost packets included) over the span of time in which those packets
    /// left; `None` when they all left within a moment.
    pub sent_bps: Option<u32>,
}

#[derive(Debug, Clone, Copy)]
struct Sent {
    seq: u16,
    at_us: i64,
    bytes: u32,
    acked: bool,
    /// Reported as not received (counted as lost once).
    missed: bool,
}

/// One viewer's sent packets and the delay its feedback shows.
#[derive(Debug)]
pub struct TransportDelay {
    epoch: Instant,
    next_seq: u16,
    sent: VecDeque<Sent>,
    /// Per feedback, its lowest one-way delay (µs, with the clock offset).
    lows: WindowedMin<i64>,
    /// Acknowledged packets: arrival (µs, viewer clock), bytes and send time (µs).
    acked: VecDeque<(i64, u32, i64)>,
    /// Packets reported lost and received since [`TransportDelay::take_loss`].
    lost: u32,
    received: u32,
}

impl TransportDelay {
    pub fn new(now: Instant) -> Self {
        Self {
            epoch: now,
            next_seq: rand::random(),
            sent: VecDeque::new(),
            lows: WindowedMin::new(BASE_WINDOW, 256),
            acked: VecDeque::new(),
            lost: 0,
            received: 0,
        }
    }

    fn us(&self, t: Instant) -> i64 {
        t.saturating_duration_since(self.epoch).as_micros() as i64
    }

    /// A packet of `bytes` (headers included) leaves now: its sequence number.
    pub fn stamp(&mut self, now: Instant, bytes: usize) -> u16 {
        let seq = self.next_seq;
        self.next_seq = seq.wrapping_add(1);
        if self.sent.len() >= LOG_LEN {
            self.sent.pop_front();
        }
        self.sent.push_back(Sent {
            seq,
            at_us: self.us(now),
            bytes: bytes.min(u32::MAX as usize) as u32,
            acked: false,
            missed: false,
        });
        seq
    }

    /// The viewer's feedback: a sample when it acknowledged packets we know.
    pub fn on_feedback(&mut self, now: Instant, fb: &Feedback) -> Option<DelaySample> {
        let mut low: Option<i64> = None;
        for (i, arrival) in fb.arrivals.iter().take(LOG_LEN).enumerate() {
            let seq = fb.base_seq.wrapping_add(i as u16);
            let Some(sent) = find(&mut self.sent, seq).filter(|s| !s.acked) else {
                continue;
            };
            let Some(arrival) = *arrival else {
                if !sent.missed {
                    sent.missed = true;
                    self.lost += 1;
                }
                continue;
            };
            sent.acked = true;
            if sent.missed {
                self.lost = self.lost.saturating_sub(1); // reported late after all
            }
            self.received += 1;
            let (at, bytes) = (sent.at_us, sent.bytes);
            let delay = arrival.saturating_sub(at);
            low = Some(low.map_or(delay, |l| l.min(delay)));
            self.acked.push_back((arrival, bytes, at));
        }
        let low = low?;
        self.trim_acked();
        self.lows.expire(now);
        let base = self.lows.min().unwrap_or(low);
        let jump = MAX_QUEUE.as_micros() as i64;
        if low.saturating_sub(base) > jump || base.saturating_sub(low) > jump {
            // A clock that jumped: start over from this delay.
            self.lows.clear();
            self.acked.clear();
        }
        self.lows.push(now, low);
        let base = self.lows.min().unwrap_or(low);
        Some(DelaySample {
            queue: Duration::from_micros(low.saturating_sub(base).max(0) as u64),
            acked_bps: self.acked_bps(),
            sent_bps: self.sent_bps(),
        })
    }

    /// Packets reported lost and reported at all since the last call (`None` when no
    /// feedback told of any): every first transmission lost, before any resend. Unlike a
    /// receiver report's fraction it does not depend on how the viewer unwraps RTP sequence
    /// numbers (webrtc-rs 0.17 reads a resent packet from before a wrap as a jump of 65 000
    /// packets, and reports nearly all of them lost).
    pub fn take_loss(&mut self) -> Option<(u32, u32)> {
        let counts = (self.lost, self.lost + self.received);
        self.lost = 0;
        self.received = 0;
        (counts.1 > 0).then_some(counts)
    }

    fn trim_acked(&mut self) {
        let latest = self.acked.iter().map(|(a, ..)| *a).max().unwrap_or(0);
        let window = ACKED_WINDOW.as_micros() as i64;
        self.acked.retain(|(a, ..)| latest - *a <= window);
    }

    /// The rate at which everything was sent over the span in which the acknowledged
    /// window's packets left.
    fn sent_bps(&self) -> Option<u32> {
        let from = self.acked.iter().map(|(.., s)| *s).min()?;
        let to = self.acked.iter().map(|(.., s)| *s).max()?;
        let span = to - from;
        if span < MIN_ACKED_SPAN_US / 4 {
            return None;
        }
        let bytes: u64 = self
            .sent
            .iter()
            .rev()
            .skip_while(|p| p.at_us > to)
            .take_while(|p| p.at_us >= from)
            .map(|p| u64::from(p.bytes))
            .sum();
        let bps = bytes as f64 * 8.0 * 1e6 / span as f64;
        Some(bps.min(f64::from(u32::MAX)) as u32)
    }

    fn acked_bps(&self) -> Option<u32> {
        let first = self.acked.iter().map(|(a, ..)| *a).min()?;
        let last = self.acked.iter().map(|(a, ..)| *a).max()?;
        let span = last - first;
        if span < MIN_ACKED_SPAN_US {
            return None;
        }
        let bytes: u64 = self.acked.iter().map(|(_, b, _)| u64::from(*b)).sum();
        let bps = bytes as f64 * 8.0 * 1e6 / span as f64;
        Some(bps.min(f64::from(u32::MAX)) as u32)
    }
}

/// The packet `seq` in the log (sequence numbers in it are consecutive).
fn find(sent: &mut VecDeque<Sent>, seq: u16) -> Option<&mut Sent> {
    let front = sent.front()?.seq;
    let i = usize::from(seq.wrapping_sub(front));
    sent.get_mut(i).filter(|s| s.seq == seq)
}

#[cfg(test)]
#[path = "delay_tests.rs"]
mod tests;
