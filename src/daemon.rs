//! The daemon: starts media, the MQTT task and the session machine, and carries out the
//! machine's actions against peers and the broker. It owns every peer's command channel; each
//! peer has one task that applies commands in order (answer before candidates).

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::clock::{Clock, RealClock};
use crate::config::{Config, ConfigError};
use crate::encode::EncodeError;
use crate::media::Media;
use crate::peer::{sdp, Peer, PeerError, PeerEvent, PeerFactory, PEER_EVENT_QUEUE};
use crate::playback::Talkback;
use crate::signaling::mqtt::{self, MqttError, MqttEvent, Publisher};
use crate::signaling::protocol::{
    self, AudioInfo, CandidateInit, ErrorMessage, Hangup, Inbound, Offer, SourcesState, Status,
    Topics, VideoInfo,
};
use crate::signaling::session::{Action, Event, SessionSettings, Sessions};

/// Errors that stop the daemon from starting.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    Peer(#[from] PeerError),
    #[error(transparent)]
    Mqtt(#[from] MqttError),
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    #[error(transparent)]
    Playback(#[from] crate::playback::PlaybackError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
}

/// Commands queued per peer.
const PEER_COMMAND_QUEUE: usize = 64;
/// Local candidates kept for a session the daemon has not registered yet.
const MAX_EARLY_LOCAL: usize = 32;

enum PeerCommand {
    Answer(String),
    Candidate(CandidateInit),
    Close,
}

struct PeerEntry {
    commands: mpsc::Sender<PeerCommand>,
    offer_sdp: String,
    mid: String,
    claimed: bool,
    /// Local candidates found after the offer was published, held until the session is
    /// claimed (the viewer subscribes to the session topics only then).
    late: Vec<Option<String>>,
}

struct Prepared {
    session: String,
    result: Result<(Peer, String), PeerError>,
}

/// Runs the daemon until `shutdown` resolves, then goes offline cleanly.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    config.validate()?;
    crate::install_crypto_provider();
    let clock: Arc<dyn Clock> = Arc::new(RealClock);
    let device_id = config.resolved_device_id();
    let topics = Topics::new(&config.mqtt.prefix, &device_id);

    let audio = crate::capture::open::audio(&config, clock.clone())
        .map(|s| (s, config.audio.bitrate_kbps * 1000));
    let media = Media::start(
        crate::capture::open::video(&config, clock.clone())?,
        audio,
        clock,
    )?;

    // Talkback only makes sense with an audio m-line to receive it on.
    let talkback = match crate::playback::open_sink(&config.audio.playback_target()?)? {
        Some(sink) if config.audio.enabled => Some(Talkback::start(sink)?),
        Some(_) => {
            warn!("audio.playback_device is set but audio is disabled: talkback is off");
            None
        }
        None => None,
    };

    let (peer_tx, peer_rx) = mpsc::channel(PEER_EVENT_QUEUE);
    let mut tracks: Vec<Arc<dyn webrtc::track::track_local::TrackLocal + Send + Sync>> =
        vec![media.video_track.clone()];
    if let Some(a) = &media.audio_track {
        tracks.push(a.clone());
    }
    let factory = Arc::new(PeerFactory::new(
        &config.webrtc,
        tracks,
        media.keyframes.clone(),
        peer_tx.clone(),
        talkback.as_ref().map(Talkback::sender),
    )?);

    let client_id = if config.mqtt.client_id.is_empty() {
        format!("rtcam-{device_id}")
    } else {
        config.mqtt.client_id.clone()
    };
    let opts = mqtt::options(&config.mqtt, &client_id, &topics)?;
    let (stop_tx, stop_rx) = watch::channel(false);
    if !config.http.listen.is_empty() {
        crate::http::start(&config, &device_id, stop_rx.clone()).await?;
    }
    let (publisher, mqtt_rx, mqtt_task) = mqtt::start(opts, topics.device_subscriptions(), stop_rx);
    info!(
        device = %device_id,
        topic_root = %topics.root(),
        broker = %config.mqtt.url,
        max_viewers = config.webrtc.max_viewers,
        "rtcam starting"
    );

    let machine = Sessions::new(
        SessionSettings {
            max_viewers: config.webrtc.max_viewers,
            connect_timeout: Duration::from_secs(config.webrtc.connect_timeout_s),
        },
        protocol::new_session_id,
    );
    let (prepared_tx, prepared_rx) = mpsc::channel(16);
    let mut daemon = Daemon {
        status: status_template(&config, talkback.is_some()),
        topics,
        machine,
        factory,
        media,
        mqtt: publisher.clone(),
        peers: HashMap::new(),
        early_local: HashMap::new(),
        prepared_tx,
        peer_tx,
        notifier: crate::systemd::Notifier::from_env(),
        broker_up: false,
    };
    // Ready: media runs, the page server listens, the MQTT task is connecting. Readiness does
    // not wait for the broker: a broker that is down at boot must not fail the service.
    daemon
        .notifier
        .notify("READY=1\nSTATUS=started, connecting to the broker");
    daemon
        .event_loop(mqtt_rx, peer_rx, prepared_rx, shutdown)
        .await;

    publisher.disconnect();
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(3), mqtt_task).await;
    // Peers close on their own tasks; give them a moment to send their DTLS close.
    tokio::time::sleep(Duration::from_millis(100)).await;
    daemon.media.stop();
    if let Some(t) = talkback {
        t.stop();
    }
    info!("rtcam stopped");
    Ok(())
}

