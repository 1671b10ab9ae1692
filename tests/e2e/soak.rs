//! Soak: the `rtcam` binary with two viewers that stay and a third that joins and leaves
//! every 20 s, sampled every 10 s (RSS, file descriptors, threads, CPU, each staying viewer's
//! frame rate) into a CSV. CI runs two minutes and checks the trends (nothing grows, both
//! viewers keep 25 fps); `scripts/soak.sh` runs it for 30 minutes and plots it.

use std::io::Write;
use std::time::{Duration, Instant};

use crate::support;
use support::viewer::{Viewer, ViewerOptions};

const DEVICE: &str = "cam-soak";
const SAMPLE_EVERY: Duration = Duration::from_secs(10);
const CHURN_EVERY: Duration = Duration::from_secs(20);

/// One sample of the device process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    t_s: u64,
    rss_kib: u64,
    fds: usize,
    threads: u64,
    cpu_percent: f64,
    fps_a: f64,
    fps_b: f64,
    joins: u32,
}

/// RSS (KiB), threads, open fds and CPU ticks (user + system) of process `pid`.
fn probe(pid: u32) -> (u64, u64, usize, u64) {
    let s = support::process::proc_stats(&pid.to_string());
    (s.rss_kib, s.threads, s.fds, s.cpu_ticks)
}

fn decoded(v: &Viewer) -> usize {
    v.seen.lock().unwrap().decoded.len()
}

/// Runs the soak for `length`, writing the samples to `csv`.
async fn soak(length: Duration, csv: &std::path::Path) -> Vec<Sample> {
    let port = support::embedded_broker();
    let dir = std::env::temp_dir().join(format!("rtcam-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut device = support::process::run_device(&dir, port, DEVICE, "");
    let pid = device.pid();
    let join = |id: &str| Viewer::join_connected(ViewerOptions::new(port, DEVICE, id), 5);
    let a = join("soak-a").await.expect("viewer a");
    let b = join("soak-b").await.expect("viewer b");
    let mut churner = join("soak-c0").await.expect("viewer c");
    let mut joins = 1u32;

    let mut out = std::fs::File::create(csv).expect("CSV");
    writeln!(out, "t_s,rss_kib,fds,threads,cpu_percent,fps_a,fps_b,joins").unwrap();
    let tck = 100.0; // USER_HZ on Linux
    let start = Instant::now();
    let (mut last_ticks, mut last_a, mut last_b) = (probe(pid).3, decoded(&a), decoded(&b));
    let mut next_churn = start + CHURN_EVERY;
    let mut next_sample = start + SAMPLE_EVERY;
    let mut samples = Vec::new();
    while start.elapsed() < length {
        tokio::time::sleep_until(next_sample.min(next_churn).into()).await;
        let now = Instant::now();
        if now >= next_churn {
            churner.hangup().await;
            churner = join(&format!("soak-c{joins}")).await.expect("churn viewer");
            joins += 1;
            next_churn += CHURN_EVERY;
        }
        if now >= next_sample {
            let (rss_kib, threads, fds, ticks) = probe(pid);
            let secs = SAMPLE_EVERY.as_secs_f64();
            let (da, db) = (decoded(&a), decoded(&b));
            let s = Sample {
                t_s: start.elapsed().as_secs(),
                rss_kib,
                fds,
                threads,
                cpu_percent: (ticks - last_ticks) as f64 / tck / secs * 100.0,
                fps_a: (da - last_a) as f64 / secs,
                fps_b: (db - last_b) as f64 / secs,
                joins,
            };
            (last_ticks, last_a, last_b) = (ticks, da, db);
            writeln!(
                out,
                "{},{},{},{},{:.1},{:.1},{:.1},{}",
                s.t_s, s.rss_kib, s.fds, s.threads, s.cpu_percent, s.fps_a, s.fps_b, s.joins
            )
            .unwrap();
            println!("SOAK {s:?}");
            samples.push(s);
            next_sample += SAMPLE_EVERY;
        }
    }
    for v in [&a, &b, &churner] {
        v.hangup().await;
    }
    let (status, took) = device.terminate_within(Duration::from_secs(5));
    assert!(
        status.is_some_and(|s| s.success()),
        "clean stop: {status:?}"
    );
    println!("SOAK: the device stopped in {took:?}");
    std::fs::remove_dir_all(&dir).ok();
    samples
}

/// Nothing grows after the warm-up and both staying viewers keep playing.
fn check_trends(samples: &[Sample]) {
    let warm = samples
        .iter()
        .find(|s| s.t_s >= 30)
        .expect("samples after 30 s");
    let last = samples.last().unwrap();
    assert!(
        last.rss_kib <= warm.rss_kib + 4 * 1024,
        "RSS grows: {warm:?} -> {last:?}"
    );
    assert!(last.fds <= warm.fds + 4, "fds grow: {warm:?} -> {last:?}");
    assert!(
        last.threads <= warm.threads + 2,
        "threads grow: {warm:?} -> {last:?}"
    );
    for s in samples.iter().filter(|s| s.t_s >= 20) {
        assert!(s.fps_a >= 25.0 && s.fps_b >= 25.0, "fps: {s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_minutes_of_viewers_coming_and_going_leave_no_trend() {
    if !support::netns::enter_alone(
        module_path!(),
        "two_minutes_of_viewers_coming_and_going_leave_no_trend",
    ) {
        return;
    }
    let csv = std::env::temp_dir().join(format!("rtcam-soak-{}.csv", std::process::id()));
    let samples = soak(Duration::from_secs(120), &csv).await;
    check_trends(&samples);
    std::fs::remove_file(&csv).ok();
}

/// `scripts/soak.sh`: `RTCAM_SOAK_S` seconds (default 1800) into `RTCAM_SOAK_CSV`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "30 minutes; run through scripts/soak.sh"]
async fn long_soak() {
    if !support::netns::enter_alone(module_path!(), "long_soak") {
        return;
    }
    let secs = std::env::var("RTCAM_SOAK_S")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1800);
    let csv = std::env::var("RTCAM_SOAK_CSV").unwrap_or_else(|_| "target/soak.csv".into());
    let samples = soak(Duration::from_secs(secs), csv.as_ref()).await;
    check_trends(&samples);
}
