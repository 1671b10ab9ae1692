//! What a capture thread does when its source fails: mark it failing (the status shows it),
//! log, wait the back-off on the clock, and try again; a good frame resets both.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing::warn;

use crate::backoff::Backoff;
use crate::capture::CaptureError;
use crate::clock::Clock;

/// First and largest wait after capture errors.
pub const CAPTURE_RETRY_MIN: Duration = Duration::from_millis(500);
pub const CAPTURE_RETRY_MAX: Duration = Duration::from_secs(10);

/// The retry state of one source.
pub(super) struct CaptureRetry {
    backoff: Backoff,
    kind: &'static str,
}

impl CaptureRetry {
    pub fn new(kind: &'static str) -> Self {
        Self {
            backoff: Backoff::new(CAPTURE_RETRY_MIN, CAPTURE_RETRY_MAX),
            kind,
        }
    }

    /// Passes a good capture through; on an error marks the source failing, logs, and
    /// sleeps the back-off before returning `None` (the caller tries again).
    pub fn capture<T>(
        &mut self,
        result: Result<T, CaptureError>,
        failing: &AtomicBool,
        clock: &dyn Clock,
    ) -> Option<T> {
        match result {
            Ok(x) => {
                self.backoff.succeeded();
                failing.store(false, Ordering::Relaxed);
                Some(x)
            }
            Err(e) => {
                failing.store(true, Ordering::Relaxed);
                let delay = self.backoff.failed();
                let kind = self.kind;
                warn!(cause = %e, retry_in_ms = delay.as_millis() as u64, "{kind} capture failed");
                clock.sleep_until(clock.now() + delay);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimulatedClock;

    #[test]
    fn a_failure_marks_the_source_and_waits_the_back_off_and_a_frame_clears_it() {
        let clock = SimulatedClock::new(0);
        let failing = AtomicBool::new(false);
        let mut retry = CaptureRetry::new("video");
        let start = clock.now();
        let err = || CaptureError::Stopped {
            source_name: "camera".into(),
            reason: "unplugged".into(),
        };
        assert_eq!(retry.capture::<u8>(Err(err()), &failing, &clock), None);
        assert!(failing.load(Ordering::Relaxed));
        assert_eq!(clock.now() - start, CAPTURE_RETRY_MIN);
        assert_eq!(retry.capture::<u8>(Err(err()), &failing, &clock), None);
        assert_eq!(clock.now() - start, CAPTURE_RETRY_MIN * 3, "doubled");
        assert_eq!(retry.capture(Ok(7u8), &failing, &clock), Some(7));
        assert!(!failing.load(Ordering::Relaxed));
    }
}
