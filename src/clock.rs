//! The clock seam: pacing of synthetic sources and wall-clock stamps go through [`Clock`], so
//! tests can run them on simulated time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Monotonic time, wall-clock time and blocking sleeps.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock milliseconds since the Unix epoch (used for capture stamps).
    fn unix_ms(&self) -> u64;
    /// Blocks the calling (non-async) thread until `deadline`.
    fn sleep_until(&self, deadline: Instant);
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealClock;

impl Clock for RealClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn unix_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn sleep_until(&self, deadline: Instant) {
        let now = Instant::now();
        if deadline > now {
            std::thread::sleep(deadline - now);
        }
    }
}

/// A simulated clock: sleeping advances time instantly.
#[derive(Debug, Clone)]
pub struct SimulatedClock {
    inner: Arc<Mutex<(Instant, u64)>>,
}

impl SimulatedClock {
    /// Starts at the real `Instant::now()` and the given Unix milliseconds.
    pub fn new(unix_ms: u64) -> Self {
        Self {
            inner: Arc::new(Mutex::new((Instant::now(), unix_ms))),
        }
    }

    /// Moves time forward.
    pub fn advance(&self, by: Duration) {
        // Poisoning needs a panic while holding the lock, which these two lines cannot do.
        let mut t = self.inner.lock().expect("clock lock");
        t.0 += by;
        t.1 += by.as_millis() as u64;
    }
}

impl Clock for SimulatedClock {
    fn now(&self) -> Instant {
        self.inner.lock().expect("clock lock").0
    }

    fn unix_ms(&self) -> u64 {
        self.inner.lock().expect("clock lock").1
    }

    fn sleep_until(&self, deadline: Instant) {
        let now = self.now();
        if deadline > now {
            self.advance(deadline - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_sleep_advances_both_clocks() {
        let c = SimulatedClock::new(1_000);
        let start = c.now();
        c.sleep_until(start + Duration::from_millis(40));
        assert_eq!(c.now() - start, Duration::from_millis(40));
        assert_eq!(c.unix_ms(), 1_040);
        c.sleep_until(start); // in the past: no-op
        assert_eq!(c.unix_ms(), 1_040);
    }
}
