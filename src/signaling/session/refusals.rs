//! Viewer ids whose claims keep failing are refused for a while: after
//! [`REFUSE_AFTER`] claims in a row that never connected (an answer the peer rejected, a
//! session that timed out), that id's answers get `refused` without costing the device a
//! peer, for [`REFUSE_FOR`], doubling with every further failure up to [`REFUSE_MAX`]. A
//! session of that id that connects forgives it. Ids cost nothing to change without a broker
//! ACL, so this stops a client that keeps one id (the page, or any client when the ACL ties ids
//! to client ids); the standby back-off bounds the rest.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Failed claims in a row before an id is refused.
pub const REFUSE_AFTER: u32 = 3;
/// How long an id is first refused, and at most.
pub const REFUSE_FOR: Duration = Duration::from_secs(30);
pub const REFUSE_MAX: Duration = Duration::from_secs(300);
/// Ids remembered (the least recently failed is forgotten first).
pub const REMEMBERED_IDS: usize = 256;

#[derive(Debug, Clone, Copy)]
struct Record {
    failures: u32,
    last: Instant,
    until: Option<Instant>,
}

/// Failed claims per viewer id.
#[derive(Debug, Default)]
pub struct Refusals {
    ids: HashMap<String, Record>,
}

impl Refusals {
    /// How much longer `viewer` is refused, if it is.
    pub fn refused(&self, viewer: &str, now: Instant) -> Option<Duration> {
        let until = self.ids.get(viewer)?.until?;
        (until > now).then(|| until - now)
    }

    /// A claim by `viewer` ended without connecting. Returns how long it is now refused.
    pub fn failed(&mut self, viewer: &str, now: Instant) -> Option<Duration> {
        if !self.ids.contains_key(viewer) && self.ids.len() >= REMEMBERED_IDS {
            if let Some(oldest) = self
                .ids
                .iter()
                .min_by_key(|(_, r)| r.last)
                .map(|(id, _)| id.clone())
            {
                self.ids.remove(&oldest);
            }
        }
        let r = self.ids.entry(viewer.to_string()).or_insert(Record {
            failures: 0,
            last: now,
            until: None,
        });
        r.failures = r.failures.saturating_add(1);
        r.last = now;
        if r.failures < REFUSE_AFTER {
            return None;
        }
        let doublings = (r.failures - REFUSE_AFTER).min(8);
        let wait = (REFUSE_FOR * 2u32.pow(doublings)).min(REFUSE_MAX);
        r.until = Some(now + wait);
        Some(wait)
    }

    /// A session of `viewer` connected: it is forgiven.
    pub fn connected(&mut self, viewer: &str) {
        self.ids.remove(viewer);
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.ids.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_refused_after_failures_in_a_row_for_longer_each_time() {
        let t = Instant::now();
        let mut r = Refusals::default();
        assert_eq!(r.failed("x", t), None);
        assert_eq!(r.failed("x", t), None);
        assert_eq!(r.refused("x", t), None);
        assert_eq!(r.failed("x", t), Some(REFUSE_FOR));
        assert_eq!(
            r.refused("x", t + Duration::from_secs(10)),
            Some(REFUSE_FOR - Duration::from_secs(10))
        );
        assert_eq!(r.refused("x", t + REFUSE_FOR), None);
        assert_eq!(r.failed("x", t + REFUSE_FOR), Some(REFUSE_FOR * 2));
        for _ in 0..20 {
            r.failed("x", t);
        }
        assert_eq!(r.refused("x", t), Some(REFUSE_MAX));
        assert_eq!(r.refused("y", t), None, "other ids are not affected");
        r.connected("x");
        assert_eq!(r.refused("x", t), None);
    }

    #[test]
    fn the_memory_is_bounded() {
        let t = Instant::now();
        let mut r = Refusals::default();
        for i in 0..(REMEMBERED_IDS * 3) {
            r.failed(&format!("id{i}"), t + Duration::from_millis(i as u64));
        }
        assert_eq!(r.len(), REMEMBERED_IDS);
    }
}
