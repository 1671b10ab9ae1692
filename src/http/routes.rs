//! What the page server answers: `/config.json`, files from the root (streamed, with
//! conditional GET and the precompressed `.br`/`.gz` siblings the build ships, never anything
//! outside the root, symlinks included), and a help page when the viewer is not built.

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tower::ServiceExt;
use tower_http::services::ServeFile;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Site;

/// The page server's routes for `site`.
pub(super) fn router(site: Arc<Site>) -> Router {
    Router::new()
        .route("/config.json", get(config_json))
        .fallback(file)
        .with_state(site)
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // The page must pick up a new build (and a new broker URL) on the next load.
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

async fn config_json(State(site): State<Arc<Site>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        site.config_json.clone(),
    )
        .into_response()
}

const HELP_PAGE: &str = "<!doctype html><meta charset=utf-8><title>rtcam: viewer not installed</title>\
<h1>The rtcam viewer page is not installed here</h1>\
<p>rtcam is running, but it found no built viewer. Build it from the source tree with \
<code>cd web &amp;&amp; npm ci &amp;&amp; npm run build</code> (or run <code>./scripts/demo.sh</code>), \
or point <code>http.root</code> at a directory holding <code>index.html</code> and <code>viewer.js</code>.</p>";

fn plain(code: StatusCode, body: &'static str) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn file(State(site): State<Arc<Site>>, req: Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "GET and HEAD only");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Ok(path) = percent_encoding::percent_decode_str(req.uri().path()).decode_utf8() else {
        return plain(StatusCode::BAD_REQUEST, "bad escape");
    };
    let Some(root) = &site.root else {
        return if path == "/" || path == "/index.html" {
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                HELP_PAGE,
            )
                .into_response()
        } else {
            plain(StatusCode::NOT_FOUND, "not found")
        };
    };
    let Some(real) = inside(root, &path).await else {
        return plain(StatusCode::NOT_FOUND, "not found");
    };
    // Small chunks: a stalled client holds one chunk, so 64 of them hold 1 MiB, not 4.
    let mut serve = ServeFile::new(&real).with_buf_chunk_size(16 * 1024);
    if sibling_inside(root, &real, "br").await {
        serve = serve.precompressed_br();
    }
    if sibling_inside(root, &real, "gz").await {
        serve = serve.precompressed_gzip();
    }
    let mut res = match serve.oneshot(req).await {
        Ok(res) => res,
        Err(never) => match never {},
    };
    if res.status().is_success() || res.status() == StatusCode::NOT_MODIFIED {
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static(content_type(&real)),
        );
    }
    res.map(Body::new)
}

/// The regular file under `root` that `path` names, with symlinks resolved; `None` when it
/// does not exist or would leave the root.
async fn inside(root: &Path, path: &str) -> Option<PathBuf> {
    let file = resolve(root, path)?;
    let real = tokio::fs::canonicalize(&file).await.ok()?;
    if !real.starts_with(root) {
        return None;
    }
    let meta = tokio::fs::metadata(&real).await.ok()?;
    meta.is_file().then_some(real)
}

/// Whether `file.ext` exists and stays inside the root (ServeFile would follow it blindly).
async fn sibling_inside(root: &Path, file: &Path, ext: &str) -> bool {
    let mut name = file.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    match tokio::fs::canonicalize(PathBuf::from(name)).await {
        Ok(real) => real.starts_with(root),
        Err(_) => false,
    }
}

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