fn status_template(config: &Config, talkback: bool) -> Status {
    let video = VideoInfo {
        codec: "H264".into(),
        width: config.video.width,
        height: config.video.height,
        fps: config.video.fps,
    };
    let audio = config.audio.enabled.then(|| AudioInfo {
        codec: "opus".into(),
        sample_rate: crate::capture::AUDIO_SAMPLE_RATE,
        channels: 1,
    });
    let has_audio = audio.is_some();
    let mut status = Status::online(0, config.webrtc.max_viewers, video, audio);
    status.talkback = Some(talkback);
    status.sources = Some(SourcesState {
        video: "ok".into(),
        audio: has_audio.then(|| "ok".to_string()),
    });
    status
}

struct Daemon {
    status: Status,
    topics: Topics,
    machine: Sessions,
    factory: Arc<PeerFactory>,
    media: Media,
    mqtt: Publisher,
    peers: HashMap<String, PeerEntry>,
    early_local: HashMap<String, Vec<Option<String>>>,
    prepared_tx: mpsc::Sender<Prepared>,
    peer_tx: mpsc::Sender<PeerEvent>,
    notifier: crate::systemd::Notifier,
    broker_up: bool,
}

impl Daemon {
    async fn event_loop(
        &mut self,
        mut mqtt_rx: mpsc::Receiver<MqttEvent>,
        mut peer_rx: mpsc::Receiver<PeerEvent>,
        mut prepared_rx: mpsc::Receiver<Prepared>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        self.feed(Event::Start);
        // The watchdog is pinged from this loop, so a stuck loop gets the service restarted.
        let mut watchdog = crate::systemd::watchdog_interval()
            .map(|period| tokio::time::interval_at(tokio::time::Instant::now(), period));
        // Camera and microphone state, re-published in the status when it changes.
        let mut sources_check = tokio::time::interval(Duration::from_secs(1));
        loop {
            let watchdog_tick = async {
                match watchdog.as_mut() {
                    Some(w) => {
                        w.tick().await;
                    }
                    None => std::future::pending().await,
                }
            };
            let deadline = self.machine.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(d) => tokio::time::sleep_until(d.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = &mut shutdown => {
                    info!("shutting down");
                    self.notifier.notify("STOPPING=1");
                    self.feed(Event::Shutdown);
                    break;
                }
                _ = watchdog_tick => self.notifier.notify("WATCHDOG=1"),
                _ = sources_check.tick() => self.check_sources(),
                Some(ev) = mqtt_rx.recv() => self.on_mqtt(ev),
                Some(ev) = peer_rx.recv() => self.on_peer(ev),
                Some(p) = prepared_rx.recv() => self.on_prepared(p),
                _ = sleep => {
                    let actions = self.machine.handle_timeout(Instant::now());
                    self.execute(actions);
                }
            }
        }
    }

    /// Publishes the status again when a capture device failed or came back.
    fn check_sources(&mut self) {
        let state = |failing: &std::sync::atomic::AtomicBool| {
            if failing.load(std::sync::atomic::Ordering::Relaxed) {
                "unavailable".to_string()
            } else {
                "ok".to_string()
            }
        };
        let stats = &self.media.stats;
        let now = SourcesState {
            video: state(&stats.video_failing),
            audio: self
                .media
                .audio_track
                .as_ref()
                .map(|_| state(&stats.audio_failing)),
        };
        if self.status.sources.as_ref() != Some(&now) {
            info!(video = %now.video, audio = ?now.audio, "capture devices changed state");
            self.status.sources = Some(now);
            if self.broker_up {
                self.publish(self.topics.status(), true, json(&self.status));
            }
        }
    }

