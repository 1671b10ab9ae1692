//! The benchmark (docs/benchmarks.md, "Joining and the cost of a viewer"): the `rtcam` binary
//! and a real mosquitto on loopback, watched by the suite's webrtc-rs viewer (an independent
//! implementation: its own jitter buffer, openh264 decoder and stamp reader). It prints:
//!
//! - start → standby offer on the broker (a subscriber's clock, from the process's spawn);
//! - CPU (% of one core) and RSS of the device with 0 / 1 / 2 / 4 / 8 viewers, at 480p30
//!   1 Mbit/s and 720p30 2 Mbit/s of the busy pattern, which fills the bitrate (the first
//!   viewer decodes; the others only receive, so that eight decoders do not take the machine
//!   from the device);
//! - time to first frame: the answer's publish → the first decoded picture, over many joins,
//!   with nobody else watching (the encoder starts for the join) and with one viewer
//!   watching, on the bars (whose keyframes are small: a busy picture's keyframe is tens of
//!   packets, spread by the pacer);
//! - capture → decoded latency p50/p95 from the pictures' stamps;
//! - in headless Chromium's viewer page at 640x480: capture → display p50/p95, with and
//!   without the page's low playout delay request;
//! - time to first frame in the viewer page (Chromium), over as many page loads as joins.
//!
//! `scripts/bench.sh` runs [`full`] against the release binary; CI runs
//! [`harness_works`], which measures everything once, briefly, and checks that every number
//! was measured, never what it is.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support;
use support::process::{proc_stats, run_device_binary, Proc};
use support::viewer::{TestMqtt, Viewer, ViewerOptions};

mod browser;
mod cpu;
mod plan;
mod report;
use plan::{Pattern, Plan, Size, P480, P720};
use report::Report;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The binary under test: `RTCAM_BENCH_BINARY` (scripts/bench.sh: the release build), or the
/// suite's own.
fn binary() -> PathBuf {
    std::env::var_os("RTCAM_BENCH_BINARY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_rtcam")))
}

fn device_toml(size: Size, pattern: Pattern) -> String {
    let pattern = match pattern {
        Pattern::Bars => "bars",
        Pattern::Busy => "busy",
    };
    format!(
        "[video]\nwidth = {}\nheight = {}\nfps = 30\nbitrate_kbps = {}\npattern = \"{pattern}\"\n\
         [webrtc]\nmax_viewers = 10\n",
        size.width, size.height, size.kbps
    )
}

struct Bench {
    port: u16,
    dir: PathBuf,
    binary: PathBuf,
}

impl Bench {
    fn device(&self, name: &str, size: Size, pattern: Pattern) -> Proc {
        let toml = device_toml(size, pattern);
        run_device_binary(&self.binary, &self.dir, self.port, name, &toml)
    }

    fn viewer(&self, device: &str, id: &str, decode: bool) -> ViewerOptions {
        let mut opts = ViewerOptions::new(self.port, device, id);
        opts.decode = decode;
        opts
    }

    /// Spawn → the first non-empty retained offer, seen by a subscriber, `n` times.
    async fn start_to_offer(&self, n: usize, into: &mut Vec<f64>) {
        // Names never reused: a test MQTT client lives on (reconnecting) after it is dropped,
        // and one with the same client id would take the new subscriber's connection over.
        static STARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..n {
            let i = STARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let device = format!("cam-start-{i}-{}", std::process::id());
            let mut mqtt =
                TestMqtt::connect("127.0.0.1", self.port, &format!("{device}-sub")).await;
            mqtt.subscribe(&format!("rtcam/{device}/offer")).await;
            let t0 = Instant::now();
            let mut proc = self.device(&device, P480, Pattern::Bars);
            let offer = mqtt
                .next_matching(Duration::from_secs(10), |_, p| !p.is_empty())
                .await;
            let took = t0.elapsed();
            assert!(offer.is_some(), "no offer within 10 s of the start");
            into.push(took.as_secs_f64() * 1000.0);
            proc.terminate();
        }
    }

