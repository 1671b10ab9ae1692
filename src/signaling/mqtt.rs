//! The MQTT connection: one task owns rumqttc's event loop, reconnects with back-off,
//! re-subscribes after every ConnAck until the broker grants it ([`Subscriptions`]), tells
//! the daemon "connected" only then, and forwards messages to the daemon.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Packet, QoS, TlsConfiguration, Transport,
};
use tokio::sync::{mpsc, watch};
use tracing::{debug, error, info, warn};

use super::protocol::{Status, Topics};
use super::subscriptions::{SubAckOutcome, Subscriptions};
use crate::backoff::Backoff;
use crate::config::{BrokerUrl, MqttConfig};

/// Largest MQTT packet the device sends: SDPs with many candidates exceed rumqttc's 10 KiB
/// default. What it accepts is `mqtt.max_message_kib` plus [`PACKET_MARGIN`].
pub const MAX_PACKET: usize = 256 * 1024;
/// Bytes allowed above `mqtt.max_message_kib` on incoming packets: brokers count their limit
/// differently (mosquitto: remaining length + 1; rumqttd: remaining length, then adds a
/// packet id when it forwards a QoS 0 message at the subscription's QoS 1).
pub const PACKET_MARGIN: usize = 1024;
/// A connection that lived this long was a success: the next failure retries soon again.
/// Shorter ones keep the back-off growing, so a broker that drops the device right after
/// every connect (a retained message too big for it, an ACL) is not hammered.
const STABLE_CONNECTION: Duration = Duration::from_secs(10);
/// Outgoing requests queued in rumqttc while the broker is slow or away. Publishing never
/// waits: when this is full the message is dropped (retained state is re-published on
/// reconnect anyway).
pub const REQUEST_QUEUE: usize = 256;
/// Events waiting for the daemon.
pub const EVENT_QUEUE: usize = 256;
/// First and largest wait before reconnecting (rumqttc reconnects at once by itself).
const RECONNECT_MIN: Duration = Duration::from_millis(250);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// Errors of the signaling connection.
#[derive(Debug, thiserror::Error)]
pub enum MqttError {
    #[error("MQTT options: {0}")]
    Options(String),
    #[error("MQTT over TLS: {0}")]
    Tls(String),
    #[error("cannot reach the MQTT broker at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("cannot queue MQTT {what} on {topic}: {reason}")]
    Queue {
        what: &'static str,
        topic: String,
        reason: String,
    },
}

/// What the connection task reports.
#[derive(Debug, Clone, PartialEq)]
pub enum MqttEvent {
    /// Connected and subscribed.
    Connected,
    /// The connection dropped; the task is reconnecting.
    Disconnected { reason: String },
    /// A message on one of our subscriptions.
    Message { topic: String, payload: Bytes },
}

/// Publishing side of the connection (cheap to clone).
#[derive(Clone)]
pub struct Publisher {
    client: AsyncClient,
}

impl Publisher {
    /// Queues a QoS 1 publish without waiting.
    pub fn publish(
        &self,
        topic: String,
        retain: bool,
        payload: impl Into<Vec<u8>>,
    ) -> Result<(), MqttError> {
        self.client
            .try_publish(topic.clone(), QoS::AtLeastOnce, retain, payload.into())
            .map_err(|e| MqttError::Queue {
                what: "publish",
                topic,
                reason: e.to_string(),
            })
    }

    /// Asks the broker for a clean disconnect (the Last Will is then not sent).
    /// Waits (bounded) for room in the request queue: the disconnect must follow the final
    /// messages, never replace them.
    pub async fn disconnect(&self) {
        match tokio::time::timeout(DISCONNECT_QUEUE_WAIT, self.client.disconnect()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => warn!(cause = %e, "cannot queue the MQTT disconnect"),
            Err(_) => warn!("the MQTT request queue stayed full; no clean disconnect"),
        }
    }
}

/// The device's rumqttc options: [`client_options`] plus the retained offline Last Will.
pub fn options(
    config: &MqttConfig,
    client_id: &str,
    topics: &Topics,
) -> Result<MqttOptions, MqttError> {
    let mut opts = client_options(config, client_id)?;
    let will = serde_json::to_vec(&Status::offline()).unwrap_or_default();
    opts.set_last_will(LastWill::new(topics.status(), will, QoS::AtLeastOnce, true));
    Ok(opts)
}

