//! The aarch64 rtcam on an emulated board (`tests/vm/`: QEMU's arm64 `virt` machine, Debian's
//! arm64 kernel) against the kernel's own drivers: `vivid` (a virtual camera) and `snd-aloop`
//! (a loopback sound card carrying a 440 Hz tone). The host's test viewer joins through the
//! broker on the host (10.0.2.2 in the guest) and one forwarded UDP port with
//! `nat_1to1_ips = ["127.0.0.1"]`, as a camera behind a router with one forwarded port runs.
//!
//! `RTCAM_ARM_BINARY` names the binary (`scripts/test.sh` sets it). Without it the test says
//! so and passes outside CI; under CI (`CI=true`) it fails.

use std::time::{Duration, Instant};

use crate::support;
use support::viewer::{Seen, Viewer, ViewerOptions};
use support::vm::Vm;

const DEVICE: &str = "cam-vm-vivid";
const DEVICE_H264: &str = "cam-vm-h264";
const SECS: u64 = 10;

/// User and system CPU seconds of the guest's rtcam process.
fn guest_cpu(vm: &mut Vm) -> f64 {
    let out = vm.ok(
        "set -- $(cat /proc/$(pidof rtcam)/stat); echo \"@@CPU ${14} ${15}\"",
        Duration::from_secs(10),
    );
    let line = out
        .lines()
        .find(|l| l.contains("@@CPU "))
        .expect("cpu line");
    let ticks: Vec<f64> = line
        .rsplit("@@CPU ")
        .next()
        .unwrap()
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    ticks.iter().sum::<f64>() / 100.0
}

/// Records 10 s of 640x480 at 15 fps H.264 (x264, constrained baseline, an IDR a second)
/// with GStreamer on the host, for the passthrough phase (as `rpicam-vid` would send).
fn record_clip() -> std::path::PathBuf {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/vm/clip.h264");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("gst-launch-1.0")
        .args(["-q", "videotestsrc", "num-buffers=150", "pattern=ball", "!"])
        .args([
            "video/x-raw,width=640,height=480,framerate=15/1",
            "!",
            "x264enc",
        ])
        .args([
            "tune=zerolatency",
            "speed-preset=ultrafast",
            "key-int-max=15",
            "bframes=0",
        ])
        .args(["bitrate=600", "!"])
        .args([
            "video/x-h264,profile=constrained-baseline,stream-format=byte-stream",
            "!",
        ])
        .arg("filesink")
        .arg(format!("location={}", path.display()))
        .status()
        .expect("gst-launch-1.0 (scripts/install-deps.sh test installs GStreamer)");
    assert!(status.success(), "recording the H.264 clip");
    path
}

/// Starts rtcam in the guest as `device`, its `[video]` section `video` (640x480 at 15 fps
/// besides), the loopback card's capture side as microphone, the broker on the host's
/// `ports.0` and the media on the forwarded UDP port `ports.1`.
fn start_rtcam(vm: &mut Vm, device: &str, ports: (u16, u16), video: &str) {
    let (broker, media) = ports;
    let path = format!("/tmp/{device}.toml");
    vm.write_file(
        &path,
        &format!(
            "device_id = \"{device}\"\n[mqtt]\nurl = \"mqtt://10.0.2.2:{broker}\"\nkeep_alive_s = 10\n\
             [video]\n{video}\nwidth = 640\nheight = 480\nfps = 15\n\
             [audio]\nsource = \"alsa\"\ndevice = \"hw:Loopback,1,0\"\n\
             [webrtc]\nudp_port = {media}\nnat_1to1_ips = [\"127.0.0.1\"]\n"
        ),
    );
    vm.ok(
        &format!("rtcam run --config {path} &"),
        Duration::from_secs(10),
    );
}

