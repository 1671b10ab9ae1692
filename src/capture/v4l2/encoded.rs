//! The camera's own H.264, passed through.

use super::camera::Camera;
use super::negotiate::Wanted;
use super::{stopped, CID_FORCE_KEY_FRAME, H264_QUEUE};
use crate::capture::convert::PixelFormat;
use crate::capture::{AccessUnit, CaptureError, H264Source, VideoFormat};
use crate::h264::ParamSets;

/// A V4L2 camera delivering H.264 (`video.format = "h264"`), passed through.
pub struct V4l2H264 {
    path: String,
    want: Wanted,
    camera: Option<Camera>,
    params: ParamSets,
}

impl V4l2H264 {
    pub fn new(path: &str, want: Wanted) -> Self {
        Self {
            path: path.to_string(),
            want: Wanted {
                format: Some(PixelFormat::H264),
                ..want
            },
            camera: None,
            params: ParamSets::default(),
        }
    }
}

impl H264Source for V4l2H264 {
    fn name(&self) -> String {
        format!("H.264 camera {}", self.path)
    }

    fn format(&self) -> VideoFormat {
        VideoFormat {
            width: self.want.width,
            height: self.want.height,
            fps: self.want.fps,
        }
    }

    fn next_access_unit(&mut self) -> Result<AccessUnit, CaptureError> {
        if self.camera.is_none() {
            let (cam, _) = Camera::open(&self.path, &self.want, H264_QUEUE)
                .map_err(|e| stopped(&self.path, e))?;
            self.camera = Some(cam);
            self.request_keyframe();
        }
        let Some(cam) = &self.camera else {
            return Err(stopped(&self.path, "not open"));
        };
        let (raw, overflowed) = match cam.next() {
            Ok(x) => x,
            Err(e) => {
                self.camera = None;
                return Err(stopped(&self.path, e));
            }
        };
        if overflowed {
            self.request_keyframe();
        }
        let (data, keyframe) = self.params.complete(&raw.data);
        Ok(AccessUnit {
            data,
            keyframe,
            captured_at: raw.captured_at,
        })
    }

    fn request_keyframe(&mut self) -> bool {
        let Some(cam) = &self.camera else {
            return false;
        };
        let ctrl = v4l::Control {
            id: CID_FORCE_KEY_FRAME,
            value: v4l::control::Value::None,
        };
        cam.device.set_control(ctrl).is_ok()
    }
}
