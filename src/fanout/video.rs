//! Raw pictures encoded once with openh264. While nobody watches the camera is still read
//! (so it keeps its exposure and is ready at once) but nothing is encoded. Before each
//! picture the rate control's plan sets the encoder's bitrate, and at very low bitrates
//! only every n-th picture is encoded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::encoders::Encoders;
use super::keyframe::KeyframeRequests;
use super::rate::RateControl;
use super::retry::CaptureRetry;
use super::sample::{SampleOut, Sent};
use super::FanoutStats;
use crate::capture::VideoSource;
use crate::clock::{Clock, Stop};

/// How often the pipeline's counters are logged.
const REPORT_EVERY: Duration = Duration::from_secs(5);

pub(super) struct VideoThread {
    pub source: Box<dyn VideoSource>,
    pub encoders: Encoders,
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
        let mut bytes_at_report = 0u64;
        // Time covered by frames the encoder skipped, added to the next sample so RTP
        // timestamps keep pace with the capture clock.
        let mut pending = Duration::ZERO;
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
            self.encoders.follow(&self.rate.plan(now));
            picture += 1;
            if picture % u64::from(self.encoders.divisor().max(1)) != 0 {
                pending += self.frame_duration;
                continue;
            }
            let force = self.keyframes.take(now);
            match self.encoders.encode(&frame, force) {
                Ok(Some(au)) => {
                    self.rate.note_encoded(au.temporal_id, au.data.len());
                    self.stats
                        .video_bytes_encoded
                        .fetch_add(au.data.len() as u64, Ordering::Relaxed);
                    self.stats
                        .video_frames_encoded
                        .fetch_add(1, Ordering::Relaxed);
                    if au.keyframe {
                        self.stats.video_keyframes.fetch_add(1, Ordering::Relaxed);
                        self.keyframes.note_keyframe(now);
                        let bps = self.encoders.active().bitrate_bps();
                        self.keyframes.note_cost(au.data.len(), bps);
                    }
                    let duration = self.frame_duration + std::mem::take(&mut pending);
                    match self
                        .out
                        .send_video(au.data, duration, au.temporal_id, au.keyframe)
                    {
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
            let since = now.saturating_duration_since(last_report);
            if since >= REPORT_EVERY {
                last_report = now;
                let s = &self.stats;
                let bytes = s.video_bytes_encoded.load(Ordering::Relaxed);
                let kbps = (bytes - bytes_at_report) as f64 * 8.0 / since.as_secs_f64() / 1000.0;
                bytes_at_report = bytes;
                info!(
                    encoded_kbps = kbps.round(),
                    target_kbps = self.encoders.active().bitrate_bps() / 1000,
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
