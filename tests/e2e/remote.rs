//! Watching from anywhere: the camera in one home and the viewer in another, each behind a
//! NAT router, with the broker and Debian's coturn on the "internet" between them and no
//! route between the two homes ([`support::nat`]). The device is `rtcam run` with coturn's
//! STUN and TURN (REST API secret); viewers learn the servers from the offer.
//!
//! - the viewer behind a symmetric NAT (a carrier's): only a relay gets through; the Rust
//!   test viewer and Chromium loading the page both decode >= 25 fps through a `relay` pair;
//! - both NATs endpoint-independent and no TURN: server-reflexive candidates connect, for
//!   both viewers;
//! - the viewer moves from Wi-Fi to mobile data mid-stream: the page plays again within 5 s;
//! - TURN credentials expire: a new standby offer carries fresh ones, coturn refuses the old.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;
use support::nat::{Internet, Nat, DEVICE_IP, INTERNET_IP};
use support::process::Proc;
use support::turn::{Services, MQTT_PORT, MQTT_WS_PORT, TURN_PORT};
use support::viewer::{Viewer, ViewerOptions, WindowReport};

const DEVICE: &str = "far-cam";

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtcam-remote-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// `rtcam run` in the device's home, with `ice` as its ICE servers.
fn start_device(net: &Internet, dir: &Path, ice: &str) -> Proc {
    let config = dir.join("device.toml");
    std::fs::write(
        &config,
        format!(
            "device_id = \"{DEVICE}\"\n[mqtt]\nurl = \"mqtt://{INTERNET_IP}:{MQTT_PORT}\"\n\
             keep_alive_s = 5\n[webrtc]\n{ice}"
        ),
    )
    .unwrap();
    Proc::spawn(
        "rtcam run (device's home)",
        net.device
            .command(env!("CARGO_BIN_EXE_rtcam"))
            .args(["run", "--config"])
            .arg(&config)
            .env(
                "RUST_LOG",
                std::env::var("RTCAM_REMOTE_LOG").unwrap_or_else(|_| "rtcam=info,warn".into()),
            ),
    )
}

fn options(viewer: &str) -> ViewerOptions {
    let mut opts = ViewerOptions::new(MQTT_PORT, DEVICE, viewer);
    opts.host = INTERNET_IP.into();
    opts
}

/// Joins, waits for pictures, measures `secs` seconds; returns the decoded pictures a
/// second, the report and the selected pair.
async fn watch(opts: ViewerOptions, secs: u64) -> (f64, WindowReport, (String, String, String)) {
    let v = Viewer::join_connected(opts, 3)
        .await
        .expect("the viewer connects across the NATs");
    assert!(
        v.wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
            .await,
        "first picture"
    );
    let pair = v.selected_pair().await.expect("a selected candidate pair");
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let report = support::viewer::window_report(
        &v.seen.lock().unwrap(),
        from,
        Duration::from_secs(secs),
        640,
        480,
    );
    v.hangup().await;
    (report.decoded as f64 / secs as f64, report, pair)
}

fn page_url(extra: &str) -> String {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web/dist/index.html");
    format!(
        "file://{}?broker=ws://{INTERNET_IP}:{MQTT_WS_PORT}/mqtt&device={DEVICE}{extra}",
        dist.display()
    )
}

/// Runs web/tests/remote.mjs; on its "SWITCH" line calls `on_switch` and then creates the
/// file it waits for. Returns its report.
fn run_page(url: &str, switch: Option<&dyn Fn()>, dir: &Path) -> Value {
    crate::browser::require_browser_tools();
    let switch_file = dir.join("switched");
    let mut cmd = Command::new("node");
    cmd.arg("tests/remote.mjs").args(["--url", url]);
    if switch.is_some() {
        cmd.arg("--switch-file").arg(&switch_file);
    }
    cmd.arg("--screenshot")
        .arg(crate::browser::artifacts().join("viewer-remote.png"))
        .current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = cmd.spawn().expect("cannot run node");
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let mut report = None;
    for line in stdout.lines().map_while(Result::ok) {
        println!("[remote page] {line}");
        if line == "SWITCH" {
            if let Some(f) = switch {
                f();
            }
            std::fs::write(&switch_file, b"").unwrap();
        } else if let Some(json) = line.strip_prefix("REPORT ") {
            report = serde_json::from_str::<Value>(json).ok();
        }
    }
    // remote.mjs bounds itself at 120 s and its stdout has closed: it is ending.
    let status = child.wait().expect("wait for node");
    assert!(
        status.success(),
        "the remote page scenario failed ({status})"
    );
    report.expect("a REPORT line from remote.mjs")
}