    /// One line for `systemctl status rtcam`.
    fn notify_status(&self) {
        if !self.notifier.enabled() {
            return;
        }
        let broker = if self.broker_up {
            "broker connected"
        } else {
            "broker unreachable, retrying"
        };
        self.notifier.notify(&format!(
            "STATUS={broker}; viewers {}/{}",
            self.status.viewers.unwrap_or(0),
            self.status.max_viewers.unwrap_or(0)
        ));
    }

    fn feed(&mut self, event: Event) {
        debug!(?event, "session event");
        let actions = self.machine.handle(Instant::now(), event);
        self.execute(actions);
    }

    fn on_mqtt(&mut self, ev: MqttEvent) {
        match ev {
            MqttEvent::Connected => {
                self.broker_up = true;
                self.notify_status();
                self.feed(Event::MqttConnected)
            }
            MqttEvent::Disconnected { reason } => {
                debug!(%reason, "MQTT down");
                if self.broker_up {
                    self.broker_up = false;
                    self.notify_status();
                }
            }
            MqttEvent::Message { topic, payload } => {
                match protocol::parse_inbound(&self.topics, &topic, &payload) {
                    Ok(Some(Inbound::Answer {
                        session,
                        viewer,
                        sdp,
                    })) => {
                        info!(%session, %viewer, "answer received");
                        self.feed(Event::Answer {
                            session,
                            viewer,
                            sdp,
                        })
                    }
                    Ok(Some(Inbound::Candidate {
                        session,
                        viewer,
                        candidate,
                    })) => self.feed(Event::Candidate {
                        session,
                        viewer,
                        candidate,
                    }),
                    Ok(Some(Inbound::Hangup {
                        session,
                        viewer,
                        reason,
                    })) => {
                        info!(%session, %viewer, %reason, "viewer hung up");
                        self.feed(Event::Hangup {
                            session,
                            viewer,
                            reason,
                        })
                    }
                    Ok(None) => {}
                    Err(e) => {
                        warn!(topic = %e.topic, reason = %e.reason, "refused a viewer message");
                        if let Some(viewer) = e.viewer {
                            self.feed(Event::BadRequest {
                                session: e.session,
                                viewer,
                                message: e.reason,
                            });
                        }
                    }
                }
            }
        }
    }

    fn on_peer(&mut self, ev: PeerEvent) {
        match ev {
            PeerEvent::LocalCandidate { session, candidate } => {
                self.on_local_candidate(session, candidate)
            }
            PeerEvent::Connected { session } => {
                info!(%session, "viewer connected");
                self.feed(Event::PeerConnected { session })
            }
            PeerEvent::Ended { session, reason } => {
                if self.peers.contains_key(&session) {
                    info!(%session, %reason, "peer connection ended");
                }
                self.feed(Event::PeerEnded { session, reason })
            }
            PeerEvent::AnswerRejected { session, message } => {
                warn!(%session, %message, "answer rejected");
                self.feed(Event::AnswerRejected { session, message })
            }
        }
    }

    fn on_local_candidate(&mut self, session: String, candidate: Option<String>) {
        let Some(entry) = self.peers.get_mut(&session) else {
            let list = self.early_local.entry(session).or_default();
            if list.len() < MAX_EARLY_LOCAL {
                list.push(candidate);
            }
            return;
        };
        if let Some(c) = &candidate {
            if sdp::contains_candidate(&entry.offer_sdp, c) {
                return;
            }
        }
        if entry.claimed {
            let mid = entry.mid.clone();
            self.publish_device_candidate(&session, &mid, candidate);
        } else {
            entry.late.push(candidate);
        }
    }

    fn on_prepared(&mut self, p: Prepared) {
        let session = p.session;
        let early = self.early_local.remove(&session).unwrap_or_default();
        match p.result {
            Ok((peer, offer_sdp)) => {
                let (tx, rx) = mpsc::channel(PEER_COMMAND_QUEUE);
                tokio::spawn(peer_task(peer, rx, self.peer_tx.clone()));
                let mid = sdp::first_mid(&offer_sdp).unwrap_or_else(|| "0".into());
                info!(
                    %session,
                    candidates = sdp::candidate_count(&offer_sdp),
                    sdp_bytes = offer_sdp.len(),
                    "standby offer ready"
                );
                self.peers.insert(
                    session.clone(),
                    PeerEntry {
                        commands: tx,
                        offer_sdp: offer_sdp.clone(),
                        mid,
                        claimed: false,
                        late: Vec::new(),
                    },
                );
                for c in early {
                    self.on_local_candidate(session.clone(), c);
                }
                self.feed(Event::StandbyReady {
                    session,
                    sdp: offer_sdp,
                });
            }
            Err(e) => {
                warn!(%session, cause = %e, "could not prepare a standby offer");
                self.feed(Event::StandbyFailed {
                    session,
                    reason: e.to_string(),
                });
            }
        }
    }

