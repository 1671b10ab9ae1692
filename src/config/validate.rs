//! Start-up validation: ranges and formats, with an error that names the key.

use super::broker_url::BrokerUrl;
use super::{invalid, valid_id_char, CameraFormat, Config, ConfigError, VideoSourceKind};

impl Config {
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
        let url = BrokerUrl::parse(&self.mqtt.url)?;
        let m = &self.mqtt;
        let tls_files = !m.ca_file.is_empty() || !m.client_cert_file.is_empty();
        if tls_files && !matches!(url, BrokerUrl::Tls { .. } | BrokerUrl::Wss { .. }) {
            return Err(invalid(
                "mqtt.ca_file",
                "ca_file and client_cert_file are for TLS: use an mqtts:// or wss:// url",
            ));
        }
        if m.client_cert_file.is_empty() != m.client_key_file.is_empty() {
            return Err(invalid(
                "mqtt.client_cert_file",
                "a client certificate needs its key: set both client_cert_file and \
                 client_key_file, or neither",
            ));
        }
        if !(5..=600).contains(&self.mqtt.keep_alive_s) {
            return Err(invalid("mqtt.keep_alive_s", "must be 5..=600"));
        }
        if !self.mqtt.password.is_empty() && !self.mqtt.password_file.is_empty() {
            return Err(invalid(
                "mqtt.password_file",
                "set either mqtt.password or mqtt.password_file, not both",
            ));
        }
        if !(64..=65536).contains(&self.mqtt.max_message_kib) {
            return Err(invalid(
                "mqtt.max_message_kib",
                "must be 64..=65536 (KiB; SDPs alone reach tens of KiB)",
            ));
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
        if v.source == VideoSourceKind::Command {
            if v.command.trim().is_empty() {
                return Err(invalid(
                    "video.command",
                    "source = \"command\" needs the command line of a program that writes video to its stdout",
                ));
            }
            if !matches!(v.format, CameraFormat::H264 | CameraFormat::Yu12) {
                return Err(invalid(
                    "video.format",
                    "source = \"command\" needs format = \"h264\" (Annex B, passed through) or \"yu12\" (raw I420 of width x height)",
                ));
            }
        }
        if !(1..=60).contains(&v.fps) {
            return Err(invalid("video.fps", "must be 1..=60"));
        }
        if !(100..=20_000).contains(&v.bitrate_kbps) {
            return Err(invalid("video.bitrate_kbps", "must be 100..=20000"));
        }
        if !(50..=20_000).contains(&v.min_bitrate_kbps) {
            return Err(invalid("video.min_bitrate_kbps", "must be 50..=20000"));
        }
        if v.max_bitrate_kbps != 0 && !(100..=20_000).contains(&v.max_bitrate_kbps) {
            return Err(invalid(
                "video.max_bitrate_kbps",
                "must be 0 (= bitrate_kbps) or 100..=20000",
            ));
        }
        if v.min_bitrate_kbps > v.bitrate_kbps || v.bitrate_kbps > v.max_bitrate_kbps() {
            return Err(invalid(
                "video.bitrate_kbps",
                "must lie between min_bitrate_kbps and max_bitrate_kbps",
            ));
        }
        if !(1..=4).contains(&v.temporal_layers) {
            return Err(invalid("video.temporal_layers", "must be 1..=4"));
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
        // A WAV file holds at most 4 GiB: 43200 s of 48 kHz 16-bit mono fits.
        if !(1..=43_200).contains(&self.audio.talkback_wav_max_s) {
            return Err(invalid("audio.talkback_wav_max_s", "must be 1..=43200"));
        }
        self.audio.talkback_target()?;
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
        if !(1..=1024).contains(&self.http.max_connections) {
            return Err(invalid("http.max_connections", "must be 1..=1024"));
        }
        if !(1..=600).contains(&self.http.idle_timeout_s) {
            return Err(invalid("http.idle_timeout_s", "must be 1..=600"));
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
                let derived = !server.auth_secret_file.is_empty();
                if url.starts_with("turn") && server.username.is_empty() && !derived {
                    return Err(invalid(
                        "webrtc.ice_servers.username",
                        format!(
                            "TURN server {url:?} needs a username and credential, or \
                             auth_secret_file (coturn's REST API secret)"
                        ),
                    ));
                }
            }
            let fixed_credential =
                !server.credential.is_empty() || !server.credential_file.is_empty();
            if !server.auth_secret_file.is_empty() && fixed_credential {
                return Err(invalid(
                    "webrtc.ice_servers.auth_secret_file",
                    "derives the credential: leave credential and credential_file out",
                ));
            }
            if !(10..=7 * 86_400).contains(&server.credential_ttl_s) {
                return Err(invalid(
                    "webrtc.ice_servers.credential_ttl_s",
                    "must be between 10 s and 7 days",
                ));
            }
        }
        for target in &self.publish {
            target.validate()?;
        }
        Ok(())
    }
}
