//! Reading and parsing a request head: GET and HEAD only, bounded in size and time.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

use super::MAX_HEAD;

/// A parsed request line.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Request {
    pub head_only: bool,
    pub path: String,
}

/// What to answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Reply {
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

pub(super) async fn read_head(stream: &mut TcpStream) -> std::io::Result<Vec<u8>> {
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

pub(super) fn status(code: u16, reason: &'static str, body: impl Into<String>) -> Reply {
    Reply::Status {
        code,
        reason,
        body: body.into(),
    }
}

pub(super) fn parse_request(head: &[u8]) -> Result<Request, Reply> {
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

pub(super) fn percent_decode(s: &str) -> Option<String> {
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
