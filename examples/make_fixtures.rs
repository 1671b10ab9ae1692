//! Writes the recorded test streams under `tests/data/` with rtcam's own synthetic camera and
//! H.264 encoder (run: `cargo run --example make_fixtures`).
//!
//! - `synthetic-320x240-15fps.h264`: 6 s (90 frames) of the stamped test pattern, Annex B,
//!   constrained baseline, 300 kbit/s, an IDR (with SPS/PPS) every 15 frames. The stamps carry
//!   frame numbers 0..=89, so a viewer can check what it decodes.

use std::sync::Arc;
use std::time::Duration;

use rtcam::capture::synthetic::SyntheticVideo;
use rtcam::capture::{VideoFormat, VideoSource};
use rtcam::clock::SimulatedClock;
use rtcam::encode::openh264::{H264Encoder, H264Settings};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    std::fs::create_dir_all(&out)?;
    let format = VideoFormat {
        width: 320,
        height: 240,
        fps: 15,
    };
    let clock = Arc::new(SimulatedClock::new(1_700_000_000_000));
    let mut source = SyntheticVideo::new(format, clock.clone());
    let mut encoder = H264Encoder::new(H264Settings {
        width: 320,
        height: 240,
        fps: 15,
        bitrate_bps: 300_000,
        max_bitrate_bps: 300_000,
        keyframe_interval_frames: 15,
        temporal_layers: 1,
    })?;
    let mut stream = Vec::new();
    for i in 0..90 {
        let frame = source.next_frame()?;
        // Every frame is kept: no rate-control skips in a fixture.
        let au = encoder
            .encode(&frame, i % 15 == 0)?
            .ok_or_else(|| format!("the encoder skipped frame {i}"))?;
        stream.extend_from_slice(&au.data);
        clock.advance(Duration::from_millis(1));
    }
    let path = out.join("synthetic-320x240-15fps.h264");
    std::fs::write(&path, &stream)?;
    println!(
        "wrote {} ({} bytes, 90 frames)",
        path.display(),
        stream.len()
    );
    Ok(())
}
