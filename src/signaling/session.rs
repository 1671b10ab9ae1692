//! The session state machine: standby offer, claim, taken, full, hangup, timeouts.
//!
//! Sans-IO: [`Sessions::handle`] takes an [`Event`] and the current time and returns the
//! [`Action`]s to carry out; [`Sessions::poll_timeout`] says when to call
//! [`Sessions::handle_timeout`]. No sockets, no peers, no clock inside, so every rule here is
//! tested in memory.
//!
//! The rules, in the seed steps' terms: the device (Client1) keeps one *standby* offer on the
//! broker while a viewer slot is free (steps 5–9). The first valid answer claims it (steps
//! 19–22); its candidates, buffered if they came early, are applied; the device at once
//! prepares the next standby offer, or clears the retained offer when every slot is used.
//! Answers to a claimed or ended session get `taken`; answers when full get `full`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use super::protocol::{CandidateInit, ErrorCode};

/// Candidates kept per viewer for the standby session before its answer arrives.
pub const MAX_EARLY_CANDIDATES: usize = 32;
/// Viewers whose early candidates are kept for the standby session.
pub const MAX_EARLY_VIEWERS: usize = 16;
/// Ended sessions remembered so that late answers get `taken`.
pub const ENDED_MEMORY: usize = 64;
/// First and largest back-off after a standby offer could not be prepared.
pub const RETRY_MIN: Duration = Duration::from_secs(1);
pub const RETRY_MAX: Duration = Duration::from_secs(30);

/// Inputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The daemon starts.
    Start,
    /// The MQTT connection is (re)established: retained state must be (re)published.
    MqttConnected,
    /// A standby peer finished its offer.
    StandbyReady { session: String, sdp: String },
    /// A standby peer could not be prepared.
    StandbyFailed { session: String, reason: String },
    /// A viewer answered.
    Answer {
        session: String,
        viewer: String,
        sdp: String,
    },
    /// A viewer trickled a candidate.
    Candidate {
        session: String,
        viewer: String,
        candidate: CandidateInit,
    },
    /// A viewer hung up.
    Hangup {
        session: String,
        viewer: String,
        reason: String,
    },
    /// A viewer's message was malformed (it can be told).
    BadRequest {
        session: String,
        viewer: String,
        message: String,
    },
    /// The peer could not use the claimed answer.
    AnswerRejected { session: String, message: String },
    /// The peer connection is up.
    PeerConnected { session: String },
    /// The peer connection failed or closed.
    PeerEnded { session: String, reason: String },
    /// Clean shutdown.
    Shutdown,
}

/// Outputs, carried out in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Create a peer connection and its offer for this new session id.
    PrepareStandby { session: String },
    /// Publish the retained standby offer.
    PublishOffer { session: String, sdp: String },
    /// Clear the retained offer (empty payload).
    ClearOffer,
    /// Apply the claimer's answer to the session's peer.
    ApplyAnswer { session: String, sdp: String },
    /// Apply a claimer's candidate.
    ApplyCandidate {
        session: String,
        candidate: CandidateInit,
    },
    /// Close and free a session's peer; `notify` publishes a hangup to its viewer.
    ClosePeer {
        session: String,
        reason: String,
        notify: bool,
    },
    /// Tell one viewer why its message was refused.
    SendError {
        session: String,
        viewer: String,
        code: ErrorCode,
        message: String,
    },
    /// Publish the retained online status with this many viewers (claimed sessions).
    PublishStatus { viewers: usize },
    /// Publish the retained offline status (shutdown).
    PublishOffline,
    /// This many viewers receive media (0 lets the encoders idle).
    SetActiveViewers { connected: usize },
    /// Force an IDR (a viewer just connected).
    RequestKeyframe,
}

#[derive(Debug, Clone, PartialEq)]
enum Standby {
    None,
    Preparing { session: String },
    Published { session: String, sdp: String },
    RetryAt { at: Instant },
}

#[derive(Debug, Clone)]
struct Claimed {
    viewer: String,
    connected: bool,
    /// Connect deadline while not connected.
    deadline: Option<Instant>,
}

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
    early: HashMap<String, Vec<CandidateInit>>,
    claimed: HashMap<String, Claimed>,
    ended: VecDeque<String>,
    failures: u32,
    stopped: bool,
    /// Whether a retained offer of ours is on the broker.
    offer_published: bool,
}

