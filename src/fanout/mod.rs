//! Fan-out: one capture+encode thread per kind, its output sent to every viewer (the encode
//! happens once, whatever the number of viewers; a second time, at a lower rate, while a
//! viewer far slower than the others watches): audio through one shared
//! [`TrackLocalStaticSample`], video packetized once per stream and forwarded by each
//! viewer's own track ([`track`]), which picks its stream and may skip temporal layers.
//! Keyframe requests come back from the peers through [`KeyframeRequests`] (one per stream),
//! bandwidth feedback through [`rate::RateControl`], which sets the encoders' bitrates.
//!
//! Back-pressure: a capture thread hands access units to its track writer through a bounded
//! channel ([`VIDEO_QUEUE`], [`AUDIO_QUEUE`] entries). When the writer falls behind the frame
//! is dropped and a keyframe requested, so capture never waits on the network and no queue
//! grows. While no viewer is connected the video thread keeps capturing but skips encoding.
//!
//! May import: `encode`, `capture`, `config`, and the leaves.

mod audio;
mod binding;
pub mod codecs;
mod encoders;
pub mod keyframe;
mod pacer;
mod passthrough;
pub mod rate;
mod resend;
mod retry;
mod sample;
#[cfg(test)]
mod tests;
pub mod track;
mod video;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::warn;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use crate::capture::{AudioSource, VideoInput};
use crate::clock::{Clock, Stop};
use crate::encode::openh264::{H264Encoder, H264Settings};
use crate::encode::opus::OpusEncoder;
use crate::encode::EncodeError;
pub use keyframe::KeyframeRequests;
use rate::RateControl;
pub use resend::HISTORY as RESEND_HISTORY;
pub use retry::{CAPTURE_RETRY_MAX, CAPTURE_RETRY_MIN, MAX_BAD_FRAMES_IN_A_ROW};
use sample::{Destination, SampleOut};
use track::VideoTracks;

/// Longest [`Fanout::stop`] waits for the capture threads.
pub const STOP_WAIT: Duration = Duration::from_millis(700);

/// Encoded video units waiting for the track writer (two a picture while the second stream
/// runs).
pub const VIDEO_QUEUE: usize = 6;
/// Encoded audio packets waiting for the track writer (160 ms).
pub const AUDIO_QUEUE: usize = 8;

/// Counters for logs and tests.
#[derive(Debug, Default)]
pub struct FanoutStats {
    pub video_frames_captured: AtomicU64,
    pub video_frames_encoded: AtomicU64,
    /// Bytes of H.264 the encoder produced.
    pub video_bytes_encoded: AtomicU64,
    pub video_frames_dropped: AtomicU64,
    pub video_keyframes: AtomicU64,
    pub audio_packets: AtomicU64,
    /// Whether the video source is failing (unplugged, erroring) right now.
    pub video_failing: AtomicBool,
    /// Whether the audio source is failing right now.
    pub audio_failing: AtomicBool,
    /// The video source cannot make a keyframe on request (found at the first request).
    pub video_keyframes_periodic: AtomicBool,
    /// Loop turns of the video thread (frames, skipped frames and retries): the watchdog's
    /// proof that the thread is not stuck.
    pub video_turns: AtomicU64,
    /// Loop turns of the audio thread.
    pub audio_turns: AtomicU64,
}

/// The audio half of the fan-out's input: a source and its Opus bitrate.
pub struct AudioInput {
    pub source: Box<dyn AudioSource>,
    pub bitrate_bps: u32,
}

