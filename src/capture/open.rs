//! Opens the sources the configuration names (`[video] source`, `[audio] source`).

use std::sync::Arc;

use tracing::warn;

use super::command_video::{CommandH264, CommandRaw};
use super::convert::PixelFormat;
use super::h264_file::H264FileSource;
use super::synthetic::{SyntheticAudio, SyntheticVideo};
use super::{AudioSource, CaptureError, VideoFormat, VideoInput};
use crate::clock::Clock;
use crate::config::{AudioSourceKind, CameraFormat, Config, SyntheticPattern, VideoSourceKind};

/// The pixel format `video.format` asks for (`None` = auto).
pub fn pixel_format(format: CameraFormat) -> Option<PixelFormat> {
    match format {
        CameraFormat::Auto => None,
        CameraFormat::Yuyv => Some(PixelFormat::Yuyv),
        CameraFormat::Nv12 => Some(PixelFormat::Nv12),
        CameraFormat::Yu12 => Some(PixelFormat::Yu12),
        CameraFormat::Mjpeg => Some(PixelFormat::Mjpeg),
        CameraFormat::H264 => Some(PixelFormat::H264),
    }
}

/// Opens the configured video source: raw frames to encode, or a source of H.264 that is
/// passed through.
pub fn video(config: &Config, clock: Arc<dyn Clock>) -> Result<VideoInput, CaptureError> {
    let v = &config.video;
    let format = VideoFormat {
        width: v.width,
        height: v.height,
        fps: v.fps,
    };
    Ok(match v.source {
        VideoSourceKind::Synthetic => VideoInput::Raw(Box::new(match v.pattern {
            SyntheticPattern::Bars => SyntheticVideo::new(format, clock),
            SyntheticPattern::Busy => SyntheticVideo::busy(format, clock),
        })),
        VideoSourceKind::V4l2 => {
            let want = super::v4l2::Wanted {
                width: v.width,
                height: v.height,
                fps: v.fps,
                format: pixel_format(v.format),
            };
            if v.format == CameraFormat::H264 {
                VideoInput::H264(Box::new(super::v4l2::V4l2H264::new(&v.device, want)))
            } else {
                VideoInput::Raw(Box::new(super::v4l2::V4l2Video::new(&v.device, want)))
            }
        }
        VideoSourceKind::Command if v.format == CameraFormat::H264 => {
            VideoInput::H264(Box::new(CommandH264::new(&v.command, format, clock)))
        }
        VideoSourceKind::Command => {
            VideoInput::Raw(Box::new(CommandRaw::new(&v.command, format, clock)))
        }
        VideoSourceKind::H264file => VideoInput::H264(Box::new(H264FileSource::open(
            std::path::Path::new(&v.file),
            format,
            clock,
        )?)),
    })
}

/// Opens the configured audio source (`None` when audio is disabled).
pub fn audio(config: &Config, clock: Arc<dyn Clock>) -> Option<Box<dyn AudioSource>> {
    let a = &config.audio;
    if !a.enabled {
        return None;
    }
    match a.source {
        AudioSourceKind::Synthetic => Some(Box::new(SyntheticAudio::new(a.tone_hz, clock))),
        AudioSourceKind::Alsa => Some(Box::new(
            match super::alsa::AlsaAudio::open(&a.device, clock.clone()) {
                Ok(source) => source,
                Err(e) => {
                    // Keep the daemon (and video) up; the audio thread retries with back-off.
                    warn!(cause = %e, "microphone unavailable; retrying in the background");
                    super::alsa::AlsaAudio::closed(&a.device, clock)
                }
            },
        )),
    }
}
