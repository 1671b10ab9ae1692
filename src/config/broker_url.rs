//! Broker URLs: `mqtt.url` as the device connects to it, and the WebSocket URL browsers use.
//! Both are parsed with the `url` crate, once, here.

use url::{Host, Url};

use super::{invalid, ConfigError};

/// What the viewer page is told when nothing better is known: the broker's WebSocket
/// listener on the host the page was loaded from (`{host}`), at mosquitto's and rtcam demo's
/// usual port.
pub const DEFAULT_BROWSER_BROKER_URL: &str = "ws://{host}:8083/mqtt";

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

fn parse(url: &str) -> Result<Url, ConfigError> {
    // Without "://" the url crate would read `localhost:1883` as scheme `localhost`.
    let Some((_, rest)) = url.split_once("://") else {
        return Err(invalid(
            "mqtt.url",
            format!("{url:?} has no scheme (mqtt://, mqtts://, ws://, wss://)"),
        ));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    // The url crate would skip extra slashes (`ws:///mqtt` as host `mqtt`).
    if authority.is_empty() {
        return Err(invalid("mqtt.url", format!("{url:?} has no host")));
    }
    if authority.contains('@') {
        return Err(invalid(
            "mqtt.url",
            "credentials do not belong in the URL: set mqtt.username and mqtt.password",
        ));
    }
    Url::parse(url).map_err(|e| match e {
        url::ParseError::InvalidPort => invalid("mqtt.url", format!("bad port in {url:?}")),
        url::ParseError::EmptyHost => invalid("mqtt.url", format!("{url:?} has no host")),
        other => invalid("mqtt.url", format!("{url:?} is not a URL: {other}")),
    })
}

/// An IPv6 zone (`[fe80::1%eth0]`), which URLs cannot carry: the text without it, and the
/// zone to put back on the host (the socket library understands `fe80::1%eth0`).
fn split_zone(text: &str) -> (String, Option<String>) {
    let (Some(open), Some(close)) = (text.find('['), text.find(']')) else {
        return (text.to_string(), None);
    };
    match text[open..close].find('%') {
        Some(at) => {
            let at = open + at;
            let zone = text[at + 1..close].to_string();
            (format!("{}{}", &text[..at], &text[close..]), Some(zone))
        }
        None => (text.to_string(), None),
    }
}

/// The host as a socket library wants it: IPv6 literals without their brackets.
fn host_name(host: &Host<&str>) -> String {
    match host {
        Host::Domain(d) => d.to_string(),
        Host::Ipv4(a) => a.to_string(),
        Host::Ipv6(a) => a.to_string(),
    }
}

impl BrokerUrl {
    /// The host name or address the connection goes to (what a TLS certificate must name).
    pub fn host(&self) -> String {
        match self {
            BrokerUrl::Tcp { host, .. } | BrokerUrl::Tls { host, .. } => host.clone(),
            BrokerUrl::Ws { url } | BrokerUrl::Wss { url } => url::Url::parse(url)
                .ok()
                .and_then(|u| u.host_str().map(str::to_string))
                .unwrap_or_default(),
        }
    }

    /// Parses `mqtt.url`.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let (plain, zone) = split_zone(text.trim());
        let url = parse(&plain)?;
        let mut host = match url.host() {
            Some(h) if !host_name(&h).is_empty() => host_name(&h),
            _ => return Err(invalid("mqtt.url", format!("{text:?} has no host"))),
        };
        if let Some(zone) = zone {
            if matches!(url.scheme(), "ws" | "wss") {
                return Err(invalid(
                    "mqtt.url",
                    "IPv6 zones (%…) work with mqtt:// and mqtts:// only",
                ));
            }
            host = format!("{host}%{zone}");
        }
        let port = |default: u16| url.port().unwrap_or(default);
        match url.scheme() {
            "mqtt" | "tcp" => Ok(BrokerUrl::Tcp {
                host,
                port: port(1883),
            }),
            "mqtts" | "ssl" => Ok(BrokerUrl::Tls {
                host,
                port: port(8883),
            }),
            // The normalised URL: the WebSocket client wants the scheme in lower case.
            "ws" => Ok(BrokerUrl::Ws {
                url: url.as_str().to_string(),
            }),
            "wss" => Ok(BrokerUrl::Wss {
                url: url.as_str().to_string(),
            }),
            other => Err(invalid(
                "mqtt.url",
                format!("unsupported scheme {other:?} (use mqtt://, mqtts://, ws:// or wss://)"),
            )),
        }
    }
}

