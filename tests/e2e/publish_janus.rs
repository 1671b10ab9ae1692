//! Past one board (#15): rtcam publishes its one encode into a VideoRoom of Debian's Janus,
//! and headless Chromium subscribes through Janus with janus.js (web/tests/janus/): the
//! subscribers decode rtcam's stamped frames, ten of them cost rtcam nothing measurable (Janus
//! fans out), a direct MQTT viewer keeps streaming meanwhile, and after Janus is killed and
//! started again rtcam publishes again by itself and the pages play again.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support;
use support::janus::{Janus, API, ROOM};
use support::mosquitto::Mosquitto;
use support::process::{proc_stats, Proc};
use support::viewer::{TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "sfu-cam";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A static server on loopback for the subscriber page, janus.js, adapter.js and stamp.js.
fn serve_subscriber(dir: &Path) -> (Proc, u16) {
    let site = dir.join("site");
    std::fs::create_dir_all(&site).unwrap();
    let web = repo().join("web");
    let links = [
        ("index.html", web.join("tests/janus/index.html")),
        ("subscriber.mjs", web.join("tests/janus/subscriber.mjs")),
        ("stamp.js", web.join("src/stamp.js")),
        (
            "janus.js",
            "/usr/share/javascript/janus-gateway/janus.js".into(),
        ),
        (
            "adapter.js",
            web.join("node_modules/webrtc-adapter/out/adapter.js"),
        ),
    ];
    for (name, target) in links {
        assert!(
            target.exists(),
            "{} is missing (libjs-janus-gateway, web's npm ci)",
            target.display()
        );
        std::os::unix::fs::symlink(&target, site.join(name)).unwrap();
    }
    let port = support::free_port();
    let server = Proc::spawn(
        "static server (python3 -m http.server)",
        Command::new("python3")
            .args([
                "-m",
                "http.server",
                "--bind",
                "127.0.0.1",
                &port.to_string(),
            ])
            .current_dir(&site)
            .stdout(Stdio::null())
            .stderr(Stdio::null()),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "the static server did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (server, port)
}

/// The `publish` entry of the device's retained status, read once (`Null` without one).
async fn publish_state(mqtt: &mut TestMqtt, within: Duration) -> Value {
    let topic = format!("rtcam/{DEVICE}/status");
    let deadline = tokio::time::Instant::now() + within;
    let mut last = Value::Null;
    while let Ok(Some((t, payload))) = tokio::time::timeout_at(deadline, mqtt.rx.recv()).await {
        if t == topic {
            let v: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            last = v["publish"][0].clone();
            if last["state"] == "live" {
                return last;
            }
        }
    }
    last
}

/// Runs web/tests/janus.mjs; `on(line)` sees its marker lines as they come.
fn run_subscribers(
    url: &str,
    pages: usize,
    restart: Option<&Path>,
    mut on: impl FnMut(&str),
) -> Value {
    crate::browser::require_browser_tools();
    let mut cmd = Command::new("node");
    cmd.arg("tests/janus.mjs").args([
        "--url",
        url,
        "--pages",
        &pages.to_string(),
        "--seconds",
        "10",
    ]);
    if let Some(f) = restart {
        cmd.arg("--restart-file").arg(f);
    }
    let mut child = cmd
        .current_dir(repo().join("web"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run node");
    let mut report = None;
    for line in BufReader::new(child.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
    {
        println!("[janus subscribers] {line}");
        if let Some(json) = line.strip_prefix("REPORT ") {
            report = serde_json::from_str::<Value>(json).ok();
        } else {
            on(&line);
        }
    }
    let status = child.wait().unwrap();
    assert!(status.success(), "the subscribers failed ({status})");
    report.expect("a REPORT line from janus.mjs")
}

/// rtcam's CPU in seconds per 10 s between two readings of its ticks.
fn cpu(ticks: (u64, Instant), now: (u64, Instant)) -> f64 {
    let secs = now.1.duration_since(ticks.1).as_secs_f64();
    (now.0 - ticks.0) as f64 / 100.0 / secs * 10.0
}

#[test]
fn rtcam_publishes_into_janus_and_chromium_watches_through_it() {
    if !support::netns::enter_alone(
        module_path!(),
        "rtcam_publishes_into_janus_and_chromium_watches_through_it",
    ) {
        return;
    }
    let dir = std::env::temp_dir().join(format!("rtcam-janus-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let Some(broker) = Mosquitto::start() else {
        return;
    };
    let mut janus = Janus::start(&dir.join("janus"));
    let (_site, site_port) = serve_subscriber(&dir);

    let config = dir.join("device.toml");
    std::fs::write(
        &config,
        format!(
            "device_id = \"{DEVICE}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{}\"\n\
             [[publish]]\nurl = \"{API}\"\nroom = {ROOM}\n",
            broker.port
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut status = rt.block_on(async {
        let mut m = TestMqtt::connect("127.0.0.1", broker.port, "janus-status").await;
        m.subscribe(&format!("rtcam/{DEVICE}/status")).await;
        m
    });
    let started = Instant::now();
    let device = Proc::spawn(
        "rtcam run (publishing into Janus)",
        Command::new(env!("CARGO_BIN_EXE_rtcam"))
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "rtcam=info,warn"),
    );
    let pid = device.pid().to_string();
    let live = rt.block_on(publish_state(&mut status, Duration::from_secs(20)));
    let to_live = started.elapsed();
    println!("JANUS published: {live} after {} ms", to_live.as_millis());
    assert_eq!(
        live["state"], "live",
        "the status says rtcam is live in Janus: {live}"
    );

    // A direct viewer over MQTT, streaming the whole time.
    let viewer = rt
        .block_on(Viewer::join_connected(
            ViewerOptions::new(broker.port, DEVICE, "direct"),
            3,
        ))
        .expect("the direct viewer connects");
    let ticks = || (proc_stats(&pid).cpu_ticks, Instant::now());
    let url =
        format!("http://127.0.0.1:{site_port}/index.html?janus={API}&room={ROOM}&display={DEVICE}");

    // CPU with no subscriber, one, ten (each over the subscribers' 10 s measurement).
    let idle_from = ticks();
    std::thread::sleep(Duration::from_secs(10));
    let idle = cpu(idle_from, ticks());
    let mut from = ticks();
    let mut one_cpu = 0.0;
    let one = run_subscribers(&url, 1, None, |l| {
        if l == "MEASURED" {
            one_cpu = cpu(from, ticks());
        }
    });
    println!("JANUS one subscriber: {one}");
    let fps = one["fps"][0].as_f64().unwrap_or(0.0);
    assert!(
        fps >= 25.0,
        "the subscriber decodes >= 25 fps of rtcam's frames through Janus: {one}"
    );

    let restarted_file = dir.join("restarted");
    let mut ten_cpu = 0.0;
    let mut republish_ms = 0u128;
    from = ticks();
    let ten_from = Instant::now();
    let ten = run_subscribers(&url, 10, Some(&restarted_file), |l| match l {
        "MEASURED" => ten_cpu = cpu(from, ticks()),
        "RESTART" => {
            let killed = Instant::now();
            janus.restart();
            let again = rt.block_on(publish_state(&mut status, Duration::from_secs(15)));
            republish_ms = killed.elapsed().as_millis();
            assert_eq!(
                again["state"], "live",
                "rtcam publishes again after Janus restarted: {again}"
            );
            std::fs::write(&restarted_file, b"").unwrap();
        }
        _ => {}
    });
    println!("JANUS ten subscribers: {ten}");
    println!(
        "JANUS rtcam CPU (s per 10 s): idle in Janus {idle:.2}, 1 subscriber {one_cpu:.2}, \
         10 subscribers {ten_cpu:.2}; start to live {} ms; live again {republish_ms} ms after \
         Janus was killed; subscribers playing again {} ms after",
        to_live.as_millis(),
        ten["recoveredMs"]
    );
    // Ten Chromium decoders, Janus and rtcam share two cores here: each subscriber decodes
    // (measured 10-16 fps each), the rate is the machine's, not Janus's or rtcam's.
    for (i, f) in ten["fps"].as_array().unwrap().iter().enumerate() {
        assert!(
            f.as_f64().unwrap_or(0.0) >= 3.0,
            "subscriber {i} decodes: {ten}"
        );
    }
    assert!(
        ten_cpu < one_cpu + 1.0,
        "ten subscribers cost rtcam no more than one (Janus fans out): {one_cpu:.2} vs {ten_cpu:.2}"
    );
    assert!(
        republish_ms <= 10_000,
        "published again within 10 s: {republish_ms} ms"
    );

    // The direct viewer streamed throughout.
    let last = viewer.seen.lock().unwrap().decoded.last().map(|d| d.at);
    assert!(
        last.is_some_and(|at| at.elapsed() < Duration::from_secs(1)),
        "the direct MQTT viewer is still streaming"
    );
    // Throughout the ten subscribers and Janus's restart: never three seconds without a
    // picture. Seen: gaps of 1.0-1.4 s around Janus's restart, with ten Chromium decoders,
    // Janus and this viewer's own decoder sharing two cores (not yet explained: the
    // publisher's peer ending, or its low estimate leaving the rate control, may stall the
    // main stream). Its rate may drop too: the encoder follows the slowest peer that keeps
    // up, Janus included.
    let seen = viewer.seen.lock().unwrap();
    let during: Vec<Instant> = seen
        .decoded
        .iter()
        .map(|d| d.at)
        .filter(|at| *at >= ten_from)
        .collect();
    let longest_gap = during
        .windows(2)
        .map(|w| w[1] - w[0])
        .max()
        .unwrap_or_default();
    let fps = during.len() as f64 / ten_from.elapsed().as_secs_f64();
    println!("JANUS the direct viewer meanwhile: {fps:.1} fps, longest gap {longest_gap:?}");
    assert!(
        fps >= 10.0 && longest_gap < Duration::from_secs(3),
        "the direct MQTT viewer kept streaming: {fps:.1} fps, longest gap {longest_gap:?}"
    );
    drop(seen);
    drop(device);
    let _ = janus.log();
}
