//! The device's subscriptions, kept until the broker has acknowledged them: after every
//! ConnAck they are requested again (a clean session forgets them), a request that could not
//! be queued, was refused (an ACL, a full broker) or was never answered is retried with
//! back-off, and the daemon hears "connected" only once the broker confirmed every filter —
//! before that, viewers' answers would be lost. Sans-IO: the MQTT task feeds it events and
//! instants and does what it says.

use std::time::{Duration, Instant};

use crate::backoff::Backoff;

/// Time the broker has to answer a SUBSCRIBE.
pub const SUBACK_TIMEOUT: Duration = Duration::from_secs(10);
/// First and largest wait before subscribing again after a failure.
const RETRY_MIN: Duration = Duration::from_secs(1);
const RETRY_MAX: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No connection.
    Offline,
    /// Subscribe at this instant.
    Due(Instant),
    /// Requested at this instant; the packet id once rumqttc has sent it.
    Sent { at: Instant, pkid: Option<u16> },
    /// Acknowledged on this connection.
    Done,
}

/// What a SUBACK meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubAckOutcome {
    /// Every filter was granted: the device can hear its viewers now.
    Subscribed,
    /// These filters were refused; retried after the returned wait.
    Refused {
        filters: Vec<String>,
        retry_in: Duration,
    },
    /// Not an answer to our current request (a stale packet id).
    Ignored,
}

/// The subscription state of one MQTT connection task.
#[derive(Debug)]
pub struct Subscriptions {
    filters: Vec<String>,
    state: State,
    backoff: Backoff,
}

impl Subscriptions {
    pub fn new(filters: Vec<String>) -> Self {
        Self {
            filters,
            state: State::Offline,
            backoff: Backoff::new(RETRY_MIN, RETRY_MAX),
        }
    }

    pub fn filters(&self) -> &[String] {
        &self.filters
    }

    /// A ConnAck: subscribe now.
    pub fn connected(&mut self, now: Instant) {
        self.state = State::Due(now);
    }

    /// The connection is gone.
    pub fn disconnected(&mut self) {
        self.state = State::Offline;
    }

    /// Whether to (re)send the SUBSCRIBE now: it is due, or the last one went unanswered.
    pub fn due(&self, now: Instant) -> bool {
        match self.state {
            State::Due(at) => now >= at,
            State::Sent { at, .. } => now >= at + SUBACK_TIMEOUT,
            State::Offline | State::Done => false,
        }
    }

    /// The SUBSCRIBE was handed to rumqttc (`queued`), or could not be (retry later).
    /// Returns the wait before the retry when it could not.
    pub fn requested(&mut self, now: Instant, queued: bool) -> Option<Duration> {
        if queued {
            self.state = State::Sent {
                at: now,
                pkid: None,
            };
            None
        } else {
            let wait = self.backoff.failed();
            self.state = State::Due(now + wait);
            Some(wait)
        }
    }

    /// rumqttc wrote a SUBSCRIBE with this packet id.
    pub fn sent(&mut self, pkid: u16) {
        if let State::Sent { at, pkid: None } = self.state {
            self.state = State::Sent {
                at,
                pkid: Some(pkid),
            };
        }
    }

    /// A SUBACK arrived: `granted[i]` says whether filter `i` was accepted.
    pub fn acknowledged(&mut self, now: Instant, pkid: u16, granted: &[bool]) -> SubAckOutcome {
        let State::Sent { pkid: sent, .. } = self.state else {
            return SubAckOutcome::Ignored;
        };
        if sent.is_some_and(|p| p != pkid) {
            return SubAckOutcome::Ignored;
        }
        let refused: Vec<String> = self
            .filters
            .iter()
            .enumerate()
            .filter(|(i, _)| !granted.get(*i).copied().unwrap_or(false))
            .map(|(_, f)| f.clone())
            .collect();
        if refused.is_empty() {
            self.backoff.succeeded();
            self.state = State::Done;
            SubAckOutcome::Subscribed
        } else {
            let retry_in = self.backoff.failed();
            self.state = State::Due(now + retry_in);
            SubAckOutcome::Refused {
                filters: refused,
                retry_in,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subs() -> Subscriptions {
        Subscriptions::new(vec!["a/#".into(), "b/#".into()])
    }

    #[test]
    fn subscribes_after_each_connack_and_reports_once_granted() {
        let t = Instant::now();
        let mut s = subs();
        assert!(!s.due(t), "not before a connection");
        s.connected(t);
        assert!(s.due(t));
        assert_eq!(s.requested(t, true), None);
        assert!(!s.due(t));
        s.sent(7);
        assert_eq!(s.acknowledged(t, 6, &[true, true]), SubAckOutcome::Ignored);
        assert_eq!(
            s.acknowledged(t, 7, &[true, true]),
            SubAckOutcome::Subscribed
        );
        assert!(!s.due(t + SUBACK_TIMEOUT * 2), "done for this connection");
        // A new connection forgets them: subscribe again.
        s.disconnected();
        s.connected(t);
        assert!(s.due(t));
    }

    #[test]
    fn refused_filters_are_named_and_retried_with_back_off() {
        let t = Instant::now();
        let mut s = subs();
        s.connected(t);
        s.requested(t, true);
        s.sent(1);
        let SubAckOutcome::Refused { filters, retry_in } = s.acknowledged(t, 1, &[true, false])
        else {
            panic!("refused")
        };
        assert_eq!(filters, vec!["b/#".to_string()]);
        assert_eq!(retry_in, RETRY_MIN);
        assert!(!s.due(t));
        assert!(s.due(t + retry_in));
        s.requested(t + retry_in, true);
        s.sent(2);
        let SubAckOutcome::Refused {
            retry_in: again, ..
        } = s.acknowledged(t, 2, &[false, false])
        else {
            panic!("refused")
        };
        assert_eq!(again, RETRY_MIN * 2, "backs off");
    }

    #[test]
    fn an_unqueued_or_unanswered_subscribe_is_sent_again() {
        let t = Instant::now();
        let mut s = subs();
        s.connected(t);
        let wait = s.requested(t, false).expect("retry later");
        assert!(s.due(t + wait));
        s.requested(t + wait, true);
        assert!(!s.due(t + wait + SUBACK_TIMEOUT / 2));
        assert!(s.due(t + wait + SUBACK_TIMEOUT), "no SUBACK in time");
    }
}
