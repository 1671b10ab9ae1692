//! A budget for log lines that someone else decides the rate of (a stranger's messages on the
//! broker, a video command's stderr): so many per window, the rest counted and reported in
//! one line when the window ends (sans-IO: the caller passes the time).

use std::time::{Duration, Instant};

/// Lines allowed per window, and what was held back.
#[derive(Debug, Clone)]
pub struct LogBudget {
    per_window: u32,
    window: Duration,
    started: Option<Instant>,
    logged: u32,
    held: u64,
}

/// What to do with one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Take {
    /// Log this line.
    pub log: bool,
    /// Lines held back in the window that just ended: say so (before this line) when > 0.
    pub held_before: u64,
}

impl LogBudget {
    /// `per_window` lines every `window`.
    pub fn new(per_window: u32, window: Duration) -> Self {
        Self {
            per_window,
            window,
            started: None,
            logged: 0,
            held: 0,
        }
    }

    /// One line at `now`.
    pub fn take(&mut self, now: Instant) -> Take {
        let mut held_before = 0;
        let expired = self
            .started
            .map_or(true, |s| now.saturating_duration_since(s) >= self.window);
        if expired {
            held_before = std::mem::take(&mut self.held);
            self.started = Some(now);
            self.logged = 0;
        }
        let log = self.logged < self.per_window;
        if log {
            self.logged += 1;
        } else {
            self.held += 1;
        }
        Take { log, held_before }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_over_the_budget_are_counted_and_reported_once_the_window_ends() {
        let t0 = Instant::now();
        let mut b = LogBudget::new(2, Duration::from_secs(10));
        let logged: Vec<bool> = (0..5).map(|_| b.take(t0).log).collect();
        assert_eq!(logged, [true, true, false, false, false]);
        let later = b.take(t0 + Duration::from_secs(10));
        assert_eq!(
            later,
            Take {
                log: true,
                held_before: 3
            }
        );
        assert_eq!(b.take(t0 + Duration::from_secs(11)).held_before, 0);
    }
}
