//! Configuration: one TOML file, documented defaults, validation with errors that name the key.
//!
//! The annotated default (`rtcam print-config`) lives in `src/rtcam.default.toml` and is kept
//! in step with the structs below by a unit test.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The annotated default configuration, printed by `rtcam print-config`.
pub const ANNOTATED_DEFAULT: &str = include_str!("rtcam.default.toml");

/// Errors while loading or validating the configuration.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    // The causes are part of the message (not `#[source]`), so that printing the error
    // chain does not repeat them.
    #[error("cannot read config file {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error("invalid config file {path}: {cause}")]
    Parse {
        path: PathBuf,
        cause: Box<toml::de::Error>,
    },
    #[error("invalid value for `{key}`: {reason}")]
    Invalid { key: &'static str, reason: String },
}

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key,
        reason: reason.into(),
    }
}

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Device id, the last part of the topic root. Default: empty = the hostname.
    pub device_id: String,
    /// MQTT broker connection.
    pub mqtt: MqttConfig,
    /// Video source and encoder.
    pub video: VideoConfig,
    /// Audio source and encoder.
    pub audio: AudioConfig,
    /// Peer connections.
    pub webrtc: WebrtcConfig,
    /// The built-in web server for the viewer page.
    pub http: HttpConfig,
}

/// `[mqtt]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MqttConfig {
    /// Broker URL. Default `mqtt://127.0.0.1:1883`.
    pub url: String,
    /// Topic prefix. Default `rtcam`.
    pub prefix: String,
    /// User name; empty = anonymous. Default empty.
    pub username: String,
    /// Password. Default empty.
    pub password: String,
    /// Client id; empty = `rtcam-{device_id}`. Default empty.
    pub client_id: String,
    /// Keep-alive in seconds. Default 30.
    pub keep_alive_s: u64,
}

/// Where video frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VideoSourceKind {
    /// Moving test pattern with an embedded frame stamp.
    Synthetic,
    /// A recorded H.264 elementary stream (`video.file`), sent as it is (passthrough).
    H264file,
    /// A V4L2 camera (`video.device`, `video.format`).
    V4l2,
}

/// `video.format` for V4L2 cameras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CameraFormat {
    /// The first raw format that offers the size and rate: YU12, NV12, YUYV, MJPEG.
    Auto,
    Yuyv,
    Nv12,
    Yu12,
    Mjpeg,
    /// The camera's own H.264, passed through without re-encoding.
    H264,
}

impl CameraFormat {
    /// The pixel format asked for (`None` = auto).
    pub fn pixel_format(self) -> Option<crate::capture::convert::PixelFormat> {
        use crate::capture::convert::PixelFormat;
        match self {
            Self::Auto => None,
            Self::Yuyv => Some(PixelFormat::Yuyv),
            Self::Nv12 => Some(PixelFormat::Nv12),
            Self::Yu12 => Some(PixelFormat::Yu12),
            Self::Mjpeg => Some(PixelFormat::Mjpeg),
            Self::H264 => Some(PixelFormat::H264),
        }
    }
}

/// Where audio frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AudioSourceKind {
    /// 48 kHz mono tone.
    Synthetic,
    /// An ALSA capture device (`audio.device`).
    Alsa,
}

/// `[video]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VideoConfig {
    /// Source. Default `synthetic`.
    pub source: VideoSourceKind,
    /// Annex B H.264 file for `source = "h264file"`. Default empty.
    pub file: String,
    /// V4L2 device for `source = "v4l2"`. Default `/dev/video0`.
    pub device: String,
    /// V4L2 pixel format. Default `auto`.
    pub format: CameraFormat,
    /// Width in pixels. Default 640.
    pub width: u32,
    /// Height in pixels. Default 480.
    pub height: u32,
    /// Frames per second. Default 30.
    pub fps: u32,
    /// Encoder target bitrate in kbit/s. Default 1500.
    pub bitrate_kbps: u32,
    /// Seconds between periodic keyframes. Default 2.
    pub keyframe_interval_s: u32,
}

/// `[audio]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AudioConfig {
    /// Whether the offer carries an audio track. Default true.
    pub enabled: bool,
    /// Source. Default `synthetic`.
    pub source: AudioSourceKind,
    /// ALSA capture device for `source = "alsa"`. Default `default`.
    pub device: String,
    /// Synthetic tone frequency in Hz. Default 440.
    pub tone_hz: u32,
    /// Opus bitrate in kbit/s. Default 32.
    pub bitrate_kbps: u32,
    /// Where viewers' talkback is played: empty = off, `wav:PATH` = a WAV file, otherwise an
    /// ALSA playback device. Default empty.
    pub playback_device: String,
}

/// Where talkback audio goes (`audio.playback_device`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaybackTarget {
    /// Talkback is off: viewers' audio is received and dropped.
    Off,
    /// 48 kHz mono 16-bit WAV file, rewritten from the start at daemon start.
    WavFile(PathBuf),
    /// An ALSA playback device (`default`, `hw:1,0`, `plughw:CARD=…`, `null`).
    Alsa(String),
}

