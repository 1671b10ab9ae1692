//! The fan-out with cameras that misbehave the way USB webcams do, on the real clock and the
//! real encoder: one corrupt frame in ten, and a camera that vanishes for 5 s and returns.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::rate::{Limits, RateControl};
use super::Fanout;
use crate::capture::synthetic::SyntheticVideo;
use crate::capture::{CaptureError, VideoFormat, VideoFrame, VideoInput, VideoSource};
use crate::clock::RealClock;
use crate::config::VideoConfig;
use crate::encode::openh264::H264Settings;

const FORMAT: VideoFormat = VideoFormat {
    width: 320,
    height: 240,
    fps: 30,
};

/// A 30 fps camera that spoils every `corrupt_every`-th frame and is gone during `gone`
/// (measured from its start).
struct FlakyCamera {
    inner: SyntheticVideo,
    start: Instant,
    n: u64,
    corrupt_every: u64,
    gone: Option<(Duration, Duration)>,
}

impl FlakyCamera {
    fn new(corrupt_every: u64, gone: Option<(Duration, Duration)>) -> Self {
        Self {
            inner: SyntheticVideo::new(FORMAT, Arc::new(RealClock)),
            start: Instant::now(),
            n: 0,
            corrupt_every,
            gone,
        }
    }
}

impl VideoSource for FlakyCamera {
    fn name(&self) -> String {
        "flaky camera".into()
    }
    fn format(&self) -> VideoFormat {
        FORMAT
    }
    fn next_frame(&mut self) -> Result<VideoFrame, CaptureError> {
        let t = self.start.elapsed();
        if let Some((from, to)) = self.gone {
            if t >= from && t < to {
                return Err(CaptureError::Stopped {
                    source_name: self.name(),
                    reason: "No such device".into(),
                });
            }
        }
        // A spoiled frame still takes its slot in time.
        let frame = self.inner.next_frame()?;
        self.n += 1;
        if self.corrupt_every > 0 && self.n % self.corrupt_every == 0 {
            return Err(CaptureError::BadFrame {
                source_name: self.name(),
                reason: "truncated MJPEG".into(),
            });
        }
        Ok(frame)
    }
}

fn start(camera: FlakyCamera) -> Fanout {
    let video = VideoConfig {
        width: FORMAT.width,
        height: FORMAT.height,
        fps: FORMAT.fps,
        ..VideoConfig::default()
    };
    let fanout = Fanout::start(
        VideoInput::Raw(Box::new(camera)),
        H264Settings::from_config(&video),
        RateControl::new(Limits::from_config(&video), true),
        None,
        Arc::new(RealClock),
    )
    .expect("fan-out");
    fanout.set_active_viewers(1);
    fanout
}

fn encoded(f: &Fanout) -> u64 {
    f.stats.video_frames_encoded.load(Ordering::Relaxed)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_corrupt_frame_in_ten_keeps_the_video_flowing() {
    let fanout = start(FlakyCamera::new(10, None));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (from, at) = (encoded(&fanout), Instant::now());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let fps = (encoded(&fanout) - from) as f64 / at.elapsed().as_secs_f64();
    println!("CORRUPT 1 IN 10: {fps:.1} good frames per second");
    assert!(fps >= 25.0, "good frames per second: {fps:.1}");
    assert!(
        !fanout.stats.video_failing.load(Ordering::Relaxed),
        "not reported unavailable"
    );
    fanout.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_that_vanishes_for_5_s_streams_again_within_2_s_of_its_return() {
    let (gone, back) = (Duration::from_secs(1), Duration::from_secs(6));
    let fanout = start(FlakyCamera::new(0, Some((gone, back))));
    let started = Instant::now();
    let mut failing_seen = false;
    let mut resumed_after = None;
    let mut count_at_return = None;
    while started.elapsed() < back + Duration::from_secs(4) {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let t = started.elapsed();
        failing_seen |= fanout.stats.video_failing.load(Ordering::Relaxed);
        if t >= back && count_at_return.is_none() {
            count_at_return = Some(encoded(&fanout));
        }
        if let Some(n) = count_at_return {
            if resumed_after.is_none() && encoded(&fanout) > n {
                resumed_after = Some(t - back);
            }
        }
    }
    assert!(failing_seen, "reported unavailable while gone");
    let resumed_after = resumed_after.expect("frames again after the camera returned");
    println!("CAMERA BACK: frames again {resumed_after:?} after the camera returned");
    assert!(
        resumed_after <= Duration::from_secs(2),
        "resumed {resumed_after:?} after the camera returned"
    );
    assert!(!fanout.stats.video_failing.load(Ordering::Relaxed));
    fanout.stop();
}
