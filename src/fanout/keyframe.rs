//! Keyframe requests from viewers (connect, PLI, FIR), rate-limited twice: each viewer's
//! requests at most once per [`PER_VIEWER_INTERVAL`], and all together at most once per
//! [`MIN_FORCED_IDR_INTERVAL`]. Requests are merged (any number pending make one IDR).
//!
//! Requests arrive from any peer task; the encoder thread polls [`KeyframeRequests::take`]
//! once per frame. A request inside a window is deferred, not dropped: the IDR comes as soon
//! as the window ends, so a viewer that lost a keyframe always gets one, and a viewer that
//! sends PLIs in a loop gets one IDR a second, so it cannot raise everyone's bitrate.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shortest time between two forced IDRs.
pub const MIN_FORCED_IDR_INTERVAL: Duration = Duration::from_millis(150);
/// Shortest time between two IDRs one viewer's requests can force.
pub const PER_VIEWER_INTERVAL: Duration = Duration::from_secs(1);
/// Longest that window grows to (see [`KeyframeRequests::note_cost`]).
pub const MAX_PER_VIEWER_INTERVAL: Duration = Duration::from_secs(5);
/// Share of the bitrate IDRs forced by one viewer may take.
pub const IDR_SHARE: f64 = 0.3;
/// A viewer that asks again within this time of its last IDR is persistent (a flood, or a
/// link that loses every keyframe): its window doubles.
pub const PERSISTENT_WITHIN: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
struct Asker {
    last_honoured: Option<Instant>,
    deferred: bool,
    /// Requests honoured back to back (each within [`PERSISTENT_WITHIN`] of the last): each
    /// doubles the viewer's window, up to [`MAX_PER_VIEWER_INTERVAL`].
    streak: u32,
}

impl Asker {
    fn gap(&self, base: Duration) -> Duration {
        (base * 2u32.saturating_pow(self.streak.min(8))).min(MAX_PER_VIEWER_INTERVAL.max(base))
    }

    fn honour(&mut self, now: Instant) {
        let back_to_back = self
            .last_honoured
            .is_some_and(|t| now.saturating_duration_since(t) < PERSISTENT_WITHIN);
        self.streak = if back_to_back { self.streak + 1 } else { 0 };
        self.last_honoured = Some(now);
        self.deferred = false;
    }
}

#[derive(Debug, Default)]
struct State {
    pending: bool,
    last_forced: Option<Instant>,
    viewers: BTreeMap<u64, Asker>,
    /// The per-viewer window now.
    viewer_gap: Duration,
    requested: u64,
    forced: u64,
}

impl State {
    /// An IDR went out: it answers every deferred request too.
    fn satisfy_deferred(&mut self, now: Instant) {
        for asker in self.viewers.values_mut().filter(|a| a.deferred) {
            asker.deferred = false;
            asker.last_honoured = Some(now);
        }
    }
}

/// Shared between peers (producers) and the encoder (consumer).
#[derive(Debug)]
pub struct KeyframeRequests {
    min_interval: Duration,
    state: Mutex<State>,
}

impl Default for KeyframeRequests {
    fn default() -> Self {
        Self::new(MIN_FORCED_IDR_INTERVAL)
    }
}

