//! Prints the per-frame cost of the work rtcam does for every picture, so performance is
//! watched with numbers rather than timed tests: `cargo run --release --example bench`
//! (or under qemu-aarch64 with the cross-built example for a rough ARM figure).
//!
//! - H.264 encode (openh264, constrained baseline) of the synthetic pattern at 640x480 and
//!   1280x720;
//! - YUYV → I420 (yuv crate) and MJPEG → I420 (zune-jpeg + yuv) at 1280x720;
//! - SRTP protection of a full-size packet (AES-128-GCM and AES-128-CM-HMAC-SHA1-80): the
//!   per-viewer crypto;
//! - the synthetic source's pictures (bars and busy);
//! - starting an H.264 encoder (the first viewer's join waits for it) and the memory one
//!   holds;
//! - Opus encode of 20 ms;
//! - resampling 20 ms (rubato's windowed sinc): 48 kHz → 16 kHz (talkback on a USB
//!   speakerphone) and 44.1 kHz → 48 kHz (a microphone).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtcam::capture::convert::{to_i420, PixelFormat};
use rtcam::capture::synthetic::SyntheticVideo;
use rtcam::capture::{AudioFrame, VideoFormat, VideoSource};
use rtcam::clock::SimulatedClock;
use rtcam::encode::openh264::{H264Encoder, H264Settings};
use rtcam::encode::opus::OpusEncoder;

fn per_item(label: &str, n: u32, f: impl FnMut(u32)) {
    let mut f = f;
    let start = Instant::now();
    for i in 0..n {
        f(i);
    }
    let each = start.elapsed() / n;
    if each < std::time::Duration::from_micros(100) {
        println!("{label:<42} {:>8.2} µs", each.as_secs_f64() * 1e6);
    } else {
        println!("{label:<42} {:>8.3} ms", each.as_secs_f64() * 1000.0);
    }
}

fn h264_settings(width: u32, height: u32) -> H264Settings {
    H264Settings {
        width,
        height,
        fps: 30,
        bitrate_bps: 1_500_000,
        max_bitrate_bps: 1_500_000,
        keyframe_interval_frames: 60,
        temporal_layers: 3,
    }
}

/// This process's resident memory in KiB (`VmRSS`), 0 where /proc is missing.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// The memory an encoder holds once it has encoded a picture: valid for the first encoder
/// in this process only (a later one reuses what an earlier one freed).
fn encoder_memory(width: u32, height: u32) {
    let before = rss_kib();
    let mut encoder = H264Encoder::new(h264_settings(width, height)).expect("encoder");
    let picture = rtcam::capture::VideoFrame::black(width, height, Instant::now(), 0);
    encoder.encode(&picture, false).expect("encode");
    let held = rss_kib().saturating_sub(before);
    println!(
        "{:<42} {:>8.1} MiB",
        format!("H.264 encoder resident {width}x{height}"),
        held as f64 / 1024.0
    );
}

/// Starting an encoder and its first picture (an IDR): the first viewer's join waits for
/// both.
fn encoder_start(width: u32, height: u32, n: u32) {
    let picture = rtcam::capture::VideoFrame::black(width, height, Instant::now(), 0);
    per_item(
        &format!("H.264 encoder start + 1st picture {width}x{height}"),
        n,
        |_| {
            let mut encoder = H264Encoder::new(h264_settings(width, height)).expect("encoder");
            std::hint::black_box(encoder.encode(&picture, false).expect("encode"));
        },
    );
}

fn encode(width: u32, height: u32, frames: u32) {
    let clock = Arc::new(SimulatedClock::new(0));
    let mut source = SyntheticVideo::new(
        VideoFormat {
            width,
            height,
            fps: 30,
        },
        clock.clone(),
    );
    let pictures: Vec<_> = (0..30)
        .map(|_| {
            clock.advance(Duration::from_millis(33));
            source.next_frame().expect("frame")
        })
        .collect();
    let mut encoder = H264Encoder::new(h264_settings(width, height)).expect("encoder");
    per_item(
        &format!("H.264 encode {width}x{height} (per frame)"),
        frames,
        |i| {
            let _ = encoder.encode(&pictures[i as usize % pictures.len()], false);
        },
    );
}