/// rumqttc options from the config: transport, credentials, keep-alive, packet sizes.
pub fn client_options(config: &MqttConfig, client_id: &str) -> Result<MqttOptions, MqttError> {
    let url = BrokerUrl::parse(&config.url).map_err(|e| MqttError::Options(e.to_string()))?;
    let mut opts = match &url {
        BrokerUrl::Tcp { host, port } => MqttOptions::new(client_id, host, *port),
        BrokerUrl::Tls { host, port } => {
            let mut o = MqttOptions::new(client_id, host, *port);
            o.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(
                super::tls::client_config(config)?,
            )));
            o
        }
        BrokerUrl::Ws { url } => {
            let mut o = MqttOptions::new(client_id, url, 0);
            o.set_transport(Transport::Ws);
            o
        }
        BrokerUrl::Wss { url } => {
            let mut o = MqttOptions::new(client_id, url, 0);
            o.set_transport(Transport::wss_with_config(TlsConfiguration::Rustls(
                super::tls::client_config(config)?,
            )));
            o
        }
    };
    opts.set_keep_alive(Duration::from_secs(config.keep_alive_s));
    opts.set_max_packet_size(incoming_limit(config), MAX_PACKET);
    opts.set_clean_session(true);
    if !config.username.is_empty() {
        opts.set_credentials(&config.username, &config.password);
    }
    Ok(opts)
}

/// Largest incoming packet rumqttc accepts (remaining length, bytes).
pub fn incoming_limit(config: &MqttConfig) -> usize {
    config.max_message_kib as usize * 1024 + PACKET_MARGIN
}

/// Starts the connection task. It runs until a clean disconnect ([`Publisher::disconnect`])
/// has gone out, or, while there is no connection, until `stop` turns true.
pub fn start(
    opts: MqttOptions,
    config: &MqttConfig,
    subscriptions: Vec<String>,
    stop: watch::Receiver<bool>,
) -> (
    Publisher,
    mpsc::Receiver<MqttEvent>,
    tokio::task::JoinHandle<()>,
) {
    let (client, eventloop) = AsyncClient::new(opts, REQUEST_QUEUE);
    let (tx, rx) = mpsc::channel(EVENT_QUEUE);
    let task = tokio::spawn(run(
        eventloop,
        client.clone(),
        config.clone(),
        subscriptions,
        tx,
        stop,
    ));
    (Publisher { client }, rx, task)
}

/// Resolves once `stop` is true (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    loop {
        if *stop.borrow_and_update() {
            return;
        }
        if stop.changed().await.is_err() {
            return;
        }
    }
}

/// How long a clean stop waits for the broker to acknowledge the last messages and close the
/// connection after our DISCONNECT (a working broker takes milliseconds).
pub const CLOSE_WAIT: Duration = Duration::from_millis(700);

/// How long [`Publisher::disconnect`] waits for room in a full request queue.
const DISCONNECT_QUEUE_WAIT: Duration = Duration::from_millis(400);

