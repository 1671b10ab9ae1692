//! Media: one capture+encode thread per kind, its output fanned out to every viewer through a
//! shared [`TrackLocalStaticSample`].
//!
//! Back-pressure: the encoder thread hands access units to the track writer through a bounded
//! channel of [`VIDEO_QUEUE`] entries. When the writer falls behind the frame is dropped and a
//! keyframe requested, so capture never waits on the network and no queue grows.
//! While no viewer is connected the video thread keeps capturing but skips encoding.

pub mod keyframe;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{debug, info, warn};
use webrtc::media::Sample;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use crate::capture::h264::H264Source;
use crate::capture::{AudioSource, VideoSource};
use crate::clock::Clock;
use crate::encode::h264::{H264Encoder, H264Settings};
use crate::encode::opus::OpusEncoder;
use crate::encode::EncodeError;
use crate::peer::codecs;
pub use keyframe::KeyframeRequests;

/// Encoded video frames waiting for the track writer.
pub const VIDEO_QUEUE: usize = 4;
/// Encoded audio packets waiting for the track writer (160 ms).
pub const AUDIO_QUEUE: usize = 8;
/// Back-off after capture errors: doubles from the first to the last, reset by a good frame.
const CAPTURE_RETRY_MIN: Duration = Duration::from_millis(500);
const CAPTURE_RETRY_MAX: Duration = Duration::from_secs(10);

/// Exponential back-off for a failing source.
#[derive(Debug)]
struct Backoff {
    next: Duration,
}

impl Backoff {
    fn new() -> Self {
        Self {
            next: CAPTURE_RETRY_MIN,
        }
    }

    /// The delay before the next attempt (and doubles the one after).
    fn failed(&mut self) -> Duration {
        let d = self.next;
        self.next = (self.next * 2).min(CAPTURE_RETRY_MAX);
        d
    }

    fn succeeded(&mut self) {
        self.next = CAPTURE_RETRY_MIN;
    }

    /// Passes a good capture through; on an error marks the source failing, logs, and
    /// sleeps the back-off before returning `None` (the caller tries again).
    fn capture<T>(
        &mut self,
        result: Result<T, crate::capture::CaptureError>,
        failing: &AtomicBool,
        clock: &dyn Clock,
        kind: &'static str,
    ) -> Option<T> {
        match result {
            Ok(x) => {
                self.succeeded();
                failing.store(false, Ordering::Relaxed);
                Some(x)
            }
            Err(e) => {
                failing.store(true, Ordering::Relaxed);
                let delay = self.failed();
                warn!(cause = %e, retry_in_ms = delay.as_millis() as u64, "{kind} capture failed");
                clock.sleep_until(clock.now() + delay);
                None
            }
        }
    }
}

/// Counters for logs and tests.
#[derive(Debug, Default)]
pub struct MediaStats {
    pub video_frames_captured: AtomicU64,
    pub video_frames_encoded: AtomicU64,
    pub video_frames_dropped: AtomicU64,
    pub video_keyframes: AtomicU64,
    pub audio_packets: AtomicU64,
    /// Whether the video source is failing (unplugged, erroring) right now.
    pub video_failing: AtomicBool,
    /// Whether the audio source is failing right now.
    pub audio_failing: AtomicBool,
}

/// Where video comes from: raw pictures to encode, or H.264 to send as it is.
pub enum VideoInput {
    /// Raw frames, encoded once with openh264.
    Raw(Box<dyn VideoSource>, H264Settings),
    /// Already encoded by the camera (passthrough).
    H264(Box<dyn H264Source>),
}

