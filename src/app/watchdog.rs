//! Whether the daemon deserves its systemd watchdog ping. The event loop turning is not
//! enough: each capture thread must keep turning too (a frame, a skipped frame or a retry of
//! a failing device all count, so a camera that is knowingly retrying stays healthy), and the
//! MQTT task must be alive. A thread stuck in a driver call or a dead MQTT task stops the
//! pings, and systemd restarts the service after `WatchdogSec`. Sans-IO: fed counters and
//! instants.

use std::time::{Duration, Instant};

/// Longest a capture thread may go without turning: its longest back-off (1.5 s) plus a V4L2
/// read timeout (5 s), with a wide margin for a slow board.
pub const STALL_LIMIT: Duration = Duration::from_secs(20);

/// The health checker.
#[derive(Debug)]
pub struct Watchdog {
    limit: Duration,
    /// Per thread: the last counter value seen and when it last changed.
    seen: Vec<(&'static str, u64, Instant)>,
}

impl Watchdog {
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            seen: Vec::new(),
        }
    }

    /// Takes the threads' loop counters at `now`; `Err` names what is wrong.
    pub fn check(
        &mut self,
        now: Instant,
        heartbeats: &[(&'static str, u64)],
        mqtt_alive: bool,
    ) -> Result<(), String> {
        let mut problems = Vec::new();
        if !mqtt_alive {
            problems.push("the MQTT task has ended".to_string());
        }
        for &(name, count) in heartbeats {
            match self.seen.iter_mut().find(|(n, _, _)| *n == name) {
                Some(entry) if entry.1 != count => {
                    entry.1 = count;
                    entry.2 = now;
                }
                Some(entry) => {
                    let still = now.saturating_duration_since(entry.2);
                    if still >= self.limit {
                        problems.push(format!(
                            "the {name} capture thread has not turned for {} s",
                            still.as_secs()
                        ));
                    }
                }
                None => self.seen.push((name, count, now)),
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turning_threads_and_a_live_mqtt_task_are_healthy() {
        let t = Instant::now();
        let mut w = Watchdog::new(Duration::from_secs(20));
        assert_eq!(w.check(t, &[("video", 1), ("audio", 1)], true), Ok(()));
        let t2 = t + Duration::from_secs(30);
        assert_eq!(
            w.check(t2, &[("video", 900), ("audio", 1500)], true),
            Ok(())
        );
    }

    #[test]
    fn a_thread_that_stops_turning_fails_after_the_limit_and_recovers() {
        let t = Instant::now();
        let mut w = Watchdog::new(Duration::from_secs(20));
        w.check(t, &[("video", 5), ("audio", 5)], true).unwrap();
        // Within the limit (a long back-off) it is still fine.
        let t1 = t + Duration::from_secs(15);
        assert_eq!(w.check(t1, &[("video", 5), ("audio", 9)], true), Ok(()));
        let t2 = t + Duration::from_secs(21);
        let err = w
            .check(t2, &[("video", 5), ("audio", 12)], true)
            .unwrap_err();
        assert!(err.contains("video capture thread"), "{err}");
        assert!(!err.contains("audio"), "{err}");
        // It turned again.
        assert_eq!(w.check(t2, &[("video", 6), ("audio", 13)], true), Ok(()));
    }

    #[test]
    fn a_dead_mqtt_task_fails_at_once() {
        let mut w = Watchdog::new(Duration::from_secs(20));
        let err = w.check(Instant::now(), &[("video", 1)], false).unwrap_err();
        assert!(err.contains("MQTT"), "{err}");
    }
}
