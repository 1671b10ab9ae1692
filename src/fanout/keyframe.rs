//! Keyframe requests from viewers (connect, PLI, FIR), rate-limited.
//!
//! Requests arrive from any peer task; the encoder thread polls [`KeyframeRequests::take`]
//! once per frame. A request inside the rate-limit window is deferred, not dropped: the IDR
//! comes as soon as the window ends, so a viewer that lost a keyframe always gets one.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Shortest time between two forced IDRs.
pub const MIN_FORCED_IDR_INTERVAL: Duration = Duration::from_millis(150);

#[derive(Debug, Default)]
struct State {
    pending: bool,
    last_forced: Option<Instant>,
    requested: u64,
    forced: u64,
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

    /// Asks for an IDR as soon as the rate limit allows.
    pub fn request(&self) {
        let mut s = self.lock();
        s.pending = true;
        s.requested += 1;
    }

    /// Called by the encoder before each frame: true if this frame must be an IDR.
    pub fn take(&self, now: Instant) -> bool {
        let mut s = self.lock();
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
        true
    }

    /// Tells the limiter that the encoder produced an IDR on its own (periodic), which
    /// satisfies a pending request.
    pub fn note_keyframe(&self, now: Instant) {
        let mut s = self.lock();
        s.pending = false;
        s.last_forced = Some(now);
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
    fn a_periodic_keyframe_satisfies_a_request() {
        let k = KeyframeRequests::new(Duration::from_millis(100));
        let t0 = Instant::now();
        k.request();
        k.note_keyframe(t0);
        assert!(!k.take(t0 + Duration::from_secs(1)));
    }
}
