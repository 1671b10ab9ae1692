//! The lowest value of the recent past (sans-IO): samples older than a window, or beyond a
//! count, are forgotten. The estimator's round trips and the transport feedback's one-way
//! delays both measure a queue as "how far above the lowest recent value".

use std::collections::VecDeque;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct WindowedMin<T> {
    window: Duration,
    max_len: usize,
    samples: VecDeque<(Instant, T)>,
}

impl<T: Ord + Copy> WindowedMin<T> {
    /// Keeps samples for `window`, at most `max_len` of them.
    pub fn new(window: Duration, max_len: usize) -> Self {
        Self {
            window,
            max_len: max_len.max(1),
            samples: VecDeque::new(),
        }
    }

    /// Forgets what is older than the window at `now` (and the oldest beyond the count,
    /// leaving room for one more).
    pub fn expire(&mut self, now: Instant) {
        while self
            .samples
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > self.window)
            || self.samples.len() >= self.max_len
        {
            self.samples.pop_front();
        }
    }

    /// Adds a sample taken at `now` (expiring old ones first).
    pub fn push(&mut self, now: Instant, value: T) {
        self.expire(now);
        self.samples.push_back((now, value));
    }

    /// The lowest sample kept.
    pub fn min(&self) -> Option<T> {
        self.samples.iter().map(|(_, v)| *v).min()
    }

    pub fn clear(&mut self) {
        self.samples.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lowest_of_the_window_and_of_the_last_samples() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut w = WindowedMin::new(10 * s, 3);
        assert_eq!(w.min(), None);
        w.push(t0, 5);
        w.push(t0 + s, 9);
        assert_eq!(w.min(), Some(5));
        // 5 is older than the window 11 s later.
        w.push(t0 + 11 * s, 7);
        assert_eq!(w.min(), Some(7));
        // At most three kept: the 7 goes when the fourth comes.
        w.push(t0 + 12 * s, 8);
        w.push(t0 + 12 * s, 9);
        w.push(t0 + 12 * s, 10);
        assert_eq!(w.min(), Some(8));
        w.clear();
        assert_eq!(w.min(), None);
    }
}
