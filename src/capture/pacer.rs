//! Pacing for sources that do not pace themselves (synthetic sources, files, ALSA's `null`).

use std::time::{Duration, Instant};

use crate::clock::Clock;

/// Keeps a fixed cadence; when the consumer falls more than a few periods behind, it restarts
/// the schedule from now instead of bursting frames to catch up.
pub struct Pacer {
    period: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer with one tick every `period`.
    pub fn new(period: Duration) -> Self {
        Self { period, next: None }
    }

    /// Sleeps until the next tick and returns its time.
    pub fn wait(&mut self, clock: &dyn Clock) -> Instant {
        let now = clock.now();
        let due = match self.next {
            Some(due) if now.saturating_duration_since(due) < self.period * 4 => due,
            _ => now,
        };
        clock.sleep_until(due);
        self.next = Some(due + self.period);
        due.max(now)
    }
}
