//! Opens the sources the configuration names (`[video] source`, `[audio] source`).

use std::sync::Arc;

use tracing::warn;

use super::h264_file::H264FileSource;
use super::synthetic::{SyntheticAudio, SyntheticVideo};
use super::{AudioSource, CaptureError, VideoFormat};
use crate::clock::Clock;
use crate::config::{AudioSourceKind, Config, VideoSourceKind};
use crate::encode::h264::H264Settings;
use crate::media::VideoInput;

/// Opens the configured video source: raw frames with their encoder settings, or a source of
/// H.264 that is passed through.
pub fn video(config: &Config, clock: Arc<dyn Clock>) -> Result<VideoInput, CaptureError> {
    let v = &config.video;
    let format = VideoFormat {
        width: v.width,
        height: v.height,
        fps: v.fps,
    };
    let h264 = H264Settings {
        width: v.width,
        height: v.height,
        fps: v.fps,
        bitrate_bps: v.bitrate_kbps * 1000,
        keyframe_interval_frames: v.keyframe_interval_s * v.fps,
    };
    Ok(match v.source {
        VideoSourceKind::Synthetic => {
            VideoInput::Raw(Box::new(SyntheticVideo::new(format, clock)), h264)
        }
        VideoSourceKind::V4l2 => {
            let want = super::v4l2::Wanted {
                width: v.width,
                height: v.height,
                fps: v.fps,
                format: v.format.pixel_format(),
            };
            if v.format == crate::config::CameraFormat::H264 {
                VideoInput::H264(Box::new(super::v4l2::V4l2H264::new(&v.device, want)))
            } else {
                VideoInput::Raw(Box::new(super::v4l2::V4l2Video::new(&v.device, want)), h264)
            }
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
