//! The browser viewer in headless Chromium (Debian's, driven by playwright-core through
//! `web/tests/browser.mjs`), against the real `rtcam` binary, inside a network namespace:
//! - `rtcam demo` (embedded broker, page served by the daemon, max_viewers = 2): two tabs
//!   play, talkback from Chromium's fake microphone reaches the device's WAV sink, a third tab
//!   is told every slot is in use and plays as soon as the first tab leaves;
//! - `rtcam run` against a real mosquitto with a WebSocket listener: the page plays, explains
//!   an unreachable broker and an unknown device, lists devices, and works from `file://`.
//!
//! Needs the built viewer and its test tools (`./scripts/test.sh` does this:
//! `cd web && npm ci && npm run build`) and Chromium at /usr/bin/chromium.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use support::process::Proc;

use serde_json::Value;

pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub(crate) fn require_browser_tools() {
    let web = repo().join("web");
    let missing: Vec<&str> = [
        (web.join("dist/index.html"), "the built viewer (web/dist)"),
        (
            web.join("node_modules/playwright-core"),
            "playwright-core (web/node_modules)",
        ),
        (
            PathBuf::from("/usr/bin/chromium"),
            "Chromium (/usr/bin/chromium)",
        ),
    ]
    .iter()
    .filter(|(p, _)| !p.exists())
    .map(|(_, what)| *what)
    .collect();
    assert!(
        missing.is_empty(),
        "missing for the browser tests: {}. Run ./scripts/test.sh, which installs Chromium and \
         builds the viewer (cd web && npm ci && npm run build).",
        missing.join(", ")
    );
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub(crate) fn wait_listening(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not listen on {port} within 30 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs the Playwright scenario and returns its report.
pub(crate) fn run_browser(url: &str, scenario: &str, screenshot: &Path, extra: &[&str]) -> Value {
    run_browser_in(url, scenario, screenshot, extra, None)
}

/// Like [`run_browser`], with Chromium's `HOME` (so its NSS certificate store,
/// `~/.pki/nssdb`) in `home` when given.
fn run_browser_in(
    url: &str,
    scenario: &str,
    screenshot: &Path,
    extra: &[&str],
    home: Option<&Path>,
) -> Value {
    let mut node = Command::new("node");
    if let Some(home) = home {
        node.env("HOME", home);
    }
    let mut child = node
        .arg("tests/browser.mjs")
        .args(["--url", url, "--scenario", scenario])
        .arg("--screenshot")
        .arg(screenshot)
        .args(extra)
        .current_dir(repo().join("web"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run node (apt-get install nodejs npm; ./scripts/test.sh does)");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut report = None;
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            println!("[browser] {line}");
            if let Some(json) = line.strip_prefix("REPORT ") {
                report = serde_json::from_str::<Value>(json).ok();
            }
        }
        report
    });
    // browser.mjs bounds itself at 150 s; this is the backstop.
    let deadline = Instant::now() + Duration::from_secs(200);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for node") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the browser test did not finish within 200 s");
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let report = reader.join().expect("report reader");
    assert!(
        status.success(),
        "the browser scenario {scenario:?} failed ({status}); see [browser] lines above"
    );
    report.expect("a REPORT line from browser.mjs")
}

pub(crate) fn artifacts() -> PathBuf {
    let dir = repo().join("target/browser");
    std::fs::create_dir_all(&dir).expect("create target/browser");
    dir
}

fn assert_played(m: &Value, who: &str) {
    assert!(
        m["framesDecoded"].as_u64().unwrap_or(0) >= 60,
        "{who}: decoded frames rose by >= 60 in 10 s: {m}"
    );
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(640), Some(480)),
        "{who}: picture size: {m}"
    );
    assert_eq!(m["audioTrack"], "live", "{who}: audio track: {m}");
}

