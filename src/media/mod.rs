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
/// Back-off after a capture error before trying the source again.
const CAPTURE_RETRY: Duration = Duration::from_secs(1);

/// Counters for logs and tests.
#[derive(Debug, Default)]
pub struct MediaStats {
    pub video_frames_captured: AtomicU64,
    pub video_frames_encoded: AtomicU64,
    pub video_frames_dropped: AtomicU64,
    pub video_keyframes: AtomicU64,
    pub audio_packets: AtomicU64,
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
        video: Box<dyn VideoSource>,
        h264: H264Settings,
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

        let encoder = H264Encoder::new(h264)?;
        let (vtx, vrx) = mpsc::channel(VIDEO_QUEUE);
        let frame_duration = Duration::from_secs(1) / h264.fps.max(1);
        tokio::spawn(write_samples(video_track.clone(), vrx, "video"));
        let ctx = VideoThread {
            source: video,
            encoder,
            out: vtx,
            clock: clock.clone(),
            keyframes: keyframes.clone(),
            stats: stats.clone(),
            active: active_viewers.clone(),
            stop: stop.clone(),
            frame_duration,
        };
        threads.push(spawn_thread("rtcam-video", move || ctx.run()));

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
        let mut last_report = self.clock.now();
        // Time covered by frames the encoder skipped, added to the next sample so RTP
        // timestamps keep pace with the capture clock.
        let mut pending = Duration::ZERO;
        while !self.stop.load(Ordering::Relaxed) {
            let frame = match self.source.next_frame() {
                Ok(f) => f,
                Err(e) => {
                    warn!(cause = %e, "video capture failed; retrying");
                    let retry_at = self.clock.now() + CAPTURE_RETRY;
                    self.clock.sleep_until(retry_at);
                    continue;
                }
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
        while !self.stop.load(Ordering::Relaxed) {
            let frame = match self.source.next_frame() {
                Ok(f) => f,
                Err(e) => {
                    warn!(cause = %e, "audio capture failed; retrying");
                    let retry_at = self.clock.now() + CAPTURE_RETRY;
                    self.clock.sleep_until(retry_at);
                    continue;
                }
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
