//! Answers: files from the root (never outside it), `/config.json`, the help page shown when
//! the viewer is not built, and writing the reply.

use std::path::{Component, Path, PathBuf};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tracing::warn;

use super::request::{status, Reply};
use super::{Site, MAX_FILE};

/// The file under `root` that `path` names, or `None` when it would leave the root.
pub(super) fn resolve(root: &Path, path: &str) -> Option<PathBuf> {
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

pub(super) fn content_type(path: &Path) -> &'static str {
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

pub(super) async fn route(path: &str, site: &Site) -> Reply {
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

pub(super) async fn write_reply(
    stream: &mut TcpStream,
    head_only: bool,
    reply: Reply,
) -> std::io::Result<()> {
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