/// The broker URL browsers use: `http.broker_url` if set; else `mqtt.url` when it is a
/// WebSocket URL (loopback hosts replaced by `{host}`: the browser is elsewhere); else
/// [`DEFAULT_BROWSER_BROKER_URL`].
pub fn browser_broker_url(configured: &str, mqtt_url: &str) -> String {
    if !configured.is_empty() {
        return configured.to_string();
    }
    let Ok(url) = parse(mqtt_url) else {
        return DEFAULT_BROWSER_BROKER_URL.to_string();
    };
    if !matches!(url.scheme(), "ws" | "wss") {
        return DEFAULT_BROWSER_BROKER_URL.to_string();
    }
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d == "localhost",
        Some(Host::Ipv4(a)) => a.is_loopback() || a.is_unspecified(),
        Some(Host::Ipv6(a)) => a.is_loopback() || a.is_unspecified(),
        None => false,
    };
    if !loopback {
        return mqtt_url.to_string();
    }
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    // The url crate writes an empty path as "/": keep what the user wrote.
    let path = match url.path() {
        "/" if !mqtt_url.trim_end().ends_with('/') => "",
        p => p,
    };
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!("{}://{{host}}{port}{path}{query}", url.scheme())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        assert_eq!(
            BrokerUrl::parse("mqtt://127.0.0.1:1884").unwrap(),
            BrokerUrl::Tcp {
                host: "127.0.0.1".into(),
                port: 1884
            }
        );
        assert_eq!(
            BrokerUrl::parse("mqtts://broker.lan").unwrap(),
            BrokerUrl::Tls {
                host: "broker.lan".into(),
                port: 8883
            }
        );
        assert_eq!(
            BrokerUrl::parse("mqtt://[::1]:1883").unwrap(),
            BrokerUrl::Tcp {
                host: "::1".into(),
                port: 1883
            }
        );
        assert_eq!(
            BrokerUrl::parse("ws://127.0.0.1:8083/mqtt").unwrap(),
            BrokerUrl::Ws {
                url: "ws://127.0.0.1:8083/mqtt".into()
            }
        );
        assert!(BrokerUrl::parse("mqtt://:1883").is_err());
        assert!(BrokerUrl::parse("mqtt://h:99999").is_err());
        assert!(BrokerUrl::parse("127.0.0.1").is_err());
        assert!(BrokerUrl::parse("localhost:1883").is_err());
        assert!(BrokerUrl::parse("http://broker.lan").is_err());
    }

    #[test]
    fn odd_broker_urls_are_normalised_or_explained() {
        assert_eq!(
            BrokerUrl::parse("MQTT://Broker.LAN").unwrap(),
            BrokerUrl::Tcp {
                host: "Broker.LAN".into(),
                port: 1883
            }
        );
        assert_eq!(
            BrokerUrl::parse("WS://127.0.0.1:9001/mqtt").unwrap(),
            BrokerUrl::Ws {
                url: "ws://127.0.0.1:9001/mqtt".into()
            }
        );
        assert_eq!(
            BrokerUrl::parse("mqtt://[fe80::1%eth0]:1884").unwrap(),
            BrokerUrl::Tcp {
                host: "fe80::1%eth0".into(),
                port: 1884
            }
        );
        assert!(BrokerUrl::parse("ws://[fe80::1%eth0]:9001").is_err());
        assert!(BrokerUrl::parse("ws:///mqtt").is_err(), "no host");
        assert!(
            BrokerUrl::parse("mqtt://::1:1883").is_err(),
            "IPv6 needs brackets"
        );
        let err = BrokerUrl::parse("mqtt://user:secret@broker.lan").unwrap_err();
        assert!(err.to_string().contains("mqtt.username"), "{err}");
    }

    #[test]
    fn broker_url_for_browsers() {
        assert_eq!(
            browser_broker_url("wss://cam.example/mqtt", "mqtt://127.0.0.1:1883"),
            "wss://cam.example/mqtt"
        );
        assert_eq!(
            browser_broker_url("", "ws://127.0.0.1:9001/mqtt"),
            "ws://{host}:9001/mqtt"
        );
        assert_eq!(
            browser_broker_url("", "ws://[::1]:9001/mqtt"),
            "ws://{host}:9001/mqtt"
        );
        assert_eq!(
            browser_broker_url("", "ws://broker.lan:9001"),
            "ws://broker.lan:9001"
        );
        assert_eq!(
            browser_broker_url("", "ws://localhost:9001"),
            "ws://{host}:9001"
        );
        assert_eq!(
            browser_broker_url("", "mqtt://127.0.0.1:1883"),
            DEFAULT_BROWSER_BROKER_URL
        );
    }
}
