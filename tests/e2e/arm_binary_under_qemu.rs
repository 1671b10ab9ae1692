//! The aarch64 build of rtcam, run under qemu-user with the synthetic source, streams to the
//! x86 test viewer through a broker on loopback (inside the test's network namespace).
//!
//! `RTCAM_ARM_BINARY` names the binary (`scripts/test.sh` builds it with
//! `cross/build.sh aarch64` and sets it). Without it the test says so and passes outside CI;
//! under CI (`CI=true`) it fails.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support;

const DEVICE: &str = "cam-aarch64-qemu";

fn qemu() -> Option<&'static str> {
    ["/usr/bin/qemu-aarch64-static", "/usr/bin/qemu-aarch64"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aarch64_binary_streams_under_qemu() {
    let Some(binary) = support::arm_binary() else {
        return;
    };
    if !support::netns::enter_alone(module_path!(), "aarch64_binary_streams_under_qemu") {
        return;
    }
    let qemu = qemu().expect("qemu-user-static is installed (cross/build.sh installs it)");
    let port = support::embedded_broker();
    let dir = std::env::temp_dir().join(format!("rtcam-qemu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("rtcam.toml");
    // Small and slow enough for emulation (openh264 runs ~20x slower under qemu-user).
    std::fs::write(
        &config,
        format!(
            "device_id = \"{DEVICE}\"\n[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\nkeep_alive_s = 10\n\
             [video]\nwidth = 320\nheight = 240\nfps = 15\nbitrate_kbps = 400\n"
        ),
    )
    .unwrap();
    // binfmt_misc is not mounted here, so qemu is called explicitly; with multiarch libc
    // installed, threaded programs need LD_LIBRARY_PATH pointing at the cross libc.
    let mut child = Command::new(qemu)
        .args(["-L", "/usr/aarch64-linux-gnu"])
        .args(["-E", "LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib"])
        .arg(&binary)
        .arg("run")
        .arg("--config")
        .arg(&config)
        .stdin(Stdio::null())
        .spawn()
        .expect("start the aarch64 binary under qemu");

    let report = support::watch_and_measure_size(port, DEVICE, true, 320, 240).await;
    println!(
        "QEMU aarch64: {} of {} frames decoded, audio {} packets in 5 s, latency p50 {} ms p95 {} ms",
        report.decoded,
        report.sent,
        report.audio_packets,
        report.latency_p50_ms,
        report.latency_p95_ms
    );
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stopped = (0..100).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().ok().flatten()
    });
    if stopped.is_none() {
        let _ = child.kill();
    }
    std::fs::remove_dir_all(&dir).ok();

    assert!(
        (60..=90).contains(&report.sent),
        "about 75 frames sent in 5 s at 15 fps: {report:?}"
    );
    assert!(
        report.decoded as f64 >= 0.9 * report.sent as f64,
        "at least 90 % decoded: {report:?}"
    );
    assert!(report.increasing, "frame numbers increase: {report:?}");
    assert!(report.sizes_ok, "320x240 pictures: {report:?}");
    assert!(
        (200..=300).contains(&report.audio_packets),
        "about 50 Opus packets/s: {report:?}"
    );
    assert!(
        stopped.is_some_and(|s| s.success()),
        "the emulated daemon stops cleanly on SIGTERM"
    );
}