impl Sessions {
    /// A machine that names sessions with `new_id` (random in production, a counter in tests).
    pub fn new(settings: SessionSettings, new_id: impl FnMut() -> String + Send + 'static) -> Self {
        Self {
            settings,
            new_id: Box::new(new_id),
            standby: Standby::None,
            early: HashMap::new(),
            claimed: HashMap::new(),
            ended: VecDeque::new(),
            failures: 0,
            stopped: false,
            offer_published: false,
        }
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

    /// The published standby session, if any.
    pub fn standby_session(&self) -> Option<&str> {
        match &self.standby {
            Standby::Published { session, .. } => Some(session),
            _ => None,
        }
    }

    /// When [`Sessions::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let retry = match self.standby {
            Standby::RetryAt { at } => Some(at),
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
        if let Standby::RetryAt { at } = self.standby {
            if at <= now {
                self.standby = Standby::None;
            }
        }
        self.ensure_standby(&mut out);
        out
    }

    /// Handles one event.
    pub fn handle(&mut self, now: Instant, event: Event) -> Vec<Action> {
        let mut out = Vec::new();
        if self.stopped {
            return out;
        }
        match event {
            Event::Start => {
                out.push(Action::PublishStatus { viewers: 0 });
                out.push(Action::SetActiveViewers { connected: 0 });
                self.ensure_standby(&mut out);
            }
            Event::MqttConnected => {
                out.push(Action::PublishStatus {
                    viewers: self.viewers(),
                });
                match &self.standby {
                    Standby::Published { session, sdp } => out.push(Action::PublishOffer {
                        session: session.clone(),
                        sdp: sdp.clone(),
                    }),
                    // A crashed run may have left an offer behind: replace it with nothing
                    // until ours is ready.
                    _ => {
                        self.offer_published = false;
                        out.push(Action::ClearOffer);
                    }
                }
            }
            Event::StandbyReady { session, sdp } => match &self.standby {
                Standby::Preparing { session: s } if *s == session => {
                    self.failures = 0;
                    self.early.clear();
                    self.offer_published = true;
                    out.push(Action::PublishOffer {
                        session: session.clone(),
                        sdp: sdp.clone(),
                    });
                    self.standby = Standby::Published { session, sdp };
                }
                _ => out.push(Action::ClosePeer {
                    session,
                    reason: "stale".into(),
                    notify: false,
                }),
            },
            Event::StandbyFailed { session, reason: _ } => {
                if matches!(&self.standby, Standby::Preparing { session: s } if *s == session) {
                    self.failures += 1;
                    let backoff = RETRY_MIN
                        .saturating_mul(1 << self.failures.saturating_sub(1).min(5))
                        .min(RETRY_MAX);
                    self.standby = Standby::RetryAt { at: now + backoff };
                }
                out.push(Action::ClosePeer {
                    session,
                    reason: "failed".into(),
                    notify: false,
                });
            }
            Event::Answer {
                session,
                viewer,
                sdp,
            } => self.on_answer(now, session, viewer, sdp, &mut out),
            Event::Candidate {
                session,
                viewer,
                candidate,
            } => {
                if let Some(c) = self.claimed.get(&session) {
                    if c.viewer == viewer {
                        out.push(Action::ApplyCandidate { session, candidate });
                    }
                } else if self.standby_session() == Some(session.as_str()) {
                    let known = self.early.contains_key(&viewer);
                    if known || self.early.len() < MAX_EARLY_VIEWERS {
                        let list = self.early.entry(viewer).or_default();
                        if list.len() < MAX_EARLY_CANDIDATES {
                            list.push(candidate);
                        }
                    }
                }
            }
            Event::Hangup {
                session,
                viewer,
                reason: _,
            } => {
                if self.claimer(&session) == Some(viewer.as_str()) {
                    self.end(&session, "viewer_hangup", false, &mut out);
                    self.ensure_standby(&mut out);
                }
            }
            Event::BadRequest {
                session,
                viewer,
                message,
            } => out.push(Action::SendError {
                session,
                viewer,
                code: ErrorCode::BadRequest,
                message,
            }),
            Event::AnswerRejected { session, message } => {
                if let Some(viewer) = self.claimer(&session).map(str::to_string) {
                    out.push(Action::SendError {
                        session: session.clone(),
                        viewer,
                        code: ErrorCode::BadRequest,
                        message,
                    });
                    self.end(&session, "bad_answer", false, &mut out);
                    self.ensure_standby(&mut out);
                }
            }
            Event::PeerConnected { session } => {
                if let Some(c) = self.claimed.get_mut(&session) {
                    if !c.connected {
                        c.connected = true;
                        c.deadline = None;
                        out.push(Action::SetActiveViewers {
                            connected: self.connected(),
                        });
                        out.push(Action::RequestKeyframe);
                    }
                }
            }
            Event::PeerEnded { session, reason } => {
                if self.claimed.contains_key(&session) {
                    self.end(&session, &reason, true, &mut out);
                } else if self.standby_session() == Some(session.as_str())
                    || matches!(&self.standby, Standby::Preparing { session: s } if *s == session)
                {
                    self.standby = Standby::None;
                    out.push(Action::ClosePeer {
                        session,
                        reason,
                        notify: false,
                    });
                }
                self.ensure_standby(&mut out);
            }
            Event::Shutdown => {
                self.stopped = true;
                let mut sessions: Vec<String> = self.claimed.keys().cloned().collect();
                sessions.sort();
                for session in sessions {
                    out.push(Action::ClosePeer {
                        session,
                        reason: "shutdown".into(),
                        notify: true,
                    });
                }
                self.claimed.clear();
                match std::mem::replace(&mut self.standby, Standby::None) {
                    Standby::Preparing { session } | Standby::Published { session, .. } => out
                        .push(Action::ClosePeer {
                            session,
                            reason: "shutdown".into(),
                            notify: false,
                        }),
                    _ => {}
                }
                out.push(Action::ClearOffer);
                out.push(Action::PublishOffline);
            }
        }
        out
    }

