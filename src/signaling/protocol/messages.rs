//! The JSON messages, as they travel (serde).

use serde::{Deserialize, Serialize};

/// `R/status` while online.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    /// `"online"` or `"offline"`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_viewers: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<VideoInfo>,
    /// Present (possibly `null`) while online.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<Option<AudioInfo>>,
    /// Whether audio that viewers send is played on the device (added in rtcam 0.1;
    /// absent from older devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkback: Option<bool>,
    /// State of the capture devices (added in rtcam 0.1; absent from older devices).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<SourcesState>,
    /// The video bitrate and each viewer's estimate (added in rtcam 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<super::RateInfo>,
    /// The media servers the device publishes to, and whether it is live there (added in
    /// rtcam 0.5; absent when none is configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub publish: Option<Vec<PublishInfo>>,
}

/// One entry of the status' `publish`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishInfo {
    /// Where: `janus http://host:8088/janus room 1234`.
    pub target: String,
    /// `"connecting"`, `"live"` or `"retrying"`.
    pub state: String,
    /// Why the last attempt failed, while retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The `sources` object of the status: `"ok"` or `"unavailable"` per kind (`audio` is
/// `null` when the device sends no audio; `talkback`, the speaker, is absent when talkback
/// is off).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcesState {
    pub video: String,
    pub audio: Option<String>,
    /// Added in rtcam 0.2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub talkback: Option<String>,
    /// `"periodic"` when the video source cannot make a keyframe on request (a video
    /// command, a camera without the control): a viewer's first picture waits for the
    /// source's next periodic IDR. Absent when keyframes come on request. Added in rtcam 0.3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_keyframes: Option<String>,
}

/// The `video` object of the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VideoInfo {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// The `audio` object of the status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioInfo {
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u32,
}

impl Status {
    /// The online status.
    pub fn online(
        viewers: usize,
        max_viewers: usize,
        video: VideoInfo,
        audio: Option<AudioInfo>,
    ) -> Self {
        Self {
            state: "online".into(),
            version: Some(crate::VERSION.into()),
            viewers: Some(viewers),
            max_viewers: Some(max_viewers),
            video: Some(video),
            audio: Some(audio),
            talkback: Some(false),
            sources: None,
            rate: None,
            publish: None,
        }
    }

    /// The offline status (also the Last Will).
    pub fn offline() -> Self {
        Self {
            state: "offline".into(),
            version: None,
            viewers: None,
            max_viewers: None,
            video: None,
            audio: None,
            talkback: None,
            sources: None,
            rate: None,
            publish: None,
        }
    }
}

/// `R/offer`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    pub session: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
    /// STUN/TURN servers for the viewer's peer connection (rtcam 0.5, optional): TURN
    /// credentials in them are short-lived, and re-published before they expire.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ice_servers: Vec<IceServerInit>,
}

/// One entry of an offer's `ice_servers`: WebRTC's `RTCIceServer` dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IceServerInit {
    pub urls: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credential: String,
}

/// `R/session/{s}/answer`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
    /// May be left out on the viewer's own topics (the topic names it).
    #[serde(default)]
    pub viewer: String,
}

/// An RTCIceCandidateInit; `candidate: ""` ends the trickle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CandidateInit {
    pub candidate: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdp_mid: Option<String>,
    #[serde(
        default,
        rename = "sdpMLineIndex",
        skip_serializing_if = "Option::is_none"
    )]
    pub sdp_mline_index: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username_fragment: Option<String>,
}

/// `R/session/{s}/candidate/viewer`: a candidate plus the sender's viewer id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ViewerCandidate {
    /// May be left out on the viewer's own topics (the topic names it).
    #[serde(default)]
    pub viewer: String,
    #[serde(flatten)]
    pub init: CandidateInit,
}

/// `R/session/{s}/hangup`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hangup {
    #[serde(default)]
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub viewer: Option<String>,
}

/// Codes of `R/session/{s}/error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Another viewer claimed the session first.
    Taken,
    /// Every viewer slot is in use.
    Full,
    /// The message could not be used.
    BadRequest,
    /// The device failed.
    Internal,
    /// This viewer id's claims kept failing; it may answer again later (rtcam 0.4).
    Refused,
}

/// `R/session/{s}/error`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub viewer: String,
    pub code: ErrorCode,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn status_json_matches_the_contract() {
        let video = VideoInfo {
            codec: "H264".into(),
            width: 640,
            height: 480,
            fps: 30,
        };
        let on = serde_json::to_value(Status::online(1, 4, video.clone(), None)).unwrap();
        assert_eq!(
            on,
            json!({"state":"online","version":crate::VERSION,"viewers":1,"max_viewers":4,
                   "video":{"codec":"H264","width":640,"height":480,"fps":30},"audio":null,
                   "talkback":false})
        );
        let audio = AudioInfo {
            codec: "opus".into(),
            sample_rate: 48000,
            channels: 1,
        };
        let on = serde_json::to_value(Status::online(0, 4, video, Some(audio))).unwrap();
        assert_eq!(
            on["audio"],
            json!({"codec":"opus","sample_rate":48000,"channels":1})
        );
        assert_eq!(
            serde_json::to_value(Status::offline()).unwrap(),
            json!({"state":"offline"})
        );
    }
}
