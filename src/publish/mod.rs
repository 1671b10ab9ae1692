//! Publishing the one encode to media servers (SFUs) that fan it out to many viewers
//! (`[[publish]]`): each target is a send-only peer fed by the same shared tracks as the
//! MQTT viewers (no second encode), negotiated over the server's own API, published again
//! with back-off whenever it fails, without touching the direct viewers. Its receiver reports,
//! keyframe requests and bandwidth feedback count like a viewer's.

mod http;
pub mod janus;
pub mod whip;

use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::warn;

use crate::backoff::Backoff;

use crate::config::{PublishConfig, PublishKind};
use crate::peer::{PeerError, PeerEvent, PeerFactory};

/// Why publishing failed (it is tried again after the back-off).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("{0}")]
    Http(String),
    #[error("HTTP {0}: {1}")]
    Status(u16, String),
    #[error("Janus refused ({code}): {reason}")]
    Janus { code: i64, reason: String },
    #[error("{0}")]
    Peer(PeerError),
    #[error("{0}")]
    Unexpected(String),
}

/// Where a target stands, for the status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishState {
    /// Negotiating with the server.
    Connecting,
    /// Media flows to the server.
    Live,
    /// It failed; publishing again after the back-off.
    Retrying,
}

impl PublishState {
    pub fn as_str(self) -> &'static str {
        match self {
            PublishState::Connecting => "connecting",
            PublishState::Live => "live",
            PublishState::Retrying => "retrying",
        }
    }
}

/// News of target `index` for the daemon.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishUpdate {
    pub index: usize,
    pub state: PublishState,
    /// The last failure, while retrying.
    pub error: Option<String>,
}

/// One configured target and what it publishes with: a peer factory of its own (so its
/// peer's events come here, not to the viewers' session machine).
pub struct Target {
    pub index: usize,
    pub config: PublishConfig,
    /// The name subscribers see.
    pub display: String,
    pub factory: PeerFactory,
    pub events: mpsc::Receiver<PeerEvent>,
    pub updates: mpsc::Sender<PublishUpdate>,
}

/// What one of the peer's events means for a publishing session.
enum PeerNews {
    /// Media flows (reported as live, the back-off reset).
    Live,
    /// A local candidate found after the offer (`None`: gathering ended).
    Candidate(Option<String>),
    /// rtcam stops (the peer factory is gone).
    Stopped,
    /// Nothing for this session.
    Nothing,
}

impl Target {
    /// Reads `ev` for `session`: its end is an error, its start is reported.
    fn peer_news(
        &self,
        ev: Option<PeerEvent>,
        session: &str,
        backoff: &mut Backoff,
    ) -> Result<PeerNews, PublishError> {
        Ok(match ev {
            Some(PeerEvent::Connected { session: s }) if s == session => {
                backoff.succeeded();
                tracing::info!(target = %self.config.describe(), %session, "published: live");
                self.report(PublishState::Live, None);
                PeerNews::Live
            }
            Some(PeerEvent::Ended { session: s, reason }) if s == session => {
                return Err(PublishError::Unexpected(format!(
                    "the media connection ended: {reason}"
                )))
            }
            Some(PeerEvent::LocalCandidate {
                session: s,
                candidate,
            }) if s == session => PeerNews::Candidate(candidate),
            Some(_) => PeerNews::Nothing,
            None => PeerNews::Stopped,
        })
    }

    fn report(&self, state: PublishState, error: Option<String>) {
        // The daemon drains this promptly; a full queue only loses a status detail.
        let _ = self.updates.try_send(PublishUpdate {
            index: self.index,
            state,
            error,
        });
    }
}

/// Publishes `target` until `stop` turns true: an attempt with the server's signaling, and
/// after a failure another after the back-off (0.5 s doubling to 30 s; reset once live).
pub async fn run(mut target: Target, mut stop: watch::Receiver<bool>) {
    let mut backoff = Backoff::new(Duration::from_millis(500), Duration::from_secs(30));
    let mut attempt = 0u64;
    loop {
        attempt += 1;
        let session = format!("publish-{}-{attempt}", target.index);
        target.report(PublishState::Connecting, None);
        let (t, s, b) = (&mut target, session.as_str(), &mut backoff);
        let result = match t.config.kind {
            PublishKind::Janus => janus::publish_once(t, s, &mut stop, b).await,
            PublishKind::Whip => whip::publish_once(t, s, &mut stop, b).await,
        };
        let Err(e) = result else { return };
        let wait = backoff.failed();
        warn!(
            target = %target.config.describe(),
            error = %e,
            retry_in_ms = wait.as_millis() as u64,
            "publishing failed; publishing again"
        );
        target.report(PublishState::Retrying, Some(e.to_string()));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.changed() => return,
        }
    }
}
