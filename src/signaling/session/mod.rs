//! The session state machine: standby offer, claim, taken, full, hangup, timeouts, and the
//! device's own ICE candidates until a viewer can hear them.
//!
//! Sans-IO: [`Sessions::handle`] takes an [`Event`] and the current time and returns the
//! [`Action`]s to carry out; [`Sessions::poll_timeout`] says when to call
//! [`Sessions::handle_timeout`]. No sockets, no peers, no clock inside, so every rule here is
//! tested in memory.
//!
//! The rules: the device keeps one *standby* offer on the broker while a viewer slot is free.
//! The first valid answer claims it; the viewer's candidates, buffered if they came early, are
//! applied, and the device's candidates found after the offer was published (held until then:
//! the viewer subscribes to the session's topics only when it answers) are published. The
//! device at once prepares the next standby offer, or clears the retained offer when every
//! slot is used. Answers to a claimed or ended session get `taken`; answers when full get
//! `full`.

mod candidates;
mod early;
mod handlers;
mod io;
mod local;
mod refusals;

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::backoff::Backoff;
use crate::signaling::protocol::Route;
use early::EarlyCandidates;
pub use io::{Action, Event};
use local::LocalCandidates;
use refusals::Refusals;
pub use refusals::{REFUSE_AFTER, REFUSE_FOR, REFUSE_MAX};

/// Candidates kept per viewer for the standby session before its answer arrives.
pub const MAX_EARLY_CANDIDATES: usize = 32;
/// Viewers whose early candidates are kept for the standby session (a new one evicts the
/// oldest).
pub const MAX_EARLY_VIEWERS: usize = 16;
/// Candidates applied per claimed session (early and late together): a viewer has a few per
/// network interface and server; each one makes the device send connectivity checks where it
/// says, so more are dropped.
pub const MAX_REMOTE_CANDIDATES: usize = 64;
/// The device's own candidates held per session until its viewer answers.
pub const MAX_HELD_LOCAL_CANDIDATES: usize = 32;
/// Ended sessions remembered so that late answers get `taken`.
pub const ENDED_MEMORY: usize = 64;
/// First and largest back-off after a standby offer could not be prepared.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(30);
/// While claims keep failing (answers the peer rejects, sessions that never connect), the
/// next standby offer after a claim waits this long, doubling up to [`CLAIM_RETRY_MAX`]: a
/// stream of junk answers costs the device a peer connection every few seconds at most. The
/// first session that connects resets it.
pub const CLAIM_RETRY_MIN: Duration = Duration::from_millis(250);
pub const CLAIM_RETRY_MAX: Duration = Duration::from_secs(8);

#[derive(Debug, Clone, PartialEq)]
enum Standby {
    None,
    /// The peer is being created; its candidates may already arrive.
    Preparing {
        session: String,
        local: LocalCandidates,
    },
    /// The offer is on the broker.
    Published {
        session: String,
        sdp: String,
        local: LocalCandidates,
        /// When it is replaced by a new one (its TURN credentials age): see
        /// [`Sessions::with_standby_renewal`].
        renew_at: Option<Instant>,
    },
    RetryAt {
        at: Instant,
    },
}

#[derive(Debug, Clone)]
struct Claimed {
    viewer: String,
    connected: bool,
    /// Connect deadline while not connected.
    deadline: Option<Instant>,
    /// The device's candidates, now published as they come.
    local: LocalCandidates,
    /// The viewer's candidates applied so far (at most [`MAX_REMOTE_CANDIDATES`]).
    remote_candidates: usize,
    /// The topics it claimed on: where it is heard and answered.
    route: Route,
}

/// Who a message is from: a viewer id and the topics it came on.
type Sender = (String, Route);

/// Settings of the machine.
#[derive(Debug, Clone, Copy)]
pub struct SessionSettings {
    pub max_viewers: usize,
    pub connect_timeout: Duration,
}

/// The state machine.
pub struct Sessions {
    settings: SessionSettings,
    new_id: Box<dyn FnMut() -> String + Send>,
    standby: Standby,
    early: EarlyCandidates,
    claimed: HashMap<String, Claimed>,
    ended: VecDeque<String>,
    retry: Backoff,
    /// Claims that ended without connecting since the last one that connected.
    failed_claims: u32,
    claim_retry: Backoff,
    /// Viewer ids refused after failed claims.
    refusals: Refusals,
    /// The time of the event being handled.
    now: Instant,
    stopped: bool,
    /// Whether a retained offer of ours is on the broker.
    offer_published: bool,
    /// How long a published standby offer lives before a new one replaces it.
    standby_renewal: Option<Duration>,
}

