//! The event loop: MQTT messages, peer events, finished standby offers, the session machine's
//! deadlines, the watchdog and shutdown, each turned into an [`Event`] for the machine.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tracing::{debug, error, info, warn};

use super::outbox::Outbox;
use super::peers::Peers;
use super::seams::{MediaControl, OfferMaker, Standby};
use super::watchdog::{Watchdog, STALL_LIMIT};
use crate::log_budget::LogBudget;
use crate::peer::PeerEvent;
use crate::publish::{PublishState, PublishUpdate};
use crate::signaling::mqtt::MqttEvent;
use crate::signaling::protocol::{self, Inbound};
use crate::signaling::sdp;
use crate::signaling::session::{Event, Sessions};
use crate::systemd::Notifier;

/// A standby peer and its offer, or why it could not be made.
pub(super) struct Prepared {
    pub session: String,
    pub result: Standby,
}

/// The daemon's state while it runs.
pub(super) struct Daemon {
    pub(super) machine: Sessions,
    pub(super) factory: Arc<dyn OfferMaker>,
    pub(super) media: Box<dyn MediaControl>,
    pub(super) out: Outbox,
    pub(super) peers: Peers,
    pub(super) prepared_tx: mpsc::Sender<Prepared>,
    peer_tx: mpsc::Sender<PeerEvent>,
    notifier: Notifier,
    /// Half of systemd's `WatchdogSec`, when systemd watches us.
    watchdog_period: Option<Duration>,
    watchdog: Watchdog,
    /// What is wrong, while something is (logged once when it starts and when it ends).
    unhealthy: Option<String>,
    mqtt_alive: bool,
    broker_up: bool,
    /// Refused viewer messages are logged within a budget: anyone on the broker sends them.
    refused_log: LogBudget,
    /// News from the media servers the device publishes to (`[[publish]]`).
    publish_rx: Option<mpsc::Receiver<PublishUpdate>>,
    /// Viewers whose connection is up, as the session machine last said.
    pub(super) viewers_connected: usize,
}

/// Refused viewer messages logged per [`REFUSED_LOG_WINDOW`]; more are only counted.
const REFUSED_LOG_LINES: u32 = 10;
const REFUSED_LOG_WINDOW: Duration = Duration::from_secs(10);

impl Daemon {
    pub fn new(
        machine: Sessions,
        factory: Arc<dyn OfferMaker>,
        media: Box<dyn MediaControl>,
        out: Outbox,
        prepared_tx: mpsc::Sender<Prepared>,
        peer_tx: mpsc::Sender<PeerEvent>,
    ) -> Self {
        Self {
            machine,
            factory,
            media,
            out,
            peers: Peers::default(),
            prepared_tx,
            peer_tx,
            notifier: Notifier::from_env(),
            watchdog_period: crate::systemd::watchdog_interval(),
            watchdog: Watchdog::new(STALL_LIMIT),
            unhealthy: None,
            mqtt_alive: true,
            broker_up: false,
            refused_log: LogBudget::new(REFUSED_LOG_LINES, REFUSED_LOG_WINDOW),
            publish_rx: None,
            viewers_connected: 0,
        }
    }

    /// Listens to the publishing targets' news (their status entries are in the outbox's
    /// status template, in the same order).
    pub fn with_publish(mut self, updates: mpsc::Receiver<PublishUpdate>) -> Self {
        self.publish_rx = Some(updates);
        self
    }

    /// Media servers that receive the stream now: they count as viewers for the encoders.
    pub(super) fn publishing_live(&self) -> usize {
        self.out
            .status
            .publish
            .as_ref()
            .map_or(0, |list| list.iter().filter(|p| p.state == "live").count())
    }

    /// A target's news: into the status (published again when it changed), and the encoders
    /// run while it is live.
    fn on_publish(&mut self, update: PublishUpdate) {
        let Some(entry) = self
            .out
            .status
            .publish
            .as_mut()
            .and_then(|list| list.get_mut(update.index))
        else {
            return;
        };
        let state = update.state.as_str().to_string();
        if entry.state == state && entry.error == update.error {
            return;
        }
        let was_live = entry.state == "live";
        entry.state = state;
        entry.error = update.error;
        if update.state == PublishState::Live && !was_live {
            self.media.request_keyframe();
        }
        self.media
            .set_active_viewers(self.viewers_connected + self.publishing_live());
        if self.broker_up {
            self.out.publish_status();
        }
    }

    /// Replaces the systemd side (tests: a socket of their own, short periods).
    #[cfg(test)]
    pub fn with_systemd(mut self, notifier: Notifier, period: Duration, stall: Duration) -> Self {
        self.notifier = notifier;
        self.watchdog_period = Some(period);
        self.watchdog = Watchdog::new(stall);
        self
    }

