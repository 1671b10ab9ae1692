//! Raw pictures encoded with openh264: once for every viewer, and a second time (the second
//! stream) while a viewer far slower than the others watches. While nobody watches the camera
//! is still read (so it keeps its exposure and is ready at once) but nothing is encoded.
//! Before each picture the rate control's plan sets each encoder's bitrate, and at very low
//! bitrates only every n-th picture is encoded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::encoders::Encoders;
use super::keyframe::KeyframeRequests;
use super::rate::{LowPlan, Plan, RateControl};
use super::retry::CaptureRetry;
use super::sample::{SampleOut, Sent};
use super::track::Stream;
use super::FanoutStats;
use crate::capture::{VideoFrame, VideoSource};
use crate::clock::{Clock, Stop};
use crate::encode::openh264::{H264Encoder, H264Settings};

/// How often the pipeline's counters are logged.
const REPORT_EVERY: Duration = Duration::from_secs(5);

/// One stream's encoders and what it carries between pictures.
pub(super) struct StreamEncoder {
    pub encoders: Encoders,
    pub keyframes: Arc<KeyframeRequests>,
    pub stream: Stream,
    /// Time covered by pictures it skipped, added to its next unit so RTP timestamps keep
    /// pace with the capture clock.
    pending: Duration,
}

impl StreamEncoder {
    pub fn new(encoders: Encoders, keyframes: Arc<KeyframeRequests>, stream: Stream) -> Self {
        Self {
            encoders,
            keyframes,
            stream,
            pending: Duration::ZERO,
        }
    }
}

pub(super) struct VideoThread {
    pub source: Box<dyn VideoSource>,
    pub main: StreamEncoder,
    /// The settings of the second stream's encoder, when there may be one.
    pub low_settings: Option<H264Settings>,
    pub low_keyframes: Arc<KeyframeRequests>,
    pub out: SampleOut,
    pub clock: Arc<dyn Clock>,
    pub rate: Arc<RateControl>,
    pub stats: Arc<FanoutStats>,
    pub active: Arc<AtomicUsize>,
    pub stop: Stop,
    pub frame_duration: Duration,
}

/// The main plan's shape for the second stream's encoders.
fn as_plan(low: &LowPlan) -> Plan {
    Plan {
        encoder_bps: low.encoder_bps,
        frame_divisor: low.frame_divisor,
        half_size: low.half_size,
        layers: Vec::new(),
        low: None,
    }
}

impl VideoThread {
    pub fn run(mut self) {
        info!(source = %self.source.name(), "video capture started");
        let mut retry = CaptureRetry::new("video");
        let mut last_report = self.clock.now();
        let mut bytes_at_report = 0u64;
        let mut low: Option<StreamEncoder> = None;
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
                low = None;
                continue;
            }
            let now = self.clock.now();
            let plan = self.rate.plan(now);
            self.main.encoders.follow(&plan);
            self.follow_low(&mut low, plan.low.as_ref());
            picture += 1;
            let counted = Some((&self.rate, &self.stats));
            let (out, d) = (&self.out, self.frame_duration);
            if !Self::encode_into(&mut self.main, &frame, picture, now, out, counted, d) {
                break;
            }
            if let Some(low) = low.as_mut() {
                if !Self::encode_into(low, &frame, picture, now, out, None, d) {
                    break;
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
                    target_kbps = self.main.encoders.active().bitrate_bps() / 1000,
                    second_stream_kbps = low
                        .as_mut()
                        .map(|l| l.encoders.active().bitrate_bps() / 1000),
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

    /// Starts, adjusts or stops the second stream's encoder as the plan says.
    fn follow_low(&mut self, low: &mut Option<StreamEncoder>, plan: Option<&LowPlan>) {
        match (plan, low.as_mut()) {
            (Some(p), Some(enc)) => enc.encoders.follow(&as_plan(p)),
            (Some(p), None) => {
                let Some(settings) = self.low_settings else {
                    return;
                };
                match H264Encoder::new(settings) {
                    Ok(enc) => {
                        info!(kbps = p.encoder_bps / 1000, viewers = p.viewers.len(),
                            "second stream started (a viewer's link is far slower than the others')");
                        let mut enc = StreamEncoder::new(
                            Encoders::new(enc),
                            self.low_keyframes.clone(),
                            Stream::Low,
                        );
                        enc.encoders.follow(&as_plan(p));
                        *low = Some(enc);
                    }
                    Err(e) => {
                        warn!(cause = %e, "cannot make the second stream's encoder; slow viewers are thinned instead");
                        self.low_settings = None;
                    }
                }
            }
            (None, Some(_)) => {
                info!("second stream stopped (no viewer needs it)");
                *low = None;
            }
            (None, None) => {}
        }
    }

    /// Encodes `frame` for one stream (unless its picture rate skips it) and hands it on;
    /// false once the writer is gone. `main` counts the unit in the rate control and the
    /// pipeline's counters (the main stream only).
    fn encode_into(
        s: &mut StreamEncoder,
        frame: &VideoFrame,
        picture: u64,
        now: Instant,
        out: &SampleOut,
        main: Option<(&Arc<RateControl>, &Arc<FanoutStats>)>,
        frame_duration: Duration,
    ) -> bool {
        if picture % u64::from(s.encoders.divisor().max(1)) != 0 {
            s.pending += frame_duration;
            return true;
        }
        let force = s.keyframes.take(now);
        let au = match s.encoders.encode(frame, force) {
            Ok(Some(au)) => au,
            Ok(None) => {
                s.pending += frame_duration;
                return true;
            }
            Err(e) => {
                s.pending += frame_duration;
                warn!(cause = %e, stream = ?s.stream, "video encode failed; frame skipped");
                return true;
            }
        };
        if let Some((rate, stats)) = main {
            rate.note_encoded(au.temporal_id, au.data.len());
            stats
                .video_bytes_encoded
                .fetch_add(au.data.len() as u64, Ordering::Relaxed);
            stats.video_frames_encoded.fetch_add(1, Ordering::Relaxed);
            if au.keyframe {
                stats.video_keyframes.fetch_add(1, Ordering::Relaxed);
            }
        }
        if au.keyframe {
            s.keyframes.note_keyframe(now);
            let bps = s.encoders.active().bitrate_bps();
            s.keyframes.note_cost(au.data.len(), bps);
        }
        let duration = frame_duration + std::mem::take(&mut s.pending);
        match out.send_video(au.data, duration, au.temporal_id, au.keyframe, s.stream) {
            Sent::Queued => true,
            Sent::Dropped => {
                // The next frames reference the dropped one: resync with an IDR.
                if let Some((_, stats)) = main {
                    stats.video_frames_dropped.fetch_add(1, Ordering::Relaxed);
                }
                s.keyframes.request();
                true
            }
            Sent::Closed => false,
        }
    }
}
