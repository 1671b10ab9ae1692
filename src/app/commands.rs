//! The commands beside `run`: the zero-setup demo and the status query `rtcam status` makes.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::signaling::protocol::Topics;

/// `rtcam demo`'s options.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// MQTT over TCP listener of the embedded broker.
    pub broker_listen: SocketAddr,
    /// MQTT over WebSocket listener of the embedded broker (for browsers).
    pub broker_ws_listen: SocketAddr,
    pub device_id: String,
    /// Where the viewer page is served.
    pub http_listen: SocketAddr,
    /// Directory of the built viewer; `None`: the usual places.
    pub web_root: Option<PathBuf>,
    /// Where talkback goes; `None`: the config's sink, or a WAV file in the temporary directory.
    pub talkback_wav: Option<PathBuf>,
}

/// Starts the embedded broker, points `config` at it, prints where everything is and runs the
/// daemon until `shutdown`.
pub async fn demo(
    mut config: Config,
    opts: DemoOptions,
    shutdown: impl std::future::Future<Output = ()>,
) -> Result<(), super::Error> {
    let broker = crate::broker::start(opts.broker_listen, opts.broker_ws_listen)?;
    config.device_id = opts.device_id;
    config.mqtt.url = format!("mqtt://{}", broker.tcp);
    config.http.listen = opts.http_listen.to_string();
    if let Some(root) = opts.web_root {
        config.http.root = root.display().to_string();
    }
    // Browsers reach the embedded broker on the host they loaded the page from.
    config.http.broker_url = format!("ws://{{host}}:{}/mqtt", broker.ws.port());
    if let Some(wav) = opts.talkback_wav {
        config.audio.talkback_device = format!("wav:{}", wav.display());
    } else if config.audio.talkback_device.is_empty() {
        let wav = std::env::temp_dir().join("rtcam-demo-talkback.wav");
        config.audio.talkback_device = format!("wav:{}", wav.display());
    }
    config.validate()?;
    let root = format!("{}/{}", config.mqtt.prefix, config.resolved_device_id());
    let page_host = match opts.http_listen.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    println!("rtcam demo");
    println!(
        "  Viewer:           http://{page_host}:{}/   <- open this in a browser",
        opts.http_listen.port()
    );
    println!("  MQTT (TCP):       mqtt://{}", broker.tcp);
    println!("  MQTT (WebSocket): ws://{}/mqtt", broker.ws);
    println!("  topic root:       {root}  (status: {root}/status, offer: {root}/offer)");
    println!(
        "  talkback:         {}",
        config.audio.talkback_device.trim_start_matches("wav:")
    );
    if crate::http::find_root(&config.http.root).is_none() {
        println!(
            "  (the viewer page is not built: run ./scripts/demo.sh, or \
             cd web && npm ci && npm run build)"
        );
    }
    println!("  Press Ctrl-C to stop.");
    super::run(config, shutdown).await
}

/// `rtcam status`: prints the device's retained status; `Ok(true)` when it is online.
pub async fn print_status(config: &Config, wait: Duration) -> Result<bool, super::Error> {
    let topics = Topics::new(&config.mqtt.prefix, &config.resolved_device_id());
    let status = crate::signaling::status_query::query_status(&config.mqtt, &topics, wait).await?;
    Ok(match status {
        Some(s) => {
            println!("{s}");
            // Where the device publishes (`[[publish]]`), in words.
            for p in s["publish"].as_array().into_iter().flatten() {
                let error = p["error"]
                    .as_str()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default();
                println!(
                    "publishing to {}: {}{error}",
                    p["target"].as_str().unwrap_or("?"),
                    p["state"].as_str().unwrap_or("?")
                );
            }
            s["state"] == "online"
        }
        None => {
            eprintln!(
                "rtcam: no status for {} on {}: the device never connected to this broker \
                 (or uses another prefix or device id)",
                topics.root(),
                config.mqtt.url
            );
            false
        }
    })
}