/// Pictures decoded since `from` and how many distinct ones among them.
fn pictures_since(seen: &Seen, from: Instant) -> (usize, usize) {
    let recent: Vec<_> = seen
        .unstamped_pictures
        .iter()
        .filter(|p| p.0 >= from)
        .collect();
    let mut hashes: Vec<u64> = recent.iter().map(|p| p.3).collect();
    hashes.sort_unstable();
    hashes.dedup();
    (recent.len(), hashes.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aarch64_rtcam_streams_vivid_and_snd_aloop_from_a_vm() {
    let Some(binary) = support::arm_binary() else {
        return;
    };
    // The image is built before entering the namespace: its first build downloads Debian's
    // arm64 packages, and the namespace has no way out.
    let t0 = Instant::now();
    if !support::netns::inside() {
        let clip = record_clip();
        support::vm::build_image(&binary, &[&clip]);
        println!("VM: image {:.1} s", t0.elapsed().as_secs_f64());
    }
    if !support::netns::enter_alone(
        module_path!(),
        "aarch64_rtcam_streams_vivid_and_snd_aloop_from_a_vm",
    ) {
        return;
    }
    let port = support::embedded_broker();
    let media_port = support::free_port();
    let mut vm = Vm::boot(media_port, Duration::from_secs(180));
    println!("VM: boot to shell {:.1} s", vm.boot.as_secs_f64());

    // `rtcam probe` sees vivid's formats (the ones v4l2-ctl lists) and the loopback card.
    let formats = vm.ok(
        "v4l2-ctl -d /dev/video0 --list-formats",
        Duration::from_secs(30),
    );
    let probe = vm.ok("rtcam probe", Duration::from_secs(60));
    assert!(
        probe.contains("/dev/video0") && probe.contains("vivid"),
        "probe names vivid:\n{probe}"
    );
    assert!(
        probe
            .lines()
            .any(|l| l.trim_start().starts_with("yuyv") && l.contains(" 640x480 ")),
        "probe lists YUYV 640x480:\n{probe}"
    );
    assert!(
        probe.contains("-> would capture"),
        "probe picks a mode:\n{probe}"
    );
    assert!(
        probe.contains("Loopback"),
        "probe lists the loopback card:\n{probe}"
    );
    let fourccs: Vec<&str> = formats
        .lines()
        .filter_map(|l| l.split('\'').nth(1))
        .collect();
    println!("VM: v4l2-ctl lists {} formats: {fourccs:?}", fourccs.len());
    assert!(fourccs.contains(&"YUYV"), "vivid offers YUYV: {formats}");
    // Every format the driver lists is in the probe: as the name rtcam uses, or as unused.
    for f in &fourccs {
        let ours = match *f {
            "YUYV" => Some("yuyv"),
            "YU12" => Some("yu12"),
            "NV12" => Some("nv12"),
            "MJPG" => Some("mjpeg"),
            "H264" => Some("h264"),
            _ => None,
        };
        let listed = match ours {
            Some(name) => probe.lines().any(|l| l.trim_start().starts_with(name)),
            None => probe.contains(&format!("(not used by rtcam: {f} (")),
        };
        assert!(listed, "probe lists {f:?}:\n{probe}");
    }

    start_rtcam(
        &mut vm,
        DEVICE,
        (port, media_port),
        "source = \"v4l2\"\ndevice = \"/dev/video0\"\nformat = \"yuyv\"\nbitrate_kbps = 600",
    );

    let t_join = Instant::now();
    let v = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "vm-viewer"), 5)
        .await
        .expect("the viewer joins the VM's rtcam");
    assert!(
        v.wait_until(Duration::from_secs(30), |s| s.unstamped >= 5)
            .await,
        "pictures from vivid within 30 s: {:?}",
        v.seen.lock().unwrap().unstamped
    );
    println!(
        "VM: first pictures {:.1} s after the join started",
        t_join.elapsed().as_secs_f64()
    );

    let cpu0 = guest_cpu(&mut vm);
    let (from, audio0) = (Instant::now(), v.seen.lock().unwrap().audio_bytes);
    let audio_n0 = v.seen.lock().unwrap().audio_at.len();
    tokio::time::sleep(Duration::from_secs(SECS)).await;
    let cpu = guest_cpu(&mut vm) - cpu0;
    {
        let seen = v.seen.lock().unwrap();
        let (n, distinct) = pictures_since(&seen, from);
        let fps = n as f64 / SECS as f64;
        let audio_packets = seen.audio_at.len() - audio_n0;
        let audio_avg = (seen.audio_bytes - audio0) as f64 / audio_packets.max(1) as f64;
        let sizes: Vec<_> = seen
            .unstamped_pictures
            .iter()
            .filter(|p| p.0 >= from)
            .map(|p| (p.1, p.2))
            .collect();
        let bars = seen.last_unstamped_bars.unwrap_or_default();
        println!(
            "VM NUMBERS: {fps:.1} fps decoded at the host ({distinct} distinct of {n} pictures), \
             rtcam in the VM {:.0} % of a core ({cpu:.1} s CPU in {SECS} s), audio {audio_packets} \
             packets averaging {audio_avg:.0} bytes, bars luma {bars:?}, stamped {}",
            cpu / SECS as f64 * 100.0,
            seen.decoded.len()
        );
        assert!(
            fps >= 5.0,
            "at least 5 fps of vivid's pictures decoded: {fps:.1}"
        );
        assert!(
            sizes.iter().all(|s| *s == (640, 480)),
            "640x480 pictures: {:?}",
            sizes.first()
        );
        assert!(
            distinct * 2 >= n,
            "the pictures change (vivid's overlay counts): {distinct} of {n}"
        );
        // vivid's 75 % colour bars: white, yellow, cyan, green, magenta, red, blue, black;
        // luma falls from left to right. rtcam's synthetic source carries a stamp instead.
        assert!(
            bars.windows(2).all(|w| w[0] > w[1]) && bars[0] - bars[7] > 100,
            "vivid's colour bars: {bars:?}"
        );
        assert_eq!(
            seen.decoded.len(),
            0,
            "no picture with rtcam's synthetic stamp"
        );
        assert!(
            audio_packets as u64 >= SECS * 40,
            "audio from snd-aloop: {audio_packets} packets"
        );
        assert!(
            audio_avg > 40.0,
            "the tone, not silence: {audio_avg:.0} bytes per packet"
        );
    }

    // The camera goes away under the daemon (vivid's Disconnect control, as a USB camera
    // pulled out) and comes back (vivid unloaded and loaded again): rtcam stays up, resumes.
    vm.ok(
        "v4l2-ctl -d /dev/video0 -c disconnect=1",
        Duration::from_secs(20),
    );
    let gone = Instant::now();
    // (A subshell: `exit` in the guest's own shell would end its init.)
    vm.ok(
        "(for i in $(seq 1 100); do rmmod vivid 2>/dev/null && exit 0; sleep 0.2; done; exit 1)",
        Duration::from_secs(60),
    );
    vm.ok("load_vivid", Duration::from_secs(30));
    let back = Instant::now();
    let resumed = v
        .wait_until(Duration::from_secs(40), |s| {
            s.unstamped_pictures.iter().filter(|p| p.0 >= back).count() >= 10
        })
        .await;
    println!(
        "VM: camera unplugged and replugged; 10 pictures again {:.1} s after it came back \
         ({:.1} s after it went)",
        back.elapsed().as_secs_f64(),
        gone.elapsed().as_secs_f64()
    );
    vm.ok("pidof rtcam", Duration::from_secs(10));
    assert!(resumed, "pictures resume after vivid is reloaded");
    v.hangup().await;
    vm.ok(
        "kill $(pidof rtcam); for i in $(seq 1 100); do pidof rtcam >/dev/null || break; sleep 0.1; done",
        Duration::from_secs(20),
    );

    // Passthrough on the same board: recorded H.264 (what `rpicam-vid` sends from a Pi 4's
    // hardware encoder) goes to the viewer without an encode: rtcam's own cost.
    start_rtcam(
        &mut vm,
        DEVICE_H264,
        (port, media_port),
        "source = \"h264file\"\nfile = \"/data/clip.h264\"",
    );
    // Nobody watching: what the daemon costs at rest (after a second to start up).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle0 = guest_cpu(&mut vm);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = (guest_cpu(&mut vm) - idle0) / 5.0 * 100.0;
    let v = Viewer::join_connected(ViewerOptions::new(port, DEVICE_H264, "vm-viewer-h264"), 5)
        .await
        .expect("the viewer joins the VM's passthrough rtcam");
    assert!(
        v.wait_until(Duration::from_secs(30), |s| s.unstamped >= 5)
            .await,
        "passed-through pictures within 30 s"
    );
    let cpu0 = guest_cpu(&mut vm);
    let from = Instant::now();
    tokio::time::sleep(Duration::from_secs(SECS)).await;
    let cpu = guest_cpu(&mut vm) - cpu0;
    let (n, distinct) = pictures_since(&v.seen.lock().unwrap(), from);
    println!(
        "VM NUMBERS passthrough: {:.1} fps decoded at the host ({distinct} distinct of {n}), \
         rtcam in the VM {:.0} % of a core ({cpu:.1} s CPU in {SECS} s, audio encode included; \
         {idle:.0} % with nobody watching)",
        n as f64 / SECS as f64,
        cpu / SECS as f64 * 100.0
    );
    assert!(
        n as f64 / SECS as f64 >= 5.0,
        "at least 5 fps passed through: {n} in {SECS} s"
    );
    assert!(distinct * 2 >= n, "the pictures change: {distinct} of {n}");
    v.hangup().await;
    vm.shutdown();
    println!("VM: whole test {:.1} s", t0.elapsed().as_secs_f64());
}
