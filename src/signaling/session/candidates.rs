//! The session machine's handlers for ICE candidates: the viewer's (kept for the standby while
//! early, applied to a claimed session within a bound) and the device's own (held until the
//! viewer can hear them).

use tracing::{debug, warn};

use super::early::Kept;
use super::{Action, Sender, Sessions, Standby};
use super::{MAX_EARLY_CANDIDATES, MAX_EARLY_VIEWERS, MAX_REMOTE_CANDIDATES};
use crate::signaling::protocol::CandidateInit;

impl Sessions {
    pub(super) fn on_candidate(
        &mut self,
        session: String,
        from: Sender,
        candidate: CandidateInit,
        out: &mut Vec<Action>,
    ) {
        let from_claimer = self.is_claimer(&session, &from);
        let viewer = from.0;
        if let Some(c) = self.claimed.get_mut(&session) {
            if !from_claimer {
                return;
            }
            if c.remote_candidates >= MAX_REMOTE_CANDIDATES {
                if c.remote_candidates == MAX_REMOTE_CANDIDATES {
                    warn!(%session, %viewer, max = MAX_REMOTE_CANDIDATES, "viewer sent too many candidates; the rest are dropped");
                }
                c.remote_candidates = c.remote_candidates.saturating_add(1);
                return;
            }
            c.remote_candidates += 1;
            out.push(Action::ApplyCandidate { session, candidate });
        } else if self.standby_session() == Some(session.as_str()) {
            match self.early.push(viewer.clone(), candidate) {
                Kept::Yes => {}
                Kept::ViewerFull => debug!(
                    %session, %viewer, max = MAX_EARLY_CANDIDATES,
                    "early candidate dropped: this viewer sent the most kept before an answer"
                ),
                Kept::EvictedOldest => debug!(
                    %session, %viewer, max = MAX_EARLY_VIEWERS,
                    "early candidates of the oldest of too many viewers dropped"
                ),
            }
        }
    }

    pub(super) fn on_local_candidate(
        &mut self,
        session: String,
        candidate: Option<String>,
        out: &mut Vec<Action>,
    ) {
        if let Some(c) = self.claimed.get(&session) {
            if let Some(candidate) = c.local.pass(candidate) {
                out.push(Action::PublishCandidate { session, candidate });
            }
            return;
        }
        match &mut self.standby {
            Standby::Preparing { session: s, local }
            | Standby::Published {
                session: s, local, ..
            } if *s == session => local.hold(candidate),
            // A session that ended or never was: nobody to tell.
            _ => {}
        }
    }
}
