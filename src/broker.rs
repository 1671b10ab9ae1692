//! The embedded MQTT broker (rumqttd) behind `rtcam demo`: a TCP listener for the daemon and
//! other MQTT clients and a WebSocket listener (MQTT 3.1.1) for browsers.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use tracing::{error, info};

/// Largest MQTT payload the broker accepts (SDPs are tens of KiB).
pub const MAX_PAYLOAD: usize = 256 * 1024;

/// Errors starting the embedded broker.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen on {addr} for the embedded broker's {what} listener: {cause}")]
    Bind {
        what: &'static str,
        addr: SocketAddr,
        cause: std::io::Error,
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
    let l = TcpListener::bind(addr).map_err(|cause| BrokerError::Bind { what, addr, cause })?;
    l.local_addr()
        .map_err(|cause| BrokerError::Bind { what, addr, cause })
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
    wait_ready(tcp);
    info!(%tcp, %ws, "embedded MQTT broker listening");
    Ok(EmbeddedBroker { tcp, ws })
}

/// Waits (bounded, 5 s) until the broker answers an MQTT CONNECT on its TCP listener. A bare
/// TCP connect would make rumqttd log an error for the aborted connection, so this speaks just
/// enough MQTT 3.1.1 (CONNECT, CONNACK, DISCONNECT) to leave cleanly.
fn wait_ready(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if mqtt_ping(addr).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    error!(%addr, "embedded broker did not answer within 5 s");
}

fn mqtt_ping(addr: SocketAddr) -> std::io::Result<()> {
    const CLIENT_ID: &[u8] = b"rtcam-ready-check";
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_millis(200))?;
    stream.set_read_timeout(Some(Duration::from_millis(500)))?;
    // Variable header: protocol name "MQTT", level 4, clean session, keep-alive 10 s.
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0x02, 0, 10];
    body.extend_from_slice(&(CLIENT_ID.len() as u16).to_be_bytes());
    body.extend_from_slice(CLIENT_ID);
    let mut packet = vec![0x10, body.len() as u8];
    packet.extend_from_slice(&body);
    stream.write_all(&packet)?;
    let mut connack = [0u8; 4];
    stream.read_exact(&mut connack)?;
    if connack[0] != 0x20 || connack[3] != 0 {
        return Err(std::io::Error::other(format!(
            "unexpected CONNACK {connack:?}"
        )));
    }
    stream.write_all(&[0xe0, 0x00])
}
