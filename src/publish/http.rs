//! JSON over plain HTTP/1.1 for the media servers' APIs (hyper, already linked for the page
//! server), each request bounded in time and the reply in size.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::Request;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

use super::PublishError;

/// Replies larger than this are refused (Janus's are a few KiB; an answer SDP ~4 KiB).
const MAX_REPLY_BYTES: usize = 1 << 20;

#[derive(Clone)]
pub struct JsonHttp {
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Default for JsonHttp {
    fn default() -> Self {
        Self {
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }
}

impl JsonHttp {
    /// POSTs `body` to `url` and reads the JSON reply, within `timeout`.
    pub async fn post(
        &self,
        url: &str,
        body: &Value,
        timeout: Duration,
    ) -> Result<Value, PublishError> {
        let req = Request::post(url)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|e| PublishError::Http(format!("{url}: {e}")))?;
        self.send(url, req, timeout).await
    }

    /// GETs `url` (Janus's long poll) and reads the JSON reply, within `timeout`.
    pub async fn get(&self, url: &str, timeout: Duration) -> Result<Value, PublishError> {
        let req = Request::get(url)
            .body(Full::new(Bytes::new()))
            .map_err(|e| PublishError::Http(format!("{url}: {e}")))?;
        self.send(url, req, timeout).await
    }

    async fn send(
        &self,
        url: &str,
        req: Request<Full<Bytes>>,
        timeout: Duration,
    ) -> Result<Value, PublishError> {
        let work = async {
            let res = self
                .client
                .request(req)
                .await
                .map_err(|e| PublishError::Http(format!("{url}: {}", root_cause(&e))))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_REPLY_BYTES)
                .collect()
                .await
                .map_err(|e| PublishError::Http(format!("{url}: reading the reply: {e}")))?
                .to_bytes();
            if !status.is_success() {
                let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                return Err(PublishError::Status(status.as_u16(), text));
            }
            serde_json::from_slice(&body)
                .map_err(|e| PublishError::Http(format!("{url}: the reply is not JSON: {e}")))
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| PublishError::Http(format!("{url}: no reply within {timeout:?}")))?
    }
}

/// The innermost error: "Connection refused (os error 111)" rather than "client error (Connect)".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}
