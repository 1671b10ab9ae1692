//! Peers: one webrtc-rs peer connection per viewer, all sending the shared tracks.
//!
//! webrtc-rs 0.17 never drops `on_*` closures, so they capture only channel senders and plain
//! strings: everything else reaches the daemon as a [`PeerEvent`].

pub mod codecs;
pub mod sdp;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, info};
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtp_transceiver::rtp_codec::RTPCodecType;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::track::track_local::TrackLocal;
use webrtc::track::track_remote::TrackRemote;

use crate::config::WebrtcConfig;
use crate::media::KeyframeRequests;
use crate::playback::TalkbackSender;
use crate::signaling::protocol::CandidateInit;

/// Errors from the WebRTC layer, with the session they concern.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("setting up the WebRTC API: {0}")]
    Setup(#[source] webrtc::Error),
    #[error("session {session}: {step}: {source}")]
    Step {
        session: String,
        step: &'static str,
        #[source]
        source: webrtc::Error,
    },
}

/// What peers report to the daemon.
#[derive(Debug, Clone, PartialEq)]
pub enum PeerEvent {
    /// A local ICE candidate (`None`: gathering finished).
    LocalCandidate {
        session: String,
        candidate: Option<String>,
    },
    /// DTLS and ICE are up: media flows.
    Connected { session: String },
    /// The connection failed or closed.
    Ended { session: String, reason: String },
    /// The viewer's answer could not be applied.
    AnswerRejected { session: String, message: String },
}

/// Capacity of the peer event channel: the daemon drains it promptly and events are tiny.
pub const PEER_EVENT_QUEUE: usize = 256;

/// Creates peer connections that share the media tracks.
pub struct PeerFactory {
    api: API,
    rtc_config: RTCConfiguration,
    tracks: Vec<Arc<dyn TrackLocal + Send + Sync>>,
    keyframes: Arc<KeyframeRequests>,
    events: mpsc::Sender<PeerEvent>,
    gather_timeout: Duration,
    talkback: Option<TalkbackSender>,
}

/// One viewer's peer connection.
pub struct Peer {
    pub session: String,
    pc: Arc<RTCPeerConnection>,
}

fn step<'a>(session: &'a str, step: &'static str) -> impl FnOnce(webrtc::Error) -> PeerError + 'a {
    move |source| PeerError::Step {
        session: session.to_string(),
        step,
        source,
    }
}

impl PeerFactory {
    /// Builds the WebRTC API once (codecs, interceptors, ICE settings).
    pub fn new(
        config: &WebrtcConfig,
        tracks: Vec<Arc<dyn TrackLocal + Send + Sync>>,
        keyframes: Arc<KeyframeRequests>,
        events: mpsc::Sender<PeerEvent>,
        talkback: Option<TalkbackSender>,
    ) -> Result<Self, PeerError> {
        let mut media = MediaEngine::default();
        codecs::register(&mut media).map_err(PeerError::Setup)?;
        let registry =
            register_default_interceptors(Registry::new(), &mut media).map_err(PeerError::Setup)?;
        let mut settings = SettingEngine::default();
        settings.set_include_loopback_candidate(config.include_loopback);
        // IPv6 link-local addresses need a scope id webrtc-rs does not keep: skip them
        // rather than fail to bind on every gather.
        settings.set_ip_filter(Box::new(|ip| match ip {
            std::net::IpAddr::V6(v6) => (v6.segments()[0] & 0xffc0) != 0xfe80,
            std::net::IpAddr::V4(_) => true,
        }));
        if !config.nat_1to1_ips.is_empty() {
            settings.set_nat_1to1_ips(config.nat_1to1_ips.clone(), RTCIceCandidateType::Host);
        }
        // Notice a vanished viewer within seconds rather than the 25 s default.
        settings.set_ice_timeouts(
            Some(Duration::from_secs(4)),
            Some(Duration::from_secs(10)),
            Some(Duration::from_secs(2)),
        );
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .build();
        let rtc_config = RTCConfiguration {
            ice_servers: config
                .ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
            ..Default::default()
        };
        Ok(Self {
            api,
            rtc_config,
            tracks,
            keyframes,
            events,
            gather_timeout: Duration::from_millis(config.ice_gather_timeout_ms),
            talkback,
        })
    }

    /// Seed steps 2–7: creates a peer connection with the tracks, creates the offer, sets it
    /// as local description and waits (bounded) for ICE gathering so the returned SDP carries
    /// the candidates. Later candidates arrive as [`PeerEvent::LocalCandidate`].
    pub async fn create_offer(&self, session: &str) -> Result<(Peer, String), PeerError> {
        let pc = Arc::new(
            self.api
                .new_peer_connection(self.rtc_config.clone())
                .await
                .map_err(step(session, "new peer connection"))?,
        );
        let peer = Peer {
            session: session.to_string(),
            pc: pc.clone(),
        };
        match self.offer_on(&peer).await {
            Ok(sdp) => Ok((peer, sdp)),
            Err(e) => {
                peer.close().await;
                Err(e)
            }
        }
    }

