//! Camera-encoded H.264 to the track: no decode, no re-encode. Keyframe requests go to the
//! source; while nobody watches, access units are read and dropped. A dropped unit (slow
//! writer) breaks the reference chain, so later units are held back until the next IDR.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::info;

use super::keyframe::KeyframeRequests;
use super::retry::CaptureRetry;
use super::sample::{SampleOut, Sent};
use super::track::Stream;
use super::FanoutStats;
use crate::capture::H264Source;
use crate::clock::{Clock, Stop};

pub(super) struct PassthroughThread {
    pub source: Box<dyn H264Source>,
    pub out: SampleOut,
    pub clock: Arc<dyn Clock>,
    pub keyframes: Arc<KeyframeRequests>,
    pub stats: Arc<FanoutStats>,
    pub active: Arc<AtomicUsize>,
    pub stop: Stop,
}

impl PassthroughThread {
    pub fn run(mut self) {
        info!(source = %self.source.name(), "video capture started (H.264 passthrough)");
        let mut retry = CaptureRetry::new("video");
        let frame_duration = Duration::from_secs(1) / self.source.format().fps.max(1);
        let mut last_at: Option<std::time::Instant> = None;
        let mut wait_for_idr = true;
        let mut warned_no_force = false;
        while !self.stop.requested() {
            self.stats.video_turns.fetch_add(1, Ordering::Relaxed);
            let now = self.clock.now();
            if self.keyframes.take(now) && !self.source.request_keyframe() && !warned_no_force {
                warned_no_force = true;
                self.stats
                    .video_keyframes_periodic
                    .store(true, Ordering::Relaxed);
                info!(
                    "this source cannot force a keyframe; viewers wait for its next periodic IDR"
                );
            }
            let next = self.source.next_access_unit();
            let failing = &self.stats.video_failing;
            let Some(au) = retry.capture(next, failing, self.clock.as_ref(), &self.stop) else {
                wait_for_idr = true;
                continue;
            };
            self.stats
                .video_frames_captured
                .fetch_add(1, Ordering::Relaxed);
            // RTP time follows the capture clock.
            let duration = last_at
                .map(|t| au.captured_at.saturating_duration_since(t))
                .filter(|d| !d.is_zero())
                .unwrap_or(frame_duration);
            last_at = Some(au.captured_at);
            if self.active.load(Ordering::Relaxed) == 0 {
                wait_for_idr = true;
                continue;
            }
            if wait_for_idr && !au.keyframe {
                continue;
            }
            wait_for_idr = false;
            if au.keyframe {
                self.stats.video_keyframes.fetch_add(1, Ordering::Relaxed);
                self.keyframes.note_keyframe(now);
            }
            match self
                .out
                .send_video(au.data, duration, 0, au.keyframe, Stream::Main)
            {
                Sent::Queued => {
                    self.stats
                        .video_frames_encoded
                        .fetch_add(1, Ordering::Relaxed);
                }
                Sent::Dropped => {
                    self.stats
                        .video_frames_dropped
                        .fetch_add(1, Ordering::Relaxed);
                    wait_for_idr = true;
                    self.keyframes.request();
                }
                Sent::Closed => break,
            }
        }
        info!("video capture stopped");
    }
}
