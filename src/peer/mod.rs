//! Peers: one webrtc-rs peer connection per viewer, all sending the shared tracks of
//! [`crate::fanout`]; the RTCP each viewer sends back (PLI/FIR) reaches the fan-out's keyframe
//! requests, and a viewer's own audio goes to a [`ViewerAudio`] (talkback).
//!
//! webrtc-rs 0.17 never drops `on_*` closures, so they capture only channel senders and plain
//! strings: everything else reaches the daemon as a [`PeerEvent`]. May import: `fanout`,
//! `config`, and the leaves; it knows nothing of signaling (the daemon translates).

mod interceptors;
mod offer;
mod remote;
mod rtcp;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::debug;
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::setting_engine::SettingEngine;
use webrtc::api::{APIBuilder, API};
use webrtc::ice::udp_mux::{UDPMuxDefault, UDPMuxParams};
use webrtc::ice::udp_network::UDPNetwork;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::ice_transport::ice_candidate_type::RTCIceCandidateType;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use crate::config::{IceServer, ResolvedIceServer, WebrtcConfig};
use crate::fanout::codecs;
use crate::fanout::track::{VideoTracks, ViewerTrack};

/// Errors from the WebRTC layer, with the session they concern.
#[derive(Debug, thiserror::Error)]
pub enum PeerError {
    #[error("setting up the WebRTC API: {0}")]
    Setup(#[source] webrtc::Error),
    #[error("cannot use UDP port {port} for media (webrtc.udp_port): {cause}")]
    UdpPort {
        port: u16,
        #[source]
        cause: std::io::Error,
    },
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

/// Where a viewer's own audio (talkback) goes: RTP payloads, one call per packet. Called on
/// the peer's tasks, so an implementation must not block.
pub trait ViewerAudio: Send + Sync {
    /// One Opus payload from `session`'s viewer.
    fn packet(&self, session: &str, payload: bytes::Bytes);
    /// `session`'s audio track ended.
    fn ended(&self, session: &str);
}

/// Capacity of the peer event channel: the daemon drains it promptly and events are tiny.
pub const PEER_EVENT_QUEUE: usize = 256;

/// Creates peer connections that share the media tracks.
pub struct PeerFactory {
    api: API,
    /// STUN/TURN servers; derived TURN credentials are made anew for each peer.
    ice_servers: Vec<IceServer>,
    /// The user part of derived TURN credentials (the device id).
    ice_user: String,
    video: Arc<VideoTracks>,
    audio: Option<Arc<TrackLocalStaticSample>>,
    events: mpsc::Sender<PeerEvent>,
    gather_timeout: Duration,
    talkback: Option<Arc<dyn ViewerAudio>>,
    /// Offers that only send (a media server's), not send and receive (a viewer's).
    send_only: bool,
}

/// One viewer's peer connection.
pub struct Peer {
    pub session: String,
    pc: Arc<RTCPeerConnection>,
    /// Its video track: while the peer exists, the viewer counts in the rate control.
    video: Option<Arc<ViewerTrack>>,
}

fn step<'a>(session: &'a str, step: &'static str) -> impl FnOnce(webrtc::Error) -> PeerError + 'a {
    move |source| PeerError::Step {
        session: session.to_string(),
        step,
        source,
    }
}

impl PeerFactory {
    /// The configuration of `session`'s peer: its ICE servers with credentials valid from
    /// now, derived ones for a user name of its own (`{device}.{session}`).
    /// `extra`: servers a media server named for this peer (WHIP's `Link` headers).
    fn rtc_config(&self, session: &str, extra: &[ResolvedIceServer]) -> RTCConfiguration {
        let mut servers = crate::config::ice::resolve_all(
            &self.ice_servers,
            &crate::config::ice::session_user(&self.ice_user, session, "device"),
            crate::config::ice::unix_now(),
        );
        servers.extend(extra.iter().cloned());
        RTCConfiguration {
            ice_servers: servers
                .into_iter()
                .map(|s| RTCIceServer {
                    urls: s.urls,
                    username: s.username,
                    credential: s.credential,
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Makes send-only offers (for a media server: nothing comes back but RTCP).
    pub fn send_only(mut self) -> Self {
        self.send_only = true;
        self
    }

    /// Builds the WebRTC API once (codecs, interceptors, ICE settings).
    pub fn new(
        config: &WebrtcConfig,
        ice_user: &str,
        video: Arc<VideoTracks>,
        audio: Option<Arc<TrackLocalStaticSample>>,
        events: mpsc::Sender<PeerEvent>,
        talkback: Option<Arc<dyn ViewerAudio>>,
    ) -> Result<Self, PeerError> {
        let mut media = MediaEngine::default();
        codecs::register(&mut media).map_err(PeerError::Setup)?;
        let registry = interceptors::registry(&mut media, config.zero_playout_delay)
            .map_err(PeerError::Setup)?;
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
        if config.udp_port != 0 {
            settings.set_udp_network(UDPNetwork::Muxed(udp_mux(config.udp_port)?));
        }
        // Notice a vanished viewer within seconds rather than the 25 s default: disconnected
        // after 4 s without a packet, failed (and the slot freed) 6 s after that, so a slot
        // is free about 10 s after its viewer vanished (docs/protocol.md).
        settings.set_ice_timeouts(
            Some(Duration::from_secs(4)),
            Some(Duration::from_secs(6)),
            Some(Duration::from_secs(2)),
        );
        // How long the device (the controlling ICE agent) lets better paths try before it
        // settles for a working one through a NAT mapping or a relay. webrtc-rs waits 0.5 s
        // (server-reflexive), 1 s (peer-reflexive) and 2 s (relay); a viewer that joins or
        // comes back over mobile data then waits seconds for its picture. Direct paths
        // through NATs answer within a few round trips, so shorter waits keep them preferred.
        // Peer-reflexive paths are not waited for at all: the viewer (answering an offer
        // that already holds the device's candidates) starts its checks before its own
        // candidates reach the device, so the first working pair is nearly always one the
        // device learned from such a check, a browser's mDNS-named host candidate always is;
        // waiting 400 ms for it doubled the time to the first picture (docs/benchmarks.md).
        settings.set_srflx_acceptance_min_wait(Some(Duration::from_millis(200)));
        settings.set_prflx_acceptance_min_wait(Some(Duration::ZERO));
        settings.set_relay_acceptance_min_wait(Some(Duration::from_millis(800)));
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .build();
        Ok(Self {
            api,
            ice_servers: config.ice_servers.clone(),
            ice_user: ice_user.to_string(),
            video,
            audio,
            events,
            gather_timeout: Duration::from_millis(config.ice_gather_timeout_ms),
            talkback,
            send_only: false,
        })
    }
}

impl Peer {
    /// The viewer's answer becomes the remote description.
    pub async fn apply_answer(&self, sdp: String) -> Result<(), PeerError> {
        let desc =
            RTCSessionDescription::answer(sdp).map_err(step(&self.session, "parse answer"))?;
        self.pc
            .set_remote_description(desc)
            .await
            .map_err(step(&self.session, "set remote description"))
    }

    /// Adds one of the viewer's trickled candidates (an empty one ends the trickle).
    pub async fn add_candidate(&self, init: RTCIceCandidateInit) -> Result<(), PeerError> {
        self.pc
            .add_ice_candidate(init)
            .await
            .map_err(step(&self.session, "add remote candidate"))
    }

    /// The viewer's video track (its rate control handle), once the offer was made.
    pub fn video(&self) -> Option<&Arc<ViewerTrack>> {
        self.video.as_ref()
    }

    /// Closes the connection and frees its resources.
    pub async fn close(&self) {
        if let Err(e) = self.pc.close().await {
            debug!(session = %self.session, cause = %e, "closing peer connection");
        }
    }
}

/// One UDP socket on `port` (every IPv4 interface) shared by all peers: ICE tells the peers
/// apart by their STUN user names.
fn udp_mux(port: u16) -> Result<Arc<UDPMuxDefault>, PeerError> {
    let fail = |cause| PeerError::UdpPort { port, cause };
    let socket =
        std::net::UdpSocket::bind((std::net::Ipv4Addr::UNSPECIFIED, port)).map_err(fail)?;
    socket.set_nonblocking(true).map_err(fail)?;
    let socket = tokio::net::UdpSocket::from_std(socket).map_err(fail)?;
    tracing::info!(port, "media on one UDP port for every viewer");
    Ok(UDPMuxDefault::new(UDPMuxParams::new(socket)))
}