impl AudioConfig {
    /// Parses `playback_device`.
    pub fn playback_target(&self) -> Result<PlaybackTarget, ConfigError> {
        let d = self.playback_device.trim();
        if d.is_empty() {
            Ok(PlaybackTarget::Off)
        } else if let Some(path) = d.strip_prefix("wav:") {
            if path.is_empty() {
                return Err(invalid("audio.playback_device", "`wav:` needs a file path"));
            }
            Ok(PlaybackTarget::WavFile(PathBuf::from(path)))
        } else {
            Ok(PlaybackTarget::Alsa(d.to_string()))
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the viewer page server, e.g. `0.0.0.0:8080`; empty = off. Default empty.
    pub listen: String,
    /// Directory with the built viewer; empty = search the usual places. Default empty.
    pub root: String,
    /// The broker's WebSocket URL as browsers reach it (`{host}` = the page's host);
    /// empty = derived from `mqtt.url`. Default empty.
    pub broker_url: String,
}

/// One STUN or TURN server (`[[webrtc.ice_servers]]`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: String,
    /// TURN credential.
    pub credential: String,
}

/// `[webrtc]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebrtcConfig {
    /// Viewers at once. Default 4.
    pub max_viewers: usize,
    /// Bounded wait for ICE gathering before an offer is published, ms. Default 2000.
    pub ice_gather_timeout_ms: u64,
    /// Time a claimed session has to connect, s. Default 30.
    pub connect_timeout_s: u64,
    /// 1:1 NAT addresses to advertise. Default none.
    pub nat_1to1_ips: Vec<String>,
    /// Offer loopback candidates. Default false.
    pub include_loopback: bool,
    /// STUN/TURN servers. Default none.
    pub ice_servers: Vec<IceServer>,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: "mqtt://127.0.0.1:1883".into(),
            prefix: "rtcam".into(),
            username: String::new(),
            password: String::new(),
            client_id: String::new(),
            keep_alive_s: 30,
        }
    }
}

impl Default for VideoConfig {
    fn default() -> Self {
        Self {
            source: VideoSourceKind::Synthetic,
            file: String::new(),
            device: "/dev/video0".into(),
            format: CameraFormat::Auto,
            width: 640,
            height: 480,
            fps: 30,
            bitrate_kbps: 1500,
            keyframe_interval_s: 2,
        }
    }
}

impl Default for AudioConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            source: AudioSourceKind::Synthetic,
            device: "default".into(),
            tone_hz: 440,
            bitrate_kbps: 32,
            playback_device: String::new(),
        }
    }
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        Self {
            max_viewers: 4,
            ice_gather_timeout_ms: 2000,
            connect_timeout_s: 30,
            nat_1to1_ips: Vec::new(),
            include_loopback: false,
            ice_servers: Vec::new(),
        }
    }
}

/// The broker transport named by `mqtt.url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerUrl {
    /// `mqtt://host:port`
    Tcp { host: String, port: u16 },
    /// `mqtts://host:port`
    Tls { host: String, port: u16 },
    /// `ws://…` (the whole URL is kept for the HTTP upgrade request)
    Ws { url: String },
    /// `wss://…`
    Wss { url: String },
}

impl BrokerUrl {
    /// Parses `mqtt.url`.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let (scheme, rest) = url.split_once("://").ok_or_else(|| {
            invalid(
                "mqtt.url",
                format!("{url:?} has no scheme (mqtt://, mqtts://, ws://, wss://)"),
            )
        })?;
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() {
            return Err(invalid("mqtt.url", format!("{url:?} has no host")));
        }
        let host_port = |default_port: u16| -> Result<(String, u16), ConfigError> {
            // IPv6 literals are written [::1]:1883.
            let (host, port) = match authority.rsplit_once(':') {
                Some((h, p)) if !p.contains(']') => {
                    let port = p
                        .parse::<u16>()
                        .map_err(|_| invalid("mqtt.url", format!("bad port {p:?} in {url:?}")))?;
                    (h, port)
                }
                _ => (authority, default_port),
            };
            let host = host.trim_start_matches('[').trim_end_matches(']');
            if host.is_empty() {
                return Err(invalid("mqtt.url", format!("{url:?} has no host")));
            }
            Ok((host.to_string(), port))
        };
        match scheme {
            "mqtt" | "tcp" => host_port(1883).map(|(host, port)| BrokerUrl::Tcp { host, port }),
            "mqtts" | "ssl" => host_port(8883).map(|(host, port)| BrokerUrl::Tls { host, port }),
            "ws" => host_port(80).map(|_| BrokerUrl::Ws {
                url: url.to_string(),
            }),
            "wss" => host_port(443).map(|_| BrokerUrl::Wss {
                url: url.to_string(),
            }),
            other => Err(invalid(
                "mqtt.url",
                format!("unsupported scheme {other:?} (use mqtt://, mqtts://, ws:// or wss://)"),
            )),
        }
    }
}

