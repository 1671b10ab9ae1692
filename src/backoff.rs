//! Exponential back-off, the one retry policy of the daemon: capture devices, the MQTT
//! connection and standby offers all wait with it after a failure.
//!
//! Pure: it only computes delays; the caller sleeps on its own clock (tokio, the [`Clock`]
//! seam, or a deadline in a sans-IO state machine).
//!
//! [`Clock`]: crate::clock::Clock

use std::time::Duration;

/// Delays that double from `min` to `max`; a success starts again at `min`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    next: Duration,
}

impl Backoff {
    /// A back-off whose first delay is `min` and whose delays never exceed `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        let max = max.max(min);
        Self {
            min,
            max,
            next: min,
        }
    }

    /// The delay before the next attempt (and doubles the one after it).
    pub fn failed(&mut self) -> Duration {
        let d = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        d
    }

    /// The last attempt worked: the next failure waits `min` again.
    pub fn succeeded(&mut self) {
        self.next = self.min;
    }

    /// The delay [`Backoff::failed`] would return now.
    pub fn peek(&self) -> Duration {
        self.next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_to_a_cap_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(500), Duration::from_secs(10));
        let delays: Vec<u64> = (0..7).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(delays, vec![500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        b.succeeded();
        assert_eq!(b.peek(), Duration::from_millis(500));
        assert_eq!(b.failed(), Duration::from_millis(500));
    }

    #[test]
    fn a_max_below_min_is_min() {
        let mut b = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(b.failed(), Duration::from_secs(2));
        assert_eq!(b.failed(), Duration::from_secs(2));
    }
}