    /// CPU and RSS with each viewer count, and the first viewer's capture → decoded latency.
    async fn load(&self, plan: &Plan, size: Size, rep: usize, report: &mut Report) {
        let device = format!("cam-load-{rep}-{}-{}", size.height, std::process::id());
        let proc = self.device(&device, size, plan.load_pattern);
        let pid = proc.pid();
        let mut viewers: Vec<Viewer> = Vec::new();
        for &count in plan.viewers {
            while viewers.len() < count {
                let id = format!("load-{}", viewers.len());
                let opts = self.viewer(&device, &id, viewers.is_empty());
                viewers.push(
                    Viewer::join_connected(opts, 3)
                        .await
                        .expect("a viewer joins"),
                );
            }
            tokio::time::sleep(plan.settle).await;
            let before = viewers
                .first()
                .map_or(0, |v| v.seen.lock().unwrap().decoded.len());
            let bytes = |vs: &[Viewer]| -> Vec<usize> {
                vs.iter()
                    .map(|v| v.seen.lock().unwrap().video_bytes)
                    .collect()
            };
            let others_before = bytes(viewers.get(1..).unwrap_or_default());
            let cpu = cpu::measure(pid, plan.window).await;
            let rss = proc_stats(&pid.to_string()).rss_kib as f64 / 1024.0;
            report.cpu(size, count, cpu, rss);
            // The viewers that only receive really are sent the stream: the slowest one's rate.
            let others_after = bytes(viewers.get(1..).unwrap_or_default());
            let slowest = others_after
                .iter()
                .zip(&others_before)
                .map(|(a, b)| (a - b) as f64 * 8.0 / plan.window.as_secs_f64() / 1000.0)
                .min_by(f64::total_cmp);
            if let Some(kbps) = slowest {
                report.received(size, count, kbps);
            }
            if let Some(first) = viewers.first() {
                let seen = first.seen.lock().unwrap();
                let latency = seen.decoded[before..]
                    .iter()
                    .map(|d| d.decoded_ms.saturating_sub(d.capture_ms) as f64);
                report.latency(size, latency);
                let fps = (seen.decoded.len() - before) as f64 / plan.window.as_secs_f64();
                report.fps(size, fps);
            }
        }
        for v in &viewers {
            v.hangup().await;
        }
        drop(proc);
    }

    /// Joins one after another; each one's answer → first decoded picture. With `warm`, one
    /// viewer watches throughout, so the encoder is already running.
    async fn joins(&self, plan: &Plan, size: Size, warm: bool, report: &mut Report) {
        let device = format!("cam-join-{warm}-{}-{}", size.height, std::process::id());
        let proc = self.device(&device, size, Pattern::Bars);
        let watcher = if warm {
            let opts = self.viewer(&device, "watcher", false);
            Some(
                Viewer::join_connected(opts, 3)
                    .await
                    .expect("the watcher joins"),
            )
        } else {
            None
        };
        for j in 0..plan.joins {
            let v = Viewer::join(self.viewer(&device, &format!("join-{j}"), true))
                .await
                .expect("a viewer answers");
            let decoded = v
                .wait_until(Duration::from_secs(10), |s| !s.decoded.is_empty())
                .await;
            assert!(decoded, "join {j}: no picture within 10 s of the answer");
            let first = v.seen.lock().unwrap().decoded[0].at;
            report.join(size, warm, (first - v.answered_at).as_secs_f64() * 1000.0);
            v.hangup().await;
            // The device has its next standby offer on the broker by now; let the hang-up
            // land and, without a watcher, the encoder stop.
            tokio::time::sleep(Duration::from_millis(if warm { 300 } else { 1500 })).await;
        }
        if let Some(w) = watcher {
            w.hangup().await;
        }
        drop(proc);
    }
}