    pub async fn event_loop(
        &mut self,
        mut mqtt_rx: mpsc::Receiver<MqttEvent>,
        mut peer_rx: mpsc::Receiver<PeerEvent>,
        mut prepared_rx: mpsc::Receiver<Prepared>,
        shutdown: impl Future<Output = ()>,
    ) {
        tokio::pin!(shutdown);
        // Ready: media runs, the page server listens, the MQTT task is connecting. Readiness
        // does not wait for the broker: a broker that is down at boot must not fail the service.
        self.notifier
            .notify("READY=1\nSTATUS=started, connecting to the broker");
        self.feed(Event::Start);
        // The watchdog is pinged from this loop, so a stuck loop gets the service restarted;
        // and only while the capture threads and the MQTT task are alive (see `watchdog`).
        let mut watchdog = self
            .watchdog_period
            .map(|period| tokio::time::interval_at(tokio::time::Instant::now(), period));
        // Camera and microphone state, re-published in the status when it changes.
        let mut sources_check = tokio::time::interval(Duration::from_secs(1));
        let mut rate_report = tokio::time::interval(super::rates::REPORT_EVERY);
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
                _ = watchdog_tick => {
                    if self.check_health() {
                        self.notifier.notify("WATCHDOG=1");
                    }
                }
                _ = sources_check.tick() => {
                    self.check_sources();
                    self.check_health();
                    if self.broker_up {
                        self.out.retry_unsent();
                    }
                }
                _ = rate_report.tick() => self.report_rates(),
                ev = mqtt_rx.recv(), if self.mqtt_alive => match ev {
                    Some(ev) => self.on_mqtt(ev),
                    None => {
                        self.mqtt_alive = false;
                        self.broker_up = false;
                        error!("the MQTT task has ended; the device can no longer be reached");
                    }
                },
                Some(ev) = peer_rx.recv() => self.on_peer(ev),
                Some(p) = prepared_rx.recv() => self.on_prepared(p),
                Some(u) = next_update(&mut self.publish_rx) => self.on_publish(u),
                _ = sleep => {
                    let actions = self.machine.handle_timeout(Instant::now());
                    self.execute(actions);
                }
            }
        }
    }

    /// Whether every part of the daemon is alive; logs when that changes.
    fn check_health(&mut self) -> bool {
        let beats = self.media.heartbeats();
        match self.watchdog.check(Instant::now(), &beats, self.mqtt_alive) {
            Ok(()) => {
                if let Some(was) = self.unhealthy.take() {
                    info!(was = %was, "healthy again; the watchdog is pinged again");
                }
                true
            }
            Err(problem) => {
                if self.unhealthy.as_deref() != Some(problem.as_str()) {
                    error!(
                        problem = %problem,
                        watchdog = self.watchdog_period.is_some(),
                        "unhealthy; the watchdog is no longer pinged (systemd restarts the \
                         service after WatchdogSec)"
                    );
                    self.notifier
                        .notify(&format!("STATUS=unhealthy: {problem}"));
                    self.unhealthy = Some(problem);
                }
                false
            }
        }
    }

    /// Publishes the status again when a capture device failed or came back.
    fn check_sources(&mut self) {
        let now = self.media.sources();
        if self.out.status.sources.as_ref() != Some(&now) {
            info!(video = %now.video, audio = ?now.audio, "capture devices changed state");
            self.out.status.sources = Some(now);
            if self.broker_up {
                self.out.publish_status();
            }
        }
    }

    /// Connected to the broker with every subscription granted.
    pub(super) fn broker_up(&self) -> bool {
        self.broker_up
    }

    /// One line for `systemctl status rtcam`.
    pub(super) fn notify_status(&self) {
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
            self.out.status.viewers.unwrap_or(0),
            self.out.status.max_viewers.unwrap_or(0)
        ));
    }

    pub(super) fn feed(&mut self, event: Event) {
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
            MqttEvent::Message { topic, payload } => self.on_message(&topic, &payload),
        }
    }

    fn on_message(&mut self, topic: &str, payload: &[u8]) {
        let parsed = protocol::parse_inbound(self.out.topics(), topic, payload);
        match &parsed {
            Ok(None) => return,
            Ok(Some(Inbound::Answer {
                session,
                viewer,
                route,
                ..
            })) => info!(%session, %viewer, ?route, "answer received"),
            // Logged as received: the session machine decides whether it is the claimer's.
            Ok(Some(Inbound::Hangup {
                session,
                viewer,
                reason,
                route,
            })) => info!(%session, %viewer, %reason, ?route, "hangup received"),
            Ok(Some(Inbound::Candidate { .. })) => {}
            Err(e) => {
                let take = self.refused_log.take(Instant::now());
                if take.held_before > 0 {
                    warn!(
                        messages = take.held_before,
                        "more viewer messages refused (not logged one by one)"
                    );
                }
                if take.log {
                    warn!(topic = %e.topic, reason = %e.reason, "refused a viewer message");
                }
            }
        }
        if let Some(event) = Event::from_inbound(&parsed) {
            self.feed(event);
        }
    }

    fn on_peer(&mut self, ev: PeerEvent) {
        let event = match ev {
            PeerEvent::LocalCandidate { session, candidate } => {
                Event::LocalCandidate { session, candidate }
            }
            PeerEvent::Connected { session } => {
                info!(%session, "viewer connected");
                Event::PeerConnected { session }
            }
            PeerEvent::Ended { session, reason } => {
                if self.peers.contains(&session) {
                    info!(%session, %reason, "peer connection ended");
                }
                Event::PeerEnded { session, reason }
            }
            PeerEvent::AnswerRejected { session, message } => {
                warn!(%session, %message, "answer rejected");
                Event::AnswerRejected { session, message }
            }
        };
        self.feed(event);
    }

    fn on_prepared(&mut self, p: Prepared) {
        let session = p.session;
        match p.result {
            Ok((peer, offer_sdp)) => {
                info!(
                    %session,
                    candidates = sdp::candidate_count(&offer_sdp),
                    sdp_bytes = offer_sdp.len(),
                    "standby offer ready"
                );
                self.peers.add(peer, self.peer_tx.clone());
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
}

/// The next publishing news, or never when nothing is published.
async fn next_update(rx: &mut Option<mpsc::Receiver<PublishUpdate>>) -> Option<PublishUpdate> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}
