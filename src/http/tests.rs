use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::routes::resolve;
use super::*;

const LIMITS: Limits = Limits {
    max_connections: 64,
    idle_timeout: Duration::from_secs(10),
};

/// A fresh directory with a small built viewer in it.
fn site_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtcam-http-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!doctype html>hi").unwrap();
    std::fs::write(dir.join("viewer.js"), "let x = 1;").unwrap();
    dir
}

async fn start(root: Option<&Path>, limits: Limits) -> (SocketAddr, watch::Sender<bool>) {
    let site = Site {
        root: root.map(|r| r.canonicalize().unwrap()),
        config_json: config_json("ws://{host}:8083/mqtt", "rtcam", "demo", &[]),
    };
    let (tx, rx) = watch::channel(false);
    let addr = serve("127.0.0.1:0".parse().unwrap(), site, limits, rx)
        .await
        .unwrap();
    (addr, tx)
}

/// Sends `req` (a request head without its final blank line) and reads the reply to the end.
async fn get(addr: SocketAddr, req: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let req = format!("{req}\r\nHost: x\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out))
        .await
        .expect("reply within 5 s")
        .unwrap();
    String::from_utf8_lossy(&out).into_owned()
}

fn header<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let head = reply.split("\r\n\r\n").next()?;
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
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

#[tokio::test]
async fn serves_files_config_and_refuses_the_rest() {
    let dir = site_dir("serve");
    std::os::unix::fs::symlink("/etc/hostname", dir.join("out.txt")).unwrap();
    let (addr, _stop) = start(Some(&dir), LIMITS).await;
    let r = get(addr, "GET / HTTP/1.1").await;
    assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
    assert_eq!(header(&r, "content-type"), Some("text/html; charset=utf-8"));
    assert_eq!(header(&r, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&r, "cache-control"), Some("no-cache"));
    assert!(r.ends_with("hi"), "{r}");
    let r = get(addr, "GET /viewer.js?v=2 HTTP/1.1").await;
    assert!(
        r.contains("text/javascript") && r.ends_with("let x = 1;"),
        "{r}"
    );
    let r = get(addr, "HEAD /viewer.js HTTP/1.1").await;
    assert_eq!(header(&r, "content-length"), Some("10"), "{r}");
    assert!(r.ends_with("\r\n\r\n"), "{r}");
    let r = get(addr, "GET /config.json HTTP/1.1").await;
    let body = r.split("\r\n\r\n").nth(1).unwrap();
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(v["device"], "demo");
    assert_eq!(v["broker"], "ws://{host}:8083/mqtt");
    for refused in [
        "GET /../../etc/passwd HTTP/1.1",
        "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1",
        "GET /out.txt HTTP/1.1",
        "GET /missing.js HTTP/1.1",
    ] {
        let r = get(addr, refused).await;
        assert!(r.starts_with("HTTP/1.1 404"), "{refused}: {r}");
    }
    let r = get(addr, "DELETE / HTTP/1.1").await;
    assert!(r.starts_with("HTTP/1.1 405"), "{r}");
    assert_eq!(header(&r, "allow"), Some("GET, HEAD"));
    let r = get(addr, "GET /%ff HTTP/1.1").await;
    assert!(r.starts_with("HTTP/1.1 400"), "{r}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn unchanged_files_are_not_sent_again_and_precompressed_ones_are_preferred() {
    let dir = site_dir("cache");
    std::fs::write(dir.join("viewer.js.gz"), b"\x1f\x8bfake-gzip").unwrap();
    let (addr, _stop) = start(Some(&dir), LIMITS).await;
    let r = get(addr, "GET /viewer.js HTTP/1.1").await;
    let modified = header(&r, "last-modified")
        .expect("Last-Modified")
        .to_string();
    let r = get(
        addr,
        &format!("GET /viewer.js HTTP/1.1\r\nIf-Modified-Since: {modified}"),
    )
    .await;
    assert!(r.starts_with("HTTP/1.1 304"), "{r}");
    let r = get(addr, "GET /viewer.js HTTP/1.1\r\nAccept-Encoding: gzip").await;
    assert_eq!(header(&r, "content-encoding"), Some("gzip"), "{r}");
    assert!(
        r.contains("text/javascript") && r.ends_with("fake-gzip"),
        "{r}"
    );
    let r = get(addr, "GET /viewer.js HTTP/1.1").await;
    assert!(r.ends_with("let x = 1;"), "without Accept-Encoding: {r}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn without_a_built_viewer_a_help_page_explains_how_to_build_it() {
    let (addr, _stop) = start(None, LIMITS).await;
    let r = get(addr, "GET / HTTP/1.1").await;
    assert!(r.starts_with("HTTP/1.1 503"), "{r}");
    assert!(r.contains("npm run build"), "{r}");
}

#[tokio::test]
async fn at_the_connection_cap_the_oldest_connection_makes_room() {
    let dir = site_dir("cap");
    let limits = Limits {
        max_connections: 3,
        idle_timeout: Duration::from_secs(30),
    };
    let (addr, _stop) = start(Some(&dir), limits).await;
    let mut silent = Vec::new();
    for _ in 0..3 {
        silent.push(TcpStream::connect(addr).await.unwrap());
        // Accepted in this order, so the first is the oldest.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let r = get(addr, "GET /viewer.js HTTP/1.1").await;
    assert!(r.ends_with("let x = 1;"), "a real request is served: {r}");
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(Duration::from_secs(2), silent[0].read(&mut buf))
        .await
        .expect("the oldest connection is closed");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn clients_that_stall_are_dropped_after_the_idle_timeout() {
    let dir = site_dir("idle");
    // Far more than the socket buffers hold, so a client that never reads stalls the writes.
    let big = vec![b'x'; 32 * 1024 * 1024];
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let limits = Limits {
        max_connections: 64,
        idle_timeout: Duration::from_millis(300),
    };
    let (addr, _stop) = start(Some(&dir), limits).await;

    // Says nothing, then half a request head: closed without a reply.
    let mut mute = TcpStream::connect(addr).await.unwrap();
    mute.write_all(b"GET / HT").await.unwrap();
    let mut out = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(3), mute.read_to_end(&mut out)).await;
    assert!(r.is_ok(), "a silent client is closed");
    assert!(!String::from_utf8_lossy(&out).contains("200 OK"));

    // Asks for the big file and stops reading: the server gives up on it.
    let mut lazy = TcpStream::connect(addr).await.unwrap();
    lazy.write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), lazy.read_to_end(&mut got)).await;
    assert!(
        got.len() < big.len(),
        "the stalled download was cut: {} bytes",
        got.len()
    );

    // Meanwhile and afterwards, normal requests work.
    let r = get(addr, "GET / HTTP/1.1").await;
    assert!(r.ends_with("hi"), "{r}");
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_stop_ends_the_server() {
    let dir = site_dir("stop");
    let (addr, stop) = start(Some(&dir), LIMITS).await;
    let mut idle = TcpStream::connect(addr).await.unwrap();
    stop.send(true).unwrap();
    let mut buf = [0u8; 8];
    let n = tokio::time::timeout(Duration::from_secs(3), idle.read(&mut buf))
        .await
        .expect("open connections are closed at the stop");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
    std::fs::remove_dir_all(&dir).ok();
}