    fn execute(&mut self, actions: Vec<Action>) {
        for action in actions {
            self.execute_one(action);
        }
    }

    fn execute_one(&mut self, action: Action) {
        match action {
            Action::PrepareStandby { session } => {
                let factory = self.factory.clone();
                let tx = self.prepared_tx.clone();
                tokio::spawn(async move {
                    let result = factory.create_offer(&session).await;
                    let _ = tx.send(Prepared { session, result }).await;
                });
            }
            Action::PublishOffer { session, sdp } => {
                let offer = Offer {
                    session,
                    kind: "offer".into(),
                    sdp,
                };
                self.publish(self.topics.offer(), true, json(&offer));
            }
            Action::ClearOffer => self.publish(self.topics.offer(), true, Vec::new()),
            Action::ApplyAnswer { session, sdp } => {
                let Some(entry) = self.peers.get_mut(&session) else {
                    return;
                };
                entry.claimed = true;
                let late = std::mem::take(&mut entry.late);
                let mid = entry.mid.clone();
                send_command(entry, &session, PeerCommand::Answer(sdp));
                for c in late {
                    self.publish_device_candidate(&session, &mid, c);
                }
            }
            Action::ApplyCandidate { session, candidate } => {
                if let Some(entry) = self.peers.get(&session) {
                    send_command(entry, &session, PeerCommand::Candidate(candidate));
                }
            }
            Action::ClosePeer {
                session,
                reason,
                notify,
            } => {
                if let Some(entry) = self.peers.remove(&session) {
                    send_command(&entry, &session, PeerCommand::Close);
                }
                self.early_local.remove(&session);
                if notify {
                    let msg = Hangup {
                        reason,
                        viewer: None,
                    };
                    self.publish(self.topics.hangup(&session), false, json(&msg));
                }
            }
            Action::SendError {
                session,
                viewer,
                code,
                message,
            } => {
                info!(%session, %viewer, ?code, %message, "telling viewer");
                let msg = ErrorMessage {
                    viewer,
                    code,
                    message,
                };
                self.publish(self.topics.error(&session), false, json(&msg));
            }
            Action::PublishStatus { viewers } => {
                self.status.viewers = Some(viewers);
                self.publish(self.topics.status(), true, json(&self.status));
                self.notify_status();
            }
            Action::PublishOffline => {
                self.publish(self.topics.status(), true, json(&Status::offline()))
            }
            Action::SetActiveViewers { connected } => self.media.set_active_viewers(connected),
            Action::RequestKeyframe => self.media.keyframes.request(),
        }
    }

    fn publish_device_candidate(&self, session: &str, mid: &str, candidate: Option<String>) {
        let init = match candidate {
            Some(c) => CandidateInit {
                candidate: c,
                sdp_mid: Some(mid.to_string()),
                sdp_mline_index: Some(0),
                username_fragment: None,
            },
            None => CandidateInit {
                candidate: String::new(),
                sdp_mid: None,
                sdp_mline_index: None,
                username_fragment: None,
            },
        };
        self.publish(self.topics.device_candidate(session), false, json(&init));
    }

    fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) {
        if let Err(e) = self.mqtt.publish(topic, retain, payload) {
            warn!(cause = %e, "MQTT publish dropped");
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Our message types are plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

fn send_command(entry: &PeerEntry, session: &str, cmd: PeerCommand) {
    if let Err(e) = entry.commands.try_send(cmd) {
        warn!(%session, cause = %e, "peer command dropped");
    }
}

/// Owns one peer: applies its commands in order, closes it at the end.
async fn peer_task(
    peer: Peer,
    mut commands: mpsc::Receiver<PeerCommand>,
    events: mpsc::Sender<PeerEvent>,
) {
    while let Some(cmd) = commands.recv().await {
        match cmd {
            PeerCommand::Answer(sdp) => {
                if let Err(e) = peer.apply_answer(sdp).await {
                    let _ = events
                        .send(PeerEvent::AnswerRejected {
                            session: peer.session.clone(),
                            message: e.to_string(),
                        })
                        .await;
                }
            }
            PeerCommand::Candidate(c) => {
                if let Err(e) = peer.add_candidate(&c).await {
                    debug!(session = %peer.session, cause = %e, candidate = %c.candidate, "remote candidate not usable");
                }
            }
            PeerCommand::Close => break,
        }
    }
    peer.close().await;
    debug!(session = %peer.session, "peer closed");
}
