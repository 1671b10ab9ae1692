//! One function per event: the rules of [`Sessions`].

use std::time::Instant;

use tracing::{debug, warn};

use super::{Action, Claimed, LocalCandidates, Sender, Sessions, Standby};
use super::{ENDED_MEMORY, REFUSE_AFTER};
use crate::signaling::protocol::{ErrorCode, Route};

impl Sessions {
    pub(super) fn on_start(&mut self, out: &mut Vec<Action>) {
        out.push(Action::PublishStatus { viewers: 0 });
        out.push(Action::SetActiveViewers { connected: 0 });
        self.ensure_standby(out);
    }

    /// Retained state must be (re)published after every (re)connect.
    pub(super) fn on_mqtt_connected(&mut self, out: &mut Vec<Action>) {
        out.push(Action::PublishStatus {
            viewers: self.viewers(),
        });
        match &self.standby {
            Standby::Published { session, sdp, .. } => out.push(Action::PublishOffer {
                session: session.clone(),
                sdp: sdp.clone(),
            }),
            // A crashed run may have left an offer behind: replace it with nothing until
            // ours is ready.
            _ => {
                self.offer_published = false;
                out.push(Action::ClearOffer);
            }
        }
    }

    pub(super) fn on_standby_ready(&mut self, session: String, sdp: String, out: &mut Vec<Action>) {
        let Standby::Preparing { session: s, local } = &mut self.standby else {
            return stale(session, out);
        };
        if *s != session {
            return stale(session, out);
        }
        let mut local = std::mem::take(local);
        local.offer_ready(&sdp);
        self.retry.succeeded();
        self.early.clear();
        self.offer_published = true;
        out.push(Action::PublishOffer {
            session: session.clone(),
            sdp: sdp.clone(),
        });
        self.standby = Standby::Published {
            session,
            sdp,
            local,
            renew_at: self.standby_renewal.map(|age| self.now + age),
        };
    }

    /// The published standby offer is retired (nobody claimed it in time): its peer is
    /// closed, the retained offer cleared until the next one is ready, and a late answer to
    /// it is told the session has ended.
    pub(super) fn renew_standby(&mut self, session: String, out: &mut Vec<Action>) {
        debug!(%session, "standby offer renewed (its TURN credentials age)");
        self.standby = Standby::None;
        self.offer_published = false;
        out.push(Action::ClearOffer);
        out.push(Action::ClosePeer {
            session: session.clone(),
            reason: "renewed".into(),
            notify: false,
        });
        self.ended.push_back(session);
        if self.ended.len() > ENDED_MEMORY {
            self.ended.pop_front();
        }
    }

    pub(super) fn on_standby_failed(
        &mut self,
        now: Instant,
        session: String,
        out: &mut Vec<Action>,
    ) {
        if self.preparing_session() == Some(session.as_str()) {
            let at = now + self.retry.failed();
            self.standby = Standby::RetryAt { at };
        }
        out.push(Action::ClosePeer {
            session,
            reason: "failed".into(),
            notify: false,
        });
    }