fn has(pair: &(String, String, String), typ: &str) -> bool {
    pair.0 == typ || pair.1 == typ
}

#[test]
fn camera_and_viewer_behind_nats_through_turn() {
    if !support::netns::enter_alone(module_path!(), "camera_and_viewer_behind_nats_through_turn") {
        return;
    }
    let dir = scratch("relay");
    let net = Internet::new(Nat::Cone, Nat::Symmetric);
    let services = Services::start(&net.internet, &dir);
    let _device = start_device(&net, &dir, &services.ice_config(true, 3600));

    let rt = tokio::runtime::Runtime::new().unwrap();
    let (fps, report, pair) = rt.block_on(watch(options("far-viewer"), 5));
    println!("RELAY test viewer: {fps:.1} fps, {report:?}; selected pair (local, remote, address) {pair:?}");
    assert!(
        fps >= 25.0,
        "the test viewer decodes >= 25 fps through TURN: {report:?}"
    );
    assert!(
        has(&pair, "relay"),
        "the selected pair is relayed: {pair:?}"
    );
    assert!(
        !pair.2.starts_with(DEVICE_IP),
        "never the device's LAN address: {pair:?}"
    );

    let page = run_page(&page_url(""), None, &dir);
    println!("RELAY page: {page}");
    let fps = page["before"]["fps"].as_f64().unwrap_or(0.0);
    assert!(
        fps >= 25.0,
        "Chromium decodes >= 25 fps through TURN: {page}"
    );
    let p = &page["before"]["pair"];
    assert!(
        p["local"] == "relay" || p["remote"] == "relay",
        "Chromium's selected pair is relayed: {page}"
    );
    assert!(services.wait_turn_log("session", Duration::from_secs(1)));
}

#[test]
fn camera_and_viewer_behind_cone_nats_meet_through_stun() {
    if !support::netns::enter_alone(
        module_path!(),
        "camera_and_viewer_behind_cone_nats_meet_through_stun",
    ) {
        return;
    }
    let dir = scratch("srflx");
    let net = Internet::new(Nat::Cone, Nat::Cone);
    let services = Services::start(&net.internet, &dir);
    let _device = start_device(&net, &dir, &services.ice_config(false, 3600));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (fps, report, pair) = rt.block_on(watch(options("stun-viewer"), 5));
    println!("STUN test viewer: {fps:.1} fps, {report:?}; selected pair {pair:?}");
    assert!(
        fps >= 25.0,
        "decodes >= 25 fps through the NATs: {report:?}"
    );
    // The device's LAN address is out of reach: what the viewer talks to is the device's
    // mapping on its router, learnt from STUN (srflx) or from its checks (prflx).
    assert!(!has(&pair, "relay"), "no relay without TURN: {pair:?}");
    assert!(
        pair.1 == "srflx" || pair.1 == "prflx",
        "the NATs' mappings carry the media: {pair:?}"
    );

    let page = run_page(&page_url(""), None, &dir);
    println!("STUN page: {page}");
    let fps = page["before"]["fps"].as_f64().unwrap_or(0.0);
    assert!(
        fps >= 25.0,
        "Chromium decodes >= 25 fps through the NATs: {page}"
    );
    let p = &page["before"]["pair"];
    assert!(
        p["local"] != "relay" && p["remote"] != "relay",
        "no relay: {page}"
    );
    assert!(
        p["remote"] == "srflx" || p["remote"] == "prflx",
        "Chromium reaches the device's NAT mapping: {page}"
    );
}

#[test]
fn viewer_moves_from_wifi_to_mobile_and_plays_again() {
    if !support::netns::enter_alone(
        module_path!(),
        "viewer_moves_from_wifi_to_mobile_and_plays_again",
    ) {
        return;
    }
    let dir = scratch("move");
    let net = Internet::new(Nat::Cone, Nat::Cone);
    let services = Services::start(&net.internet, &dir);
    let _device = start_device(&net, &dir, &services.ice_config(true, 3600));
    let switch = || net.switch_viewer_to_mobile();
    let page = run_page(&page_url(""), Some(&switch), &dir);
    println!("PATH CHANGE page: {page}");
    let resume = page["resumeMs"].as_f64().expect("resumeMs");
    println!("PATH CHANGE frames again {resume:.0} ms after the switch (page: detection to frames {} ms)", page["pageRecoveryMs"]);
    assert!(
        resume <= 5_000.0,
        "frames resume within 5 s of the change: {page}"
    );
    let fps = page["after"]["fps"].as_f64().unwrap_or(0.0);
    assert!(
        fps >= 25.0,
        "plays on at >= 25 fps after the change: {page}"
    );
}

