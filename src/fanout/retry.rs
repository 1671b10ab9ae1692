//! What a capture thread does when its source fails: mark it failing (the status shows it),
//! log, wait the back-off on the clock, and try again; a good frame resets both. A bad frame
//! from a working device is only skipped, unless they keep coming.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tracing::{debug, warn};

use crate::backoff::Backoff;
use crate::capture::CaptureError;
use crate::clock::{Clock, Stop};

/// Bad frames in a row after which the device counts as failing (a second at 30 fps).
pub const MAX_BAD_FRAMES_IN_A_ROW: u32 = 30;

/// First and largest wait after capture errors. Trying to open a missing camera costs
/// nothing, and a camera that returns should stream again within 2 s.
pub const CAPTURE_RETRY_MIN: Duration = Duration::from_millis(250);
pub const CAPTURE_RETRY_MAX: Duration = Duration::from_millis(1500);
/// Failures in a row (about 1 s of retrying) after which the source counts as unavailable.
pub const FAILING_AFTER: u64 = 3;
/// While a source keeps failing, one warning per this long (the rest are debug lines).
const STILL_FAILING_EVERY: Duration = Duration::from_secs(60);

/// The retry state of one source.
pub(super) struct CaptureRetry {
    backoff: Backoff,
    kind: &'static str,
    /// Bad frames since the last good one.
    bad_in_a_row: u32,
    /// Bad frames since start, for the logs.
    bad_total: u64,
    /// Failures since the last good capture, and when the last warning about them was.
    failures: u64,
    warned_at: Option<std::time::Instant>,
}

impl CaptureRetry {
    pub fn new(kind: &'static str) -> Self {
        Self {
            backoff: Backoff::new(CAPTURE_RETRY_MIN, CAPTURE_RETRY_MAX),
            kind,
            bad_in_a_row: 0,
            bad_total: 0,
            failures: 0,
            warned_at: None,
        }
    }

    /// Passes a good capture through; on an error marks the source failing, logs, and
    /// sleeps the back-off (cut short by `stop`) before returning `None` (the caller tries
    /// again).
    pub fn capture<T>(
        &mut self,
        result: Result<T, CaptureError>,
        failing: &AtomicBool,
        clock: &dyn Clock,
        stop: &Stop,
    ) -> Option<T> {
        match result {
            Ok(x) => {
                self.backoff.succeeded();
                self.bad_in_a_row = 0;
                if std::mem::take(&mut self.failures) > 0 {
                    let kind = self.kind;
                    tracing::info!("{kind} capture works again");
                }
                self.warned_at = None;
                failing.store(false, Ordering::Relaxed);
                Some(x)
            }
            Err(e @ CaptureError::BadFrame { .. })
                if self.bad_in_a_row + 1 < MAX_BAD_FRAMES_IN_A_ROW =>
            {
                self.bad_in_a_row += 1;
                self.bad_total += 1;
                // One line per run of bad frames, not one per frame.
                let kind = self.kind;
                if self.bad_in_a_row == 1 {
                    warn!(cause = %e, bad_frames = self.bad_total, "{kind} frame skipped");
                } else {
                    debug!(cause = %e, "{kind} frame skipped");
                }
                None
            }
            Err(e) => {
                self.bad_in_a_row = 0;
                let delay = self.backoff.failed();
                let kind = self.kind;
                self.failures += 1;
                // One failed read or reopen is a blip; the status says "unavailable" (and is
                // re-published) only once it lasts. A second of nothing but bad frames has.
                let sustained = matches!(e, CaptureError::BadFrame { .. });
                if sustained || self.failures >= FAILING_AFTER {
                    failing.store(true, Ordering::Relaxed);
                }
                let now = clock.now();
                let due = self.warned_at.map_or(true, |t| {
                    now.saturating_duration_since(t) >= STILL_FAILING_EVERY
                });
                if due {
                    self.warned_at = Some(now);
                    warn!(cause = %e, attempts = self.failures, retry_every_ms = CAPTURE_RETRY_MAX.as_millis() as u64, "{kind} capture failed; retrying");
                } else {
                    debug!(cause = %e, retry_in_ms = delay.as_millis() as u64, "{kind} capture failed");
                }
                clock.sleep_until_or_stop(now + delay, stop);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimulatedClock;

    fn bad() -> CaptureError {
        CaptureError::BadFrame {
            source_name: "camera".into(),
            reason: "truncated MJPEG".into(),
        }
    }

    #[test]
    fn bad_frames_are_skipped_at_once_unless_they_keep_coming() {
        let clock = SimulatedClock::new(0);
        let failing = AtomicBool::new(false);
        let mut retry = CaptureRetry::new("video");
        let start = clock.now();
        for _ in 0..5 {
            assert_eq!(
                retry.capture::<u8>(Err(bad()), &failing, &clock, &Stop::new()),
                None
            );
        }
        assert_eq!(clock.now(), start, "no back-off for a bad frame");
        assert!(!failing.load(Ordering::Relaxed), "the device is fine");
        assert_eq!(
            retry.capture(Ok(1u8), &failing, &clock, &Stop::new()),
            Some(1)
        );
        // A device that sends nothing but bad frames is failing after all.
        for _ in 0..MAX_BAD_FRAMES_IN_A_ROW - 1 {
            retry.capture::<u8>(Err(bad()), &failing, &clock, &Stop::new());
        }
        assert!(!failing.load(Ordering::Relaxed));
        assert_eq!(clock.now(), start);
        retry.capture::<u8>(Err(bad()), &failing, &clock, &Stop::new());
        assert!(failing.load(Ordering::Relaxed));
        assert_eq!(clock.now() - start, CAPTURE_RETRY_MIN);
    }

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
        assert_eq!(
            retry.capture::<u8>(Err(err()), &failing, &clock, &Stop::new()),
            None
        );
        assert!(!failing.load(Ordering::Relaxed), "one failure is a blip");
        assert_eq!(clock.now() - start, CAPTURE_RETRY_MIN);
        assert_eq!(
            retry.capture::<u8>(Err(err()), &failing, &clock, &Stop::new()),
            None
        );
        assert_eq!(clock.now() - start, CAPTURE_RETRY_MIN * 3, "doubled");
        retry.capture::<u8>(Err(err()), &failing, &clock, &Stop::new());
        assert!(
            failing.load(Ordering::Relaxed),
            "three in a row: unavailable"
        );
        assert_eq!(
            retry.capture(Ok(7u8), &failing, &clock, &Stop::new()),
            Some(7)
        );
        assert!(!failing.load(Ordering::Relaxed));
    }
}
