//! TLS to the broker (`mqtts://`, `wss://`): rustls trusting the CA of `mqtt.ca_file` (or
//! the system's roots), an optional client certificate, and plain words for a certificate
//! that does not verify. Built here rather than by rumqttc's default, which panics on an
//! unreadable system certificate and cannot be given a CA file with a clear error.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{CertificateError, ClientConfig, RootCertStore};

use super::mqtt::MqttError;
use crate::config::MqttConfig;

/// The rustls client configuration for the broker connection.
pub fn client_config(m: &MqttConfig) -> Result<Arc<ClientConfig>, MqttError> {
    let roots = if m.ca_file.is_empty() {
        system_roots()?
    } else {
        file_roots(Path::new(&m.ca_file))?
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| MqttError::Tls(format!("TLS versions: {e}")))?
        .with_root_certificates(roots);
    let config = if m.client_cert_file.is_empty() {
        builder.with_no_client_auth()
    } else {
        let chain = certificates(Path::new(&m.client_cert_file), "mqtt.client_cert_file")?;
        let key = PrivateKeyDer::from_pem_file(&m.client_key_file).map_err(|e| {
            MqttError::Tls(format!(
                "mqtt.client_key_file {}: no PEM private key ({e})",
                m.client_key_file
            ))
        })?;
        builder.with_client_auth_cert(chain, key).map_err(|e| {
            MqttError::Tls(format!(
                "mqtt.client_cert_file {} and its key do not go together: {e}",
                m.client_cert_file
            ))
        })?
    };
    Ok(Arc::new(config))
}

/// Every certificate in a PEM file; none is an error naming the file.
fn certificates(path: &Path, key: &str) -> Result<Vec<CertificateDer<'static>>, MqttError> {
    let unreadable = |e: &dyn std::fmt::Display| {
        MqttError::Tls(format!("{key} {}: cannot read it ({e})", path.display()))
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    if certs.is_empty() {
        return Err(MqttError::Tls(format!(
            "{key} {}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it",
            path.display()
        )));
    }
    Ok(certs)
}

fn file_roots(path: &Path) -> Result<RootCertStore, MqttError> {
    let mut roots = RootCertStore::empty();
    for cert in certificates(path, "mqtt.ca_file")? {
        roots.add(cert).map_err(|e| {
            MqttError::Tls(format!(
                "mqtt.ca_file {}: a certificate in it is not a usable CA ({e})",
                path.display()
            ))
        })?;
    }
    Ok(roots)
}

fn system_roots() -> Result<RootCertStore, MqttError> {
    let found = rustls_native_certs::load_native_certs();
    for e in &found.errors {
        tracing::warn!(cause = %e, "a system CA certificate could not be read; skipped");
    }
    let mut roots = RootCertStore::empty();
    let (added, ignored) = roots.add_parsable_certificates(found.certs);
    if ignored > 0 {
        tracing::debug!(ignored, "system CA certificates rustls cannot use");
    }
    if added == 0 {
        return Err(MqttError::Tls(
            "no system CA certificates (apt-get install ca-certificates), and no \
             mqtt.ca_file: nothing to verify the broker's certificate with"
                .into(),
        ));
    }
    Ok(roots)
}

/// Why a connection failed, in words that name the fix, when TLS is the reason.
pub fn explain(
    e: &(dyn std::error::Error + 'static),
    m: &MqttConfig,
    host: &str,
) -> Option<String> {
    let trusted = if m.ca_file.is_empty() {
        "any CA this system trusts; set mqtt.ca_file to the CA that signed it \
         (deploy/broker-ca.sh writes it as ca.crt)"
            .to_string()
    } else {
        format!(
            "the CA in mqtt.ca_file ({}); is it the CA that signed the broker's certificate?",
            m.ca_file
        )
    };
    let why = match rustls_error(e)? {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => {
                format!("the broker's certificate does not verify: it is not signed by {trusted}")
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!(
                    "the broker's certificate is not for {host:?}: connect by a name or \
                     address it lists (subjectAltName), or issue one that lists {host:?} \
                     (deploy/broker-ca.sh)"
                )
            }
            CertificateError::Expired
            | CertificateError::ExpiredContext { .. }
            | CertificateError::NotValidYet
            | CertificateError::NotValidYetContext { .. } => {
                "the broker's certificate has expired or is not valid yet; if it is fine, \
                 this board's clock is wrong (boards without a battery-backed clock are \
                 until NTP has synchronised)"
                    .to_string()
            }
            other => format!("the broker's certificate does not verify ({other:?})"),
        },
        rustls::Error::AlertReceived(alert) => {
            use rustls::AlertDescription as A;
            match alert {
                A::CertificateRequired
                | A::BadCertificate
                | A::UnknownCA
                | A::CertificateUnknown
                | A::AccessDenied => format!(
                    "the broker refused the device's TLS handshake ({alert:?}): it wants a \
                     client certificate its CA signed (mqtt.client_cert_file, \
                     mqtt.client_key_file)"
                ),
                other => format!("the broker ended the TLS handshake ({other:?})"),
            }
        }
        other => format!("TLS with the broker failed: {other}"),
    };
    Some(why)
}

/// The rustls error somewhere in `e`'s chain (io::Error hides its inner error from
/// `source()`, so each level's `get_ref` is looked into too).
fn rustls_error<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    let mut level: Option<&(dyn std::error::Error + 'static)> = Some(e);
    for _ in 0..16 {
        let current = level?;
        if let Some(r) = current.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            if let Some(r) = io.get_ref().and_then(|i| i.downcast_ref::<rustls::Error>()) {
                return Some(r);
            }
        }
        level = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(ca_file: &str) -> MqttConfig {
        MqttConfig {
            url: "mqtts://broker.lan".into(),
            ca_file: ca_file.into(),
            ..MqttConfig::default()
        }
    }

    #[test]
    fn a_ca_file_without_certificates_is_named_in_the_error() {
        let dir = std::env::temp_dir().join(format!("rtcam-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_config(&config(&empty.to_string_lossy()))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("mqtt.ca_file") && err.contains("empty.pem"),
            "{err}"
        );
        let err = client_config(&config("/nonexistent/ca.crt"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/ca.crt"), "{err}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn verify_failures_inside_io_errors_are_explained() {
        let m = config("/etc/rtcam/ca.crt");
        let unknown = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let why = explain(&unknown, &m, "broker.lan").expect("explained");
        assert!(why.contains("/etc/rtcam/ca.crt"), "{why}");
        let name = rustls::Error::InvalidCertificate(CertificateError::NotValidForName);
        let why = explain(&name, &m, "broker.lan").unwrap();
        assert!(why.contains("\"broker.lan\""), "{why}");
        let expired = rustls::Error::InvalidCertificate(CertificateError::Expired);
        assert!(explain(&expired, &m, "h").unwrap().contains("clock"));
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(explain(&refused, &m, "h"), None);
    }
}
