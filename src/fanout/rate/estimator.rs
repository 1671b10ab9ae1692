//! One viewer's bandwidth estimate from what it reports back (sans-IO: reports and the time
//! come in as arguments).
//!
//! A loss-based controller in the spirit of libwebrtc's classic one, driven by receiver
//! reports: below 2 % loss the estimate grows about 8 % a second, from 2 to 10 % it holds, above
//! 10 % it is cut by half the loss fraction. Refinements:
//! - a cut starts from what was really sent when that is less than the estimate (a static
//!   scene makes the encoder undershoot; cutting a number nobody reached would take several
//!   reports to bite), and growth stops at 1.5 times what was sent (never promise a rate the
//!   path has not carried);
//! - above 10 % the cut goes at least down to 95 % of what arrived (sent times one minus the
//!   loss): on a link that is full, what arrives is what the link carries, and aiming just
//!   under it drains the queue the overshoot built (starting at 1.5 Mbit/s into 150 kbit/s,
//!   the first report says 60 % lost: half the loss would take five reports to get there);
//! - near the rate at which the link last filled up, growth is additive (a few kbit/s a
//!   second) instead of 8 %: the sawtooth of multiplicative probing is what fills a small
//!   router buffer again and again;
//! - the round-trip time is a delay signal: a queue that builds in a router (the RTT climbs
//!   well above the lowest seen) holds growth and then cuts to 85 % of what was sent, before
//!   the queue overflows and loss shows (of the estimate, when the sender sent far below it:
//!   then the delay was not its doing);
//!
//! - where the viewer sends transport-wide feedback (about every 100 ms), the queueing delay
//!   it shows ([`delay`](super::delay)) is the faster delay signal: above
//!   [`HOLD_FEEDBACK_QUEUE`] growth holds, above [`CUT_FEEDBACK_QUEUE`] the estimate goes to
//!   85 % of what arrived (libwebrtc's AIMD decrease), so a router queue drains before it
//!   overflows; where the sender sent well below its estimate (it was the limit itself),
//!   what arrived says nothing of the path and the cut is 15 % of the estimate.
//!
//! REMB, where the viewer sends it, caps the estimate, but only when it is below what is
//! being sent (REMB follows the received rate down when the scene is static).

use std::time::{Duration, Instant};

use super::window::WindowedMin;

/// Loss fraction under which the estimate grows.
pub const GROW_BELOW_LOSS: f64 = 0.02;
/// Loss fraction above which the estimate is cut.
pub const CUT_ABOVE_LOSS: f64 = 0.10;
/// Growth per second without loss.
pub const GROWTH_PER_S: f64 = 1.08;
/// From this share of the last congestion level ...
pub const NEAR_CONGESTION: f64 = 0.9;
/// ... up to this one, growth is additive (beyond it the link has changed: grow again).
pub const PAST_CONGESTION: f64 = 1.3;
/// Additive growth, bit/s per second (or 3 % of the estimate, whichever is more).
pub const ADDITIVE_PER_S: f64 = 4_000.0;
/// A congestion level older than this is forgotten (the link may have changed).
pub const FORGET_CONGESTION: Duration = Duration::from_secs(30);
/// A REMB caps the estimate only below this share of the sent rate.
pub const REMB_BELOW_SENT: f64 = 0.85;
/// REMBs are ignored this long after a viewer's first report.
pub const REMB_WARMUP: Duration = Duration::from_secs(5);
/// RTT above the lowest seen at which growth holds.
pub const HOLD_QUEUE_DELAY: Duration = Duration::from_millis(30);
/// RTT above the lowest seen at which the estimate is cut.
pub const CUT_QUEUE_DELAY: Duration = Duration::from_millis(80);
/// Queueing delay (from transport-wide feedback) at which growth holds.
pub const HOLD_FEEDBACK_QUEUE: Duration = Duration::from_millis(25);
/// Queueing delay (from transport-wide feedback) at which the estimate is cut.
pub const CUT_FEEDBACK_QUEUE: Duration = Duration::from_millis(60);
/// A sender that sent less than this share of its estimate was the limit itself: what
/// arrived does not measure the path (libwebrtc's application-limited region starts at 65 %).
pub const APP_LIMITED: f64 = 0.65;
/// A sender that sent this many times what arrived filled the link, however little it sent.
pub const FULL_LINK_RATIO: f64 = 1.5;
/// A delay cut aims at this share of the acknowledged rate.
pub const DELAY_CUT_TO: f64 = 0.85;
/// How long a "hold" from transport-wide feedback lasts without news.
const FEEDBACK_HOLD_FOR: Duration = Duration::from_millis(500);
/// How long an RTT sample counts for the lowest RTT: long enough to span a few rounds of
/// growth and cuts, short enough that a lowest RTT measured through a full queue (at the
/// start, before the first cut) is forgotten soon.
pub const MIN_RTT_WINDOW: Duration = Duration::from_secs(10);

