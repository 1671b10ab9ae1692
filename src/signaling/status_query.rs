//! `rtcam status`: a short-lived MQTT connection that reads a device's retained status.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, Packet, QoS};

use super::explain::explain;
use super::mqtt::{client_options, MqttError};
use super::protocol::Topics;
use crate::config::MqttConfig;

/// Reads a device's retained status from the broker (`rtcam status`): waits up to `wait` for
/// it to say online. Returns the last status seen (`None`: the broker holds none).
pub async fn query_status(
    config: &MqttConfig,
    topics: &Topics,
    wait: Duration,
) -> Result<Option<serde_json::Value>, MqttError> {
    let opts = client_options(config, &format!("rtcam-status-{}", std::process::id()))?;
    let (client, mut eventloop) = AsyncClient::new(opts, 16);
    let deadline = tokio::time::Instant::now() + wait.max(Duration::from_secs(3));
    let mut last: Option<serde_json::Value> = None;
    let mut subscribed_at: Option<tokio::time::Instant> = None;
    let mut last_error = String::new();
    loop {
        let polled = tokio::time::timeout_at(deadline, eventloop.poll()).await;
        match polled {
            Err(_) => break,
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => {
                client
                    .subscribe(topics.status(), QoS::AtLeastOnce)
                    .await
                    .map_err(|e| MqttError::Queue {
                        what: "subscribe",
                        topic: topics.status(),
                        reason: e.to_string(),
                    })?;
            }
            Ok(Ok(Event::Incoming(Packet::SubAck(_)))) => {
                subscribed_at = Some(tokio::time::Instant::now());
            }
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                let v = serde_json::from_slice::<serde_json::Value>(&p.payload).ok();
                let online = v.as_ref().is_some_and(|v| v["state"] == "online");
                last = v;
                if online {
                    break;
                }
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                last_error = explain(&e, config).unwrap_or_else(|| e.to_string());
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
        // A retained message arrives right after the SubAck: without one, and with no wait
        // asked for, there is nothing more to learn.
        if let Some(at) = subscribed_at {
            if last.is_none() && wait.is_zero() && at.elapsed() > Duration::from_secs(1) {
                break;
            }
        }
    }
    let _ = client.try_disconnect();
    if subscribed_at.is_none() {
        return Err(MqttError::Unreachable {
            url: config.url.clone(),
            reason: if last_error.is_empty() {
                "no answer".into()
            } else {
                last_error
            },
        });
    }
    Ok(last)
}
