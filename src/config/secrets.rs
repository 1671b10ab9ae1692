//! Secrets kept out of the config file: the broker password and TURN credentials can be read
//! from files of their own, which systemd can hand to the service without the service user
//! being able to read the originals (`LoadCredential=` → `$CREDENTIALS_DIRECTORY`).
//!
//! - `mqtt.password_file`, `webrtc.ice_servers[].credential_file` and `auth_secret_file`: an
//!   absolute path, or a
//!   name looked up in `$CREDENTIALS_DIRECTORY`.
//! - `mqtt.client_key_file`: the same; it is resolved to a path here and read when the
//!   connection is made.
//! - With neither a password nor a password file, the `mqtt-password` credential is used when
//!   systemd provides a non-empty one (the packaged unit loads `/etc/rtcam/mqtt-password`).

use std::path::{Path, PathBuf};

use super::{Config, ConfigError};

/// The systemd credential the packaged unit provides for the broker password.
pub const MQTT_PASSWORD_CREDENTIAL: &str = "mqtt-password";

/// Reads the secret files `config` names (and the systemd credential) into it.
/// `credentials` is `$CREDENTIALS_DIRECTORY`, if set.
pub fn resolve(config: &mut Config, credentials: Option<&Path>) -> Result<(), ConfigError> {
    let m = &mut config.mqtt;
    if !m.password_file.is_empty() {
        m.password = read("mqtt.password_file", &m.password_file, credentials)?;
    } else if m.password.is_empty() {
        if let Some(dir) = credentials {
            let path = dir.join(MQTT_PASSWORD_CREDENTIAL);
            if path.exists() {
                m.password = read("mqtt-password credential", &path.to_string_lossy(), None)?;
            }
        }
    }
    if !m.client_key_file.is_empty() {
        let path = locate("mqtt.client_key_file", &m.client_key_file, credentials)?;
        m.client_key_file = path.to_string_lossy().into_owned();
    }
    for server in &mut config.webrtc.ice_servers {
        if !server.credential_file.is_empty() {
            server.credential = read(
                "webrtc.ice_servers.credential_file",
                &server.credential_file,
                credentials,
            )?;
        }
        if !server.auth_secret_file.is_empty() {
            server.auth_secret = read(
                "webrtc.ice_servers.auth_secret_file",
                &server.auth_secret_file,
                credentials,
            )?;
            if server.auth_secret.is_empty() {
                return Err(ConfigError::Secret {
                    key: "webrtc.ice_servers.auth_secret_file",
                    path: server.auth_secret_file.clone().into(),
                    cause: "the file is empty".into(),
                });
            }
        }
    }
    for target in &mut config.publish {
        if !target.token_file.is_empty() {
            target.token = read("publish.token_file", &target.token_file, credentials)?;
        }
    }
    Ok(())
}

/// The secret in `name`: its first line, without the line end.
fn read(key: &'static str, name: &str, credentials: Option<&Path>) -> Result<String, ConfigError> {
    let path = locate(key, name, credentials)?;
    let text = std::fs::read_to_string(&path).map_err(|cause| ConfigError::Secret {
        key,
        path: path.clone(),
        cause: cause.to_string(),
    })?;
    Ok(text.lines().next().unwrap_or("").to_string())
}

fn locate(
    key: &'static str,
    name: &str,
    credentials: Option<&Path>,
) -> Result<PathBuf, ConfigError> {
    let path = Path::new(name);
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    match credentials {
        Some(dir) => Ok(dir.join(path)),
        None => Err(ConfigError::Secret {
            key,
            path: path.to_path_buf(),
            cause: "a relative name is a systemd credential, but $CREDENTIALS_DIRECTORY is not \
                    set (add LoadCredential= to the unit, or give an absolute path)"
                .into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("rtcam-secrets-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_password_file_is_read_by_path_or_as_a_credential() {
        let d = dir("file");
        std::fs::write(d.join("pw"), "s3cret\n").unwrap();
        let mut c = Config::default();
        c.mqtt.password_file = d.join("pw").to_string_lossy().into_owned();
        resolve(&mut c, None).unwrap();
        assert_eq!(c.mqtt.password, "s3cret");
        let mut c = Config::default();
        c.mqtt.password_file = "pw".into();
        resolve(&mut c, Some(&d)).unwrap();
        assert_eq!(c.mqtt.password, "s3cret");
        let err = resolve(&mut c, None).unwrap_err().to_string();
        assert!(err.contains("CREDENTIALS_DIRECTORY"), "{err}");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn the_units_credential_is_the_password_when_none_is_set() {
        let d = dir("cred");
        std::fs::write(d.join(MQTT_PASSWORD_CREDENTIAL), "from-systemd\n").unwrap();
        let mut c = Config::default();
        resolve(&mut c, Some(&d)).unwrap();
        assert_eq!(c.mqtt.password, "from-systemd");
        // A password in the file wins over the credential.
        let mut c = Config::default();
        c.mqtt.password = "inline".into();
        resolve(&mut c, Some(&d)).unwrap();
        assert_eq!(c.mqtt.password, "inline");
        std::fs::remove_dir_all(&d).ok();
    }

    #[test]
    fn a_missing_secret_file_names_the_key_and_the_path() {
        let mut c = Config::default();
        c.mqtt.password_file = "/nonexistent/rtcam-pw".into();
        let err = resolve(&mut c, None).unwrap_err().to_string();
        assert!(
            err.contains("mqtt.password_file") && err.contains("/nonexistent/rtcam-pw"),
            "{err}"
        );
    }
}