/// What one report said, for logs and the status.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Observed {
    /// Loss fraction of the last receiver report, 0..=1.
    pub loss: f64,
    /// Round-trip time of the last report that carried one.
    pub rtt: Option<Duration>,
    /// The last REMB value, bit/s.
    pub remb_bps: Option<u64>,
    /// Queueing delay from the last transport-wide feedback.
    pub queue: Option<Duration>,
}

/// A viewer's estimate, bit/s.
#[derive(Debug, Clone)]
pub struct Estimator {
    estimate: f64,
    min_bps: f64,
    max_bps: f64,
    last_report: Option<Instant>,
    first_report: Option<Instant>,
    last_cut: Option<Instant>,
    /// The rate at which the link last filled up, and when.
    congested_at: Option<(f64, Instant)>,
    /// Recent RTT samples (at most one a report, [`MIN_RTT_WINDOW`] of them).
    rtts: WindowedMin<Duration>,
    /// When transport-wide feedback last said "a queue is building".
    queue_hold: Option<Instant>,
    observed: Observed,
}

impl Estimator {
    /// Starts at `start_bps`, kept within `min_bps..=max_bps`.
    pub fn new(start_bps: u32, min_bps: u32, max_bps: u32) -> Self {
        let (min, max) = (f64::from(min_bps), f64::from(max_bps.max(min_bps)));
        Self {
            estimate: f64::from(start_bps).clamp(min, max),
            min_bps: min,
            max_bps: max,
            last_report: None,
            first_report: None,
            last_cut: None,
            congested_at: None,
            rtts: WindowedMin::new(MIN_RTT_WINDOW, 64),
            queue_hold: None,
            observed: Observed::default(),
        }
    }

    /// The estimate, bit/s.
    pub fn estimate_bps(&self) -> u32 {
        self.estimate as u32
    }

    /// The last values reported.
    pub fn observed(&self) -> Observed {
        self.observed
    }

    /// A receiver report: `fraction_lost` as sent (0..=255, of 256), the RTT if the report
    /// answered one of our sender reports, and what was sent to this viewer since the last
    /// report (bit/s).
    pub fn on_receiver_report(
        &mut self,
        now: Instant,
        fraction_lost: u8,
        rtt: Option<Duration>,
        sent_bps: u32,
    ) {
        let loss = f64::from(fraction_lost) / 256.0;
        let dt = self
            .last_report
            .map_or(1.0, |t| now.saturating_duration_since(t).as_secs_f64())
            .clamp(0.0, 2.0);
        self.last_report = Some(now);
        self.first_report.get_or_insert(now);
        self.observed.loss = loss;
        let queue = rtt.and_then(|rtt| self.queue_delay(now, rtt));
        if rtt.is_some() {
            self.observed.rtt = rtt;
        }
        let sent = f64::from(sent_bps);
        let base = if sent > 0.0 {
            self.estimate.min(sent)
        } else {
            self.estimate
        };
        if loss > CUT_ABOVE_LOSS {
            if self.may_cut(now, rtt) {
                let mut cut = base * (1.0 - 0.5 * loss);
                if sent > 0.0 {
                    cut = cut.min(0.95 * sent * (1.0 - loss));
                }
                self.congested_at = Some((self.estimate.min(base), now));
                self.estimate = cut;
                self.last_cut = Some(now);
            }
        } else if queue.is_some_and(|q| q >= CUT_QUEUE_DELAY) {
            if self.may_cut(now, rtt) {
                if sent > 0.0 && sent < APP_LIMITED * self.estimate {
                    // A sender far below its estimate did not fill the path: the delay is
                    // not its doing, and what it sent is no measure of the link.
                    self.estimate *= DELAY_CUT_TO;
                } else {
                    self.congested_at = Some((self.estimate.min(base), now));
                    self.estimate = base * DELAY_CUT_TO;
                }
                self.last_cut = Some(now);
            }
        } else if loss < GROW_BELOW_LOSS
            && !queue.is_some_and(|q| q >= HOLD_QUEUE_DELAY)
            && !self
                .queue_hold
                .is_some_and(|t| now.saturating_duration_since(t) < FEEDBACK_HOLD_FOR)
        {
            // Near the rate where the link last filled up, creep (additive increase) instead
            // of growing by a share: probing past it in big steps is what fills the queue.
            if self
                .congested_at
                .is_some_and(|(_, at)| now.saturating_duration_since(at) > FORGET_CONGESTION)
            {
                self.congested_at = None;
            }
            let near = self.congested_at.is_some_and(|(level, _)| {
                (NEAR_CONGESTION * level..=PAST_CONGESTION * level).contains(&self.estimate)
            });
            let grown = if near {
                self.estimate + ADDITIVE_PER_S.max(0.03 * self.estimate) * dt
            } else {
                self.estimate * GROWTH_PER_S.powf(dt)
            };
            // Never promise more than 1.5 times what the path has carried (but never cut
            // for that either: a quiet scene is not congestion).
            let proven = 1.5 * sent + 10_000.0;
            if grown <= proven || sent == 0.0 {
                self.estimate = grown;
            } else if self.estimate < proven {
                self.estimate = proven;
            }
        }
        self.clamp();
    }

