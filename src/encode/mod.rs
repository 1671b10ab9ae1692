//! Encoders: H.264 through openh264 and Opus through libopus. Each is owned by one capture
//! thread; their output is fanned out by [`crate::fanout`]. May import: `capture` (the frame
//! types), `config`, and the leaves.

pub mod openh264;
pub mod opus;

/// Errors from an encoder.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("H.264 encoder ({what}): {reason}")]
    H264 { what: &'static str, reason: String },
    #[error("Opus encoder ({what}): {reason}")]
    Opus { what: &'static str, reason: String },
}