/// The connection task. rumqttc's `poll` is not cancel-safe: dropped in the middle of a write
/// it leaves half a packet on the socket and the broker misreads the rest (mosquitto then
/// logs "out of memory" and drops the last publishes). So a live connection's `poll` is never
/// raced against anything: a clean stop goes through [`Publisher::disconnect`], which rumqttc
/// sends after every message queued before it. `stop` only ends the task while it has no
/// connection (connecting or backing off).
async fn run(
    mut eventloop: EventLoop,
    client: AsyncClient,
    config: MqttConfig,
    subscriptions: Vec<String>,
    tx: mpsc::Sender<MqttEvent>,
    mut stop: watch::Receiver<bool>,
) {
    let broker = eventloop.mqtt_options.broker_address();
    let mut backoff = Backoff::new(RECONNECT_MIN, RECONNECT_MAX);
    let mut subs = Subscriptions::new(subscriptions);
    let mut connected = false;
    let mut connected_at: Option<std::time::Instant> = None;
    // Once the daemon has stopped listening, messages are dropped, but the connection stays
    // up until the disconnect it queued has gone out.
    let mut daemon_gone = false;
    loop {
        let event = tokio::select! {
            e = eventloop.poll() => e,
            _ = stopped(&mut stop), if !connected => break,
        };
        // Subscription retries are checked after every event (the keep-alive guarantees
        // one at least every `keep_alive_s`): a live poll is never raced against a timer.
        if connected && subs.due(std::time::Instant::now()) {
            subscribe(&client, &mut subs);
        }
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                info!(broker = ?broker, "MQTT connected");
                connected = true;
                connected_at = Some(std::time::Instant::now());
                // rumqttc forgets subscriptions with a clean session: subscribe every time.
                subs.connected(std::time::Instant::now());
                subscribe(&client, &mut subs);
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Subscribe(pkid))) => subs.sent(pkid),
            Ok(Event::Incoming(Packet::SubAck(ack))) => {
                let granted: Vec<bool> = ack
                    .return_codes
                    .iter()
                    .map(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)))
                    .collect();
                match subs.acknowledged(std::time::Instant::now(), ack.pkid, &granted) {
                    SubAckOutcome::Subscribed => {
                        debug!(filters = subs.filters().len(), "MQTT subscriptions granted");
                        if !daemon_gone {
                            daemon_gone = tx.send(MqttEvent::Connected).await.is_err();
                        }
                    }
                    SubAckOutcome::Refused { filters, retry_in } => error!(
                        refused = ?filters,
                        retry_in_ms = retry_in.as_millis() as u64,
                        "the broker refused the device's subscriptions (an ACL?); viewers \
                         cannot reach the device until it accepts them"
                    ),
                    SubAckOutcome::Ignored => {}
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if !daemon_gone {
                    let msg = MqttEvent::Message {
                        topic: p.topic.clone(),
                        payload: p.payload.clone(),
                    };
                    daemon_gone = tx.send(msg).await.is_err();
                }
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                debug!("MQTT disconnect sent");
                close(&mut eventloop).await;
                break;
            }
            Ok(_) => {}
            Err(e) => {
                connected = false;
                subs.disconnected();
                if connected_at
                    .take()
                    .is_some_and(|t| t.elapsed() >= STABLE_CONNECTION)
                {
                    backoff.succeeded();
                }
                let wait = backoff.failed();
                let retry_in_ms = wait.as_millis() as u64;
                match super::explain::explain(&e, &config) {
                    Some(why) => {
                        error!(broker = ?broker, retry_in_ms, "MQTT connection lost: {why}")
                    }
                    None => {
                        warn!(broker = ?broker, cause = %e, retry_in_ms, "MQTT connection lost; reconnecting")
                    }
                }
                if !daemon_gone {
                    let _ = tx.try_send(MqttEvent::Disconnected {
                        reason: e.to_string(),
                    });
                }
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = stopped(&mut stop) => break,
                }
            }
        }
    }
    debug!("MQTT task ended");
}

/// Queues the SUBSCRIBE for every filter without waiting.
fn subscribe(client: &AsyncClient, subs: &mut Subscriptions) {
    let filters = subs
        .filters()
        .iter()
        .map(|t| rumqttc::SubscribeFilter::new(t.clone(), QoS::AtLeastOnce));
    let queued = client.try_subscribe_many(filters);
    if let Some(wait) = subs.requested(std::time::Instant::now(), queued.is_ok()) {
        warn!(
            cause = %queued.err().map(|e| e.to_string()).unwrap_or_default(),
            retry_in_ms = wait.as_millis() as u64,
            "cannot queue the MQTT subscriptions"
        );
    }
}

/// After our DISCONNECT: reads what the broker still sends (acknowledgements of the last
/// publishes) until it closes the connection, at most [`CLOSE_WAIT`]. Closing with unread
/// data would make the kernel reset the connection, and a reset can discard our last packets
/// before the broker has read them.
async fn close(eventloop: &mut EventLoop) {
    let deadline = tokio::time::Instant::now() + CLOSE_WAIT;
    loop {
        match tokio::time::timeout_at(deadline, eventloop.poll()).await {
            Ok(Ok(_)) => {}
            // The broker closed the connection: everything before it was read.
            Ok(Err(e)) => {
                debug!(cause = %e, "MQTT connection closed by the broker");
                return;
            }
            Err(_) => {
                debug!("the broker did not close the connection in time");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_accepts_what_the_broker_is_told_to_allow_and_a_margin() {
        let mut config = MqttConfig::default();
        let opts = client_options(&config, "t").unwrap();
        assert_eq!(opts.max_packet_size(), 1024 * 1024 + PACKET_MARGIN);
        config.max_message_kib = 64;
        let opts = client_options(&config, "t").unwrap();
        assert_eq!(opts.max_packet_size(), 64 * 1024 + PACKET_MARGIN);
    }
}