/// Handle on the running media pipeline.
pub struct Media {
    /// The H.264 track every peer sends.
    pub video_track: Arc<TrackLocalStaticSample>,
    /// The Opus track, when audio is enabled.
    pub audio_track: Option<Arc<TrackLocalStaticSample>>,
    /// Keyframe requests from peers.
    pub keyframes: Arc<KeyframeRequests>,
    /// Counters.
    pub stats: Arc<MediaStats>,
    active_viewers: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Media {
    /// Starts capture and encoding on their own threads and the track writers on the current
    /// tokio runtime. Encoder set-up errors are returned before anything runs.
    pub fn start(
        video: VideoInput,
        audio: Option<(Box<dyn AudioSource>, u32)>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, EncodeError> {
        let video_track = Arc::new(TrackLocalStaticSample::new(
            codecs::h264_capability(),
            "video".into(),
            "rtcam".into(),
        ));
        let keyframes = Arc::new(KeyframeRequests::default());
        let stats = Arc::new(MediaStats::default());
        let active_viewers = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let mut threads = Vec::new();

        let (vtx, vrx) = mpsc::channel(VIDEO_QUEUE);
        tokio::spawn(write_samples(video_track.clone(), vrx, "video"));
        match video {
            VideoInput::Raw(source, h264) => {
                let ctx = VideoThread {
                    source,
                    encoder: H264Encoder::new(h264)?,
                    out: vtx,
                    clock: clock.clone(),
                    keyframes: keyframes.clone(),
                    stats: stats.clone(),
                    active: active_viewers.clone(),
                    stop: stop.clone(),
                    frame_duration: Duration::from_secs(1) / h264.fps.max(1),
                };
                threads.push(spawn_thread("rtcam-video", move || ctx.run()));
            }
            VideoInput::H264(source) => {
                let ctx = PassthroughThread {
                    source,
                    out: vtx,
                    clock: clock.clone(),
                    keyframes: keyframes.clone(),
                    stats: stats.clone(),
                    active: active_viewers.clone(),
                    stop: stop.clone(),
                };
                threads.push(spawn_thread("rtcam-video", move || ctx.run()));
            }
        }

        let audio_track = match audio {
            Some((source, bitrate_bps)) => {
                let track = Arc::new(TrackLocalStaticSample::new(
                    codecs::opus_capability(),
                    "audio".into(),
                    "rtcam".into(),
                ));
                let encoder = OpusEncoder::new(bitrate_bps)?;
                let (atx, arx) = mpsc::channel(AUDIO_QUEUE);
                tokio::spawn(write_samples(track.clone(), arx, "audio"));
                let ctx = AudioThread {
                    source,
                    encoder,
                    out: atx,
                    clock,
                    stats: stats.clone(),
                    active: active_viewers.clone(),
                    stop: stop.clone(),
                };
                threads.push(spawn_thread("rtcam-audio", move || ctx.run()));
                Some(track)
            }
            None => None,
        };

        Ok(Self {
            video_track,
            audio_track,
            keyframes,
            stats,
            active_viewers,
            stop,
            threads,
        })
    }

    /// Tells the encoders how many viewers are connected (0 pauses encoding).
    pub fn set_active_viewers(&self, n: usize) {
        self.active_viewers.store(n, Ordering::Relaxed);
    }

    /// Stops the threads and waits for them (at most one frame interval each).
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

impl Drop for Media {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn spawn_thread(name: &str, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        // Failing to create a thread at start-up means the process is out of resources.
        .expect("spawn media thread")
}

/// What the encoder threads hand to the track writers.
struct EncodedSample {
    data: bytes::Bytes,
    duration: Duration,
}

async fn write_samples(
    track: Arc<TrackLocalStaticSample>,
    mut rx: mpsc::Receiver<EncodedSample>,
    kind: &'static str,
) {
    while let Some(s) = rx.recv().await {
        let sample = Sample {
            data: s.data,
            duration: s.duration,
            ..Default::default()
        };
        if let Err(e) = track.write_sample(&sample).await {
            debug!(kind, cause = %e, "writing sample to peers failed");
        }
    }
}

struct VideoThread {
    source: Box<dyn VideoSource>,
    encoder: H264Encoder,
    out: mpsc::Sender<EncodedSample>,
    clock: Arc<dyn Clock>,
    keyframes: Arc<KeyframeRequests>,
    stats: Arc<MediaStats>,
    active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    frame_duration: Duration,
}

impl VideoThread {
    fn run(mut self) {
        info!(source = %self.source.name(), "video capture started");
        let mut backoff = Backoff::new();
        let mut last_report = self.clock.now();
        // Time covered by frames the encoder skipped, added to the next sample so RTP
        // timestamps keep pace with the capture clock.
        let mut pending = Duration::ZERO;
        while !self.stop.load(Ordering::Relaxed) {
            let next = self.source.next_frame();
            let failing = &self.stats.video_failing;
            let Some(frame) = backoff.capture(next, failing, self.clock.as_ref(), "video") else {
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
                    let sample = EncodedSample {
                        data: au.data,
                        duration: self.frame_duration + std::mem::take(&mut pending),
                    };
                    match self.out.try_send(sample) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            // The next frames reference the dropped one: resync with an IDR.
                            self.stats
                                .video_frames_dropped
                                .fetch_add(1, Ordering::Relaxed);
                            self.keyframes.request();
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => break,
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

/// Camera-encoded H.264 to the track: no decode, no re-encode. Keyframe requests go to the
/// source; while nobody watches, access units are read and dropped. A dropped unit (slow
/// writer) breaks the reference chain, so later units are held back until the next IDR.
struct PassthroughThread {
    source: Box<dyn H264Source>,
    out: mpsc::Sender<EncodedSample>,
    clock: Arc<dyn Clock>,
    keyframes: Arc<KeyframeRequests>,
    stats: Arc<MediaStats>,
    active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl PassthroughThread {
    fn run(mut self) {
        info!(source = %self.source.name(), "video capture started (H.264 passthrough)");
        let mut backoff = Backoff::new();
        let frame_duration = Duration::from_secs(1) / self.source.format().fps.max(1);
        let mut last_at: Option<std::time::Instant> = None;
        let mut wait_for_idr = true;
        let mut warned_no_force = false;
        while !self.stop.load(Ordering::Relaxed) {
            let now = self.clock.now();
            if self.keyframes.take(now) && !self.source.request_keyframe() && !warned_no_force {
                warned_no_force = true;
                info!(
                    "this source cannot force a keyframe; viewers wait for its next periodic IDR"
                );
            }
            let next = self.source.next_access_unit();
            let failing = &self.stats.video_failing;
            let Some(au) = backoff.capture(next, failing, self.clock.as_ref(), "video") else {
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
            match self.out.try_send(EncodedSample {
                data: au.data,
                duration,
            }) {
                Ok(()) => {
                    self.stats
                        .video_frames_encoded
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.stats
                        .video_frames_dropped
                        .fetch_add(1, Ordering::Relaxed);
                    wait_for_idr = true;
                    self.keyframes.request();
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            }
        }
        info!("video capture stopped");
    }
}

struct AudioThread {
    source: Box<dyn AudioSource>,
    encoder: OpusEncoder,
    out: mpsc::Sender<EncodedSample>,
    clock: Arc<dyn Clock>,
    stats: Arc<MediaStats>,
    active: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl AudioThread {
    fn run(mut self) {
        info!(source = %self.source.name(), "audio capture started");
        let mut backoff = Backoff::new();
        while !self.stop.load(Ordering::Relaxed) {
            let next = self.source.next_frame();
            let failing = &self.stats.audio_failing;
            let Some(frame) = backoff.capture(next, failing, self.clock.as_ref(), "audio") else {
                continue;
            };
            if self.active.load(Ordering::Relaxed) == 0 {
                continue;
            }
            match self.encoder.encode(&frame) {
                Ok(packet) => {
                    self.stats.audio_packets.fetch_add(1, Ordering::Relaxed);
                    let sample = EncodedSample {
                        data: packet,
                        duration: Duration::from_millis(20),
                    };
                    if let Err(mpsc::error::TrySendError::Closed(_)) = self.out.try_send(sample) {
                        break;
                    }
                }
                Err(e) => warn!(cause = %e, "audio encode failed; frame skipped"),
            }
        }
        info!("audio capture stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capture_backoff_doubles_to_a_cap_and_resets() {
        let mut b = Backoff::new();
        let delays: Vec<u64> = (0..7).map(|_| b.failed().as_millis() as u64).collect();
        assert_eq!(delays, vec![500, 1000, 2000, 4000, 8000, 10_000, 10_000]);
        b.succeeded();
        assert_eq!(b.failed(), CAPTURE_RETRY_MIN);
    }
}
