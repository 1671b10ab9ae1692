//! Raw formats (YUYV, NV12, YU12, MJPEG), converted to I420 here.

use super::camera::Camera;
use super::negotiate::{Choice, Wanted};
use super::stopped;
use crate::capture::convert::to_i420;
use crate::capture::{CaptureError, VideoFormat, VideoFrame, VideoSource};

/// A V4L2 camera delivering raw frames (converted to I420 here).
pub struct V4l2Video {
    path: String,
    want: Wanted,
    camera: Option<(Camera, Choice)>,
    seq: u64,
}

impl V4l2Video {
    /// A camera at `path` (opened on the first read, and reopened after failures). The
    /// picture is delivered at the configured size: a camera that cannot offer it fails with
    /// a message naming what it offers.
    pub fn new(path: &str, want: Wanted) -> Self {
        Self {
            path: path.to_string(),
            want,
            camera: None,
            seq: 0,
        }
    }

    fn ensure_open(&mut self) -> Result<(), CaptureError> {
        if self.camera.is_none() {
            let (cam, choice) =
                Camera::open(&self.path, &self.want, 1).map_err(|e| stopped(&self.path, e))?;
            if (choice.width, choice.height) != (self.want.width, self.want.height) {
                return Err(stopped(
                    &self.path,
                    format!(
                        "the camera offers {}x{} at best, not the configured {}x{}: set \
                         video.width/height to a size `rtcam probe` lists",
                        choice.width, choice.height, self.want.width, self.want.height
                    ),
                ));
            }
            self.camera = Some((cam, choice));
        }
        Ok(())
    }
}

impl VideoSource for V4l2Video {
    fn name(&self) -> String {
        format!("camera {}", self.path)
    }

    fn format(&self) -> VideoFormat {
        VideoFormat {
            width: self.want.width,
            height: self.want.height,
            fps: self.want.fps,
        }
    }

    fn next_frame(&mut self) -> Result<VideoFrame, CaptureError> {
        self.ensure_open()?;
        let Some((cam, choice)) = &self.camera else {
            return Err(stopped(&self.path, "not open"));
        };
        let (raw, _) = match cam.next() {
            Ok(x) => x,
            Err(e) => {
                self.camera = None;
                return Err(stopped(&self.path, e));
            }
        };
        let data = to_i420(
            choice.format,
            &raw.data,
            choice.width,
            choice.height,
            cam.stride,
        )
        .map_err(|e| CaptureError::BadFrame {
            source_name: format!("camera {}", self.path),
            reason: e.to_string(),
        })?;
        self.seq += 1;
        Ok(VideoFrame {
            width: choice.width,
            height: choice.height,
            data,
            captured_at: raw.captured_at,
            seq: self.seq - 1,
        })
    }
}
