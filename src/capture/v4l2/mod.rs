//! V4L2 cameras (`video.source = "v4l2"`, `video.device`, `video.format`).
//!
//! - **Negotiation** ([`choose`], pure): the configured size and rate, in the configured
//!   format, or with `format = "auto"` the first raw format in the order YU12 (no conversion),
//!   NV12, YUYV, MJPEG (decode cost) that offers them; failing that the nearest size, then the
//!   nearest rate. What was chosen is logged.
//! - **Capture** runs on its own thread (blocking `next()` on mmap buffers), slices each buffer
//!   to `bytesused`, stamps it with its capture time and keeps only the newest frame for raw
//!   formats (a slow encoder skips frames, no queue grows). H.264 (passthrough) keeps a short
//!   queue instead: dropping one access unit breaks the chain, so an overflow waits for the
//!   next IDR and asks the camera for one (`V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME`).
//! - **Failures** (unplugged, driver errors) end the capture thread; the next read reports the
//!   error, the capture thread backs off, and the read after that reopens the device.

mod camera;
mod encoded;
mod formats;
mod negotiate;
mod raw;

use std::time::Duration;

use super::CaptureError;
pub use encoded::V4l2H264;
pub use formats::{fourcc_name, offered};
pub use negotiate::{choose, Choice, Offered, Wanted, AUTO_ORDER};
pub use raw::V4l2Video;

/// `V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME`.
const CID_FORCE_KEY_FRAME: u32 = 0x0099_09e5;
/// Access units held for a slow consumer before waiting for the next IDR.
const H264_QUEUE: usize = 8;
/// How long a read waits for the camera before calling it stalled.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

fn stopped(device: &str, reason: impl Into<String>) -> CaptureError {
    CaptureError::Stopped {
        source_name: format!("camera {device}"),
        reason: reason.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::VideoSource;

    #[test]
    fn a_missing_camera_is_a_clear_error() {
        let mut cam = V4l2Video::new(
            "/dev/video-none",
            Wanted {
                width: 640,
                height: 480,
                fps: 30,
                format: None,
            },
        );
        let err = cam.next_frame().unwrap_err().to_string();
        assert!(
            err.contains("/dev/video-none") && err.contains("cannot open"),
            "{err}"
        );
    }
}
