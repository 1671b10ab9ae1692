//! The encoder's full parameter set, written through openh264's raw API: the Rust wrapper
//! hard-codes one temporal layer and a maximum bitrate equal to the start bitrate (so run-time
//! raises would be refused), and rtcam needs both.

use std::os::raw::c_int;

use openh264_sys2::{
    SEncParamExt, CAMERA_VIDEO_REAL_TIME, CONSTANT_ID, DEBLOCKING_IDC_0, LEVEL_3_1, LEVEL_3_2,
    LEVEL_4_0, LEVEL_5_1, LOW_COMPLEXITY, PRO_BASELINE, RC_BITRATE_MODE, SM_SINGLE_SLICE,
};

use super::H264Settings;

/// The H.264 level for a picture size and rate: macroblocks per second (Table A-1).
pub(super) fn level_for(width: u32, height: u32, fps: u32) -> c_int {
    let mbs = (width.div_ceil(16) * height.div_ceil(16)) * fps;
    let level = match mbs {
        0..=108_000 => LEVEL_3_1,
        108_001..=216_000 => LEVEL_3_2,
        216_001..=245_760 => LEVEL_4_0,
        _ => LEVEL_5_1,
    };
    level as c_int
}

fn bps(v: u32) -> c_int {
    c_int::try_from(v).unwrap_or(c_int::MAX)
}

/// Fills `p` (which holds openh264's defaults) with rtcam's settings: constrained baseline,
/// real-time camera usage, bitrate rate control with frame skipping (openh264 only holds a
/// target when it may skip), `temporal_layers` temporal layers, SPS/PPS with constant ids.
pub(super) fn apply(p: &mut SEncParamExt, s: &H264Settings) {
    let (w, h) = (s.width as c_int, s.height as c_int);
    p.iUsageType = CAMERA_VIDEO_REAL_TIME;
    p.iPicWidth = w;
    p.iPicHeight = h;
    p.iRCMode = RC_BITRATE_MODE;
    p.bEnableFrameSkip = true;
    p.iTargetBitrate = bps(s.bitrate_bps);
    p.iMaxBitrate = bps(s.max_bitrate_bps.max(s.bitrate_bps));
    p.fMaxFrameRate = s.fps as f32;
    p.eSpsPpsIdStrategy = CONSTANT_ID;
    p.iComplexityMode = LOW_COMPLEXITY;
    p.uiIntraPeriod = s.keyframe_interval_frames.max(1);
    p.iLoopFilterDisableIdc = DEBLOCKING_IDC_0 as c_int;
    // A camera has no scene cuts; a false detection costs an IDR (measured: 18 instead of
    // 5 in 10 s of a panning scene), which a congested link cannot afford.
    p.bEnableSceneChangeDetect = false;
    p.bEnableAdaptiveQuant = true;
    p.bEnableBackgroundDetection = true;
    p.bEnableLongTermReference = false;
    p.bEnableDenoise = false;
    p.bPrefixNalAddingCtrl = false;
    p.iSpatialLayerNum = 1;
    p.iTemporalLayerNum = c_int::from(s.temporal_layers.clamp(1, 4));
    let layer = &mut p.sSpatialLayers[0];
    layer.uiProfileIdc = PRO_BASELINE;
    layer.uiLevelIdc = level_for(s.width, s.height, s.fps) as _;
    layer.iVideoWidth = w;
    layer.iVideoHeight = h;
    layer.fFrameRate = s.fps as f32;
    layer.iSpatialBitrate = p.iTargetBitrate;
    layer.iMaxSpatialBitrate = p.iMaxBitrate;
    layer.sSliceArgument.uiSliceMode = SM_SINGLE_SLICE;
    layer.sSliceArgument.uiSliceNum = 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_follow_macroblock_rate() {
        assert_eq!(level_for(640, 480, 30), LEVEL_3_1 as c_int);
        assert_eq!(level_for(1280, 720, 30), LEVEL_3_1 as c_int);
        assert_eq!(level_for(1280, 720, 60), LEVEL_3_2 as c_int);
        assert_eq!(level_for(1920, 1080, 30), LEVEL_4_0 as c_int);
        assert_eq!(level_for(3840, 2160, 30), LEVEL_5_1 as c_int);
    }
}
