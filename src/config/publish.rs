//! `[[publish]]`: media servers (SFUs) the device publishes its one encode to, so that many
//! can watch through them: Janus's VideoRoom over its HTTP API, or any WHIP endpoint.
//! Several may be listed.

use serde::{Deserialize, Serialize};

use super::{invalid, ConfigError};

/// Which kind of server, and so which signaling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PublishKind {
    /// Janus's VideoRoom plugin through Janus's HTTP API (`url`: its base, e.g.
    /// `http://janus.lan:8088/janus`).
    #[default]
    Janus,
    /// A WHIP endpoint (RFC 9725; `url`: the endpoint, e.g. mediamtx's
    /// `http://host:8889/cam/whip`).
    Whip,
}

/// One `[[publish]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    /// Whether to publish there. Default true.
    pub enabled: bool,
    /// The kind of server. Default "janus".
    pub kind: PublishKind,
    /// The server's API: Janus's HTTP API base, `http://host:8088/janus`.
    pub url: String,
    /// Janus: the VideoRoom room (numeric id) to publish in; it must exist, configured for
    /// H.264 and Opus.
    pub room: u64,
    /// Janus: the name subscribers see. Default: the device id.
    pub display: String,
    /// A file (or a systemd credential's name) holding the server's secret: Janus's API
    /// secret (`apisecret`), WHIP's bearer token. Default none.
    pub token_file: String,
    /// The secret read from `token_file` (never in the file itself).
    #[serde(skip)]
    pub token: String,
}

impl Default for PublishConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            kind: PublishKind::Janus,
            url: String::new(),
            room: 0,
            display: String::new(),
            token_file: String::new(),
            token: String::new(),
        }
    }
}

impl PublishConfig {
    /// Where it publishes, for logs and the status: `janus http://…/janus room 1234`.
    pub fn describe(&self) -> String {
        match self.kind {
            PublishKind::Janus => format!("janus {} room {}", self.url, self.room),
            PublishKind::Whip => format!("whip {}", self.url),
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let url = url::Url::parse(&self.url).map_err(|e| {
            invalid(
                "publish.url",
                format!(
                    "{:?} is not a URL ({e}); e.g. http://janus.lan:8088/janus",
                    self.url
                ),
            )
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(
                "publish.url",
                format!("{:?}: the server's API is http:// or https://", self.url),
            ));
        }
        if self.kind == PublishKind::Janus && self.room == 0 {
            return Err(invalid(
                "publish.room",
                "the VideoRoom room id to publish in (a number, e.g. 1234)",
            ));
        }
        if self.display.len() > 128 {
            return Err(invalid("publish.display", "at most 128 bytes"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn a_janus_room_is_read_and_checked() {
        let c = Config::parse("[[publish]]\nurl = \"http://127.0.0.1:8088/janus\"\nroom = 1234\n")
            .unwrap();
        assert_eq!(c.publish.len(), 1);
        assert!(c.publish[0].enabled);
        assert_eq!(
            c.publish[0].describe(),
            "janus http://127.0.0.1:8088/janus room 1234"
        );
        let no_room = Config::parse("[[publish]]\nurl = \"http://127.0.0.1:8088/janus\"\n")
            .unwrap_err()
            .to_string();
        assert!(no_room.contains("publish.room"), "{no_room}");
        let bad = Config::parse("[[publish]]\nurl = \"janus.lan\"\nroom = 1\n")
            .unwrap_err()
            .to_string();
        assert!(bad.contains("publish.url"), "{bad}");
        let ws = Config::parse("[[publish]]\nurl = \"ws://janus.lan:8188\"\nroom = 1\n")
            .unwrap_err()
            .to_string();
        assert!(ws.contains("http://"), "{ws}");
        let whip = Config::parse(
            "[[publish]]\nkind = \"whip\"\nurl = \"https://live.example/cam/whip\"\n",
        )
        .unwrap();
        assert_eq!(
            whip.publish[0].describe(),
            "whip https://live.example/cam/whip"
        );
    }
}