#[test]
fn browser_viewers_talkback_and_full_via_rtcam_demo() {
    if !support::netns::enter_alone(
        module_path!(),
        "browser_viewers_talkback_and_full_via_rtcam_demo",
    ) {
        return;
    }
    require_browser_tools();
    let dir = std::env::temp_dir().join(format!("rtcam-browser-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("rtcam.toml");
    std::fs::write(&config, "[webrtc]\nmax_viewers = 2\n").unwrap();
    let wav = dir.join("talkback.wav");
    let (tcp, ws, http) = (
        support::free_port(),
        support::free_port(),
        support::free_port(),
    );
    let mut device = Proc::spawn(
        "rtcam demo",
        Command::new(env!("CARGO_BIN_EXE_rtcam"))
            .arg("demo")
            .args(["--broker-listen", &format!("127.0.0.1:{tcp}")])
            .args(["--broker-ws-listen", &format!("127.0.0.1:{ws}")])
            .args(["--http-listen", &format!("127.0.0.1:{http}")])
            .args(["--device-id", "browser-demo"])
            .arg("--web-root")
            .arg(repo().join("web/dist"))
            .arg("--talkback-wav")
            .arg(&wav)
            .arg("--config")
            .arg(&config),
    );
    wait_listening(http, "the viewer page");

    let shot = artifacts().join("viewer-embedded.png");
    let report = run_browser(&format!("http://127.0.0.1:{http}/"), "full", &shot, &[]);
    println!("browser report: {report}");
    assert_played(&report["viewerA"], "tab A");
    assert_played(&report["viewerB"], "tab B");
    assert!(
        report["fullMessage"]
            .as_str()
            .unwrap_or("")
            .contains("All 2 viewer slots"),
        "the third tab says every slot is in use: {report}"
    );
    assert!(
        report["viewerC"]["framesDecoded"].as_u64().unwrap_or(0) >= 30,
        "the third tab plays once a slot frees: {report}"
    );
    let latency = &report["viewerA"]["latency"];
    println!(
        "LATENCY browser (capture -> display, from the stamp): p50={} ms p95={} ms",
        latency["p50"], latency["p95"]
    );
    assert!(
        latency["p50"].as_f64().is_some(),
        "the page read the synthetic stamp: {report}"
    );
    assert!(shot.exists(), "screenshot saved at {}", shot.display());

    assert!(device.terminate(), "rtcam demo stops cleanly on SIGTERM");
    // Talkback: Chromium's fake microphone beeps; its decoded audio must be in the sink.
    let samples = rtcam::talkback::wav::read_samples(&wav).expect("talkback WAV written");
    let seconds = samples.len() as f64 / 48_000.0;
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    let loud = samples.iter().filter(|s| s.unsigned_abs() > 1000).count();
    println!(
        "TALKBACK {seconds:.1} s of audio in the sink, peak {peak}, {loud} samples above 1000"
    );
    assert!(
        seconds >= 3.0,
        "at least 3 s of talkback played: {seconds:.1} s"
    );
    assert!(
        peak > 3000 && loud > 4800,
        "the fake microphone's beeps are audible in the sink (peak {peak}, {loud} loud samples)"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn browser_plays_via_mosquitto_websockets() {
    if !support::netns::enter_alone(module_path!(), "browser_plays_via_mosquitto_websockets") {
        return;
    }
    require_browser_tools();
    let Some(broker) = support::mosquitto::Mosquitto::start() else {
        return;
    };
    let dir = std::env::temp_dir().join(format!("rtcam-browser-mosq-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let http = support::free_port();
    let config = dir.join("rtcam.toml");
    std::fs::write(
        &config,
        format!(
            "device_id = \"browser-mosquitto\"\n\
             [mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\n\
             [http]\nlisten = \"127.0.0.1:{http}\"\nroot = \"{}\"\n\
             broker_url = \"ws://{{host}}:{}\"\n",
            broker.port,
            repo().join("web/dist").display(),
            broker.ws_port
        ),
    )
    .unwrap();
    let mut device = Proc::spawn(
        "rtcam run",
        Command::new(env!("CARGO_BIN_EXE_rtcam"))
            .args(["run", "--config"])
            .arg(&config),
    );
    wait_listening(http, "the viewer page");
    let shot = artifacts().join("viewer-mosquitto.png");
    let dist = repo().join("web/dist");
    let report = run_browser(
        &format!("http://127.0.0.1:{http}/"),
        "basic",
        &shot,
        &[
            "--device",
            "browser-mosquitto",
            "--broker-ws",
            &format!("ws://127.0.0.1:{}", broker.ws_port),
            "--dist",
            dist.to_str().expect("UTF-8 path"),
        ],
    );
    println!("browser report: {report}");
    assert_played(&report["viewer"], "viewer");
    assert!(
        report["brokerDownMessage"]
            .as_str()
            .unwrap_or("")
            .contains("Broker unreachable"),
        "{report}"
    );
    assert_eq!(report["deviceListed"], "browser-mosquitto", "{report}");
    assert!(
        report["fileViewer"]["framesDecoded"].as_u64().unwrap_or(0) >= 30,
        "the page works from file://: {report}"
    );
    assert!(device.terminate(), "rtcam run stops cleanly on SIGTERM");
    std::fs::remove_dir_all(&dir).ok();
}

/// A Chromium profile home whose NSS store trusts `ca` as a certificate authority, the way a
/// user imports the CA of `deploy/broker-ca.sh` (Settings → Privacy and security → Security →
/// Manage certificates → Authorities).
fn home_trusting(home: &Path, ca: &Path) {
    let db = home.join(".pki/nssdb");
    std::fs::create_dir_all(&db).unwrap();
    let db = format!("sql:{}", db.display());
    let certutil = |args: &[&str]| {
        let status = Command::new("certutil")
            .args(["-d", &db])
            .args(args)
            .status()
            .expect("certutil (apt-get install libnss3-tools; ./scripts/test.sh does)");
        assert!(status.success(), "certutil {args:?}");
    };
    certutil(&["-N", "--empty-password"]);
    let ca = ca.to_str().expect("UTF-8 path");
    certutil(&["-A", "-t", "C,,", "-n", "rtcam test CA", "-i", ca]);
}

#[test]
fn browser_plays_over_wss_from_the_locked_down_broker() {
    if !support::netns::enter_alone(
        module_path!(),
        "browser_plays_over_wss_from_the_locked_down_broker",
    ) {
        return;
    }
    require_browser_tools();
    let Some(secure) = support::secure_broker::SecureBroker::start(
        "browser-tls",
        ("browser-tls", "device-secret"),
        ("family", "family-secret"),
    ) else {
        return;
    };
    let dir = secure.dir.join("run");
    std::fs::create_dir_all(&dir).unwrap();
    let http = support::free_port();
    let config = dir.join("rtcam.toml");
    std::fs::write(
        &config,
        format!(
            "device_id = \"browser-tls\"\n\
             [mqtt]\nurl = \"mqtts://127.0.0.1:{}\"\nca_file = \"{}\"\n\
             username = \"browser-tls\"\npassword = \"device-secret\"\n\
             [http]\nlisten = \"127.0.0.1:{http}\"\nroot = \"{}\"\n\
             broker_url = \"wss://{{host}}:{}\"\n",
            secure.broker.port,
            secure.ca.display(),
            repo().join("web/dist").display(),
            secure.broker.ws_port
        ),
    )
    .unwrap();
    let mut device = Proc::spawn(
        "rtcam run",
        Command::new(env!("CARGO_BIN_EXE_rtcam"))
            .args(["run", "--config"])
            .arg(&config),
    );
    wait_listening(http, "the viewer page");
    let home = dir.join("home");
    home_trusting(&home, &secure.ca);
    let shot = artifacts().join("viewer-wss.png");
    let report = run_browser_in(
        &format!("http://127.0.0.1:{http}/?username=family&password=family-secret"),
        "secure",
        &shot,
        &[
            "--wrong-name-broker",
            &format!("wss://127.0.0.2:{}", secure.broker.ws_port),
        ],
        Some(&home),
    );
    println!("browser report: {report}");
    assert_played(&report["viewer"], "viewer over wss://");
    assert!(
        report["wrongNameMessage"]
            .as_str()
            .unwrap_or("")
            .contains("Broker unreachable"),
        "{report}"
    );
    assert_eq!(
        report["broker"],
        format!("wss://127.0.0.1:{}", secure.broker.ws_port),
        "{report}"
    );
    assert!(device.terminate(), "rtcam run stops cleanly on SIGTERM");
}
