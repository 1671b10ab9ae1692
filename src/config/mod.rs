//! Configuration: one TOML file, documented defaults, validation with errors that name the key.
//!
//! The annotated default (`rtcam print-config`) lives in `rtcam.default.toml` beside this file
//! and is kept in step with the structs by a unit test. Plain data: config imports nothing of
//! the crate, and every other module may import it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod broker_url;
pub mod ice;
mod publish;
pub mod secrets;
mod sections;
mod validate;

pub use broker_url::{browser_broker_url, BrokerUrl, DEFAULT_BROWSER_BROKER_URL};
pub use ice::ResolvedIceServer;
pub use publish::{PublishConfig, PublishKind};
pub use sections::*;

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
    #[error("cannot read the secret of `{key}` from {path}: {cause}")]
    Secret {
        key: &'static str,
        path: PathBuf,
        cause: String,
    },
}

pub(crate) fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
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
    /// Media servers to publish to (`[[publish]]`, none by default).
    pub publish: Vec<PublishConfig>,
}

impl Config {
    /// Reads, parses and validates a config file, and reads the secrets it keeps in files of
    /// their own (and the systemd credential: [`secrets`]).
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
        let mut config = config;
        let credentials = std::env::var_os("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        secrets::resolve(&mut config, credentials.as_deref())?;
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
}

pub(crate) fn valid_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

#[cfg(test)]
mod tests;
