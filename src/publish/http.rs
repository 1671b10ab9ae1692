//! HTTP/1.1 for the media servers' APIs (hyper, already linked for the page server): one
//! connection per request, plain or TLS (rustls with the system's roots), each request
//! bounded in time and its reply in size. JSON helpers for Janus; raw requests for WHIP.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use url::Url;

use super::PublishError;

/// Replies larger than this are refused (Janus's are a few KiB; an answer SDP ~4 KiB).
const MAX_REPLY_BYTES: usize = 1 << 20;

/// A reply: its status, headers and body.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One request to `url`, within `timeout`.
pub async fn send(
    method: Method,
    url: &Url,
    headers: &[(&str, String)],
    body: Bytes,
    timeout: Duration,
) -> Result<Reply, PublishError> {
    let fail = |what: String| PublishError::Http(format!("{url}: {what}"));
    let work = async {
        let host = url
            .host_str()
            .ok_or_else(|| fail("no host".into()))?
            .to_string();
        let port = url
            .port_or_known_default()
            .ok_or_else(|| fail("no port".into()))?;
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| fail(e.to_string()))?;
        let mut req = Request::builder().method(method).uri(path_and_query(url));
        req = req.header("host", authority(url));
        for (name, value) in headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| fail(e.to_string()))?;
            let value = HeaderValue::from_str(value).map_err(|e| fail(e.to_string()))?;
            req = req.header(name, value);
        }
        let req = req.body(Full::new(body)).map_err(|e| fail(e.to_string()))?;
        let res = if url.scheme() == "https" {
            let name = rustls::pki_types::ServerName::try_from(host.clone())
                .map_err(|e| fail(e.to_string()))?;
            let tls = tokio_rustls::TlsConnector::from(tls_config()?)
                .connect(name, tcp)
                .await
                .map_err(|e| fail(format!("TLS: {e}")))?;
            exchange(TokioIo::new(tls), req).await
        } else {
            exchange(TokioIo::new(tcp), req).await
        }
        .map_err(fail)?;
        let status = res.status();
        let headers = res.headers().clone();
        let body = Limited::new(res.into_body(), MAX_REPLY_BYTES)
            .collect()
            .await
            .map_err(|e| fail(format!("reading the reply: {e}")))?
            .to_bytes();
        Ok(Reply {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| fail(format!("no reply within {timeout:?}")))?
}

async fn exchange<T>(
    io: TokioIo<T>,
    req: Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender.send_request(req).await.map_err(|e| root_cause(&e))
}

fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    }
}

fn authority(url: &Url) -> String {
    match url.port() {
        Some(p) => format!("{}:{p}", url.host_str().unwrap_or("")),
        None => url.host_str().unwrap_or("").to_string(),
    }
}

/// The system's roots, loaded once.
fn tls_config() -> Result<Arc<rustls::ClientConfig>, PublishError> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(c) = CONFIG.get() {
        return Ok(c.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(PublishError::Http(
            "no trusted CA certificates on this system (install ca-certificates)".into(),
        ));
    }
    let config = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    Ok(CONFIG.get_or_init(|| config).clone())
}

/// POSTs JSON to `url` and reads the JSON reply (Janus).
pub async fn post_json(url: &str, body: &Value, timeout: Duration) -> Result<Value, PublishError> {
    let url = parse(url)?;
    let headers = [("content-type", "application/json".to_string())];
    json_reply(
        &url,
        send(
            Method::POST,
            &url,
            &headers,
            body.to_string().into(),
            timeout,
        )
        .await?,
    )
}

/// GETs `url` and reads the JSON reply (Janus's long poll).
pub async fn get_json(url: &str, timeout: Duration) -> Result<Value, PublishError> {
    let url = parse(url)?;
    json_reply(
        &url,
        send(Method::GET, &url, &[], Bytes::new(), timeout).await?,
    )
}

fn parse(url: &str) -> Result<Url, PublishError> {
    Url::parse(url).map_err(|e| PublishError::Http(format!("{url}: {e}")))
}

fn json_reply(url: &Url, reply: Reply) -> Result<Value, PublishError> {
    if !reply.status.is_success() {
        return Err(PublishError::Status(
            reply.status.as_u16(),
            excerpt(&reply.body),
        ));
    }
    serde_json::from_slice(&reply.body)
        .map_err(|e| PublishError::Http(format!("{url}: the reply is not JSON: {e}")))
}

/// The start of a reply's body, for an error message.
pub fn excerpt(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(200)])
        .trim()
        .to_string()
}

/// The innermost error: "Connection refused (os error 111)" rather than "client error (Connect)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
