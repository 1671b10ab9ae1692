//! H.264 with openh264: constrained baseline, real-time camera usage, bitrate rate control
//! that follows the network at run time, temporal layers (so a slow viewer can be sent every
//! second or fourth picture), no B-frames (baseline has none), SPS/PPS ahead of every IDR.

mod params;
mod raw;

use std::os::raw::{c_int, c_void};

use openh264_sys2::{
    videoFrameTypeI, videoFrameTypeIDR, videoFrameTypeInvalid, videoFrameTypeSkip, SBitrateInfo,
    ENCODER_OPTION, ENCODER_OPTION_BITRATE, ENCODER_OPTION_FRAME_RATE, ENCODER_OPTION_IDR_INTERVAL,
    SPATIAL_LAYER_ALL,
};

use raw::RawEncoder;

use super::EncodeError;
use crate::capture::VideoFrame;
use crate::config::VideoConfig;

/// Most temporal layers the encoder makes (openh264's limit). 3 gives the pattern
/// T0 T2 T1 T2, so a viewer can be sent all pictures, every second one (T0+T1) or every
/// fourth (T0); 4 adds every eighth.
pub const MAX_TEMPORAL_LAYERS: u8 = 4;

/// Encoder settings.
#[derive(Debug, Clone, Copy)]
pub struct H264Settings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Start bitrate.
    pub bitrate_bps: u32,
    /// The ceiling [`H264Encoder::set_bitrate`] may raise the bitrate to.
    pub max_bitrate_bps: u32,
    /// Frames between periodic IDRs.
    pub keyframe_interval_frames: u32,
    /// Temporal layers, 1..=[`MAX_TEMPORAL_LAYERS`].
    pub temporal_layers: u8,
}

impl H264Settings {
    /// The settings `[video]` asks for (`bitrate_kbps` is the start bitrate).
    pub fn from_config(v: &VideoConfig) -> Self {
        Self {
            width: v.width,
            height: v.height,
            fps: v.fps,
            bitrate_bps: v.bitrate_kbps * 1000,
            max_bitrate_bps: v.max_bitrate_kbps().max(v.bitrate_kbps) * 1000,
            keyframe_interval_frames: v.keyframe_interval_s * v.fps,
            temporal_layers: v.temporal_layers,
        }
    }
}

/// One encoded access unit in Annex B form.
#[derive(Debug, Clone)]
pub struct EncodedVideo {
    pub data: bytes::Bytes,
    pub keyframe: bool,
    /// Its temporal layer: 0 is the base every other layer refers to.
    pub temporal_id: u8,
}

/// The openh264 encoder.
pub struct H264Encoder {
    inner: RawEncoder,
    settings: H264Settings,
    bitrate_bps: u32,
}

fn h264_error(what: &'static str) -> impl FnOnce(String) -> EncodeError {
    move |reason| EncodeError::H264 { what, reason }
}

fn failed(what: &'static str, code: c_int) -> EncodeError {
    h264_error(what)(format!("openh264 returned {code}"))
}

fn check(code: c_int, what: &'static str) -> Result<(), EncodeError> {
    match code {
        0 => Ok(()),
        code => Err(failed(what, code)),
    }
}

impl H264Encoder {
    /// Creates and initialises an encoder at the configured size.
    pub fn new(settings: H264Settings) -> Result<Self, EncodeError> {
        let inner = RawEncoder::new(|p| params::apply(p, &settings))
            .map_err(|(what, code)| failed(what, code))?;
        Ok(Self {
            inner,
            settings,
            bitrate_bps: settings.bitrate_bps,
        })
    }

    /// # Safety
    /// `value` must point to the type openh264 expects for `option`, valid for the call.
    unsafe fn set_option(
        &mut self,
        option: ENCODER_OPTION,
        value: *mut c_void,
        what: &'static str,
    ) -> Result<(), EncodeError> {
        // SAFETY: see the function's contract.
        check(unsafe { self.inner.set_option(option, value) }, what)
    }

    /// The settings this encoder was made with.
    pub fn settings(&self) -> H264Settings {
        self.settings
    }

    /// The bitrate the rate control aims at now.
    pub fn bitrate_bps(&self) -> u32 {
        self.bitrate_bps
    }

    /// Changes the target bitrate from the next picture on (clamped to the ceiling).
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), EncodeError> {
        let bps = bps.clamp(
            1_000,
            self.settings.max_bitrate_bps.max(self.settings.bitrate_bps),
        );
        if bps == self.bitrate_bps {
            return Ok(());
        }
        let mut info = SBitrateInfo {
            iLayer: SPATIAL_LAYER_ALL,
            iBitrate: c_int::try_from(bps).unwrap_or(c_int::MAX),
        };
        // SAFETY: ENCODER_OPTION_BITRATE takes an SBitrateInfo, which lives across the call.
        unsafe {
            self.set_option(
                ENCODER_OPTION_BITRATE,
                (&mut info as *mut SBitrateInfo).cast(),
                "bitrate",
            )?
        };
        self.bitrate_bps = bps;
        Ok(())
    }

    /// Sets the pictures between periodic IDRs (at least 1).
    pub fn set_idr_interval(&mut self, frames: u32) -> Result<(), EncodeError> {
        let mut frames = c_int::try_from(frames.max(1)).unwrap_or(c_int::MAX);
        // SAFETY: ENCODER_OPTION_IDR_INTERVAL takes an int, which lives across the call.
        unsafe {
            self.set_option(
                ENCODER_OPTION_IDR_INTERVAL,
                (&mut frames as *mut c_int).cast(),
                "IDR interval",
            )
        }
    }

    /// Tells the rate control how many pictures a second it is given (the daemon feeds it
    /// fewer at very low bitrates), so each gets its share of the bitrate.
    pub fn set_frame_rate(&mut self, fps: f32) -> Result<(), EncodeError> {
        let mut fps = fps.clamp(1.0, self.settings.fps.max(1) as f32);
        // SAFETY: ENCODER_OPTION_FRAME_RATE takes a float, which lives across the call.
        unsafe {
            self.set_option(
                ENCODER_OPTION_FRAME_RATE,
                (&mut fps as *mut f32).cast(),
                "frame rate",
            )
        }
    }

    /// Encodes one frame; `force_idr` makes it an IDR with SPS/PPS ahead of it.
    /// Returns `None` when the encoder produced nothing for this frame (rate control skip).
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        force_idr: bool,
    ) -> Result<Option<EncodedVideo>, EncodeError> {
        if frame.width != self.settings.width || frame.height != self.settings.height {
            return Err(h264_error("input")(format!(
                "frame is {}x{}, encoder expects {}x{}",
                frame.width, frame.height, self.settings.width, self.settings.height
            )));
        }
        if force_idr {
            self.inner.force_idr();
        }
        let out = self
            .inner
            .encode(frame.planes(), frame.width as usize, frame.height as usize)
            .map_err(|(what, code)| failed(what, code))?;
        let kind = out.frame_type;
        if kind == videoFrameTypeSkip || kind == videoFrameTypeInvalid || out.data.is_empty() {
            return Ok(None);
        }
        let keyframe = kind == videoFrameTypeIDR || kind == videoFrameTypeI;
        let (data, temporal_id) = (out.data, out.temporal_id);
        Ok(Some(EncodedVideo {
            data: data.into(),
            keyframe,
            temporal_id,
        }))
    }
}

#[cfg(test)]
mod tests;
