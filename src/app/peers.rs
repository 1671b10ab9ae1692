//! The running peers: one task per peer connection applies its commands in order (the answer
//! before any candidate) and closes it at the end. The event loop only holds the channels.

use std::collections::HashMap;

use tokio::sync::mpsc;
use tracing::{debug, warn};
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;

use super::seams::PeerLink;
use crate::peer::PeerEvent;
use crate::signaling::protocol::CandidateInit;

/// Commands queued per peer.
const PEER_COMMAND_QUEUE: usize = 64;

/// What the event loop asks of one peer.
pub enum PeerCommand {
    Answer(String),
    Candidate(CandidateInit),
    Close,
}

/// The command channels of the running peers, by session.
#[derive(Default)]
pub struct Peers {
    commands: HashMap<String, mpsc::Sender<PeerCommand>>,
}

impl Peers {
    /// Starts `peer`'s task; its failures come back on `events`.
    pub fn add(&mut self, peer: Box<dyn PeerLink>, events: mpsc::Sender<PeerEvent>) {
        let (tx, rx) = mpsc::channel(PEER_COMMAND_QUEUE);
        self.commands.insert(peer.session().to_string(), tx);
        tokio::spawn(peer_task(peer, rx, events));
    }

    /// Whether `session` has a running peer.
    pub fn contains(&self, session: &str) -> bool {
        self.commands.contains_key(session)
    }

    /// Queues a command; a full queue drops it with a log line (a stuck peer never blocks the
    /// event loop).
    pub fn send(&self, session: &str, cmd: PeerCommand) {
        let Some(tx) = self.commands.get(session) else {
            return;
        };
        if let Err(e) = tx.try_send(cmd) {
            warn!(%session, cause = %e, "peer command dropped");
        }
    }

    /// Closes and forgets `session`'s peer.
    pub fn close(&mut self, session: &str) {
        self.send(session, PeerCommand::Close);
        self.commands.remove(session);
    }
}

/// The protocol's candidate as webrtc-rs takes it (the same W3C dictionary).
fn to_webrtc(c: CandidateInit) -> RTCIceCandidateInit {
    RTCIceCandidateInit {
        candidate: c.candidate,
        sdp_mid: c.sdp_mid,
        sdp_mline_index: c.sdp_mline_index,
        username_fragment: c.username_fragment,
    }
}

/// Owns one peer: applies its commands in order, closes it at the end.
async fn peer_task(
    peer: Box<dyn PeerLink>,
    mut commands: mpsc::Receiver<PeerCommand>,
    events: mpsc::Sender<PeerEvent>,
) {
    while let Some(cmd) = commands.recv().await {
        match cmd {
            PeerCommand::Answer(sdp) => {
                if let Err(e) = peer.apply_answer(sdp).await {
                    let _ = events
                        .send(PeerEvent::AnswerRejected {
                            session: peer.session().to_string(),
                            message: e.to_string(),
                        })
                        .await;
                }
            }
            PeerCommand::Candidate(c) => {
                let text = c.candidate.clone();
                if let Err(e) = peer.add_candidate(to_webrtc(c)).await {
                    debug!(session = %peer.session(), cause = %e, candidate = %text, "remote candidate not usable");
                }
            }
            PeerCommand::Close => break,
        }
    }
    peer.close().await;
    debug!(session = %peer.session(), "peer closed");
}