impl Config {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|cause| ConfigError::Read {
            path: path.to_path_buf(),
            cause,
        })?;
        let config = Self::parse(&text).map_err(|e| match e {
            ConfigError::Parse { cause, .. } => ConfigError::Parse {
                path: path.to_path_buf(),
                cause,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Parses and validates TOML text.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|cause| ConfigError::Parse {
            path: PathBuf::from("<text>"),
            cause: Box::new(cause),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// The device id with the hostname default applied.
    pub fn resolved_device_id(&self) -> String {
        if !self.device_id.is_empty() {
            return self.device_id.clone();
        }
        let host = hostname::get()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        let cleaned: String = host
            .chars()
            .map(|c| if valid_id_char(c) { c } else { '-' })
            .collect();
        if cleaned.is_empty() {
            "rtcam".into()
        } else {
            cleaned
        }
    }

    /// Checks ranges and formats; the error names the offending key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.device_id.chars().all(valid_id_char) {
            return Err(invalid(
                "device_id",
                "only letters, digits, '-', '_' and '.' are allowed",
            ));
        }
        if self.mqtt.prefix.is_empty()
            || self
                .mqtt
                .prefix
                .split('/')
                .any(|p| p.is_empty() || !p.chars().all(valid_id_char))
        {
            return Err(invalid(
                "mqtt.prefix",
                "must be one or more '/'-separated parts of letters, digits, '-', '_', '.'",
            ));
        }
        BrokerUrl::parse(&self.mqtt.url)?;
        if !(5..=600).contains(&self.mqtt.keep_alive_s) {
            return Err(invalid("mqtt.keep_alive_s", "must be 5..=600"));
        }
        let v = &self.video;
        if v.width < 128 || v.height < 96 || v.width % 2 != 0 || v.height % 2 != 0 {
            return Err(invalid(
                "video.width/video.height",
                format!("{}x{} must be even and at least 128x96", v.width, v.height),
            ));
        }
        if v.width > 3840 || v.height > 2160 {
            return Err(invalid("video.width/video.height", "at most 3840x2160"));
        }
        if v.source == VideoSourceKind::H264file && v.file.is_empty() {
            return Err(invalid(
                "video.file",
                "source = \"h264file\" needs the path of an Annex B .h264 file",
            ));
        }
        if !(1..=60).contains(&v.fps) {
            return Err(invalid("video.fps", "must be 1..=60"));
        }
        if !(100..=20_000).contains(&v.bitrate_kbps) {
            return Err(invalid("video.bitrate_kbps", "must be 100..=20000"));
        }
        if !(1..=600).contains(&v.keyframe_interval_s) {
            return Err(invalid("video.keyframe_interval_s", "must be 1..=600"));
        }
        if !(6..=510).contains(&self.audio.bitrate_kbps) {
            return Err(invalid("audio.bitrate_kbps", "must be 6..=510"));
        }
        if !(20..=20_000).contains(&self.audio.tone_hz) {
            return Err(invalid("audio.tone_hz", "must be 20..=20000"));
        }
        self.audio.playback_target()?;
        if !self.http.listen.is_empty() {
            self.http
                .listen
                .parse::<std::net::SocketAddr>()
                .map_err(|_| {
                    invalid(
                        "http.listen",
                        format!("{:?} is not an address like 0.0.0.0:8080", self.http.listen),
                    )
                })?;
        }
        let b = &self.http.broker_url;
        let websocket = b.starts_with("ws://") || b.starts_with("wss://");
        if !b.is_empty() && !websocket {
            return Err(invalid(
                "http.broker_url",
                "must be a ws:// or wss:// URL (browsers speak MQTT over WebSocket only)",
            ));
        }
        let w = &self.webrtc;
        if !(1..=32).contains(&w.max_viewers) {
            return Err(invalid("webrtc.max_viewers", "must be 1..=32"));
        }
        if !(100..=30_000).contains(&w.ice_gather_timeout_ms) {
            return Err(invalid(
                "webrtc.ice_gather_timeout_ms",
                "must be 100..=30000",
            ));
        }
        if !(5..=600).contains(&w.connect_timeout_s) {
            return Err(invalid("webrtc.connect_timeout_s", "must be 5..=600"));
        }
        for ip in &w.nat_1to1_ips {
            ip.parse::<std::net::IpAddr>().map_err(|_| {
                invalid(
                    "webrtc.nat_1to1_ips",
                    format!("{ip:?} is not an IP address"),
                )
            })?;
        }
        for server in &w.ice_servers {
            if server.urls.is_empty() {
                return Err(invalid("webrtc.ice_servers.urls", "needs at least one URL"));
            }
            for url in &server.urls {
                let ok = ["stun:", "stuns:", "turn:", "turns:"]
                    .iter()
                    .any(|p| url.starts_with(p));
                if !ok {
                    return Err(invalid(
                        "webrtc.ice_servers.urls",
                        format!("{url:?} must start with stun:, stuns:, turn: or turns:"),
                    ));
                }
                if url.starts_with("turn") && server.username.is_empty() {
                    return Err(invalid(
                        "webrtc.ice_servers.username",
                        format!("TURN server {url:?} needs a username and credential"),
                    ));
                }
            }
        }
        Ok(())
    }
}

fn valid_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
