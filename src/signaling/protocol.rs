//! Topics and JSON messages of the MQTT signaling (documented in `docs/protocol.md`).
//! Pure: no I/O, so parsing and formatting are tested without a broker.

use serde::{Deserialize, Serialize};

/// Largest SDP accepted from a viewer.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Longest viewer id accepted.
pub const MAX_VIEWER_ID: usize = 64;
/// Longest session id accepted in a topic.
pub const MAX_SESSION_ID: usize = 64;

/// Topic names under the root `{prefix}/{device_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    root: String,
}

/// Which inbound topic a message came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InboundTopic {
    Answer { session: String },
    ViewerCandidate { session: String },
    Hangup { session: String },
}

impl Topics {
    /// Topics for `{prefix}/{device_id}`.
    pub fn new(prefix: &str, device_id: &str) -> Self {
        Self {
            root: format!("{prefix}/{device_id}"),
        }
    }

    /// `R`
    pub fn root(&self) -> &str {
        &self.root
    }
    /// `R/status`
    pub fn status(&self) -> String {
        format!("{}/status", self.root)
    }
    /// `R/offer`
    pub fn offer(&self) -> String {
        format!("{}/offer", self.root)
    }
    /// `R/session/{s}/answer`
    pub fn answer(&self, session: &str) -> String {
        format!("{}/session/{session}/answer", self.root)
    }
    /// `R/session/{s}/candidate/viewer`
    pub fn viewer_candidate(&self, session: &str) -> String {
        format!("{}/session/{session}/candidate/viewer", self.root)
    }
    /// `R/session/{s}/candidate/device`
    pub fn device_candidate(&self, session: &str) -> String {
        format!("{}/session/{session}/candidate/device", self.root)
    }
    /// `R/session/{s}/hangup`
    pub fn hangup(&self, session: &str) -> String {
        format!("{}/session/{session}/hangup", self.root)
    }
    /// `R/session/{s}/error`
    pub fn error(&self, session: &str) -> String {
        format!("{}/session/{session}/error", self.root)
    }
    /// `R/session/{s}/#`: what a viewer subscribes to before answering.
    pub fn session_all(&self, session: &str) -> String {
        format!("{}/session/{session}/#", self.root)
    }

    /// What the device subscribes to.
    pub fn device_subscriptions(&self) -> Vec<String> {
        vec![
            format!("{}/session/+/answer", self.root),
            format!("{}/session/+/candidate/viewer", self.root),
            format!("{}/session/+/hangup", self.root),
        ]
    }

    /// Classifies an inbound topic; `None` for anything the device does not handle.
    pub fn parse(&self, topic: &str) -> Option<InboundTopic> {
        let rest = topic.strip_prefix(&self.root)?.strip_prefix("/session/")?;
        let (session, kind) = rest.split_once('/')?;
        if !valid_session_id(session) {
            return None;
        }
        let session = session.to_string();
        match kind {
            "answer" => Some(InboundTopic::Answer { session }),
            "candidate/viewer" => Some(InboundTopic::ViewerCandidate { session }),
            "hangup" => Some(InboundTopic::Hangup { session }),
            _ => None,
        }
    }
}

/// Session ids: 1–64 of `[A-Za-z0-9_-]`.
pub fn valid_session_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SESSION_ID
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// A fresh unguessable session id: 128 random bits as 32 hex digits.
pub fn new_session_id() -> String {
    let n: u128 = rand::random();
    format!("{n:032x}")
}

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
}

/// The `sources` object of the status: `"ok"` or `"unavailable"` per kind (`audio` is
/// `null` when the device sends no audio).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcesState {
    pub video: String,
    pub audio: Option<String>,
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
}

/// `R/session/{s}/answer`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(rename = "type")]
    pub kind: String,
    pub sdp: String,
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
}

/// `R/session/{s}/error`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorMessage {
    pub viewer: String,
    pub code: ErrorCode,
    pub message: String,
}

