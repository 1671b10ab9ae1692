//! What the device says about its bitrate: `rate` in the retained status (every viewer,
//! without their session ids) and `R/session/{s}/stats` (one viewer's own numbers).
//! Added in rtcam 0.3; both optional, receivers ignore them if they do not know them.

use serde::{Deserialize, Serialize};

/// `rate` in the status: the shared encoder's target and each viewer's estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateInfo {
    /// `false` when the device keeps `video.bitrate_kbps` whatever the network does.
    pub adaptive: bool,
    /// What the encoder aims at now, kbit/s.
    pub target_kbps: u32,
    /// Pictures a second the encoder makes now.
    pub fps: f64,
    /// The second encode's target while it runs (for viewers far slower than the others),
    /// kbit/s. Added in rtcam 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_stream_kbps: Option<u32>,
    /// One entry per connected viewer, in no particular order.
    pub viewers: Vec<ViewerRateInfo>,
}

/// One viewer in [`RateInfo`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewerRateInfo {
    /// Its bandwidth estimate, kbit/s.
    pub estimate_kbps: u32,
    /// Loss in its last receiver report, 0..=1.
    pub loss: f64,
    /// Round-trip time, once measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u64>,
    /// Pictures a second it is sent (less than `fps` when its link is thinned).
    pub fps: f64,
    /// Whether it is sent the second stream. Added in rtcam 0.3.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub second_stream: bool,
}

/// `R/session/{s}/stats`, device → viewer, every 2 s while connected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SessionStats {
    pub target_kbps: u32,
    pub fps: f64,
    pub estimate_kbps: u32,
    /// What was sent to this viewer over the last report interval, kbit/s.
    pub sent_kbps: u32,
    pub loss: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rtt_ms: Option<u64>,
    /// The last REMB the viewer sent, kbit/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remb_kbps: Option<u64>,
    /// Time its video spends in queues on the path (from transport-wide feedback), ms.
    /// Added in rtcam 0.3; absent when the viewer sends no transport-wide feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_ms: Option<u64>,
    /// The target of the second stream when this viewer is sent it (its link is far slower
    /// than the others'), kbit/s. Added in rtcam 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_stream_kbps: Option<u32>,
    /// Pictures a second this viewer is sent.
    pub viewer_fps: f64,
    /// `"all"`, or the share of pictures a thinned viewer gets: `"1/2"`, `"1/4"`, `"1/8"`.
    pub layers: String,
}
