//! The clock seam: pacing of synthetic sources and wall-clock stamps go through [`Clock`], so
//! tests can run them on simulated time. [`Stop`] is what a sleeping thread wakes up for: a
//! back-off is never longer than the time to the next stop request.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Monotonic time, wall-clock time and blocking sleeps.
pub trait Clock: Send + Sync + 'static {
    /// Monotonic now.
    fn now(&self) -> Instant;
    /// Wall-clock milliseconds since the Unix epoch (used for capture stamps).
    fn unix_ms(&self) -> u64;
    /// Blocks the calling (non-async) thread until `deadline`.
    fn sleep_until(&self, deadline: Instant);
    /// Blocks until `deadline` or until `stop` is requested; `true` when stopped.
    fn sleep_until_or_stop(&self, deadline: Instant, stop: &Stop) -> bool {
        self.sleep_until(deadline);
        stop.requested()
    }
}

/// A stop request shared by the threads it ends (clones share it).
#[derive(Debug, Clone, Default)]
pub struct Stop(Arc<StopInner>);

#[derive(Debug, Default)]
struct StopInner {
    requested: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl Stop {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop and wakes those that sleep.
    pub fn request(&self) {
        self.0.requested.store(true, Ordering::Relaxed);
        let _held = self.0.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.0.wake.notify_all();
    }

    pub fn requested(&self) -> bool {
        self.0.requested.load(Ordering::Relaxed)
    }

    /// Blocks until `deadline` (real time) or a stop request; `true` when stopped.
    pub fn wait_until(&self, deadline: Instant) -> bool {
        let mut held = self.0.lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.requested() {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            held = match self.0.wake.wait_timeout(held, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }
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

    fn sleep_until_or_stop(&self, deadline: Instant, stop: &Stop) -> bool {
        stop.wait_until(deadline)
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
    fn a_stop_request_cuts_a_real_sleep_short() {
        let stop = Stop::new();
        let sleeper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let start = Instant::now();
                let stopped = RealClock.sleep_until_or_stop(start + Duration::from_secs(10), &stop);
                (stopped, start.elapsed())
            })
        };
        std::thread::sleep(Duration::from_millis(50));
        stop.request();
        let (stopped, slept) = sleeper.join().unwrap();
        assert!(stopped);
        assert!(slept < Duration::from_secs(2), "{slept:?}");
        // Once requested, sleeps end at once.
        assert!(RealClock.sleep_until_or_stop(Instant::now() + Duration::from_secs(10), &stop));
        let fresh = Stop::new();
        assert!(!RealClock.sleep_until_or_stop(Instant::now() + Duration::from_millis(5), &fresh));
    }

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
