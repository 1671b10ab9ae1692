//! Sources that deliver H.264 already encoded (UVC H.264 webcams, `rpicam-vid`-style V4L2
//! H.264 nodes, recorded streams): their access units go to the viewers as they are, without
//! decoding or re-encoding. This module holds their trait; the Annex B plumbing they share
//! (access-unit splitting, SPS/PPS ahead of every IDR) is in [`crate::h264`].

use std::time::Instant;

use bytes::Bytes;

use super::{CaptureError, VideoFormat};

/// One H.264 access unit (Annex B), as captured.
#[derive(Debug, Clone)]
pub struct AccessUnit {
    pub data: Bytes,
    /// Contains an IDR slice.
    pub keyframe: bool,
    pub captured_at: Instant,
}

/// A source of encoded H.264. Blocks like [`super::VideoSource::next_frame`].
pub trait H264Source: Send {
    /// Human-readable name for logs and errors.
    fn name(&self) -> String;
    /// Picture size and rate.
    fn format(&self) -> VideoFormat;
    /// Blocks until the next access unit; SPS/PPS are ahead of every IDR.
    fn next_access_unit(&mut self) -> Result<AccessUnit, CaptureError>;
    /// Asks for an IDR soon. Returns `false` when the source has no way to force one (its
    /// periodic IDRs are then the only ones).
    fn request_keyframe(&mut self) -> bool;
}
