//! The STUN/TURN servers handed to viewers in the retained offer (`ice_servers`, rtcam 0.5).
//! Derived TURN credentials are short-lived: the session machine replaces an unclaimed
//! standby offer once half their lifetime has passed ([`renewal_age`]), so a viewer that
//! answers a long-retained offer still gets credentials coturn accepts, and so does the
//! standby peer itself.

use std::time::Duration;

use crate::config::ice::{resolve_all, session_user};
use crate::config::IceServer;
use crate::signaling::protocol::IceServerInit;

pub struct ViewerIce {
    /// The configured servers shared with viewers.
    servers: Vec<IceServer>,
    /// The user part of derived credentials (the device id).
    user: String,
}

impl ViewerIce {
    pub fn new(all: &[IceServer], user: &str) -> Self {
        Self {
            servers: all
                .iter()
                .filter(|s| s.shared_with_viewers())
                .cloned()
                .collect(),
            user: user.to_string(),
        }
    }

    /// The servers for the viewer of `session`, with credentials valid from `unix_now`.
    pub fn at(&self, session: &str, unix_now: u64) -> Vec<IceServerInit> {
        let user = session_user(&self.user, session, "viewer");
        resolve_all(&self.servers, &user, unix_now)
            .into_iter()
            .map(|s| IceServerInit {
                urls: s.urls,
                username: s.username,
                credential: s.credential,
            })
            .collect()
    }
}

/// How long a standby offer may stay retained: half the shortest lifetime of the derived
/// credentials of any server (the device's own or the viewers'); `None` when none expire.
pub fn renewal_age(servers: &[IceServer]) -> Option<Duration> {
    servers
        .iter()
        .filter(|s| s.derives_credentials())
        .map(|s| Duration::from_secs(s.credential_ttl_s / 2))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(url: &str, secret: &str, ttl: u64) -> IceServer {
        IceServer {
            urls: vec![url.into()],
            auth_secret: secret.into(),
            credential_ttl_s: ttl,
            ..IceServer::default()
        }
    }

    #[test]
    fn shares_stun_and_derived_turn_never_a_fixed_password() {
        let mut fixed = server("turn:a", "", 600);
        fixed.username = "u".into();
        fixed.credential = "long-lived".into();
        let ice = ViewerIce::new(
            &[server("stun:s", "", 600), fixed, server("turn:t", "k", 600)],
            "cam1",
        );
        let list = ice.at("0123456789abcdef", 1000);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].urls, vec!["stun:s".to_string()]);
        assert!(list[0].username.is_empty());
        assert_eq!(list[1].username, "1600:cam1.01234567.viewer");
        assert!(!list.iter().any(|s| s.credential == "long-lived"));
    }

    #[test]
    fn renews_at_half_the_shortest_lifetime() {
        let mut hidden = server("turn:u", "k", 60);
        hidden.share_with_viewers = Some(false);
        let servers = [server("turn:t", "k", 600), hidden];
        assert_eq!(renewal_age(&servers), Some(Duration::from_secs(30)));
        assert_eq!(renewal_age(&[server("stun:s", "", 600)]), None);
    }
}
