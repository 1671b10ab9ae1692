//! 300 hostile or broken HTTP clients against the viewer page server while a viewer streams:
//! a third trickle their request head one byte a second, a third connect and say nothing, a
//! third request the (2 MB) viewer script and never read it. The stream must not notice
//! (≥ 25 fps), the server must hold no more than `http.max_connections` connections, a fresh
//! page load must still take under 2 s, and memory must stay flat.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support;
use support::viewer::{window_report, Viewer, ViewerOptions};

const DEVICE: &str = "cam-http-load";
const MAX_CONNECTIONS: usize = 64;
const SCRIPT_BYTES: usize = 2 * 1024 * 1024;

/// Established TCP connections whose local port is `port` (the server's side of them).
fn server_connections(port: u16) -> usize {
    let mut n = 0;
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let local_port = f
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if local_port == Some(port) && f.get(3) == Some(&"01") {
                n += 1;
            }
        }
    }
    n
}

fn rss_kib() -> u64 {
    support::process::proc_stats("self").rss_kib
}

/// One page load as a browser does it: three requests on fresh connections.
async fn page_load(port: u16) -> Result<Duration, String> {
    let start = Instant::now();
    for (path, want) in [
        ("/", "<!doctype html>"),
        ("/config.json", DEVICE),
        ("/viewer.js", ""),
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        s.write_all(req.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut body))
            .await
            .map_err(|_| format!("{path}: no complete reply within 5 s"))?
            .map_err(|e| format!("{path}: {e}"))?;
        let text = String::from_utf8_lossy(&body);
        if !text.starts_with("HTTP/1.1 200") || !text.contains(want) {
            return Err(format!("{path}: unexpected reply {:.200}", text));
        }
        if path == "/viewer.js" && body.len() < SCRIPT_BYTES {
            return Err(format!("/viewer.js cut short: {} bytes", body.len()));
        }
    }
    Ok(start.elapsed())
}

/// A client that misbehaves in one of three ways until `until`.
async fn bad_client(port: u16, kind: usize, until: tokio::time::Instant) {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)).await else {
        return;
    };
    match kind {
        0 => {
            for b in b"GET /viewer.js HTTP/1.1\r\nHost: x\r\n\r\n" {
                if tokio::time::Instant::now() >= until || s.write_all(&[*b]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        1 => {}
        _ => {
            let _ = s
                .write_all(b"GET /viewer.js HTTP/1.1\r\nHost: x\r\n\r\n")
                .await;
        }
    }
    tokio::time::sleep_until(until).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_and_idle_http_clients_do_not_disturb_the_stream_or_the_page() {
    if !support::netns::enter(
        module_path!(),
        "slow_and_idle_http_clients_do_not_disturb_the_stream_or_the_page",
    ) {
        return;
    }
    let root = std::env::temp_dir().join(format!("rtcam-load-www-{}", std::process::id()));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("index.html"),
        "<!doctype html><title>rtcam</title>",
    )
    .unwrap();
    std::fs::write(root.join("viewer.js"), vec![b'/'; SCRIPT_BYTES]).unwrap();

    let port = support::embedded_broker();
    let http_port = support::free_port();
    let mut config = support::device_config(port, DEVICE);
    config.http.listen = format!("127.0.0.1:{http_port}");
    config.http.root = root.display().to_string();
    config.http.max_connections = MAX_CONNECTIONS;
    let device = support::Device::start(config);

    let viewer = Viewer::join(ViewerOptions::new(port, DEVICE, "load-viewer"))
        .await
        .expect("join");
    assert!(viewer.wait_connected(Duration::from_secs(15)).await);
    assert!(
        viewer
            .wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
            .await,
        "the viewer plays before the load"
    );
    let calm = page_load(http_port)
        .await
        .expect("a page load without load");
    let rss_before = rss_kib();

    let until = tokio::time::Instant::now() + Duration::from_secs(14);
    let clients: Vec<_> = (0..300)
        .map(|i| tokio::spawn(bad_client(http_port, i % 3, until)))
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;

    let from = Instant::now();
    let mut most = 0;
    let mut loads = Vec::new();
    for _ in 0..5 {
        most = most.max(server_connections(http_port));
        loads.push(page_load(http_port).await.expect("a page load under load"));
        most = most.max(server_connections(http_port));
        tokio::time::sleep(Duration::from_millis(800)).await;
    }
    let window = Duration::from_secs(5);
    tokio::time::sleep((from + window).saturating_duration_since(Instant::now())).await;
    let r = window_report(&viewer.seen.lock().unwrap(), from, window, 640, 480);
    let rss_after = rss_kib();
    let slowest = loads.iter().max().copied().unwrap_or_default();
    println!(
        "HTTP LOAD: 300 bad clients: viewer decoded {} frames in 5 s, server held at most {most} \
         connections (cap {MAX_CONNECTIONS}), page load {:?} calm / {:?} slowest under load, \
         RSS {} -> {} KiB",
        r.decoded, calm, slowest, rss_before, rss_after
    );
    assert!(r.decoded >= 125, "≥ 25 fps while under load: {r:?}");
    assert!(
        most <= MAX_CONNECTIONS + 2,
        "server connections stay at the cap: {most}"
    );
    assert!(slowest < Duration::from_secs(2), "page loads: {loads:?}");
    assert!(
        rss_after < rss_before + 8 * 1024,
        "memory stays flat: {rss_before} -> {rss_after} KiB"
    );

    for c in clients {
        let _ = tokio::time::timeout(Duration::from_secs(20), c).await;
    }
    viewer.hangup().await;
    device.stop().await;
    std::fs::remove_dir_all(&root).ok();
}
