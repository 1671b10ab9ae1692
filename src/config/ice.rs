//! ICE servers as the peers use them: fixed credentials as configured, or short-lived ones
//! derived from coturn's REST API secret (`use-auth-secret`): the user name is
//! `{expiry}:{user}` (Unix seconds), the credential base64(HMAC-SHA1(secret, user name)).
//! coturn checks both and refuses the name once its time has passed, so no long-lived TURN
//! password is ever handed to a viewer.

use base64::Engine;

use super::IceServer;

/// One server with the credentials to use now (the shape of WebRTC's `RTCIceServer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedIceServer {
    pub urls: Vec<String>,
    pub username: String,
    pub credential: String,
}

impl IceServer {
    /// Whether any URL is a TURN server (the rest are STUN).
    pub fn is_turn(&self) -> bool {
        self.urls.iter().any(|u| u.starts_with("turn"))
    }

    /// Whether its credentials are derived from the REST API secret.
    pub fn derives_credentials(&self) -> bool {
        !self.auth_secret.is_empty()
    }

    /// Whether viewers are told of it (`share_with_viewers`, see its default).
    pub fn shared_with_viewers(&self) -> bool {
        self.share_with_viewers
            .unwrap_or(!self.is_turn() || self.derives_credentials())
    }

    /// The credentials to use from `unix_now` on; derived ones are valid for
    /// `credential_ttl_s`, for `user` (the configured username, else `default_user`).
    pub fn resolve(&self, default_user: &str, unix_now: u64) -> ResolvedIceServer {
        let (username, credential) = if self.derives_credentials() {
            let user = if self.username.is_empty() {
                default_user
            } else {
                &self.username
            };
            rest_credentials(&self.auth_secret, user, unix_now + self.credential_ttl_s)
        } else {
            (self.username.clone(), self.credential.clone())
        };
        ResolvedIceServer {
            urls: self.urls.clone(),
            username,
            credential,
        }
    }
}

/// One line per server for `rtcam check-config`: what it is, how its credentials are made
/// and whether viewers get it; a secret is said to be found, never shown.
pub fn summary(servers: &[IceServer]) -> Vec<String> {
    servers
        .iter()
        .map(|s| {
            let credentials = if s.derives_credentials() {
                format!(
                    "credentials derived from the REST API secret (found), valid {} s",
                    s.credential_ttl_s
                )
            } else if s.is_turn() {
                let found = if s.credential.is_empty() {
                    "none"
                } else {
                    "set"
                };
                format!("user {}, a fixed credential ({found})", s.username)
            } else {
                "no credentials".to_string()
            };
            let viewers = if s.shared_with_viewers() {
                "handed to viewers in the offer"
            } else {
                "not handed to viewers"
            };
            format!("{}: {credentials}, {viewers}", s.urls.join(" "))
        })
        .collect()
}

/// coturn's REST API credentials for `user`, valid until `expires` (Unix seconds).
pub fn rest_credentials(secret: &str, user: &str, expires: u64) -> (String, String) {
    let username = format!("{expires}:{user}");
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes());
    let tag = ring::hmac::sign(&key, username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(tag.as_ref());
    (username, credential)
}

/// The servers in `servers` with the credentials to use from `unix_now` on.
pub fn resolve_all(
    servers: &[IceServer],
    default_user: &str,
    unix_now: u64,
) -> Vec<ResolvedIceServer> {
    servers
        .iter()
        .map(|s| s.resolve(default_user, unix_now))
        .collect()
}

/// The user part of one peer's derived credentials: `{device}.{session prefix}.{side}`.
/// Each peer has a name of its own, so coturn's log tells the sessions apart (and coturn
/// keeps every allocation: it closed an older one made under the very same user name).
pub fn session_user(device: &str, session: &str, side: &str) -> String {
    let short: String = session.chars().take(8).collect();
    format!("{device}.{short}.{side}")
}

/// Seconds since the Unix epoch by the system clock (REST credentials carry wall-clock time).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(urls: &[&str]) -> IceServer {
        IceServer {
            urls: urls.iter().map(|u| u.to_string()).collect(),
            ..IceServer::default()
        }
    }

    #[test]
    fn rest_credentials_are_coturns() {
        // Computed independently: python3 -c "import hmac,hashlib,base64;
        // print(base64.b64encode(hmac.new(b'north', b'1767225600:cam1', hashlib.sha1).digest()))"
        let (user, cred) = rest_credentials("north", "cam1", 1_767_225_600);
        assert_eq!(user, "1767225600:cam1");
        assert_eq!(cred, PYTHON_VECTOR);
    }

    const PYTHON_VECTOR: &str = "lWI/znyIc5PeSlTQ4JCLwEuUm60=";

    #[test]
    fn derived_credentials_expire_after_the_ttl_and_name_the_user() {
        let mut s = server(&["turn:198.19.0.1:3478"]);
        s.auth_secret = "north".into();
        s.credential_ttl_s = 600;
        let r = s.resolve("cam1", 1_000);
        assert_eq!(r.username, "1600:cam1");
        s.username = "garden".into();
        assert_eq!(s.resolve("cam1", 1_000).username, "1600:garden");
        // Fixed credentials are used as they are.
        let mut f = server(&["turn:x"]);
        f.username = "u".into();
        f.credential = "p".into();
        assert_eq!(
            (
                f.resolve("cam1", 5).username,
                f.resolve("cam1", 5).credential
            ),
            ("u".into(), "p".into())
        );
    }

    #[test]
    fn long_lived_turn_passwords_are_not_shared_unless_asked() {
        assert!(server(&["stun:x"]).shared_with_viewers());
        let mut fixed = server(&["turn:x"]);
        fixed.username = "u".into();
        fixed.credential = "p".into();
        assert!(!fixed.shared_with_viewers());
        fixed.share_with_viewers = Some(true);
        assert!(fixed.shared_with_viewers());
        let mut derived = server(&["turn:x"]);
        derived.auth_secret = "s".into();
        assert!(derived.shared_with_viewers());
        derived.share_with_viewers = Some(false);
        assert!(!derived.shared_with_viewers());
    }
}