/// The old credentials fail an allocation at coturn; `Ok` when coturn gives one.
async fn allocate(username: &str, credential: &str) -> Result<(), String> {
    use webrtc::turn::client::{Client, ClientConfig};
    let socket = tokio::net::UdpSocket::bind("0.0.0.0:0")
        .await
        .map_err(|e| e.to_string())?;
    let client = Client::new(ClientConfig {
        stun_serv_addr: format!("{INTERNET_IP}:{TURN_PORT}"),
        turn_serv_addr: format!("{INTERNET_IP}:{TURN_PORT}"),
        username: username.into(),
        password: credential.into(),
        realm: String::new(),
        software: "rtcam-test".into(),
        rto_in_ms: 0,
        conn: Arc::new(socket),
        vnet: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    client.listen().await.map_err(|e| e.to_string())?;
    let result = tokio::time::timeout(Duration::from_secs(5), client.allocate())
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map(|_| ())
        .map_err(|e| e.to_string());
    let _ = client.close().await;
    result
}

fn turn_credentials(offer: &Value) -> (String, String) {
    let turn = offer["ice_servers"]
        .as_array()
        .and_then(|l| {
            l.iter()
                .find(|s| s["urls"][0].as_str().unwrap_or("").starts_with("turn:"))
        })
        .unwrap_or_else(|| panic!("the offer carries the TURN server: {offer}"));
    (
        turn["username"].as_str().unwrap().to_string(),
        turn["credential"].as_str().unwrap().to_string(),
    )
}

#[test]
fn expired_turn_credentials_are_replaced_in_the_offer() {
    if !support::netns::enter(
        module_path!(),
        "expired_turn_credentials_are_replaced_in_the_offer",
    ) {
        return;
    }
    const TTL: u64 = 10;
    let dir = scratch("expiry");
    let net = Internet::new(Nat::Cone, Nat::Symmetric);
    let services = Services::start(&net.internet, &dir);
    let _device = start_device(&net, &dir, &services.ice_config(true, TTL));
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let root = format!("rtcam/{DEVICE}");
        let offer = |id: &'static str| {
            let root = root.clone();
            async move {
                let mut mqtt = support::viewer::TestMqtt::connect(INTERNET_IP, MQTT_PORT, id).await;
                mqtt.subscribe(&format!("{root}/status")).await;
                mqtt.subscribe(&format!("{root}/offer")).await;
                support::viewer::wait_for_offer(&mut mqtt, &root, Duration::from_secs(20))
                    .await
                    .expect("a retained offer")
            }
        };
        let first = offer("expiry-reader-1").await;
        let (old_user, old_cred) = turn_credentials(&first);
        let expires: u64 = old_user.split(':').next().unwrap().parse().unwrap();
        let now = rtcam::config::ice::unix_now();
        assert!(
            expires > now && expires <= now + TTL,
            "valid for the TTL: {old_user} at {now}"
        );
        allocate(&old_user, &old_cred)
            .await
            .expect("coturn accepts the credentials while they are valid");

        // Past their expiry: coturn refuses them; the standby offer was renewed at half the
        // lifetime, with fresh ones.
        tokio::time::sleep(Duration::from_secs(expires + 2 - now)).await;
        let refused = allocate(&old_user, &old_cred).await;
        println!("EXPIRY the old credentials at coturn: {refused:?}");
        assert!(refused.is_err(), "coturn refuses expired credentials");
        let second = offer("expiry-reader-2").await;
        let (new_user, new_cred) = turn_credentials(&second);
        assert_ne!(
            new_user, old_user,
            "the retained offer carries new credentials"
        );
        assert_ne!(
            first["session"], second["session"],
            "a new standby offer replaced the old"
        );
        allocate(&new_user, &new_cred)
            .await
            .expect("coturn accepts the fresh credentials");

        // A viewer joining now, through the relay only, plays.
        let mut opts = options("late-viewer");
        opts.relay_only = true;
        let (fps, report, pair) = watch(opts, 3).await;
        println!("EXPIRY late viewer: {fps:.1} fps, {report:?}; pair {pair:?}");
        assert!(fps >= 25.0, "the late viewer plays: {report:?}");
        assert_eq!(pair.0, "relay", "through its own relay: {pair:?}");
    });
}