impl Sessions {
    /// A machine that names sessions with `new_id` (random in production, a counter in tests).
    pub fn new(settings: SessionSettings, new_id: impl FnMut() -> String + Send + 'static) -> Self {
        Self {
            settings,
            new_id: Box::new(new_id),
            standby: Standby::None,
            early: EarlyCandidates::default(),
            claimed: HashMap::new(),
            ended: VecDeque::new(),
            retry: Backoff::new(RETRY_MIN, RETRY_MAX),
            failed_claims: 0,
            claim_retry: Backoff::new(CLAIM_RETRY_MIN, CLAIM_RETRY_MAX),
            refusals: Refusals::default(),
            now: Instant::now(),
            stopped: false,
            offer_published: false,
            standby_renewal: None,
        }
    }

    /// Replaces a published standby offer by a new one after `age`: its peer's short-lived
    /// TURN credentials (and those the offer hands to viewers) are then renewed together
    /// before they expire. Default: an offer lives until it is claimed.
    pub fn with_standby_renewal(mut self, age: Duration) -> Self {
        self.standby_renewal = Some(age);
        self
    }

    /// Viewers holding a slot.
    pub fn viewers(&self) -> usize {
        self.claimed.len()
    }

    /// Viewers whose connection is up.
    pub fn connected(&self) -> usize {
        self.claimed.values().filter(|c| c.connected).count()
    }

    /// The viewer that claimed `session`, if any.
    pub fn claimer(&self, session: &str) -> Option<&str> {
        self.claimed.get(session).map(|c| c.viewer.as_str())
    }

    /// Whether a message from `from` is the claimer of `session` speaking. A viewer that
    /// claimed on its own topics is heard only there: on the shared topics anyone can write in
    /// its name.
    fn is_claimer(&self, session: &str, from: &Sender) -> bool {
        self.claimed.get(session).is_some_and(|c| {
            c.viewer == from.0 && (c.route == Route::Shared || from.1 == Route::Own)
        })
    }

    /// The published standby session, if any.
    pub fn standby_session(&self) -> Option<&str> {
        match &self.standby {
            Standby::Published { session, .. } => Some(session),
            _ => None,
        }
    }

    /// The standby session being prepared, if any.
    fn preparing_session(&self) -> Option<&str> {
        match &self.standby {
            Standby::Preparing { session, .. } => Some(session),
            _ => None,
        }
    }

    /// When [`Sessions::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retry = match self.standby {
            Standby::RetryAt { at } => Some(at),
            Standby::Published { renew_at, .. } => renew_at,
            _ => None,
        };
        self.claimed
            .values()
            .filter_map(|c| c.deadline)
            .chain(retry)
            .min()
    }

    /// Handles expired deadlines.
    pub fn handle_timeout(&mut self, now: Instant) -> Vec<Action> {
        self.now = now;
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        let mut expired: Vec<String> = self
            .claimed
            .iter()
            .filter(|(_, c)| c.deadline.is_some_and(|d| d <= now))
            .map(|(s, _)| s.clone())
            .collect();
        expired.sort();
        for session in expired {
            self.end(&session, "connect_timeout", true, &mut out);
        }
        match &self.standby {
            Standby::RetryAt { at } if *at <= now => self.standby = Standby::None,
            Standby::Published {
                session,
                renew_at: Some(at),
                ..
            } if *at <= now => {
                let session = session.clone();
                self.renew_standby(session, &mut out);
            }
            _ => {}
        }
        self.ensure_standby(&mut out);
        out
    }

    /// Handles one event.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        self.now = now;
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        let o = &mut out;
        match event {
            Event::Start => self.on_start(o),
            Event::MqttConnected => self.on_mqtt_connected(o),
            Event::StandbyReady { session, sdp } => self.on_standby_ready(session, sdp, o),
            Event::StandbyFailed { session, .. } => self.on_standby_failed(now, session, o),
            Event::Answer {
                session,
                viewer,
                sdp,
                route,
            } => self.on_answer(now, session, (viewer, route), sdp, o),
            Event::Candidate {
                session,
                viewer,
                candidate,
                route,
            } => self.on_candidate(session, (viewer, route), candidate, o),
            Event::Hangup {
                session,
                viewer,
                route,
                ..
            } => self.on_hangup(session, (viewer, route), o),
            Event::BadRequest {
                session,
                viewer,
                message,
                route,
            } => self.on_bad_request(session, viewer, message, route, o),
            Event::AnswerRejected { session, message } => {
                self.on_answer_rejected(session, message, o)
            }
            Event::LocalCandidate { session, candidate } => {
                self.on_local_candidate(session, candidate, o)
            }
            Event::PeerConnected { session } => self.on_peer_connected(session, o),
            Event::PeerEnded { session, reason } => self.on_peer_ended(session, reason, o),
            Event::Shutdown => self.on_shutdown(o),
        }
        out
    }
}

#[cfg(test)]
mod tests;
