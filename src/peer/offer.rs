//! Standby offers: a peer connection with the shared tracks, its offer, and a bounded wait
//! for ICE gathering so the published SDP already carries the candidates.

use std::sync::Arc;

use tracing::{debug, info};
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;
use webrtc::rtp_transceiver::rtp_transceiver_direction::RTCRtpTransceiverDirection;
use webrtc::rtp_transceiver::RTCRtpTransceiverInit;
use webrtc::track::track_local::TrackLocal;

use super::remote::read_remote_track;
use super::rtcp::{drain_rtcp, read_video_rtcp};
use super::{step, Peer, PeerError, PeerEvent, PeerFactory};
use crate::config::ResolvedIceServer;

impl PeerFactory {
    /// Creates a peer connection with the tracks, creates the offer, sets it
    /// as local description and waits (bounded) for ICE gathering so the returned SDP carries
    /// the candidates. Later candidates arrive as [`PeerEvent::LocalCandidate`].
    pub async fn create_offer(&self, session: &str) -> Result<(Peer, String), PeerError> {
        self.create_offer_with(session, &[]).await
    }

    /// [`PeerFactory::create_offer`] with more ICE servers than configured (a media server's).
    pub async fn create_offer_with(
        &self,
        session: &str,
        extra_ice: &[ResolvedIceServer],
    ) -> Result<(Peer, String), PeerError> {
        let pc = Arc::new(
            self.api
                .new_peer_connection(self.rtc_config(session, extra_ice))
                .await
                .map_err(step(session, "new peer connection"))?,
        );
        let mut peer = Peer {
            session: session.to_string(),
            pc: pc.clone(),
            video: None,
        };
        match self.offer_on(&mut peer).await {
            Ok(sdp) => Ok((peer, sdp)),
            Err(e) => {
                peer.close().await;
                Err(e)
            }
        }
    }

    async fn offer_on(&self, peer: &mut Peer) -> Result<String, PeerError> {
        let session = peer.session.clone();
        let session = session.as_str();
        let pc = peer.pc.clone();
        // The viewer's own video track (its own sequence numbers and layers), fed from the
        // one packetizer, and the shared audio track.
        let video = self.video.track_for(session);
        peer.video = Some(video.clone());
        let sender = self
            .add_sending(&pc, video.clone())
            .await
            .map_err(step(session, "add video track"))?;
        tokio::spawn(read_video_rtcp(sender, video, session.to_string()));
        if let Some(audio) = &self.audio {
            let sender = self
                .add_sending(&pc, audio.clone())
                .await
                .map_err(step(session, "add audio track"))?;
            tokio::spawn(drain_rtcp(sender));
        }

        // The viewer's own tracks (talkback). The closure keeps only a
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

    /// Adds `track`: send and receive for viewers (their talkback rides on the audio
    /// m-line), send only for a media server (WHIP wants a send-only offer).
    async fn add_sending(
        &self,
        pc: &RTCPeerConnection,
        track: Arc<dyn TrackLocal + Send + Sync>,
    ) -> Result<Arc<RTCRtpSender>, webrtc::Error> {
        if !self.send_only {
            return pc.add_track(track).await;
        }
        let init = RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Sendonly,
            send_encodings: Vec::new(),
        };
        let transceiver = pc.add_transceiver_from_track(track, Some(init)).await?;
        Ok(transceiver.sender().await)
    }
}