/// A message from a viewer, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Answer {
        session: String,
        viewer: String,
        sdp: String,
    },
    Candidate {
        session: String,
        viewer: String,
        candidate: CandidateInit,
    },
    Hangup {
        session: String,
        viewer: String,
        reason: String,
    },
}

/// Why an inbound message was refused. `viewer` is set when the sender can be told.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad message on {topic}: {reason}")]
pub struct ProtocolError {
    pub topic: String,
    pub session: String,
    pub viewer: Option<String>,
    pub reason: String,
}

fn valid_viewer_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_VIEWER_ID && v.chars().all(|c| c.is_ascii_graphic())
}

/// Parses a message on one of the device's subscriptions. `Ok(None)`: not ours (ignored).
pub fn parse_inbound(
    topics: &Topics,
    topic: &str,
    payload: &[u8],
) -> Result<Option<Inbound>, ProtocolError> {
    let Some(kind) = topics.parse(topic) else {
        return Ok(None);
    };
    let session = match &kind {
        InboundTopic::Answer { session }
        | InboundTopic::ViewerCandidate { session }
        | InboundTopic::Hangup { session } => session.clone(),
    };
    // Best effort: find the viewer id even in a message that fails to parse fully, so the
    // sender can be told what was wrong.
    let loose: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
    let loose_viewer = loose
        .as_ref()
        .and_then(|v| v.get("viewer"))
        .and_then(|v| v.as_str())
        .filter(|v| valid_viewer_id(v))
        .map(str::to_string);
    let fail = |reason: String| ProtocolError {
        topic: topic.to_string(),
        session: session.clone(),
        viewer: loose_viewer.clone(),
        reason,
    };
    let check_viewer = |v: &str| {
        if valid_viewer_id(v) {
            Ok(())
        } else {
            Err(fail(format!(
                "`viewer` must be 1-{MAX_VIEWER_ID} printable ASCII characters"
            )))
        }
    };
    match kind {
        InboundTopic::Answer { session } => {
            let a: Answer =
                serde_json::from_slice(payload).map_err(|e| fail(format!("answer JSON: {e}")))?;
            check_viewer(&a.viewer)?;
            if a.kind != "answer" {
                return Err(fail(format!("`type` must be \"answer\", not {:?}", a.kind)));
            }
            if a.sdp.len() > MAX_SDP_BYTES || !a.sdp.starts_with("v=0") {
                return Err(fail(format!(
                    "`sdp` must be an SDP (starting with v=0) of at most {MAX_SDP_BYTES} bytes"
                )));
            }
            Ok(Some(Inbound::Answer {
                session,
                viewer: a.viewer,
                sdp: a.sdp,
            }))
        }
        InboundTopic::ViewerCandidate { session } => {
            let c: ViewerCandidate = serde_json::from_slice(payload)
                .map_err(|e| fail(format!("candidate JSON: {e}")))?;
            check_viewer(&c.viewer)?;
            if c.init.candidate.len() > 1024 {
                return Err(fail("`candidate` is too long".into()));
            }
            Ok(Some(Inbound::Candidate {
                session,
                viewer: c.viewer,
                candidate: c.init,
            }))
        }
        InboundTopic::Hangup { session } => {
            let h: Hangup =
                serde_json::from_slice(payload).map_err(|e| fail(format!("hangup JSON: {e}")))?;
            // The device's own hangups (no viewer) come back on this topic: not ours.
            let Some(viewer) = h.viewer else {
                return Ok(None);
            };
            check_viewer(&viewer)?;
            Ok(Some(Inbound::Hangup {
                session,
                viewer,
                reason: h.reason,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn topics() -> Topics {
        Topics::new("rtcam", "cam1")
    }

    #[test]
    fn topic_names() {
        let t = topics();
        assert_eq!(t.status(), "rtcam/cam1/status");
        assert_eq!(t.offer(), "rtcam/cam1/offer");
        assert_eq!(t.answer("s1"), "rtcam/cam1/session/s1/answer");
        assert_eq!(
            t.viewer_candidate("s1"),
            "rtcam/cam1/session/s1/candidate/viewer"
        );
        assert_eq!(
            t.device_candidate("s1"),
            "rtcam/cam1/session/s1/candidate/device"
        );
        assert_eq!(t.hangup("s1"), "rtcam/cam1/session/s1/hangup");
        assert_eq!(t.error("s1"), "rtcam/cam1/session/s1/error");
        assert_eq!(
            t.parse("rtcam/cam1/session/s1/answer"),
            Some(InboundTopic::Answer {
                session: "s1".into()
            })
        );
        assert_eq!(t.parse("rtcam/cam1/session/s1/candidate/device"), None);
        assert_eq!(t.parse("rtcam/cam2/session/s1/answer"), None);
        assert_eq!(t.parse("rtcam/cam1/session/a+b/answer"), None);
    }

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

    #[test]
    fn parses_answers_candidates_and_hangups() {
        let t = topics();
        let a = json!({"type":"answer","sdp":"v=0\r\n","viewer":"v1"}).to_string();
        assert_eq!(
            parse_inbound(&t, "rtcam/cam1/session/s1/answer", a.as_bytes()).unwrap(),
            Some(Inbound::Answer {
                session: "s1".into(),
                viewer: "v1".into(),
                sdp: "v=0\r\n".into()
            })
        );
        let c = json!({"viewer":"v1","candidate":"candidate:1 1 udp 1 198.18.0.1 5 typ host",
                       "sdpMid":"0","sdpMLineIndex":0})
        .to_string();
        let Some(Inbound::Candidate { candidate, .. }) =
            parse_inbound(&t, "rtcam/cam1/session/s1/candidate/viewer", c.as_bytes()).unwrap()
        else {
            panic!("candidate expected")
        };
        assert_eq!(candidate.sdp_mid.as_deref(), Some("0"));
        assert_eq!(candidate.sdp_mline_index, Some(0));
        let end = json!({"viewer":"v1","candidate":""}).to_string();
        assert!(
            parse_inbound(&t, "rtcam/cam1/session/s1/candidate/viewer", end.as_bytes())
                .unwrap()
                .is_some()
        );
        let h = json!({"viewer":"v1","reason":"bye"}).to_string();
        assert!(matches!(
            parse_inbound(&t, "rtcam/cam1/session/s1/hangup", h.as_bytes()).unwrap(),
            Some(Inbound::Hangup { .. })
        ));
        let own = json!({"reason":"timeout"}).to_string();
        assert_eq!(
            parse_inbound(&t, "rtcam/cam1/session/s1/hangup", own.as_bytes()).unwrap(),
            None
        );
    }

    #[test]
    fn bad_messages_are_errors_that_name_the_viewer_when_known() {
        let t = topics();
        let topic = "rtcam/cam1/session/s1/answer";
        let e =
            parse_inbound(&t, topic, br#"{"type":"offer","sdp":"v=0","viewer":"v9"}"#).unwrap_err();
        assert_eq!(e.viewer.as_deref(), Some("v9"));
        assert!(e.reason.contains("answer"), "{e}");
        let e = parse_inbound(
            &t,
            topic,
            br#"{"type":"answer","sdp":"hello","viewer":"v9"}"#,
        )
        .unwrap_err();
        assert!(e.reason.contains("sdp"), "{e}");
        let e = parse_inbound(&t, topic, b"\xff\x00 not json").unwrap_err();
        assert_eq!(e.viewer, None);
        let e =
            parse_inbound(&t, topic, br#"{"type":"answer","sdp":"v=0","viewer":""}"#).unwrap_err();
        assert!(e.reason.contains("viewer"), "{e}");
    }

    #[test]
    fn session_ids_are_unguessable_and_valid() {
        let a = new_session_id();
        assert_eq!(a.len(), 32);
        assert!(valid_session_id(&a));
        assert_ne!(a, new_session_id());
    }
}
