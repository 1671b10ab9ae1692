//! The embedded MQTT broker (rumqttd) behind `rtcam demo`: a TCP listener for the daemon and
//! other MQTT clients and a WebSocket listener (MQTT 3.1.1) for browsers.

use std::net::{SocketAddr, TcpListener};

use tracing::{error, info};

/// Largest MQTT payload the broker accepts (SDPs are tens of KiB).
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// Errors starting the embedded broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr} for the embedded broker's {what} listener: {source}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("embedded broker configuration: {0}")]
    Config(String),
    #[error("cannot start the embedded broker thread: {0}")]
    Thread(std::io::Error),
}

/// A running embedded broker. It lives as long as the process.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedBroker {
    /// Where MQTT over TCP listens.
    pub tcp: SocketAddr,
    /// Where MQTT over WebSocket listens (path-agnostic, e.g. `ws://host:port/mqtt`).
    pub ws: SocketAddr,
}

fn check_bindable(what: &'static str, addr: SocketAddr) -> Result<SocketAddr, BrokerError> {
    // rumqttd binds on its own threads and only logs failures there; binding here first turns
    // "address in use" into an error the user sees.
    let l = TcpListener::bind(addr).map_err(|source| BrokerError::Bind { what, addr, source })?;
    l.local_addr()
        .map_err(|source| BrokerError::Bind { what, addr, source })
}

fn config_toml(tcp: SocketAddr, ws: SocketAddr) -> String {
    format!(
        r#"
id = 0
[router]
max_connections = 1000
max_outgoing_packet_count = 200
max_segment_size = 10485760
max_segment_count = 10

[v4.1]
name = "rtcam-tcp"
listen = "{tcp}"
next_connection_delay_ms = 1
[v4.1.connections]
connection_timeout_ms = 60000
max_payload_size = {MAX_PAYLOAD}
max_inflight_count = 100
dynamic_filters = true

[ws.1]
name = "rtcam-ws"
listen = "{ws}"
next_connection_delay_ms = 1
[ws.1.connections]
connection_timeout_ms = 60000
max_payload_size = {MAX_PAYLOAD}
max_inflight_count = 100
dynamic_filters = true
"#
    )
}

/// Starts rumqttd with the two listeners. Port 0 picks a free port; the returned addresses
/// are the real ones.
pub fn start(tcp: SocketAddr, ws: SocketAddr) -> Result<EmbeddedBroker, BrokerError> {
    let tcp = check_bindable("MQTT/TCP", tcp)?;
    let ws = check_bindable("MQTT/WebSocket", ws)?;
    let config: rumqttd::Config =
        toml::from_str(&config_toml(tcp, ws)).map_err(|e| BrokerError::Config(e.to_string()))?;
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("rtcam-broker".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                error!(cause = %e, "embedded broker stopped");
            }
        })
        .map_err(BrokerError::Thread)?;
    wait_listening(tcp);
    wait_listening(ws);
    info!(%tcp, %ws, "embedded MQTT broker listening");
    Ok(EmbeddedBroker { tcp, ws })
}

/// Waits (bounded, 5 s) until a listener accepts connections.
fn wait_listening(addr: SocketAddr) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_millis(200))
            .is_ok()
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    error!(%addr, "embedded broker listener did not come up within 5 s");
}