    fn on_answer(
        &mut self,
        now: Instant,
        session: String,
        viewer: String,
        sdp: String,
        out: &mut Vec<Action>,
    ) {
        if self.standby_session() == Some(session.as_str()) {
            let early = self.early.remove(&viewer).unwrap_or_default();
            self.early.clear();
            self.standby = Standby::None;
            self.claimed.insert(
                session.clone(),
                Claimed {
                    viewer,
                    connected: false,
                    deadline: Some(now + self.settings.connect_timeout),
                },
            );
            out.push(Action::ApplyAnswer {
                session: session.clone(),
                sdp,
            });
            for candidate in early {
                out.push(Action::ApplyCandidate {
                    session: session.clone(),
                    candidate,
                });
            }
            out.push(Action::PublishStatus {
                viewers: self.viewers(),
            });
            self.ensure_standby(out);
            return;
        }
        if let Some(c) = self.claimed.get(&session) {
            if c.viewer != viewer {
                out.push(Action::SendError {
                    session,
                    viewer,
                    code: ErrorCode::Taken,
                    message: "another viewer claimed this offer first; wait for the next one"
                        .into(),
                });
            }
            // The claimer's own duplicate (QoS 1 redelivery) is ignored.
            return;
        }
        let (code, message) = if self.ended.contains(&session) {
            (
                ErrorCode::Taken,
                "this session has ended; answer the current offer".to_string(),
            )
        } else if self.viewers() >= self.settings.max_viewers {
            (
                ErrorCode::Full,
                format!(
                    "all {} viewer slots are in use; an offer is published when one frees",
                    self.settings.max_viewers
                ),
            )
        } else {
            (
                ErrorCode::BadRequest,
                "unknown session; answer the current offer".to_string(),
            )
        };
        out.push(Action::SendError {
            session,
            viewer,
            code,
            message,
        });
    }

    fn end(&mut self, session: &str, reason: &str, notify: bool, out: &mut Vec<Action>) {
        if let Some(c) = self.claimed.remove(session) {
            out.push(Action::ClosePeer {
                session: session.to_string(),
                reason: reason.to_string(),
                notify,
            });
            out.push(Action::PublishStatus {
                viewers: self.viewers(),
            });
            if c.connected {
                out.push(Action::SetActiveViewers {
                    connected: self.connected(),
                });
            }
            self.ended.push_back(session.to_string());
            if self.ended.len() > ENDED_MEMORY {
                self.ended.pop_front();
            }
        }
    }

    /// Keeps one standby offer while a slot is free; clears the retained offer when full.
    fn ensure_standby(&mut self, out: &mut Vec<Action>) {
        if self.stopped {
            return;
        }
        let free = self.viewers() < self.settings.max_viewers;
        match (&self.standby, free) {
            (Standby::None, true) => {
                let session = (self.new_id)();
                self.standby = Standby::Preparing {
                    session: session.clone(),
                };
                out.push(Action::PrepareStandby { session });
            }
            (Standby::None, false) if self.offer_published => {
                self.offer_published = false;
                out.push(Action::ClearOffer);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
