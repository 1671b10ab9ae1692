//! The viewer page server: a small HTTP/1.1 static file server for the built viewer
//! (`web/dist`) plus `/config.json`, which tells the page which broker, prefix and device to
//! use. GET and HEAD only, one request per connection, no directory listings, nothing outside
//! the root (symlinks included) is ever served.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tracing::{debug, info, warn};

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

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
struct Request {
    head_only: bool,
    path: String,
}

/// What to answer.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    Ok {
        content_type: &'static str,
        body: Vec<u8>,
    },
    Status {
        code: u16,
        reason: &'static str,
        body: String,
    },
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

async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(buf);
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.windows(4).any(|w| w == b"\r\n\r\n") || buf.len() >= MAX_HEAD {
            return Ok(buf);
        }
    }
}

fn status(code: u16, reason: &'static str, body: impl Into<String>) -> Reply {
    Reply::Status {
        code,
        reason,
        body: body.into(),
    }
}

fn parse_request(head: &[u8]) -> Result<Request, Reply> {
    let text = std::str::from_utf8(head).map_err(|_| status(400, "Bad Request", "not UTF-8"))?;
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(status(400, "Bad Request", "malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(status(505, "HTTP Version Not Supported", "HTTP/1.x only"));
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Err(status(405, "Method Not Allowed", "GET and HEAD only")),
    };
    let path = target.split(['?', '#']).next().unwrap_or("/");
    let path = percent_decode(path).ok_or_else(|| status(400, "Bad Request", "bad escape"))?;
    Ok(Request { head_only, path })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The file under `root` that `path` names, or `None` when it would leave the root.
fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.trim_start_matches('/');
    let relative = if relative.is_empty() || relative.ends_with('/') {
        format!("{relative}index.html")
    } else {
        relative.to_string()
    };
    let rel = Path::new(&relative);
    if relative.contains('\0')
        || rel
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(root.join(rel))
}

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "ico" => "image/x-icon",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

const HELP_PAGE: &str = "<!doctype html><meta charset=utf-8><title>rtcam: viewer not installed</title>\
<h1>The rtcam viewer page is not installed here</h1>\
<p>rtcam is running, but it found no built viewer. Build it from the source tree with \
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (or run <code>./scripts/demo.sh</code>), \
or point <code>http.root</code> at a directory holding <code>index.html</code> and <code>viewer.js</code>.</p>";

async fn route(path: &str, site: &Site) -> Reply {
    if path == "/config.json" {
        return Reply::Ok {
            content_type: "application/json",
            body: site.config_json.clone().into_bytes(),
        };
    }
    let Some(root) = &site.root else {
        return if path == "/" || path == "/index.html" {
            status(503, "Service Unavailable", HELP_PAGE)
        } else {
            status(404, "Not Found", "not found")
        };
    };
    let Some(file) = resolve(root, path) else {
        return status(404, "Not Found", "not found");
    };
    // Symlinks must not lead out of the root.
    let Ok(real) = tokio::fs::canonicalize(&file).await else {
        return status(404, "Not Found", "not found");
    };
    if !real.starts_with(root) {
        return status(404, "Not Found", "not found");
    }
    match tokio::fs::metadata(&real).await {
        Ok(m) if m.is_file() && m.len() <= MAX_FILE => {}
        _ => return status(404, "Not Found", "not found"),
    }
    match tokio::fs::read(&real).await {
        Ok(body) => Reply::Ok {
            content_type: content_type(&real),
            body,
        },
        Err(e) => {
            warn!(file = %real.display(), cause = %e, "cannot read a viewer file");
            status(500, "Internal Server Error", "cannot read the file")
        }
    }
}

async fn write_reply(stream: &mut TcpStream, head_only: bool, reply: Reply) -> std::io::Result<()> {
    let (code, reason, content_type, body) = match reply {
        Reply::Ok { content_type, body } => (200, "OK", content_type, body),
        Reply::Status { code, reason, body } => {
            let ct = if body.starts_with("<!doctype") {
                "text/html; charset=utf-8"
            } else {
                "text/plain; charset=utf-8"
            };
            (code, reason, ct, body.into_bytes())
        }
    };
    let mut head = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Cache-Control: no-cache\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n",
        body.len()
    );
    if code == 405 {
        head.push_str("Allow: GET, HEAD\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if !head_only {
        stream.write_all(&body).await?;
    }
    stream.shutdown().await
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

/// The broker URL browsers use: `http.broker_url` if set; else `mqtt.url` when it is a
/// WebSocket URL (loopback hosts replaced by `{host}`); else `ws://{host}:8083/mqtt`.
pub fn browser_broker_url(configured: &str, mqtt_url: &str) -> String {
    if !configured.is_empty() {
        return configured.to_string();
    }
    if mqtt_url.starts_with("ws://") || mqtt_url.starts_with("wss://") {
        let (scheme, rest) = mqtt_url.split_once("://").unwrap_or(("ws", mqtt_url));
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !p.contains(']') => (h, Some(p)),
            _ => (authority, None),
        };
        let loopback =
            matches!(host, "localhost" | "[::1]" | "0.0.0.0" | "[::]") || host.starts_with("127.");
        if loopback {
            let port = port.map(|p| format!(":{p}")).unwrap_or_default();
            return format!("{scheme}://{{host}}{port}{path}");
        }
        return mqtt_url.to_string();
    }
    "ws://{host}:8083/mqtt".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_parsed_and_limited_to_get_and_head() {
        assert_eq!(
            parse_request(b"GET /a%20b.js?x=1 HTTP/1.1\r\n\r\n").unwrap(),
            Request {
                head_only: false,
                path: "/a b.js".into()
            }
        );
        assert!(parse_request(b"HEAD / HTTP/1.0\r\n\r\n").unwrap().head_only);
        assert!(matches!(
            parse_request(b"POST / HTTP/1.1\r\n\r\n"),
            Err(Reply::Status { code: 405, .. })
        ));
        assert!(matches!(
            parse_request(b"garbage\r\n\r\n"),
            Err(Reply::Status { code: 400, .. })
        ));
        assert!(matches!(
            parse_request(b"GET /%zz HTTP/1.1\r\n\r\n"),
            Err(Reply::Status { code: 400, .. })
        ));
    }

    #[test]
    fn paths_never_leave_the_root() {
        let root = Path::new("/srv/www");
        assert_eq!(resolve(root, "/"), Some(root.join("index.html")));
        assert_eq!(resolve(root, "/viewer.js"), Some(root.join("viewer.js")));
        assert_eq!(resolve(root, "/a/"), Some(root.join("a/index.html")));
        assert_eq!(resolve(root, "/../etc/passwd"), None);
        assert_eq!(resolve(root, "/a/../../x"), None);
        assert_eq!(resolve(root, "/./x"), Some(root.join("x")));
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
            browser_broker_url("", "ws://broker.lan:9001"),
            "ws://broker.lan:9001"
        );
        assert_eq!(
            browser_broker_url("", "mqtt://127.0.0.1:1883"),
            "ws://{host}:8083/mqtt"
        );
    }

    #[tokio::test]
    async fn serves_files_config_and_refuses_the_rest() {
        let dir = std::env::temp_dir().join(format!("rtcam-http-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.html"), "<!doctype html>hi").unwrap();
        std::fs::write(dir.join("viewer.js"), "let x = 1;").unwrap();
        let site = Site {
            root: Some(dir.canonicalize().unwrap()),
            config_json: config_json("ws://{host}:8083/mqtt", "rtcam", "demo", &[]),
        };
        let (_tx, rx) = watch::channel(false);
        let addr = serve("127.0.0.1:0".parse().unwrap(), site, rx)
            .await
            .unwrap();
        async fn get(addr: SocketAddr, req: &str) -> String {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(req.as_bytes()).await.unwrap();
            let mut out = String::new();
            tokio::time::timeout(Duration::from_secs(5), s.read_to_string(&mut out))
                .await
                .unwrap()
                .unwrap();
            out
        }
        let r = get(addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(r.contains("text/html") && r.ends_with("hi"), "{r}");
        let r = get(addr, "GET /viewer.js HTTP/1.1\r\n\r\n").await;
        assert!(
            r.contains("text/javascript") && r.ends_with("let x = 1;"),
            "{r}"
        );
        let r = get(addr, "HEAD /viewer.js HTTP/1.1\r\n\r\n").await;
        assert!(
            r.contains("Content-Length: 10") && r.ends_with("\r\n\r\n"),
            "{r}"
        );
        let r = get(addr, "GET /config.json HTTP/1.1\r\n\r\n").await;
        let body = r.split("\r\n\r\n").nth(1).unwrap();
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["device"], "demo");
        assert_eq!(v["broker"], "ws://{host}:8083/mqtt");
        let r = get(addr, "GET /../../etc/passwd HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404"), "{r}");
        let r = get(addr, "GET /missing.js HTTP/1.1\r\n\r\n").await;
        assert!(r.starts_with("HTTP/1.1 404"), "{r}");
        let r = get(addr, "DELETE / HTTP/1.1\r\n\r\n").await;
        assert!(
            r.starts_with("HTTP/1.1 405") && r.contains("Allow: GET, HEAD"),
            "{r}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }

    #[tokio::test]
    async fn without_a_built_viewer_a_help_page_explains_how_to_build_it() {
        let site = Site {
            root: None,
            config_json: "{}".into(),
        };
        let (_tx, rx) = watch::channel(false);
        let addr = serve("127.0.0.1:0".parse().unwrap(), site, rx)
            .await
            .unwrap();
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).await.unwrap();
        assert!(out.starts_with("HTTP/1.1 503"), "{out}");
        assert!(out.contains("npm run build"), "{out}");
    }
}
