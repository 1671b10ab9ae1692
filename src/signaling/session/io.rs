//! The machine's inputs ([`Event`]) and outputs ([`Action`]).

use crate::signaling::protocol::{CandidateInit, ErrorCode, Inbound, ProtocolError, Route};

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
    /// A viewer answered (on the topics of `route`).
    Answer {
        session: String,
        viewer: String,
        sdp: String,
        route: Route,
    },
    /// A viewer trickled a candidate.
    Candidate {
        session: String,
        viewer: String,
        candidate: CandidateInit,
        route: Route,
    },
    /// A viewer hung up.
    Hangup {
        session: String,
        viewer: String,
        reason: String,
        route: Route,
    },
    /// A viewer's message was malformed (it can be told, on the topics of `route`).
    BadRequest {
        session: String,
        viewer: String,
        message: String,
        route: Route,
    },
    /// The peer could not use the claimed answer.
    AnswerRejected { session: String, message: String },
    /// The device's peer found a local ICE candidate (`None`: gathering finished).
    LocalCandidate {
        session: String,
        candidate: Option<String>,
    },
    /// The peer connection is up.
    PeerConnected { session: String },
    /// The peer connection failed or closed.
    PeerEnded { session: String, reason: String },
    /// Clean shutdown.
    Shutdown,
}

impl Event {
    /// The event a parsed viewer message makes: its content, or a `bad_request` for a sender
    /// that can be told. `None`: nothing for the machine (not ours, or nobody to tell).
    pub fn from_inbound(parsed: &Result<Option<Inbound>, ProtocolError>) -> Option<Event> {
        Some(match parsed {
            Ok(None) => return None,
            Ok(Some(Inbound::Answer {
                session,
                viewer,
                sdp,
                route,
            })) => Event::Answer {
                session: session.clone(),
                viewer: viewer.clone(),
                sdp: sdp.clone(),
                route: *route,
            },
            Ok(Some(Inbound::Candidate {
                session,
                viewer,
                candidate,
                route,
            })) => Event::Candidate {
                session: session.clone(),
                viewer: viewer.clone(),
                candidate: candidate.clone(),
                route: *route,
            },
            Ok(Some(Inbound::Hangup {
                session,
                viewer,
                reason,
                route,
            })) => Event::Hangup {
                session: session.clone(),
                viewer: viewer.clone(),
                reason: reason.clone(),
                route: *route,
            },
            Err(e) => Event::BadRequest {
                session: e.session.clone(),
                viewer: e.viewer.clone()?,
                message: e.reason.clone(),
                route: e.route,
            },
        })
    }
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
    /// Apply the claimer's answer to the session's peer. What the device sends this session
    /// from now on goes to `viewer` on the topics of `route`.
    ApplyAnswer {
        session: String,
        sdp: String,
        viewer: String,
        route: Route,
    },
    /// Apply a claimer's candidate.
    ApplyCandidate {
        session: String,
        candidate: CandidateInit,
    },
    /// Publish one of the device's candidates to the session's viewer.
    PublishCandidate {
        session: String,
        candidate: CandidateInit,
    },
    /// Close and free a session's peer; `notify` publishes a hangup to its viewer.
    ClosePeer {
        session: String,
        reason: String,
        notify: bool,
    },
    /// Tell one viewer why its message was refused (on the topics of `route`).
    SendError {
        session: String,
        viewer: String,
        code: ErrorCode,
        message: String,
        route: Route,
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