    /// A REMB from the viewer: caps the estimate when it is below what is being sent.
    ///
    /// Only a REMB well below the sent rate ([`REMB_BELOW_SENT`]) says "bottleneck": a REMB
    /// follows the received rate, so near it is no news (and a thinned viewer, sent fewer
    /// pictures, would otherwise stay thinned by its own REMB). The first [`REMB_WARMUP`]
    /// after the first report are ignored: a browser's estimator starts from the first
    /// second's trickle (measured: 172 kbit/s from Chromium joining a 260 kbit/s stream).
    pub fn on_remb(&mut self, now: Instant, bps: u64, sent_bps: u32) {
        self.observed.remb_bps = Some(bps);
        let warming_up = self
            .first_report
            .map_or(true, |t| now.saturating_duration_since(t) < REMB_WARMUP);
        let remb = bps.min(u64::from(u32::MAX)) as f64;
        if !warming_up && remb < REMB_BELOW_SENT * f64::from(sent_bps) && remb < self.estimate {
            self.estimate = remb;
        }
        self.clamp();
    }

    /// Transport-wide feedback: `queue` is the queueing delay it shows, `acked_bps` what
    /// arrived and `sent_bps` what was sent meanwhile (both everything the viewer receives,
    /// once known).
    ///
    /// A cut aims at 85 % of what arrived only when the sender kept the path busy: it sent at
    /// least [`APP_LIMITED`] of the estimate, or [`FULL_LINK_RATIO`] times what arrived.
    /// Otherwise the delay was not its doing (cross
    /// traffic, a starved CPU on either end) and what arrived is whatever a quiet sender
    /// happened to send: the cut takes 15 % off the estimate instead, and the next cut, if
    /// the queue stays, another 15 %.
    pub fn on_queue_delay(
        &mut self,
        now: Instant,
        queue: Duration,
        acked_bps: Option<u32>,
        sent_bps: Option<u32>,
    ) {
        self.observed.queue = Some(queue);
        if queue >= HOLD_FEEDBACK_QUEUE {
            self.queue_hold = Some(now);
        }
        if queue >= CUT_FEEDBACK_QUEUE && self.may_cut(now, self.observed.rtt) {
            // Limited: it sent well below its estimate, and the path carried most of it (a
            // link that lost or queued half of a quiet sender's packets is still full).
            let limited = sent_bps.is_some_and(|s| {
                let s = f64::from(s);
                s < APP_LIMITED * self.estimate
                    && acked_bps.map_or(true, |a| s < FULL_LINK_RATIO * f64::from(a))
            });
            let link = acked_bps.map(f64::from).filter(|_| !limited);
            let aim = link.map_or(self.estimate, |a| a) * DELAY_CUT_TO;
            if aim < self.estimate {
                // The link's rate is what arrived while the queue was full; a limited sender
                // learnt nothing of it.
                if !limited {
                    let level = link.map_or(self.estimate, |a| self.estimate.min(a));
                    self.congested_at = Some((level, now));
                }
                self.estimate = aim;
                self.last_cut = Some(now);
            }
        }
        self.clamp();
    }

    fn clamp(&mut self) {
        if !self.estimate.is_finite() {
            self.estimate = self.min_bps;
        }
        self.estimate = self.estimate.clamp(self.min_bps, self.max_bps);
    }

    /// A cut at most once per 300 ms plus one RTT, so one congestion event is not counted
    /// twice by reports that describe the same packets.
    fn may_cut(&self, now: Instant, rtt: Option<Duration>) -> bool {
        let gap =
            Duration::from_millis(300) + rtt.unwrap_or(Duration::ZERO).min(Duration::from_secs(1));
        self.last_cut
            .map_or(true, |t| now.saturating_duration_since(t) >= gap)
    }

    /// How far `rtt` is above the lowest RTT of the recent past.
    fn queue_delay(&mut self, now: Instant, rtt: Duration) -> Option<Duration> {
        self.rtts.push(now, rtt);
        let min = self.rtts.min()?;
        Some(rtt.saturating_sub(min))
    }
}

#[cfg(test)]
#[path = "estimator_tests.rs"]
mod tests;
