//! Capture: where frames come from. Every source sits behind [`VideoSource`] or
//! [`AudioSource`]; the synthetic ones are real sources (they pace themselves on a [`Clock`]),
//! used by the demo and the tests, and the device sources plug in behind the same traits.
//! Sources of already-encoded H.264 sit behind [`H264Source`].
//!
//! May import: `config` and the leaves (`clock`, `h264`, `audio`); it knows nothing of the
//! encoders, the fan-out or peers.
//!
//! [`Clock`]: crate::clock::Clock

pub mod alsa;
mod busy;
pub mod command;
pub mod command_video;
pub mod convert;
pub mod encoded;
pub mod h264_file;
pub mod open;
pub mod pacer;
pub mod scale;
pub mod stamp;
pub mod synthetic;
pub mod v4l2;

use std::time::Instant;

pub use encoded::{AccessUnit, H264Source};

/// Errors from a capture device.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    /// The device failed (unplugged, driver error): the next read reopens it.
    #[error("capture source {source_name} stopped: {reason}")]
    Stopped { source_name: String, reason: String },
    /// One frame could not be used (truncated, corrupt) but the device goes on: USB cameras
    /// deliver such frames now and then. The frame is skipped, nothing is reopened.
    #[error("capture source {source_name}: frame skipped: {reason}")]
    BadFrame { source_name: String, reason: String },
}

/// Picture geometry and rate of a video source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// One I420 (planar YUV 4:2:0) picture: Y plane, then U, then V, no padding.
#[derive(Debug, Clone)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// Monotonic capture time.
    pub captured_at: Instant,
    /// Capture sequence number, starting at 0.
    pub seq: u64,
}

impl VideoFrame {
    /// A black frame of the given size.
    pub fn black(width: u32, height: u32, captured_at: Instant, seq: u64) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut data = vec![16u8; w * h + 2 * (w / 2) * (h / 2)];
        data[w * h..].fill(128);
        Self {
            width,
            height,
            data,
            captured_at,
            seq,
        }
    }

    /// The Y, U and V planes.
    pub fn planes(&self) -> (&[u8], &[u8], &[u8]) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (y, rest) = self.data.split_at(w * h);
        let (u, v) = rest.split_at((w / 2) * (h / 2));
        (y, u, v)
    }

    /// Mutable Y, U and V planes.
    pub fn planes_mut(&mut self) -> (&mut [u8], &mut [u8], &mut [u8]) {
        let (w, h) = (self.width as usize, self.height as usize);
        let (y, rest) = self.data.split_at_mut(w * h);
        let (u, v) = rest.split_at_mut((w / 2) * (h / 2));
        (y, u, v)
    }
}

/// 20 ms of 48 kHz mono audio ([`crate::audio::FRAME_SAMPLES`] samples).
#[derive(Debug, Clone)]
pub struct AudioFrame {
    pub samples: Vec<i16>,
    pub captured_at: Instant,
}

/// Where video comes from: raw pictures to encode, or H.264 to send as it is.
pub enum VideoInput {
    /// Raw frames, encoded once with openh264.
    Raw(Box<dyn VideoSource>),
    /// Already encoded by the camera (passthrough).
    H264(Box<dyn H264Source>),
}

/// A source of video frames. `next_frame` blocks until the next frame is ready, so a source
/// runs on its own thread.
pub trait VideoSource: Send {
    /// Human-readable name for logs and errors.
    fn name(&self) -> String;
    /// Geometry and rate of the frames produced.
    fn format(&self) -> VideoFormat;
    /// Blocks until the next frame.
    fn next_frame(&mut self) -> Result<VideoFrame, CaptureError>;
}

/// A source of 20 ms, 48 kHz mono audio frames. Blocks like [`VideoSource::next_frame`].
pub trait AudioSource: Send {
    /// Human-readable name for logs and errors.
    fn name(&self) -> String;
    /// Blocks until the next 20 ms frame.
    fn next_frame(&mut self) -> Result<AudioFrame, CaptureError>;
}
