//! Raw pictures encoded once with openh264. While nobody watches the camera is still read
//! (so it keeps its exposure and is ready at once) but nothing is encoded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::keyframe::KeyframeRequests;
use super::retry::CaptureRetry;
use super::sample::{SampleOut, Sent};
use super::FanoutStats;
use crate::capture::VideoSource;
use crate::clock::{Clock, Stop};
use crate::encode::openh264::H264Encoder;

pub(super) struct VideoThread {
    pub source: Box<dyn VideoSource>,
    pub encoder: H264Encoder,
    pub out: SampleOut,
    pub clock: Arc<dyn Clock>,
    pub keyframes: Arc<KeyframeRequests>,
    pub stats: Arc<FanoutStats>,
    pub active: Arc<AtomicUsize>,
    pub stop: Stop,
    pub frame_duration: Duration,
}

impl VideoThread {
    pub fn run(mut self) {
        info!(source = %self.source.name(), "video capture started");
        let mut retry = CaptureRetry::new("video");
        let mut last_report = self.clock.now();
        // Time covered by frames the encoder skipped, added to the next sample so RTP
        // timestamps keep pace with the capture clock.
        let mut pending = Duration::ZERO;
        while !self.stop.requested() {
            self.stats.video_turns.fetch_add(1, Ordering::Relaxed);
            let next = self.source.next_frame();
            let failing = &self.stats.video_failing;
            let Some(frame) = retry.capture(next, failing, self.clock.as_ref(), &self.stop) else {
                continue;
            };
            self.stats
                .video_frames_captured
                .fetch_add(1, Ordering::Relaxed);
            if self.active.load(Ordering::Relaxed) == 0 {
                continue;
            }
            let now = self.clock.now();
            let force = self.keyframes.take(now);
            match self.encoder.encode(&frame, force) {
                Ok(Some(au)) => {
                    self.stats
                        .video_frames_encoded
                        .fetch_add(1, Ordering::Relaxed);
                    if au.keyframe {
                        self.stats.video_keyframes.fetch_add(1, Ordering::Relaxed);
                        self.keyframes.note_keyframe(now);
                    }
                    let duration = self.frame_duration + std::mem::take(&mut pending);
                    match self.out.send(au.data, duration) {
                        Sent::Queued => {}
                        Sent::Dropped => {
                            // The next frames reference the dropped one: resync with an IDR.
                            self.stats
                                .video_frames_dropped
                                .fetch_add(1, Ordering::Relaxed);
                            self.keyframes.request();
                        }
                        Sent::Closed => break,
                    }
                }
                Ok(None) => pending += self.frame_duration,
                Err(e) => {
                    pending += self.frame_duration;
                    warn!(cause = %e, "video encode failed; frame skipped")
                }
            }
            if now.saturating_duration_since(last_report) >= Duration::from_secs(30) {
                last_report = now;
                let s = &self.stats;
                info!(
                    captured = s.video_frames_captured.load(Ordering::Relaxed),
                    encoded = s.video_frames_encoded.load(Ordering::Relaxed),
                    dropped = s.video_frames_dropped.load(Ordering::Relaxed),
                    keyframes = s.video_keyframes.load(Ordering::Relaxed),
                    "video pipeline"
                );
            }
        }
        info!("video capture stopped");
    }
}
