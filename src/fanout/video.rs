//! Raw pictures encoded once with openh264. While nobody watches the camera is still read
//! (so it keeps its exposure and is ready at once) but nothing is encoded. Before each
//! picture the rate control's plan sets the encoder's bitrate, and at very low bitrates
//! only every n-th picture is encoded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::keyframe::KeyframeRequests;
use super::rate::RateControl;
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
    pub rate: Arc<RateControl>,
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
        let mut divisor = 1;
        let mut picture = 0u64;
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
            self.follow_plan(now, &mut divisor);
            picture += 1;
            if picture % u64::from(divisor) != 0 {
                pending += self.frame_duration;
                continue;
            }
            let force = self.keyframes.take(now);
            match self.encoder.encode(&frame, force) {
                Ok(Some(au)) => {
                    self.rate.note_encoded(au.temporal_id, au.data.len());
                    self.stats
                        .video_frames_encoded
                        .fetch_add(1, Ordering::Relaxed);
                    if au.keyframe {
                        self.stats.video_keyframes.fetch_add(1, Ordering::Relaxed);
                        self.keyframes.note_keyframe(now);
                    }
                    let duration = self.frame_duration + std::mem::take(&mut pending);
                    match self.out.send_layer(au.data, duration, au.temporal_id) {
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

    /// Applies the rate control's plan: the encoder's bitrate and how many pictures it gets.
    fn follow_plan(&mut self, now: std::time::Instant, divisor: &mut u32) {
        let plan = self.rate.plan(now);
        if plan.encoder_bps != self.encoder.bitrate_bps() {
            if let Err(e) = self.encoder.set_bitrate(plan.encoder_bps) {
                warn!(cause = %e, bps = plan.encoder_bps, "changing the video bitrate failed");
            }
        }
        let wanted = plan.frame_divisor.max(1);
        if wanted != *divisor {
            let fps = self.encoder.settings().fps as f32 / wanted as f32;
            info!(
                fps,
                kbps = plan.encoder_bps / 1000,
                "video picture rate follows the bitrate"
            );
            if let Err(e) = self.encoder.set_frame_rate(fps) {
                warn!(cause = %e, fps, "changing the encoder's picture rate failed");
            }
            *divisor = wanted;
        }
    }
}
