//! The event loop's view of the media and the peers, as traits: the daemon drives the real
//! fan-out and webrtc-rs peers through them, the event-loop tests drive fakes (no sockets, no
//! encoder). Together with [`super::outbox::Publish`] these are the loop's only ways out.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;

use crate::fanout::rate::{RateControl, RateSnapshot};
use crate::fanout::{Fanout, FanoutStats, KeyframeRequests};
use crate::peer::{Peer, PeerError, PeerFactory};
use crate::signaling::protocol::SourcesState;
use crate::talkback::TalkbackStats;

/// A boxed future, as the traits below return them.
pub type Fut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A standby peer and its offer SDP, or why there is none.
pub type Standby = Result<(Box<dyn PeerLink>, String), PeerError>;

/// One viewer's peer connection.
pub trait PeerLink: Send + Sync {
    fn session(&self) -> &str;
    /// The viewer's answer becomes the remote description.
    fn apply_answer(&self, sdp: String) -> Fut<'_, Result<(), PeerError>>;
    /// One of the viewer's trickled candidates.
    fn add_candidate(&self, candidate: RTCIceCandidateInit) -> Fut<'_, Result<(), PeerError>>;
    /// Closes the connection.
    fn close(&self) -> Fut<'_, ()>;
}

/// Makes standby peers: a peer connection and its offer SDP.
pub trait OfferMaker: Send + Sync {
    fn create_offer(&self, session: String) -> Fut<'_, Standby>;
}

/// What the loop tells the media side, and what it asks of it.
pub trait MediaControl: Send {
    /// How many viewers receive media (0 lets the encoders idle).
    fn set_active_viewers(&self, connected: usize);
    /// Force an IDR soon (a viewer just connected).
    fn request_keyframe(&self);
    /// The capture devices' state for the status.
    fn sources(&self) -> SourcesState;
    /// Each capture thread's loop counter, for the watchdog.
    fn heartbeats(&self) -> Vec<(&'static str, u64)>;
    /// The rate control's state, for the status (`None`: no rate control).
    fn rate(&self) -> Option<RateSnapshot> {
        None
    }
}

impl PeerLink for Peer {
    fn session(&self) -> &str {
        &self.session
    }

    fn apply_answer(&self, sdp: String) -> Fut<'_, Result<(), PeerError>> {
        Box::pin(Peer::apply_answer(self, sdp))
    }

    fn add_candidate(&self, candidate: RTCIceCandidateInit) -> Fut<'_, Result<(), PeerError>> {
        Box::pin(Peer::add_candidate(self, candidate))
    }

    fn close(&self) -> Fut<'_, ()> {
        Box::pin(Peer::close(self))
    }
}

impl OfferMaker for PeerFactory {
    fn create_offer(&self, session: String) -> Fut<'_, Standby> {
        Box::pin(async move {
            let (peer, sdp) = PeerFactory::create_offer(self, &session).await?;
            Ok((Box::new(peer) as Box<dyn PeerLink>, sdp))
        })
    }
}

/// The fan-out's controls, shared with its threads.
pub struct FanoutControl {
    keyframes: Arc<KeyframeRequests>,
    rate: Arc<RateControl>,
    stats: Arc<FanoutStats>,
    active: Arc<AtomicUsize>,
    has_audio: bool,
    talkback: Option<Arc<TalkbackStats>>,
}

impl FanoutControl {
    pub fn new(fanout: &Fanout, talkback: Option<Arc<TalkbackStats>>) -> Self {
        Self {
            keyframes: fanout.keyframes.clone(),
            rate: fanout.rate.clone(),
            stats: fanout.stats.clone(),
            active: fanout.active_viewers(),
            has_audio: fanout.audio_track.is_some(),
            talkback,
        }
    }
}

impl MediaControl for FanoutControl {
    fn set_active_viewers(&self, connected: usize) {
        self.active.store(connected, Ordering::Relaxed);
    }

    fn request_keyframe(&self) {
        self.keyframes.request();
    }

    fn sources(&self) -> SourcesState {
        super::status::sources(&self.stats, self.has_audio, self.talkback.as_deref())
    }

    fn heartbeats(&self) -> Vec<(&'static str, u64)> {
        let mut beats = vec![("video", self.stats.video_turns.load(Ordering::Relaxed))];
        if self.has_audio {
            beats.push(("audio", self.stats.audio_turns.load(Ordering::Relaxed)));
        }
        beats
    }

    fn rate(&self) -> Option<RateSnapshot> {
        Some(self.rate.snapshot())
    }
}
