//! Why the broker connection failed, in words that name the fix: a message bigger than
//! `mqtt.max_message_kib`, or TLS (a certificate that does not verify, a client certificate
//! wanted). Other errors are logged as rumqttc words them.

use crate::config::{BrokerUrl, MqttConfig};

/// A clear account of a lost connection: an oversized message or a certificate that does
/// not verify gets the fix spelled out.
pub fn explain(e: &rumqttc::ConnectionError, config: &MqttConfig) -> Option<String> {
    use rumqttc::{ConnectionError, Error, StateError};
    // TLS errors come wrapped: in the connect (Tls, Io) or, when TLS 1.3 reports a refused
    // client certificate after the handshake, in the first read (MqttState).
    let host = BrokerUrl::parse(&config.url)
        .map(|u| u.host())
        .unwrap_or_default();
    if let Some(why) = super::tls::explain(e, config, &host) {
        return Some(why);
    }
    match e {
        ConnectionError::MqttState(StateError::Deserialization(
            Error::PayloadSizeLimitExceeded(size),
        )) => Some(format!(
            "the broker delivered a {size}-byte message, more than mqtt.max_message_kib \
             allows; the MQTT client cannot skip it and had to drop the connection (a \
             retained one comes back on every reconnect). Limit the broker's packets to \
             mqtt.max_message_kib or less (mosquitto: max_packet_size), or raise it"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_oversized_message_is_explained_with_the_fix() {
        use rumqttc::{ConnectionError, Error, StateError};
        let e = ConnectionError::MqttState(StateError::Deserialization(
            Error::PayloadSizeLimitExceeded(300_000),
        ));
        let config = MqttConfig::default();
        let why = explain(&e, &config).expect("explained");
        assert!(why.contains("300000-byte"), "{why}");
        assert!(why.contains("max_packet_size"), "{why}");
        assert_eq!(explain(&ConnectionError::RequestsDone, &config), None);
    }

    #[test]
    fn a_client_certificate_refused_after_the_handshake_is_explained() {
        use rumqttc::{ConnectionError, Error, StateError};
        // TLS 1.3: the broker's alert arrives with the first read, deep in rumqttc's errors.
        let alert = rustls::Error::AlertReceived(rustls::AlertDescription::CertificateRequired);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, alert);
        let e = ConnectionError::MqttState(StateError::Deserialization(Error::Io(io)));
        let why = explain(&e, &MqttConfig::default()).expect("explained");
        assert!(why.contains("mqtt.client_cert_file"), "{why}");
    }
}
