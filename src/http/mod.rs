//! The viewer page server: the built viewer (`web/dist`) plus `/config.json`, which tells the
//! page which broker, prefix and device to use, on hyper/axum with tower-http's file service.
//! GET and HEAD only, no directory listings, nothing outside the root (symlinks included).
//! Bounded: at most `http.max_connections` open connections (the oldest is closed to make
//! room), a request head must arrive and a connection must keep moving within
//! `http.idle_timeout_s`, files are streamed, never read whole into memory.
//!
//! - [`routes`]: what is answered.
//! - [`server`]: the accept loop, limits and graceful stop.
//! - [`idle`]: the progress stamp behind the idle timeout.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::config::browser_broker_url;

mod idle;
mod routes;
mod server;
#[cfg(test)]
mod tests;

/// How much the page server lets clients hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Open connections at most (`http.max_connections`).
    pub max_connections: usize,
    /// Time for a request head, and longest a connection may move no byte
    /// (`http.idle_timeout_s`).
    pub idle_timeout: Duration,
}

impl Limits {
    pub fn from_config(http: &crate::config::HttpConfig) -> Self {
        Self {
            max_connections: http.max_connections,
            idle_timeout: Duration::from_secs(http.idle_timeout_s),
        }
    }
}

/// Errors starting the web server.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid value for `http.listen`: {0:?} is not an address like 0.0.0.0:8080")]
    Listen(String),
    #[error("cannot listen on {addr} for the viewer page (http.listen): {cause}")]
    Bind {
        addr: SocketAddr,
        cause: std::io::Error,
    },
}

/// Starts the viewer page server (`http.listen`).
pub async fn start(
    config: &crate::Config,
    device_id: &str,
    stop: watch::Receiver<bool>,
) -> Result<SocketAddr, HttpError> {
    let addr: SocketAddr = config
        .http
        .listen
        .parse()
        .map_err(|_| HttpError::Listen(config.http.listen.clone()))?;
    let broker = browser_broker_url(&config.http.broker_url, &config.mqtt.url);
    // Only STUN servers are shared here (TURN goes to viewers in the offer, with
    // short-lived credentials: docs/protocol.md).
    let stun: Vec<String> = config
        .webrtc
        .ice_servers
        .iter()
        .filter(|s| !s.is_turn() && s.shared_with_viewers())
        .flat_map(|s| s.urls.iter().cloned())
        .collect();
    let site = Site {
        root: find_root(&config.http.root),
        config_json: config_json(&broker, &config.mqtt.prefix, device_id, &stun),
    };
    if site.root.is_none() && !config.http.root.is_empty() {
        warn!(root = %config.http.root, "http.root holds no index.html");
    }
    let local = serve(addr, site, Limits::from_config(&config.http), stop).await?;
    info!(url = %format!("http://{local}/"), broker = %broker, "viewer page");
    Ok(local)
}

/// What the server serves.
#[derive(Debug, Clone)]
pub struct Site {
    /// Directory of the built viewer; `None` when it was not found (a help page is served).
    pub root: Option<PathBuf>,
    /// Body of `/config.json`.
    pub config_json: String,
}

/// Where the built viewer usually is, in search order.
pub fn default_roots() -> Vec<PathBuf> {
    let mut roots = Vec::new();
    if let Ok(exe) = std::env::current_exe() {
        if let Some(bin) = exe.parent() {
            roots.push(bin.join("../share/rtcam/www"));
        }
    }
    roots.push(PathBuf::from("/usr/share/rtcam/www"));
    roots.push(PathBuf::from("web/dist"));
    roots
}

/// The configured root, or the first default root that holds an `index.html`.
pub fn find_root(configured: &str) -> Option<PathBuf> {
    let candidates = if configured.is_empty() {
        default_roots()
    } else {
        vec![PathBuf::from(configured)]
    };
    candidates
        .into_iter()
        .find(|d| d.join("index.html").is_file())
        .and_then(|d| d.canonicalize().ok())
}

/// Binds `addr` and serves `site` within `limits` until `stop` turns true. Returns the bound
/// address.
pub async fn serve(
    addr: SocketAddr,
    site: Site,
    limits: Limits,
    stop: watch::Receiver<bool>,
) -> Result<SocketAddr, HttpError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|cause| HttpError::Bind { addr, cause })?;
    let local = listener
        .local_addr()
        .map_err(|cause| HttpError::Bind { addr, cause })?;
    match &site.root {
        Some(root) => info!(
            %local,
            root = %root.display(),
            max_connections = limits.max_connections,
            idle_timeout_s = limits.idle_timeout.as_secs_f32(),
            "viewer page served"
        ),
        None => warn!(
            %local,
            "viewer page not found (build it: cd web && npm ci && npm run build, or set http.root); \
             serving a help page"
        ),
    }
    let router = routes::router(Arc::new(site));
    tokio::spawn(server::accept_loop(listener, router, limits, stop));
    Ok(local)
}

/// The body of `/config.json` for a device.
pub fn config_json(broker_url: &str, prefix: &str, device: &str, stun_urls: &[String]) -> String {
    serde_json::json!({
        "broker": broker_url,
        "prefix": prefix,
        "device": device,
        "ice_servers": if stun_urls.is_empty() {
            serde_json::Value::Array(vec![])
        } else {
            serde_json::json!([{ "urls": stun_urls }])
        },
    })
    .to_string()
}