impl KeyframeRequests {
    /// With a custom rate limit.
    pub fn new(min_interval: Duration) -> Self {
        Self {
            min_interval,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The lock is never held across code that can panic, so poisoning cannot happen;
        // recover the data anyway rather than propagate a panic.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Asks for an IDR as soon as the rate limit allows (the daemon's own requests: a join,
    /// a dropped frame).
    pub fn request(&self) {
        let mut s = self.lock();
        s.pending = true;
        s.requested += 1;
    }

    /// Viewer `viewer` asks for an IDR (PLI, FIR): honoured at most once per window (a second,
    /// longer on a slow link: [`KeyframeRequests::note_cost`], doubling while the viewer keeps
    /// asking), later ones deferred to the end of the window.
    pub fn request_from(&self, viewer: u64, now: Instant) {
        let mut s = self.lock();
        s.requested += 1;
        let base = s.viewer_gap.max(PER_VIEWER_INTERVAL);
        let asker = s.viewers.entry(viewer).or_default();
        let recent = asker
            .last_honoured
            .is_some_and(|t| now.saturating_duration_since(t) < asker.gap(base));
        if recent {
            asker.deferred = true;
        } else {
            asker.honour(now);
            s.pending = true;
        }
    }

    /// What an IDR costs now: `idr_bytes` at a bitrate of `bitrate_bps`. On a slow link an
    /// IDR is seconds of bandwidth; a viewer that keeps losing them would keep asking, and
    /// IDRs alone would fill the link. So one viewer's window grows until its forced IDRs
    /// take at most [`IDR_SHARE`] of the bitrate (1 s up to [`MAX_PER_VIEWER_INTERVAL`]).
    pub fn note_cost(&self, idr_bytes: usize, bitrate_bps: u32) {
        let secs = idr_bytes as f64 * 8.0 / (IDR_SHARE * f64::from(bitrate_bps.max(1)));
        let gap = Duration::from_secs_f64(secs.clamp(
            PER_VIEWER_INTERVAL.as_secs_f64(),
            MAX_PER_VIEWER_INTERVAL.as_secs_f64(),
        ));
        self.lock().viewer_gap = gap;
    }

    /// Viewer `viewer` left: its deferred requests go with it.
    pub fn forget(&self, viewer: u64) {
        self.lock().viewers.remove(&viewer);
    }

    /// Called by the encoder before each frame: true if this frame must be an IDR.
    pub fn take(&self, now: Instant) -> bool {
        let mut s = self.lock();
        let mut due = false;
        let base = s.viewer_gap.max(PER_VIEWER_INTERVAL);
        for asker in s.viewers.values_mut() {
            let window_over = asker.last_honoured.map_or(true, |t| {
                now.saturating_duration_since(t) >= asker.gap(base)
            });
            if asker.deferred && window_over {
                asker.honour(now);
                due = true;
            }
        }
        s.pending |= due;
        if !s.pending {
            return false;
        }
        if let Some(last) = s.last_forced {
            if now.saturating_duration_since(last) < self.min_interval {
                return false;
            }
        }
        s.pending = false;
        s.last_forced = Some(now);
        s.forced += 1;
        s.satisfy_deferred(now);
        true
    }

    /// Tells the limiter that the encoder produced an IDR on its own (periodic), which
    /// satisfies a pending request.
    pub fn note_keyframe(&self, now: Instant) {
        let mut s = self.lock();
        s.pending = false;
        s.last_forced = Some(now);
        s.satisfy_deferred(now);
    }

    /// (requests received, IDRs forced) since start.
    pub fn counters(&self) -> (u64, u64) {
        let s = self.lock();
        (s.requested, s.forced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_rate_limited_but_never_lost() {
        let k = KeyframeRequests::new(Duration::from_millis(100));
        let t0 = Instant::now();
        assert!(!k.take(t0), "nothing pending");
        k.request();
        assert!(k.take(t0));
        assert!(!k.take(t0), "consumed");
        k.request();
        k.request();
        assert!(!k.take(t0 + Duration::from_millis(50)), "inside the window");
        assert!(
            k.take(t0 + Duration::from_millis(100)),
            "deferred, then served"
        );
        assert!(!k.take(t0 + Duration::from_millis(300)));
        assert_eq!(k.counters(), (3, 2));
    }

    #[test]
    fn one_viewer_flooding_plis_gets_one_idr_a_second_and_others_are_not_held_up() {
        let k = KeyframeRequests::new(Duration::from_millis(150));
        let t0 = Instant::now();
        let mut idrs = Vec::new();
        // 100 PLIs a second from viewer 1 for 3 s; one PLI from viewer 2 at 1.5 s; the
        // encoder polls every 33 ms.
        for ms in 0..3_000u64 {
            let now = t0 + Duration::from_millis(ms);
            if ms % 10 == 0 {
                k.request_from(1, now);
            }
            if ms == 1_500 {
                k.request_from(2, now);
            }
            if ms % 33 == 0 && k.take(now) {
                idrs.push(ms);
            }
        }
        // About one a second for the flood, and viewer 2's within one frame (or merged).
        assert!(idrs.len() <= 5, "{idrs:?}");
        assert!(idrs.len() >= 3, "{idrs:?}");
        assert!(
            idrs.iter().any(|ms| (1_500..=1_533 + 150).contains(ms)),
            "{idrs:?}"
        );
        k.forget(1);
        assert!(
            !k.take(t0 + Duration::from_secs(10)),
            "nothing left after the viewer left"
        );
    }

    #[test]
    fn costly_idrs_on_a_slow_link_are_forced_less_often() {
        let k = KeyframeRequests::new(Duration::from_millis(150));
        // 12 KB IDRs at 80 kbit/s: 96 kbit each, 30 % of 80 k: one per 4 s.
        k.note_cost(12_000, 80_000);
        let t0 = Instant::now();
        let mut idrs = Vec::new();
        for ms in (0..10_000u64).step_by(33) {
            let now = t0 + Duration::from_millis(ms);
            k.request_from(1, now);
            if k.take(now) {
                idrs.push(ms);
            }
        }
        assert_eq!(idrs.len(), 3, "{idrs:?}");
        // At 2 Mbit/s the window is back to a second.
        k.note_cost(12_000, 2_000_000);
        let later = t0 + Duration::from_secs(20);
        k.request_from(1, later);
        assert!(k.take(later));
        k.request_from(1, later + Duration::from_millis(1_000));
        assert!(k.take(later + Duration::from_millis(1_000)));
    }

    #[test]
    fn a_periodic_keyframe_satisfies_a_request() {
        let k = KeyframeRequests::new(Duration::from_millis(100));
        let t0 = Instant::now();
        k.request();
        k.note_keyframe(t0);
        assert!(!k.take(t0 + Duration::from_secs(1)));
    }
}
