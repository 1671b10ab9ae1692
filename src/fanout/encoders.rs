//! The video thread's encoders: the full-size one, and a half-size one made the first time a
//! slow link needs it. The rate control's [`Plan`] picks one, sets its bitrate and picture
//! rate; switching starts the new one with an IDR (viewers see the size change there).
//! Periodic IDRs are stretched on slow links so they take a bounded share of the bitrate.

use std::time::Duration;

use tracing::{info, warn};

use super::rate::Plan;
use crate::capture::{scale, VideoFrame};
use crate::encode::openh264::{EncodedVideo, H264Encoder, H264Settings};
use crate::encode::EncodeError;

/// Share of the bitrate periodic IDRs may take.
pub const PERIODIC_IDR_SHARE: f64 = 0.15;
/// Longest time between periodic IDRs, however slow the link.
pub const MAX_IDR_INTERVAL: Duration = Duration::from_secs(20);

pub(super) struct Encoders {
    full: H264Encoder,
    half: Option<H264Encoder>,
    /// Making the half-size encoder failed once: it is not tried again.
    half_failed: bool,
    use_half: bool,
    force_next: bool,
    divisor: u32,
    idr_bytes: usize,
    idr_interval: u32,
}

impl Encoders {
    pub fn new(full: H264Encoder) -> Self {
        let idr_interval = full.settings().keyframe_interval_frames;
        Self {
            full,
            half: None,
            half_failed: false,
            use_half: false,
            force_next: false,
            divisor: 1,
            idr_bytes: 0,
            idr_interval,
        }
    }

    /// The encoder in use.
    pub fn active(&mut self) -> &mut H264Encoder {
        match (self.use_half, self.half.as_mut()) {
            (true, Some(half)) => half,
            _ => &mut self.full,
        }
    }

    /// Encode every n-th picture.
    pub fn divisor(&self) -> u32 {
        self.divisor
    }

    /// Applies the rate control's plan to the encoder in use (switching size if it says so).
    pub fn follow(&mut self, plan: &Plan) {
        if plan.half_size != self.use_half && !(plan.half_size && self.half_failed) {
            self.switch(plan.half_size, plan.encoder_bps);
        }
        let wanted = plan.frame_divisor.max(1);
        let divisor = self.divisor;
        let enc = self.active();
        if plan.encoder_bps != enc.bitrate_bps() {
            if let Err(e) = enc.set_bitrate(plan.encoder_bps) {
                warn!(cause = %e, bps = plan.encoder_bps, "changing the video bitrate failed");
            }
        }
        if wanted != divisor {
            let fps = enc.settings().fps as f32 / wanted as f32;
            info!(
                fps,
                kbps = plan.encoder_bps / 1000,
                "video picture rate follows the bitrate"
            );
            if let Err(e) = enc.set_frame_rate(fps) {
                warn!(cause = %e, fps, "changing the encoder's picture rate failed");
            }
            self.divisor = wanted;
        }
        self.stretch_idr_interval();
    }

    fn switch(&mut self, half: bool, bps: u32) {
        if half && self.half.is_none() {
            let s = self.full.settings();
            let settings = H264Settings {
                width: s.width / 2,
                height: s.height / 2,
                ..s
            };
            match H264Encoder::new(settings) {
                Ok(enc) => self.half = Some(enc),
                Err(e) => {
                    warn!(cause = %e, "cannot make the half-size encoder; staying at full size");
                    self.half_failed = true;
                    return;
                }
            }
        }
        self.use_half = half;
        self.force_next = true;
        self.divisor = 0; // re-applied to the new encoder by `follow`
        self.idr_interval = 0;
        let (w, h) = {
            let s = self.active().settings();
            (s.width, s.height)
        };
        info!(
            width = w,
            height = h,
            kbps = bps / 1000,
            "video size follows the bitrate"
        );
    }

    /// Encodes `frame` (halved when the half-size encoder is in use).
    pub fn encode(
        &mut self,
        frame: &VideoFrame,
        force_idr: bool,
    ) -> Result<Option<EncodedVideo>, EncodeError> {
        let force = force_idr || std::mem::take(&mut self.force_next);
        let out = if self.use_half && self.half.is_some() {
            let small = scale::halve(frame);
            self.active().encode(&small, force)
        } else {
            self.full.encode(frame, force)
        }?;
        if let Some(au) = out.as_ref().filter(|au| au.keyframe) {
            self.idr_bytes = au.data.len();
        }
        Ok(out)
    }

    /// Periodic IDRs at most [`PERIODIC_IDR_SHARE`] of the bitrate: on a slow link they come
    /// less often than `keyframe_interval_s` (at most every [`MAX_IDR_INTERVAL`]). Viewers
    /// that lose a picture still ask for one (PLI) and get it.
    fn stretch_idr_interval(&mut self) {
        let (idr_bytes, divisor, current) = (self.idr_bytes, self.divisor, self.idr_interval);
        let enc = self.active();
        let s = enc.settings();
        let fps = f64::from(s.fps) / f64::from(divisor.max(1));
        let secs =
            idr_bytes as f64 * 8.0 / (PERIODIC_IDR_SHARE * f64::from(enc.bitrate_bps().max(1)));
        let secs = secs.min(MAX_IDR_INTERVAL.as_secs_f64());
        let wanted = ((secs * fps) as u32).max(s.keyframe_interval_frames);
        // Only a change of a quarter or more is worth telling the encoder.
        if wanted.abs_diff(current) * 4 >= current.max(1) {
            if let Err(e) = enc.set_idr_interval(wanted) {
                warn!(cause = %e, "changing the IDR interval failed");
            }
            if current != 0 {
                info!(
                    interval_s = f64::from(wanted) / fps,
                    idr_kbytes = idr_bytes / 1000,
                    "periodic keyframe interval follows the bitrate"
                );
            }
            self.idr_interval = wanted;
        }
    }
}
