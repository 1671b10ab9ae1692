//! The sections of the file (`[mqtt]`, `[video]`, `[audio]`, `[webrtc]`, `[http]`): plain
//! data with a doc comment and default on every field.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{invalid, ConfigError};

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
    /// Password. Default empty. Better kept out of this file: `password_file`.
    pub password: String,
    /// A file holding the password (first line): an absolute path, or the name of a systemd
    /// credential (`LoadCredential=`). Default empty.
    pub password_file: String,
    /// Client id; empty = `rtcam-{device_id}`. Default empty.
    pub client_id: String,
    /// Keep-alive in seconds. Default 30.
    pub keep_alive_s: u64,
    /// Largest message (KiB) the device takes from the broker. rumqttc cannot skip a bigger
    /// packet: it drops the connection. So the broker must refuse bigger ones first
    /// (mosquitto `max_packet_size`, at most this many KiB). Default 1024 (the shipped
    /// mosquitto config's limit); 64..=65536.
    pub max_message_kib: u32,
    /// PEM file of the CA(s) that sign the broker's certificate (`mqtts://`, `wss://`);
    /// empty = the system's roots. Default empty.
    pub ca_file: String,
    /// PEM certificate (chain) the device shows the broker, for brokers that require client
    /// certificates (`require_certificate true`). Needs `client_key_file`. Default empty.
    pub client_cert_file: String,
    /// The private key of `client_cert_file` (PEM): an absolute path, or the name of a
    /// systemd credential. Default empty.
    pub client_key_file: String,
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
    /// A program writing H.264 (`format = "h264"`) or I420 (`"yu12"`) to its stdout
    /// (`video.command`): `rpicam-vid`, GStreamer, ffmpeg.
    Command,
}

/// `video.pattern`: what the synthetic source draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SyntheticPattern {
    /// Moving colour bars and a bouncing square: easy to encode (~200 kbit/s at 640x480).
    Bars,
    /// Panning texture under film grain: needs all of any bitrate (network tests, benchmarks).
    Busy,
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
    /// What `source = "synthetic"` draws. Default `bars`.
    pub pattern: SyntheticPattern,
    /// Annex B H.264 file for `source = "h264file"`. Default empty.
    pub file: String,
    /// V4L2 device for `source = "v4l2"`. Default `/dev/video0`.
    pub device: String,
    /// Command line for `source = "command"` (run with `sh -c`). Default empty.
    pub command: String,
    /// V4L2 pixel format. Default `auto`.
    pub format: CameraFormat,
    /// Width in pixels. Default 640.
    pub width: u32,
    /// Height in pixels. Default 480.
    pub height: u32,
    /// Frames per second. Default 30.
    pub fps: u32,
    /// Encoder start bitrate in kbit/s. Default 1500.
    pub bitrate_kbps: u32,
    /// Lowest bitrate the network adaptation may go down to, kbit/s. Default 100.
    pub min_bitrate_kbps: u32,
    /// Highest bitrate the adaptation may climb to, kbit/s; 0 = `bitrate_kbps`. Default 0.
    pub max_bitrate_kbps: u32,
    /// Follow each viewer's network (receiver reports, REMB): `false` sends `bitrate_kbps`
    /// whatever happens. Default true.
    pub adapt_bitrate: bool,
    /// Temporal layers (1..=4): with 3, a viewer on a slow link is sent every second or fourth
    /// picture instead of slowing everyone down (4: also every eighth). Default 3.
    pub temporal_layers: u8,
    /// A viewer far slower than the others (below half the fastest) gets a second encode of
    /// the same pictures at the rate its link carries, while it watches (more CPU: a second
    /// encoder, often at half size); `false` thins it with temporal layers only (few
    /// pictures). Default true.
    pub second_stream: bool,
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
    /// ALSA playback device. Default empty. Files written before rtcam 0.2 call it
    /// `playback_device`, which is still accepted.
    #[serde(alias = "playback_device")]
    pub talkback_device: String,
    /// Longest a `wav:` talkback file grows, in seconds of audio; then it is rotated (the
    /// previous one kept as `PATH.1`). Default 600 (55 MiB).
    pub talkback_wav_max_s: u64,
}

/// Where talkback audio goes (`audio.talkback_device`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TalkbackTarget {
    /// Talkback is off: viewers' audio is received and dropped.
    Off,
    /// 48 kHz mono 16-bit WAV file, rewritten from the start at daemon start, rotated after
    /// `max` of audio.
    WavFile { path: PathBuf, max: Duration },
    /// An ALSA playback device (`default`, `hw:1,0`, `plughw:CARD=…`, `null`).
    Alsa(String),
}

impl VideoConfig {
    /// The ceiling of the adaptation: `max_bitrate_kbps`, or `bitrate_kbps` when it is 0.
    pub fn max_bitrate_kbps(&self) -> u32 {
        if self.max_bitrate_kbps == 0 {
            self.bitrate_kbps
        } else {
            self.max_bitrate_kbps
        }
    }
}

