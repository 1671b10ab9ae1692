//! The daemon: the only module that knows every other. It opens the sources, starts the
//! fan-out, the talkback player, the page server and the MQTT task, then runs the event loop
//! that feeds the sans-IO session machine ([`crate::signaling::session`]) and carries out its
//! actions against peers and the broker.
//!
//! - [`commands`]: `rtcam demo` and `rtcam status`.
//! - [`event_loop`]: the `select!` over MQTT, peers, timers and shutdown; events in.
//! - [`executor`]: the machine's actions out.
//! - [`outbox`]: what the device publishes, behind the [`outbox::Publish`] seam.
//! - [`peers`]: one task per peer connection, applying its commands in order.
//! - [`seams`]: the peers and the media as the loop sees them (traits, faked in its tests).
//! - [`status`]: the retained status and what the capture devices report.

pub mod commands;
mod event_loop;
mod executor;
pub mod outbox;
mod peers;
mod rates;
pub mod seams;
pub mod status;
#[cfg(test)]
mod tests;
pub mod viewer_ice;
mod watchdog;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::{info, warn};

use crate::capture::open;
use crate::clock::{Clock, RealClock};
use crate::config::{Config, ConfigError};
use crate::encode::openh264::H264Settings;
use crate::encode::EncodeError;
use crate::fanout::rate::{Limits, RateControl};
use crate::fanout::{AudioInput, Fanout};
use crate::peer::{PeerError, PeerFactory, ViewerAudio, PEER_EVENT_QUEUE};
use crate::publish::{self, PublishUpdate};
use crate::signaling::mqtt::{self, MqttError};
use crate::signaling::protocol::{self, Topics};
use crate::signaling::session::{SessionSettings, Sessions};
use crate::talkback::{Talkback, TalkbackError};
use event_loop::Daemon;
use outbox::Outbox;

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
    Talkback(#[from] TalkbackError),
    #[error(transparent)]
    Http(#[from] crate::http::HttpError),
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
}

/// How long a stop waits for the broker to close the connection after the disconnect (a
/// working broker takes milliseconds). With the disconnect's own bound, the capture stop and
/// the talkback stop, a stop takes under 2 s whatever state the daemon is in.
const MQTT_CLOSE_WAIT: Duration = Duration::from_millis(800);

/// Standby offers finished by their tasks, waiting for the event loop.
const PREPARED_QUEUE: usize = 16;

/// News from the publishing targets, waiting for the event loop.
const PUBLISH_QUEUE: usize = 16;
/// How long a stop waits for the media servers to hear that the device leaves.
const PUBLISH_LEAVE_WAIT: Duration = Duration::from_millis(600);

/// Starts publishing to every enabled `[[publish]]` target, each with a peer factory of its
/// own on the shared tracks; returns their tasks.
fn start_publishing(
    config: &Config,
    device_id: &str,
    fanout: &Fanout,
    updates: mpsc::Sender<PublishUpdate>,
    stop: &watch::Receiver<bool>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, Error> {
    let mut tasks = Vec::new();
    for (index, target) in config.publish.iter().filter(|t| t.enabled).enumerate() {
        let (events_tx, events) = mpsc::channel(PEER_EVENT_QUEUE);
        let factory = PeerFactory::new(
            &config.webrtc,
            device_id,
            fanout.video.clone(),
            fanout.audio_track.clone(),
            events_tx,
            None,
        )?
        .send_only();
        info!(target = %target.describe(), "publishing to a media server");
        let target = publish::Target {
            index,
            display: if target.display.is_empty() {
                device_id.to_string()
            } else {
                target.display.clone()
            },
            config: target.clone(),
            factory,
            events,
            updates: updates.clone(),
        };
        tasks.push(tokio::spawn(publish::run(target, stop.clone())));
    }
    Ok(tasks)
}

/// Waits for every task (their own failures are theirs to log).
async fn futures_join_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

/// Runs the daemon until `shutdown` resolves, then goes offline cleanly.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), Error> {
    config.validate()?;
    crate::install_crypto_provider();
    let clock: Arc<dyn Clock> = Arc::new(RealClock);
    let device_id = config.resolved_device_id();
    let topics = Topics::new(&config.mqtt.prefix, &device_id);

    let audio = open::audio(&config, clock.clone()).map(|source| AudioInput {
        source,
        bitrate_bps: config.audio.bitrate_kbps * 1000,
    });
    let h264 = H264Settings::from_config(&config.video);
    let mut limits = Limits::from_config(&config.video);
    if config.audio.enabled {
        limits = limits.with_audio(config.audio.bitrate_kbps);
    }
    let video = open::video(&config, clock.clone())?;
    if matches!(video, crate::capture::VideoInput::H264(_)) {
        limits.second_stream = false; // passed through: there is no encoder to run twice
    }
    let rate = RateControl::new(limits, config.video.adapt_bitrate);
    let fanout = Fanout::start(video, h264, rate, audio, clock)?;

    // Talkback only makes sense with an audio m-line to receive it on.
    let talkback = match crate::talkback::open_sink(&config.audio.talkback_target()?)? {
        Some(sink) if config.audio.enabled => Some(Talkback::start(sink)?),
        Some(_) => {
            warn!("audio.talkback_device is set but audio is disabled: talkback is off");
            None
        }
        None => None,
    };

    let (peer_tx, peer_rx) = mpsc::channel(PEER_EVENT_QUEUE);
    let viewer_audio = talkback
        .as_ref()
        .map(|t| Arc::new(t.sender()) as Arc<dyn ViewerAudio>);
    let factory = Arc::new(PeerFactory::new(
        &config.webrtc,
        &device_id,
        fanout.video.clone(),
        fanout.audio_track.clone(),
        peer_tx.clone(),
        viewer_audio,
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
    let (publisher, mqtt_rx, mqtt_task) =
        mqtt::start(opts, &config.mqtt, topics.device_subscriptions(), stop_rx);
    info!(
        device = %device_id,
        topic_root = %topics.root(),
        broker = %config.mqtt.url,
        max_viewers = config.webrtc.max_viewers,
        "rtcam starting"
    );

    let mut machine = Sessions::new(
        SessionSettings {
            max_viewers: config.webrtc.max_viewers,
            connect_timeout: Duration::from_secs(config.webrtc.connect_timeout_s),
        },
        protocol::new_session_id,
    );
    if let Some(age) = viewer_ice::renewal_age(&config.webrtc.ice_servers) {
        info!(
            renew_s = age.as_secs(),
            "TURN credentials are derived (REST API secret): an unclaimed standby offer is renewed with fresh ones"
        );
        machine = machine.with_standby_renewal(age);
    }
    let (prepared_tx, prepared_rx) = mpsc::channel(PREPARED_QUEUE);
    let outbox = Outbox::new(
        topics,
        Box::new(publisher.clone()),
        status::template(&config, talkback.is_some()),
    )
    .with_viewer_ice(viewer_ice::ViewerIce::new(
        &config.webrtc.ice_servers,
        &device_id,
    ));
    let media = Box::new(seams::FanoutControl::new(
        &fanout,
        talkback.as_ref().map(|t| t.stats.clone()),
    ));
    let (publish_tx, publish_rx) = mpsc::channel(PUBLISH_QUEUE);
    let publishers = start_publishing(
        &config,
        &device_id,
        &fanout,
        publish_tx,
        &stop_tx.subscribe(),
    )?;
    let mut daemon =
        Daemon::new(machine, factory, media, outbox, prepared_tx, peer_tx).with_publish(publish_rx);
    daemon
        .event_loop(mqtt_rx, peer_rx, prepared_rx, shutdown)
        .await;
    let stopping = std::time::Instant::now();
    fanout.request_stop();

    // The disconnect goes out after the final messages (offer cleared, offline status); the
    // MQTT task then waits for the broker to close the connection.
    publisher.disconnect().await;
    let _ = stop_tx.send(true);
    let mut mqtt_task = mqtt_task;
    if tokio::time::timeout(MQTT_CLOSE_WAIT, &mut mqtt_task)
        .await
        .is_err()
    {
        warn!(
            wait_s = MQTT_CLOSE_WAIT.as_secs(),
            "the broker connection did not close in time; the Last Will says offline"
        );
        mqtt_task.abort();
    }
    // Peers close on their own tasks; give them a moment to send their DTLS close. Media
    // servers are told we leave, within a bound (their sessions time out anyway).
    let leaving = futures_join_all(publishers);
    let _ = tokio::time::timeout(PUBLISH_LEAVE_WAIT, leaving).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    drop(daemon);
    fanout.stop();
    if let Some(t) = talkback {
        t.stop();
    }
    info!(
        stop_ms = stopping.elapsed().as_millis() as u64,
        "rtcam stopped"
    );
    Ok(())
}
