//! The viewer page server: a small HTTP/1.1 static file server for the built viewer
//! (`web/dist`) plus `/config.json`, which tells the page which broker, prefix and device to
//! use. GET and HEAD only, one request per connection, no directory listings, nothing outside
//! the root (symlinks included) is ever served.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};

use crate::config::browser_broker_url;
use files::{route, write_reply};
use request::{parse_request, read_head};
use tokio::sync::watch;
use tracing::{debug, info, warn};

mod files;
mod request;
#[cfg(test)]
mod tests;

/// Largest request head accepted.
const MAX_HEAD: usize = 8 * 1024;
/// Time a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest file served (the bundled viewer and its source map are well below).
const MAX_FILE: u64 = 16 * 1024 * 1024;

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
    // Only credential-free (STUN) servers are shared with browsers.
    let stun: Vec<String> = config
        .webrtc
        .ice_servers
        .iter()
        .filter(|s| s.username.is_empty())
        .flat_map(|s| s.urls.iter().cloned())
        .collect();
    let site = Site {
        root: find_root(&config.http.root),
        config_json: config_json(&broker, &config.mqtt.prefix, device_id, &stun),
    };
    if site.root.is_none() && !config.http.root.is_empty() {
        warn!(root = %config.http.root, "http.root holds no index.html");
    }
    let local = serve(addr, site, stop).await?;
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

/// Binds `addr` and serves `site` until `stop` turns true. Returns the bound address.
pub async fn serve(
    addr: SocketAddr,
    site: Site,
    mut stop: watch::Receiver<bool>,
) -> Result<SocketAddr, HttpError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|cause| HttpError::Bind { addr, cause })?;
    let local = listener
        .local_addr()
        .map_err(|cause| HttpError::Bind { addr, cause })?;
    match &site.root {
        Some(root) => info!(%local, root = %root.display(), "viewer page served"),
        None => warn!(
            %local,
            "viewer page not found (build it: cd web && npm ci && npm run build, or set http.root); \
             serving a help page"
        ),
    }
    let site = std::sync::Arc::new(site);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        let site = site.clone();
                        tokio::spawn(async move {
                            if let Err(e) = handle(stream, &site).await {
                                debug!(%peer, cause = %e, "HTTP connection ended with an error");
                            }
                        });
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait a little, keep serving.
                        warn!(cause = %e, "accepting an HTTP connection failed");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                },
            }
        }
    });
    Ok(local)
}

async fn handle(mut stream: TcpStream, site: &Site) -> std::io::Result<()> {
    let head = match tokio::time::timeout(HEAD_TIMEOUT, read_head(&mut stream)).await {
        Ok(r) => r?,
        Err(_) => return Ok(()),
    };
    let (head_only, reply) = match parse_request(&head) {
        Ok(req) => (req.head_only, route(&req.path, site).await),
        Err(reply) => (false, reply),
    };
    write_reply(&mut stream, head_only, reply).await
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