impl AudioConfig {
    /// Parses `talkback_device`.
    pub fn talkback_target(&self) -> Result<TalkbackTarget, ConfigError> {
        let d = self.talkback_device.trim();
        if d.is_empty() {
            Ok(TalkbackTarget::Off)
        } else if let Some(path) = d.strip_prefix("wav:") {
            if path.is_empty() {
                return Err(invalid("audio.talkback_device", "`wav:` needs a file path"));
            }
            Ok(TalkbackTarget::WavFile {
                path: PathBuf::from(path),
                max: Duration::from_secs(self.talkback_wav_max_s),
            })
        } else {
            Ok(TalkbackTarget::Alsa(d.to_string()))
        }
    }
}

/// `[http]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpConfig {
    /// Address of the viewer page server, e.g. `0.0.0.0:8080`; empty = off. Default empty.
    pub listen: String,
    /// Directory with the built viewer; empty = search the usual places. Default empty.
    pub root: String,
    /// The broker's WebSocket URL as browsers reach it (`{host}` = the page's host);
    /// empty = derived from `mqtt.url`. Default empty.
    pub broker_url: String,
    /// Open page connections at most; at the cap the oldest is closed. Default 64.
    pub max_connections: usize,
    /// Time a client has to send its request, and longest a connection may move no byte, s.
    /// Default 10.
    pub idle_timeout_s: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            listen: String::new(),
            root: String::new(),
            broker_url: String::new(),
            max_connections: 64,
            idle_timeout_s: 10,
        }
    }
}

/// One STUN or TURN server (`[[webrtc.ice_servers]]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IceServer {
    /// `stun:` / `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// TURN user name.
    pub username: String,
    /// TURN credential.
    pub credential: String,
    /// A file holding the TURN credential, like `mqtt.password_file`.
    pub credential_file: String,
    /// coturn's REST API secret (`use-auth-secret` + `static-auth-secret`), a file or a
    /// systemd credential's name. With it the device derives a short-lived user name and
    /// credential for itself and for each viewer; `username`, if set, is the user part.
    pub auth_secret_file: String,
    /// How long derived credentials stay valid, s. Default 86400 (a day): coturn refuses an
    /// expired one, also when a relayed session refreshes its allocation.
    pub credential_ttl_s: u64,
    /// Hand this server to viewers in the offer (`ice_servers`). Default: yes for STUN and
    /// for TURN with `auth_secret_file`, no for a fixed TURN credential (every viewer would
    /// learn your long-lived password).
    pub share_with_viewers: Option<bool>,
    /// The secret read from `auth_secret_file` (never in the file itself).
    #[serde(skip)]
    pub auth_secret: String,
}

impl Default for IceServer {
    fn default() -> Self {
        Self {
            urls: Vec::new(),
            username: String::new(),
            credential: String::new(),
            credential_file: String::new(),
            auth_secret_file: String::new(),
            credential_ttl_s: 86_400,
            share_with_viewers: None,
            auth_secret: String::new(),
        }
    }
}

/// `[webrtc]`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebrtcConfig {
    /// Viewers at once. Default 4.
    pub max_viewers: usize,
    /// Bounded wait for ICE gathering before an offer is published, ms. Default 2000.
    pub ice_gather_timeout_ms: u64,
    /// Time a claimed session has to connect, s. Default 10 (a browser on a LAN connects in
    /// well under a second, through TURN in a few): a junk claim holds a slot no longer.
    pub connect_timeout_s: u64,
    /// 1:1 NAT addresses to advertise. Default none.
    pub nat_1to1_ips: Vec<String>,
    /// Offer loopback candidates. Default false.
    pub include_loopback: bool,
    /// One UDP port (IPv4) for every viewer's media; 0 = an ephemeral port per viewer.
    /// Default 0.
    pub udp_port: u16,
    /// STUN/TURN servers. Default none.
    pub ice_servers: Vec<IceServer>,
    /// Ask viewers to show each picture as soon as it is decoded (the playout-delay RTP
    /// header extension, minimum and maximum 0): live, not smoothed. Default true; false
    /// lets the browser buffer against network jitter.
    pub zero_playout_delay: bool,
}

impl Default for MqttConfig {
    fn default() -> Self {
        Self {
            url: "mqtt://127.0.0.1:1883".into(),
            prefix: "rtcam".into(),
            username: String::new(),
            password: String::new(),
            password_file: String::new(),
            client_id: String::new(),
            keep_alive_s: 30,
            max_message_kib: 1024,
            ca_file: String::new(),
            client_cert_file: String::new(),
            client_key_file: String::new(),
        }
    }
}

impl Default for VideoConfig {
    fn default() -> Self {
        Self {
            source: VideoSourceKind::Synthetic,
            pattern: SyntheticPattern::Bars,
            file: String::new(),
            device: "/dev/video0".into(),
            command: String::new(),
            format: CameraFormat::Auto,
            width: 640,
            height: 480,
            fps: 30,
            bitrate_kbps: 1500,
            min_bitrate_kbps: 100,
            max_bitrate_kbps: 0,
            adapt_bitrate: true,
            temporal_layers: 3,
            second_stream: true,
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
            talkback_device: String::new(),
            talkback_wav_max_s: 600,
        }
    }
}

impl Default for WebrtcConfig {
    fn default() -> Self {
        Self {
            max_viewers: 4,
            ice_gather_timeout_ms: 2000,
            connect_timeout_s: 10,
            nat_1to1_ips: Vec::new(),
            include_loopback: false,
            udp_port: 0,
            ice_servers: Vec::new(),
            zero_playout_delay: true,
        }
    }
}