    async fn offer_on(&self, peer: &Peer) -> Result<String, PeerError> {
        let session = peer.session.as_str();
        let pc = &peer.pc;
        for track in &self.tracks {
            let sender = pc
                .add_track(track.clone())
                .await
                .map_err(step(session, "add track"))?;
            tokio::spawn(read_rtcp(
                sender,
                self.keyframes.clone(),
                session.to_string(),
            ));
        }

        // Seed steps 20/23: the viewer's own tracks (talkback). The closure keeps only a
        // channel sender and the session id (webrtc-rs never drops it).
        let talkback = self.talkback.clone();
        let id = session.to_string();
        pc.on_track(Box::new(move |track, _receiver, _transceiver| {
            tokio::spawn(read_remote_track(track, talkback.clone(), id.clone()));
            Box::pin(async {})
        }));

        let events = self.events.clone();
        let id = session.to_string();
        pc.on_ice_candidate(Box::new(move |c| {
            let events = events.clone();
            let session = id.clone();
            Box::pin(async move {
                let candidate = c.and_then(|c| c.to_json().ok()).map(|j| j.candidate);
                let _ = events
                    .send(PeerEvent::LocalCandidate { session, candidate })
                    .await;
            })
        }));
        let events = self.events.clone();
        let id = session.to_string();
        pc.on_peer_connection_state_change(Box::new(move |state| {
            let events = events.clone();
            let session = id.clone();
            Box::pin(async move {
                debug!(%session, %state, "peer connection state");
                let event = match state {
                    RTCPeerConnectionState::Connected => PeerEvent::Connected { session },
                    RTCPeerConnectionState::Failed => PeerEvent::Ended {
                        session,
                        reason: "ice_failed".into(),
                    },
                    RTCPeerConnectionState::Closed => PeerEvent::Ended {
                        session,
                        reason: "closed".into(),
                    },
                    _ => return,
                };
                let _ = events.send(event).await;
            })
        }));

        let offer = pc
            .create_offer(None)
            .await
            .map_err(step(session, "create offer"))?;
        let mut gathered = pc.gathering_complete_promise().await;
        pc.set_local_description(offer)
            .await
            .map_err(step(session, "set local description"))?;
        if tokio::time::timeout(self.gather_timeout, gathered.recv())
            .await
            .is_err()
        {
            info!(
                session,
                timeout_ms = self.gather_timeout.as_millis() as u64,
                "ICE gathering still running; publishing the offer, the rest will trickle"
            );
        }
        let local = pc
            .local_description()
            .await
            .ok_or_else(|| PeerError::Step {
                session: session.to_string(),
                step: "read local description",
                source: webrtc::Error::ErrNoRemoteDescription,
            })?;
        Ok(local.sdp)
    }
}

async fn read_rtcp(sender: Arc<RTCRtpSender>, keyframes: Arc<KeyframeRequests>, session: String) {
    while let Ok((packets, _)) = sender.read_rtcp().await {
        for p in packets {
            let any = p.as_any();
            if any.downcast_ref::<PictureLossIndication>().is_some() {
                debug!(%session, "PLI: keyframe requested");
                keyframes.request();
            } else if any.downcast_ref::<FullIntraRequest>().is_some() {
                debug!(%session, "FIR: keyframe requested");
                keyframes.request();
            }
        }
    }
}

/// Reads a viewer's track until the connection closes: Opus goes to talkback (when on), any
/// other media is read and dropped so its buffers never fill.
async fn read_remote_track(
    track: Arc<TrackRemote>,
    talkback: Option<TalkbackSender>,
    session: String,
) {
    let is_audio = track.kind() == RTPCodecType::Audio;
    let talkback = talkback.filter(|_| is_audio);
    info!(
        %session,
        kind = %track.kind(),
        codec = %track.codec().capability.mime_type,
        talkback = talkback.is_some(),
        "viewer sends a track"
    );
    while let Ok((packet, _)) = track.read_rtp().await {
        if let Some(tb) = &talkback {
            if !packet.payload.is_empty() {
                tb.packet(&session, packet.payload);
            }
        }
    }
    if let Some(tb) = &talkback {
        tb.ended(&session);
    }
    debug!(%session, "viewer track ended");
}

impl Peer {
    /// Seed step 22: the viewer's answer becomes the remote description.
    pub async fn apply_answer(&self, sdp: String) -> Result<(), PeerError> {
        let desc =
            RTCSessionDescription::answer(sdp).map_err(step(&self.session, "parse answer"))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(step(&self.session, "set remote description"))
    }

    /// Adds one of the viewer's trickled candidates (an empty one ends the trickle).
    pub async fn add_candidate(&self, c: &CandidateInit) -> Result<(), PeerError> {
        let init = RTCIceCandidateInit {
            candidate: c.candidate.clone(),
            sdp_mid: c.sdp_mid.clone(),
            sdp_mline_index: c.sdp_mline_index,
            username_fragment: c.username_fragment.clone(),
        };
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(step(&self.session, "add remote candidate"))
    }

    /// Closes the connection and frees its resources.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            debug!(session = %self.session, cause = %e, "closing peer connection");
        }
    }
}
