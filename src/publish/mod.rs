//! Publishing the one encode to media servers (SFUs) that fan it out to many viewers
//! (`[[publish]]`): each target is a send-only peer fed by the same shared tracks as the
//! MQTT viewers (no second encode), negotiated over the server's own API, published again
//! with back-off whenever it fails, without touching the direct viewers. Its receiver reports,
//! keyframe requests and bandwidth feedback count like a viewer's.

mod http;
pub mod janus;
pub mod whip;

use tokio::sync::{mpsc, watch};

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

impl Target {
    fn report(&self, state: PublishState, error: Option<String>) {
        // The daemon drains this promptly; a full queue only loses a status detail.
        let _ = self.updates.try_send(PublishUpdate {
            index: self.index,
            state,
            error,
        });
    }
}

/// Publishes `target` until `stop` turns true.
pub async fn run(target: Target, stop: watch::Receiver<bool>) {
    match target.config.kind {
        PublishKind::Janus => janus::run(target, stop).await,
        PublishKind::Whip => whip::run(target, stop).await,
    }
}