/// Handle on the running fan-out.
pub struct Fanout {
    /// Every viewer's video track.
    pub video: Arc<VideoTracks>,
    /// Bandwidth feedback and the encoder's target.
    pub rate: Arc<RateControl>,
    /// The Opus track, when audio is enabled.
    pub audio_track: Option<Arc<TrackLocalStaticSample>>,
    /// Keyframe requests from peers.
    pub keyframes: Arc<KeyframeRequests>,
    /// Counters.
    pub stats: Arc<FanoutStats>,
    active_viewers: Arc<AtomicUsize>,
    stop: Stop,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Fanout {
    /// Starts capture and encoding on their own threads and the track writers on the current
    /// tokio runtime. Encoder set-up errors are returned before anything runs. `h264` is used
    /// when the video input is raw pictures; `rate` sets its bitrate as viewers report.
    pub fn start(
        video: VideoInput,
        h264: H264Settings,
        rate: Arc<RateControl>,
        audio: Option<AudioInput>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, EncodeError> {
        let keyframes = Arc::new(KeyframeRequests::default());
        let low_keyframes = Arc::new(KeyframeRequests::default());
        let video_tracks = VideoTracks::new(rate.clone(), keyframes.clone(), low_keyframes.clone());
        let stats = Arc::new(FanoutStats::default());
        let active_viewers = Arc::new(AtomicUsize::new(0));
        let stop = Stop::new();
        let mut threads = Vec::new();

        let out = SampleOut::start(
            Destination::Video(video_tracks.clone()),
            VIDEO_QUEUE,
            "video",
        );
        match video {
            VideoInput::Raw(source) => {
                let main = video::StreamEncoder::new(
                    encoders::Encoders::new(H264Encoder::new(h264)?),
                    keyframes.clone(),
                    track::Stream::Main,
                );
                let ctx = video::VideoThread {
                    source,
                    main,
                    low_settings: rate.second_stream().then_some(h264),
                    low_keyframes,
                    out,
                    clock: clock.clone(),
                    rate: rate.clone(),
                    stats: stats.clone(),
                    active: active_viewers.clone(),
                    stop: stop.clone(),
                    frame_duration: Duration::from_secs(1) / h264.fps.max(1),
                };
                threads.push(spawn_thread("rtcam-video", move || ctx.run()));
            }
            VideoInput::H264(source) => {
                let ctx = passthrough::PassthroughThread {
                    source,
                    out,
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
            Some(AudioInput {
                source,
                bitrate_bps,
            }) => {
                let track = Arc::new(TrackLocalStaticSample::new(
                    codecs::opus_capability(),
                    "audio".into(),
                    "rtcam".into(),
                ));
                let ctx = audio::AudioThread {
                    source,
                    encoder: OpusEncoder::new(bitrate_bps)?,
                    out: SampleOut::start(Destination::Track(track.clone()), AUDIO_QUEUE, "audio"),
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
            video: video_tracks,
            rate,
            audio_track,
            keyframes,
            stats,
            active_viewers,
            stop,
            threads,
        })
    }

    /// The count of connected viewers the capture threads read (0 pauses encoding).
    pub fn active_viewers(&self) -> Arc<AtomicUsize> {
        self.active_viewers.clone()
    }

    /// Tells the encoders how many viewers are connected (0 pauses encoding).
    pub fn set_active_viewers(&self, n: usize) {
        self.active_viewers.store(n, Ordering::Relaxed);
    }

    /// Asks the threads to stop without waiting (so they wind down while the daemon says
    /// goodbye on MQTT); [`Fanout::stop`] then collects them.
    pub fn request_stop(&self) {
        self.stop.request();
    }

    /// Stops the threads and waits for them, at most [`STOP_WAIT`] in all: back-offs end at
    /// once, but a source may sit in a blocking read (a stalled camera waits up to 5 s for a
    /// frame). A thread still running then is left behind with a log line; the process is
    /// about to exit.
    pub fn stop(mut self) {
        self.stop.request();
        let deadline = Instant::now() + STOP_WAIT;
        for t in self.threads.drain(..) {
            while !t.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if t.is_finished() {
                let _ = t.join();
            } else {
                let name = t.thread().name().unwrap_or("capture").to_string();
                warn!(thread = %name, wait_ms = STOP_WAIT.as_millis() as u64,
                    "a capture thread did not stop in time (blocked in its source); leaving it");
            }
        }
    }
}

impl Drop for Fanout {
    fn drop(&mut self) {
        self.stop.request();
    }
}

fn spawn_thread(name: &str, f: impl FnOnce() + Send + 'static) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        // Failing to create a thread at start-up means the process is out of resources.
        .expect("spawn capture thread")
}
