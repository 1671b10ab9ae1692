//! H.264 with openh264: constrained baseline, real-time camera usage, bitrate rate control,
//! no B-frames (baseline has none), SPS/PPS ahead of every IDR.

use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Level,
    Profile, RateControlMode, SpsPpsStrategy, UsageType,
};
use openh264::formats::YUVSlices;
use openh264::OpenH264API;

use super::EncodeError;
use crate::capture::VideoFrame;
use crate::config::VideoConfig;

/// Encoder settings.
#[derive(Debug, Clone, Copy)]
pub struct H264Settings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_bps: u32,
    /// Frames between periodic IDRs.
    pub keyframe_interval_frames: u32,
}

impl H264Settings {
    /// The settings `[video]` asks for (`bitrate_kbps` is the start bitrate).
    pub fn from_config(v: &VideoConfig) -> Self {
        Self {
            width: v.width,
            height: v.height,
            fps: v.fps,
            bitrate_bps: v.bitrate_kbps * 1000,
            keyframe_interval_frames: v.keyframe_interval_s * v.fps,
        }
    }
}

/// One encoded access unit in Annex B form.
#[derive(Debug, Clone)]
pub struct EncodedVideo {
    pub data: bytes::Bytes,
    pub keyframe: bool,
}

/// The openh264 encoder.
pub struct H264Encoder {
    inner: Encoder,
    settings: H264Settings,
}

fn level_for(width: u32, height: u32, fps: u32) -> Level {
    // Macroblocks per second decide the level (H.264 Table A-1).
    let mbs = (width.div_ceil(16) * height.div_ceil(16)) * fps;
    match mbs {
        0..=108_000 => Level::Level_3_1,
        109_000..=216_000 => Level::Level_3_2,
        216_001..=245_760 => Level::Level_4_0,
        _ => Level::Level_5_1,
    }
}

impl H264Encoder {
    /// Creates an encoder; the first frame initialises it at the configured size.
    pub fn new(settings: H264Settings) -> Result<Self, EncodeError> {
        let config = EncoderConfig::new()
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(settings.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(settings.fps as f32))
            .profile(Profile::Baseline)
            .level(level_for(settings.width, settings.height, settings.fps))
            .complexity(Complexity::Low)
            .intra_frame_period(IntraFramePeriod::from_num_frames(
                settings.keyframe_interval_frames.max(1),
            ))
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            // openh264 only holds the target bitrate when it may skip frames; a skipped frame
            // yields no output and the media thread stretches the next sample's duration.
            .skip_frames(true);
        let inner = Encoder::with_api_config(OpenH264API::from_source(), config).map_err(|e| {
            EncodeError::H264 {
                what: "create",
                reason: e.to_string(),
            }
        })?;
        Ok(Self { inner, settings })
    }

    /// The settings this encoder was made with.
    pub fn settings(&self) -> H264Settings {
        self.settings
    }

    /// Encodes one frame; `force_idr` makes it an IDR with SPS/PPS ahead of it.
    /// Returns `None` when the encoder produced nothing for this frame.
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        force_idr: bool,
    ) -> Result<Option<EncodedVideo>, EncodeError> {
        if frame.width != self.settings.width || frame.height != self.settings.height {
            return Err(EncodeError::H264 {
                what: "input",
                reason: format!(
                    "frame is {}x{}, encoder expects {}x{}",
                    frame.width, frame.height, self.settings.width, self.settings.height
                ),
            });
        }
        if force_idr {
            self.inner.force_intra_frame();
        }
        let (w, h) = (frame.width as usize, frame.height as usize);
        let (y, u, v) = frame.planes();
        let source = YUVSlices::new((y, u, v), (w, h), (w, w / 2, w / 2));
        let stream = self.inner.encode(&source).map_err(|e| EncodeError::H264 {
            what: "encode",
            reason: e.to_string(),
        })?;
        let keyframe = matches!(stream.frame_type(), FrameType::IDR | FrameType::I);
        if matches!(stream.frame_type(), FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        let data = stream.to_vec();
        if data.is_empty() {
            return Ok(None);
        }
        Ok(Some(EncodedVideo {
            data: data.into(),
            keyframe,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::synthetic::SyntheticVideo;
    use crate::capture::{stamp, VideoFormat, VideoSource};
    use crate::clock::SimulatedClock;
    use crate::h264::nal_types;
    use std::sync::Arc;

    fn settings() -> H264Settings {
        H264Settings {
            width: 320,
            height: 240,
            fps: 30,
            bitrate_bps: 600_000,
            keyframe_interval_frames: 60,
        }
    }

    #[test]
    fn idr_carries_sps_pps_and_forcing_works_and_stamps_survive() {
        let clock = Arc::new(SimulatedClock::new(1_000));
        let format = VideoFormat {
            width: 320,
            height: 240,
            fps: 30,
        };
        let mut src = SyntheticVideo::new(format, clock);
        let mut enc = H264Encoder::new(settings()).unwrap();
        let mut dec = openh264::decoder::Decoder::new().unwrap();
        let mut kinds = Vec::new();
        for i in 0..40 {
            let frame = src.next_frame().unwrap();
            let out = enc.encode(&frame, i == 25).unwrap().expect("a frame");
            let types = nal_types(&out.data);
            if out.keyframe {
                assert!(
                    types.starts_with(&[7, 8]),
                    "SPS/PPS lead the IDR: {types:?}"
                );
                assert!(types.contains(&5), "{types:?}");
            } else {
                assert!(!types.contains(&5), "{types:?}");
            }
            kinds.push(out.keyframe);
            let yuv = dec.decode(&out.data).unwrap().expect("decoded picture");
            use openh264::formats::YUVSource;
            let (w, h) = yuv.dimensions();
            assert_eq!((w, h), (320, 240));
            let s = stamp::read(w, h, yuv.y(), yuv.strides().0).expect("stamp survives");
            assert_eq!(s.frame, i);
        }
        assert!(kinds[0], "first frame is an IDR");
        assert!(kinds[25], "forced IDR");
        assert_eq!(kinds.iter().filter(|k| **k).count(), 2, "{kinds:?}");
    }

    #[test]
    fn wrong_size_is_an_error_not_a_panic() {
        let mut enc = H264Encoder::new(settings()).unwrap();
        let frame = VideoFrame::black(640, 480, std::time::Instant::now(), 0);
        assert!(enc.encode(&frame, false).is_err());
    }
}
