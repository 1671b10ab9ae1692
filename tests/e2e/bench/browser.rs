//! The browser's side of the benchmark: headless Chromium plays `rtcam demo` in the viewer
//! page (`web/tests/browser.mjs`) and reads the stamps of 10 s of shown frames at 640x480
//! (scenario `latency`): capture → display, with the page's low playout delay request
//! (default) or without it (`?lowdelay=0`); and joins again and again (scenario `joins`):
//! the answer → the first picture shown, in the browser users watch with.

use std::path::Path;
use std::process::Command;

use crate::browser::{repo, require_browser_tools, run_browser, wait_listening};
use crate::support;
use support::process::Proc;

/// One page's run: capture → display p50 and p95 (ms); of it capture → received (the frame's
/// last packet), capture → handed to the compositor and the decode (p50, ms; NaN where the
/// browser does not say); frames read; page open → playing (ms).
#[derive(Debug, Clone, Copy)]
pub struct PageLatency {
    pub p50: f64,
    pub p95: f64,
    pub received_p50: f64,
    pub presented_p50: f64,
    pub decode_p50: f64,
    pub frames: u64,
    pub open_to_playing_ms: f64,
}

/// Runs `scenario` of the viewer page once against a demo of `width`x`height` started from
/// `binary`; its report.
fn run_page(
    binary: &Path,
    (width, height): (u32, u32),
    query: &str,
    scenario: &str,
    extra: &[&str],
) -> serde_json::Value {
    require_browser_tools();
    let dir = std::env::temp_dir().join(format!("rtcam-bench-page-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("rtcam.toml");
    std::fs::write(
        &config,
        format!("[video]\nwidth = {width}\nheight = {height}\nfps = 30\n"),
    )
    .unwrap();
    let (tcp, ws, http) = (
        support::free_port(),
        support::free_port(),
        support::free_port(),
    );
    let mut demo = Proc::spawn(
        "rtcam demo",
        Command::new(binary)
            .arg("demo")
            .args(["--broker-listen", &format!("127.0.0.1:{tcp}")])
            .args(["--broker-ws-listen", &format!("127.0.0.1:{ws}")])
            .args(["--http-listen", &format!("127.0.0.1:{http}")])
            .args(["--device-id", "bench-page"])
            .arg("--web-root")
            .arg(repo().join("web/dist"))
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "warn"),
    );
    wait_listening(http, "the viewer page");
    let shot = dir.join("page.png");
    let report = run_browser(
        &format!("http://127.0.0.1:{http}/{query}"),
        scenario,
        &shot,
        extra,
    );
    demo.terminate();
    std::fs::remove_dir_all(&dir).ok();
    report
}

/// The page's latency once, at 640x480.
pub fn page_latency(binary: &Path, low_delay: bool) -> PageLatency {
    let query = if low_delay { "" } else { "?lowdelay=0" };
    let report = run_page(binary, (640, 480), query, "latency", &[]);
    let l = &report["latency"];
    PageLatency {
        p50: l["p50"].as_f64().unwrap_or(f64::NAN),
        p95: l["p95"].as_f64().unwrap_or(f64::NAN),
        received_p50: l["receivedP50"].as_f64().unwrap_or(f64::NAN),
        presented_p50: l["presentedP50"].as_f64().unwrap_or(f64::NAN),
        decode_p50: l["decodeP50"].as_f64().unwrap_or(f64::NAN),
        frames: l["frames"].as_u64().unwrap_or(0),
        open_to_playing_ms: report["openToPlayingMs"].as_f64().unwrap_or(f64::NAN),
    }
}

/// `joins` page loads against one demo of `size` (each load ends the last session): each
/// session's answer → first picture handed to the compositor, ms.
pub fn page_joins(binary: &Path, size: (u32, u32), joins: usize) -> Vec<f64> {
    let n = joins.to_string();
    let report = run_page(binary, size, "", "joins", &["--joins", &n]);
    report["joins"]
        .as_array()
        .map(|j| j.iter().filter_map(|v| v.as_f64()).collect())
        .unwrap_or_default()
}
