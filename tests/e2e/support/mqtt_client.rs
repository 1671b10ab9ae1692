//! A plain MQTT client for tests: subscribes, publishes, and hands over what it receives.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, TlsConfiguration, Transport};
use serde_json::Value;
use tokio::sync::mpsc;

/// A connected MQTT client that queues every publish it receives.
pub struct TestMqtt {
    pub client: AsyncClient,
    pub rx: mpsc::Receiver<(String, Bytes)>,
    suback: mpsc::Receiver<()>,
    /// Set once the broker has dropped the connection (rumqttc then connects again).
    dropped: Arc<AtomicBool>,
}

/// A TLS client configuration that trusts only the CA in `ca_file` (PEM), made with rustls
/// directly rather than by rtcam's own code.
pub fn trusting(ca_file: &std::path::Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_file).expect("read the test CA") {
        roots.add(cert.expect("a PEM certificate")).expect("a CA");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(config)
}

impl TestMqtt {
    pub async fn connect(host: &str, port: u16, id: &str) -> Self {
        Self::connect_as(host, port, id, None).await
    }

    /// Connects with a user name and password (`None`: anonymous).
    pub async fn connect_as(
        host: &str,
        port: u16,
        id: &str,
        credentials: Option<(&str, &str)>,
    ) -> Self {
        Self::connect_with(host, port, id, credentials, None).await
    }

    /// Like [`TestMqtt::connect_as`], over TLS when `tls` is given (`mqtts://`).
    pub async fn connect_with(
        host: &str,
        port: u16,
        id: &str,
        credentials: Option<(&str, &str)>,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Self {
        let mut opts = MqttOptions::new(id, host, port);
        if let Some(tls) = tls {
            opts.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(tls)));
        }
        if let Some((user, password)) = credentials {
            opts.set_credentials(user, password);
        }
        // Big enough outgoing to send what a broker must refuse (tests of oversized input).
        opts.set_max_packet_size(1 << 20, 4 << 20);
        opts.set_keep_alive(Duration::from_secs(10));
        let (client, mut eventloop) = AsyncClient::new(opts, 64);
        let (tx, rx) = mpsc::channel(1024);
        let (stx, suback) = mpsc::channel(16);
        let dropped = Arc::new(AtomicBool::new(false));
        let lost = dropped.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        if tx.send((p.topic.clone(), p.payload.clone())).await.is_err() {
                            break;
                        }
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = stx.send(()).await;
                    }
                    Ok(_) => {}
                    // The client was dropped: stop, or this loop would reconnect under the
                    // same client id forever and the broker would keep kicking a newer
                    // client of that id off.
                    Err(rumqttc::ConnectionError::RequestsDone) => break,
                    Err(_) => {
                        lost.store(true, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(100)).await
                    }
                }
            }
        });
        Self {
            client,
            rx,
            suback,
            dropped,
        }
    }

    /// Whether the broker dropped this client's connection within `within` (mosquitto does
    /// once it applied a change to the client's role).
    pub async fn wait_dropped(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.dropped.load(Ordering::Relaxed) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.dropped.load(Ordering::Relaxed)
    }

    /// Subscribes and waits for the SubAck.
    pub async fn subscribe(&mut self, filter: &str) {
        self.client
            .subscribe(filter, QoS::AtLeastOnce)
            .await
            .expect("subscribe");
        tokio::time::timeout(Duration::from_secs(10), self.suback.recv())
            .await
            .expect("SubAck within 10 s");
    }

    pub async fn publish(&self, topic: String, payload: Value) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_string())
            .await
            .expect("publish");
    }

    /// Publishes raw bytes (for malformed-input tests).
    pub async fn publish_raw(&self, topic: String, payload: &[u8]) {
        self.client
            .publish(topic, QoS::AtLeastOnce, false, payload.to_vec())
            .await
            .expect("publish");
    }

    /// Publishes `payload` at `qos`, retained or not, without waiting for the broker.
    pub async fn publish_with(&self, topic: String, payload: Vec<u8>, qos: QoS, retain: bool) {
        self.client
            .publish(topic, qos, retain, payload)
            .await
            .expect("publish");
    }

    /// Next message whose topic satisfies `pred`, within `timeout`.
    pub async fn next_matching(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&str, &[u8]) -> bool,
    ) -> Option<(String, Bytes)> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.rx.recv())
                .await
                .ok()??;
            if pred(&msg.0, &msg.1) {
                return Some(msg);
            }
        }
    }
}