async fn run(plan: Plan) -> Report {
    let mut report = Report::new(&binary());
    for rep in 0..plan.reps {
        for low_delay in plan.page_modes {
            eprintln!(
                "bench: the viewer page, low delay {low_delay}, repetition {}",
                rep + 1
            );
            let bin = binary();
            let page = tokio::task::spawn_blocking(move || browser::page_latency(&bin, *low_delay))
                .await
                .expect("the page's run");
            report.page(*low_delay, page);
        }
        for &size in plan.sizes.iter().filter(|_| plan.page_joins > 0) {
            eprintln!("bench: {} page joins at {}", plan.page_joins, size.label);
            let (bin, joins) = (binary(), plan.page_joins);
            let ms = tokio::task::spawn_blocking(move || {
                browser::page_joins(&bin, (size.width, size.height), joins)
            })
            .await
            .expect("the page's joins");
            report.page_joins(size, ms);
        }
    }

    let broker =
        support::mosquitto::Mosquitto::start().expect("mosquitto (apt-get install mosquitto)");
    let dir = std::env::temp_dir().join(format!("rtcam-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bench = Bench {
        port: broker.port,
        dir,
        binary: binary(),
    };
    for rep in 0..plan.reps {
        eprintln!("bench: repetition {}/{}", rep + 1, plan.reps);
        bench
            .start_to_offer(plan.starts, &mut report.start_ms)
            .await;
        for &size in plan.sizes {
            eprintln!("bench: {} with {:?} viewers", size.label, plan.viewers);
            bench.load(&plan, size, rep, &mut report).await;
        }
    }
    for &size in plan.sizes {
        for warm in [false, true] {
            eprintln!("bench: {} joins at {}, warm {warm}", plan.joins, size.label);
            bench.joins(&plan, size, warm, &mut report).await;
        }
    }
    report
}

/// CI's run: every measurement once, briefly; checks that each was made.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn harness_works() {
    if !support::netns::enter_alone(module_path!(), "harness_works") {
        return;
    }
    let plan = Plan {
        sizes: &[P480],
        viewers: &[0, 1, 2],
        window: Duration::from_secs(2),
        settle: Duration::from_secs(1),
        joins: 3,
        starts: 2,
        reps: 1,
        page_modes: &[true],
        page_joins: 3,
        load_pattern: Pattern::Bars,
    };
    let report = run(plan).await;
    println!("{}", report.markdown());
    assert_eq!(report.start_ms.len(), 2);
    assert!(report.complete(&[P480], &[0, 1, 2], 3), "{report:#?}");
    assert!(report.page_complete(&[true]), "{report:#?}");
    assert!(report.page_joins_complete(&[P480], 3), "{report:#?}");
}

/// `scripts/bench.sh`: the full benchmark, its table into `RTCAM_BENCH_OUT`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark of minutes: scripts/bench.sh"]
async fn full() {
    if !support::netns::enter_alone(module_path!(), "full") {
        return;
    }
    let plan = Plan {
        sizes: &[P480, P720],
        viewers: &[0, 1, 2, 4, 8],
        window: Duration::from_secs(env_usize("RTCAM_BENCH_WINDOW_S", 10) as u64),
        settle: Duration::from_secs(3),
        joins: env_usize("RTCAM_BENCH_JOINS", 20),
        starts: 10,
        reps: env_usize("RTCAM_BENCH_REPS", 3),
        page_modes: &[false, true],
        page_joins: env_usize("RTCAM_BENCH_JOINS", 20),
        load_pattern: Pattern::Busy,
    };
    let report = run(plan).await;
    let table = report.markdown();
    println!("{table}");
    if let Some(out) = std::env::var_os("RTCAM_BENCH_OUT") {
        std::fs::write(out, &table).expect("write the benchmark's table");
    }
}

/// `scripts/bench.sh --profile`: the device at 720p30 with `RTCAM_BENCH_VIEWERS` viewers
/// (default 4) under `perf record --call-graph dwarf` for 10 s, into
/// `target/perf-{viewers}.data` (`perf report -i …`). Use a binary with symbols: the suite's
/// own (dev profile: dependencies at opt-level 3, rtcam's own code unoptimised).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a profile: scripts/bench.sh --profile"]
async fn profile() {
    if !support::netns::enter_alone(module_path!(), "profile") {
        return;
    }
    let viewers = env_usize("RTCAM_BENCH_VIEWERS", 4);
    let broker = support::mosquitto::Mosquitto::start().expect("mosquitto");
    let dir = std::env::temp_dir().join(format!("rtcam-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bench = Bench {
        port: broker.port,
        dir,
        binary: binary(),
    };
    let device = "cam-profile";
    let proc = bench.device(device, P720, Pattern::Busy);
    let mut joined = Vec::new();
    for i in 0..viewers {
        let opts = bench.viewer(device, &format!("profile-{i}"), false);
        joined.push(
            Viewer::join_connected(opts, 3)
                .await
                .expect("a viewer joins"),
        );
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("target/perf-{viewers}.data"));
    let pid = proc.pid().to_string();
    let status = tokio::process::Command::new("perf")
        .args([
            "record",
            "--call-graph",
            "dwarf,16384",
            "-F",
            "499",
            "-p",
            &pid,
            "-o",
        ])
        .arg(&out)
        .args(["--", "sleep", "10"])
        .status()
        .await
        .expect("perf (apt-get install linux-perf)");
    assert!(status.success(), "perf record failed: {status}");
    println!("PROFILE {viewers} viewers: {}", out.display());
    for v in &joined {
        v.hangup().await;
    }
    drop(proc);
}