/// The synthetic source's cost per picture: what every test, benchmark and idle device pays.
fn synthetic(width: u32, height: u32, busy: bool) {
    let clock = Arc::new(SimulatedClock::new(0));
    let format = VideoFormat {
        width,
        height,
        fps: 30,
    };
    let mut source = if busy {
        SyntheticVideo::busy(format, clock.clone())
    } else {
        SyntheticVideo::new(format, clock.clone())
    };
    let name = if busy { "busy" } else { "bars" };
    per_item(
        &format!("synthetic {name} {width}x{height} (per frame)"),
        300,
        |_| {
            clock.advance(Duration::from_millis(33));
            std::hint::black_box(source.next_frame().expect("frame"));
        },
    );
}

/// SRTP protection of one full-size RTP packet (1200 bytes of payload), the per-viewer,
/// per-packet crypto: AES-128-GCM (what Chromium and webrtc-rs viewers negotiate with the
/// device) and AES-128-CM + HMAC-SHA1-80 (the mandatory fallback).
fn srtp() {
    use webrtc::srtp::context::Context;
    use webrtc::srtp::protection_profile::ProtectionProfile;
    for (name, profile) in [
        ("AES-128-GCM", ProtectionProfile::AeadAes128Gcm),
        (
            "AES-128-CM-HMAC-SHA1-80",
            ProtectionProfile::Aes128CmHmacSha1_80,
        ),
    ] {
        let key = vec![7u8; profile.key_len()];
        let salt = vec![9u8; profile.salt_len()];
        let mut ctx = Context::new(&key, &salt, profile, None, None).expect("SRTP context");
        let mut packet = vec![0u8; 12 + 1200];
        packet[0] = 0x80;
        packet[1] = 102;
        packet[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
        per_item(&format!("SRTP {name}, 1200-byte packet"), 20_000, |i| {
            packet[2..4].copy_from_slice(&(i as u16).to_be_bytes());
            std::hint::black_box(ctx.encrypt_rtp(&packet).expect("protect"));
        });
    }
}

fn main() {
    println!("rtcam per-item costs (lower is better; 33 ms per frame is 30 fps)");
    srtp();
    for busy in [false, true] {
        synthetic(640, 480, busy);
        synthetic(1280, 720, busy);
    }
    encoder_memory(1280, 720);
    encoder_start(640, 480, 40);
    encoder_start(1280, 720, 30);
    encode(640, 480, 150);
    encode(1280, 720, 90);

    let (w, h) = (1280u32, 720u32);
    let yuyv: Vec<u8> = (0..(w * h * 2) as usize).map(|i| (i % 251) as u8).collect();
    per_item("YUYV -> I420 1280x720 (per frame)", 200, |_| {
        to_i420(PixelFormat::Yuyv, &yuyv, w, h, 0).expect("yuyv");
    });
    let jpeg = std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/testsrc-1280x720.mjpeg"),
    )
    .expect("MJPEG fixture");
    per_item("MJPEG -> I420 1280x720 (per frame)", 50, |_| {
        to_i420(PixelFormat::Mjpeg, &jpeg, w, h, 0).expect("mjpeg");
    });

    let mut opus = OpusEncoder::new(32_000).expect("opus");
    let frame = AudioFrame {
        samples: (0..960)
            .map(|i| ((i as f32 / 48_000.0 * 440.0 * std::f32::consts::TAU).sin() * 8000.0) as i16)
            .collect(),
        captured_at: Instant::now(),
    };
    per_item("Opus encode 20 ms", 2000, |_| {
        opus.encode(&frame).expect("opus");
    });
    for (from, to) in [(48_000u32, 16_000u32), (44_100, 48_000)] {
        let mut r = rtcam::audio::Resampler::new(from, to);
        let block: Vec<i16> = (0..from / 50).map(|i| (i % 200) as i16 * 100).collect();
        let mut out = Vec::with_capacity(2048);
        per_item(&format!("resample 20 ms {from} -> {to} Hz"), 2000, |_| {
            out.clear();
            r.process(&block, &mut out);
        });
    }
}
