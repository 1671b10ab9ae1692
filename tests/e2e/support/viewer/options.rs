//! Where and how a test viewer watches.

/// Where and how to watch.
#[derive(Debug, Clone)]
pub struct ViewerOptions {
    pub host: String,
    pub port: u16,
    pub prefix: String,
    pub device: String,
    pub viewer_id: String,
    /// Send candidates one by one (true) or only inside the answer SDP (false).
    pub trickle: bool,
    /// Talk back: send a tone of this frequency as Opus on the audio m-line.
    pub talk_hz: Option<f32>,
    /// Gather candidates on this local address only (a viewer on one path of several).
    pub only_ip: Option<std::net::IpAddr>,
    /// Speak on the session's shared topics (the protocol before rtcam 0.4) instead of the
    /// viewer's own.
    pub shared_topics: bool,
    /// Broker account (user name, password).
    pub credentials: Option<(String, String)>,
    /// Use the viewer id as the MQTT client id (for a broker ACL on `%c`); by default every
    /// join gets a client id of its own.
    pub client_id_is_viewer_id: bool,
    /// MQTT over TLS with this client configuration (`mqtts://`); `None`: plain TCP.
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// Gather relayed (TURN) candidates only, from the offer's `ice_servers`.
    pub relay_only: bool,
    /// Decode the video (and read its stamps); `false`: receive and count the packets only,
    /// so that many viewers in a benchmark do not load the machine with decoders.
    pub decode: bool,
}

impl ViewerOptions {
    pub fn new(port: u16, device: &str, viewer_id: &str) -> Self {
        Self {
            host: "127.0.0.1".into(),
            port,
            prefix: "rtcam".into(),
            device: device.into(),
            viewer_id: viewer_id.into(),
            trickle: true,
            talk_hz: None,
            only_ip: None,
            shared_topics: false,
            credentials: None,
            client_id_is_viewer_id: false,
            tls: None,
            relay_only: false,
            decode: true,
        }
    }
}