    pub(super) fn on_answer(
        &mut self,
        now: Instant,
        session: String,
        from: Sender,
        sdp: String,
        out: &mut Vec<Action>,
    ) {
        if self.standby_session() == Some(session.as_str()) {
            if let Some(left) = self.refusals.refused(&from.0, now) {
                out.push(Action::SendError {
                    session,
                    viewer: from.0,
                    code: ErrorCode::Refused,
                    message: format!(
                        "this viewer id's last {REFUSE_AFTER} or more sessions never \
                         connected; answers from it are refused for {} s more",
                        left.as_secs().max(1)
                    ),
                    route: from.1,
                });
                return;
            }
            return self.claim(now, session, from, sdp, out);
        }
        let (viewer, route) = from;
        if let Some(c) = self.claimed.get(&session) {
            if c.viewer != viewer {
                out.push(Action::SendError {
                    session,
                    viewer,
                    code: ErrorCode::Taken,
                    message: "another viewer claimed this offer first; wait for the next one"
                        .into(),
                    route,
                });
            }
            // The claimer's own duplicate (QoS 1 redelivery), or someone writing in its name
            // on the shared topics, is ignored.
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
            route,
        });
    }

    /// The first answer to the published standby offer takes the slot.
    fn claim(
        &mut self,
        now: Instant,
        session: String,
        (viewer, route): Sender,
        sdp: String,
        out: &mut Vec<Action>,
    ) {
        let early = self.early.take(&viewer);
        let mut local = match std::mem::replace(&mut self.standby, Standby::None) {
            Standby::Published { local, .. } => local,
            _ => LocalCandidates::default(),
        };
        out.push(Action::ApplyAnswer {
            session: session.clone(),
            sdp,
            viewer: viewer.clone(),
            route,
        });
        for candidate in local.release() {
            out.push(Action::PublishCandidate {
                session: session.clone(),
                candidate,
            });
        }
        let early_count = early.len();
        for candidate in early {
            out.push(Action::ApplyCandidate {
                session: session.clone(),
                candidate,
            });
        }
        self.claimed.insert(
            session,
            Claimed {
                viewer,
                connected: false,
                deadline: Some(now + self.settings.connect_timeout),
                local,
                remote_candidates: early_count,
                route,
            },
        );
        out.push(Action::PublishStatus {
            viewers: self.viewers(),
        });
        // The claimed offer must not stay retained while the next one is gathered: a viewer
        // arriving in between would answer it and only hear `taken`.
        if std::mem::take(&mut self.offer_published) {
            out.push(Action::ClearOffer);
        }
        if self.failed_claims > 0 && self.viewers() < self.settings.max_viewers {
            let wait = self.claim_retry.failed();
            debug!(
                failed_claims = self.failed_claims,
                wait_ms = wait.as_millis() as u64,
                "claims keep failing: the next standby offer waits"
            );
            self.standby = Standby::RetryAt { at: now + wait };
        }
        self.ensure_standby(out);
    }

    pub(super) fn on_hangup(&mut self, session: String, from: Sender, out: &mut Vec<Action>) {
        if self.is_claimer(&session, &from) {
            self.end(&session, "viewer_hangup", false, out);
            self.ensure_standby(out);
        }
    }

    pub(super) fn on_bad_request(
        &mut self,
        session: String,
        viewer: String,
        message: String,
        route: Route,
        out: &mut Vec<Action>,
    ) {
        out.push(Action::SendError {
            session,
            viewer,
            code: ErrorCode::BadRequest,
            message,
            route,
        });
    }

    pub(super) fn on_answer_rejected(
        &mut self,
        session: String,
        message: String,
        out: &mut Vec<Action>,
    ) {
        if let Some(c) = self.claimed.get(&session) {
            out.push(Action::SendError {
                session: session.clone(),
                viewer: c.viewer.clone(),
                code: ErrorCode::BadRequest,
                message,
                route: c.route,
            });
            self.end(&session, "bad_answer", false, out);
            self.ensure_standby(out);
        }
    }

    pub(super) fn on_peer_connected(&mut self, session: String, out: &mut Vec<Action>) {
        if let Some(c) = self.claimed.get_mut(&session) {
            if !c.connected {
                c.connected = true;
                c.deadline = None;
                self.refusals.connected(&c.viewer);
                self.failed_claims = 0;
                self.claim_retry.succeeded();
                out.push(Action::SetActiveViewers {
                    connected: self.connected(),
                });
                out.push(Action::RequestKeyframe);
            }
        }
    }

    pub(super) fn on_peer_ended(&mut self, session: String, reason: String, out: &mut Vec<Action>) {
        if self.claimed.contains_key(&session) {
            self.end(&session, &reason, true, out);
        } else if self.standby_session() == Some(session.as_str())
            || self.preparing_session() == Some(session.as_str())
        {
            self.standby = Standby::None;
            out.push(Action::ClosePeer {
                session,
                reason,
                notify: false,
            });
        }
        self.ensure_standby(out);
    }

    pub(super) fn on_shutdown(&mut self, out: &mut Vec<Action>) {
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
            Standby::Preparing { session, .. } | Standby::Published { session, .. } => {
                out.push(Action::ClosePeer {
                    session,
                    reason: "shutdown".into(),
                    notify: false,
                })
            }
            _ => {}
        }
        out.push(Action::ClearOffer);
        out.push(Action::PublishOffline);
    }

    pub(super) fn end(&mut self, session: &str, reason: &str, notify: bool, out: &mut Vec<Action>) {
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
            } else if !self.stopped {
                self.failed_claims = self.failed_claims.saturating_add(1);
                if let Some(wait) = self.refusals.failed(&c.viewer, self.now) {
                    warn!(
                        viewer = %c.viewer,
                        refused_s = wait.as_secs(),
                        "this viewer's sessions keep failing to connect; its answers are refused for a while"
                    );
                }
            }
            self.ended.push_back(session.to_string());
            if self.ended.len() > ENDED_MEMORY {
                self.ended.pop_front();
            }
        }
    }

    /// Keeps one standby offer while a slot is free; clears the retained offer when full.
    pub(super) fn ensure_standby(&mut self, out: &mut Vec<Action>) {
        if self.stopped {
            return;
        }
        let free = self.viewers() < self.settings.max_viewers;
        match (&self.standby, free) {
            (Standby::None, true) => {
                let session = (self.new_id)();
                self.standby = Standby::Preparing {
                    session: session.clone(),
                    local: LocalCandidates::default(),
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

/// A finished peer nobody is waiting for any more.
fn stale(session: String, out: &mut Vec<Action>) {
    out.push(Action::ClosePeer {
        session,
        reason: "stale".into(),
        notify: false,
    });
}
