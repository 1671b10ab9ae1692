//! Messages from viewers: classified by topic, parsed, and checked before the session machine
//! sees them. A message that fails names its sender when it can, so the sender can be told.

use super::messages::{Answer, CandidateInit, Hangup, ViewerCandidate};
use super::topics::{InboundTopic, Topics};
use super::{
    MAX_CANDIDATE, MAX_MESSAGE_BYTES, MAX_SDP_BYTES, MAX_SDP_MID, MAX_UFRAG, MAX_VIEWER_ID,
};

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
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(ProtocolError {
            topic: topic.to_string(),
            session,
            viewer: None,
            reason: format!(
                "{} bytes; viewer messages are at most {MAX_MESSAGE_BYTES} (dropped unread)",
                payload.len()
            ),
        });
    }
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
            if c.init.candidate.len() > MAX_CANDIDATE {
                return Err(fail(format!(
                    "`candidate` is longer than {MAX_CANDIDATE} bytes"
                )));
            }
            if c.init
                .sdp_mid
                .as_ref()
                .is_some_and(|m| m.len() > MAX_SDP_MID)
            {
                return Err(fail(format!("`sdpMid` is longer than {MAX_SDP_MID} bytes")));
            }
            if c.init
                .username_fragment
                .as_ref()
                .is_some_and(|u| u.len() > MAX_UFRAG)
            {
                return Err(fail(format!(
                    "`usernameFragment` is longer than {MAX_UFRAG} bytes"
                )));
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
    fn an_oversized_message_is_dropped_unread() {
        let t = topics();
        let sdp = format!("v=0{}", "a".repeat(super::MAX_MESSAGE_BYTES));
        let payload = format!(r#"{{"type":"answer","sdp":"{sdp}","viewer":"v9"}}"#);
        let e = parse_inbound(&t, "rtcam/cam1/session/s1/answer", payload.as_bytes()).unwrap_err();
        assert_eq!(e.viewer, None, "not parsed, so nobody is named");
        assert!(e.reason.contains("dropped unread"), "{e}");
        let e = parse_inbound(
            &t,
            "rtcam/cam1/session/s1/candidate/viewer",
            &vec![b' '; 2 * 1024 * 1024],
        )
        .unwrap_err();
        assert!(e.reason.contains("bytes"), "{e}");
    }

    #[test]
    fn candidate_fields_are_bounded() {
        let t = topics();
        let topic = "rtcam/cam1/session/s1/candidate/viewer";
        let c = |field: &str, len: usize| {
            format!(
                r#"{{"viewer":"v9","candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host","{field}":"{}"}}"#,
                "x".repeat(len)
            )
        };
        assert!(parse_inbound(&t, topic, c("sdpMid", super::MAX_SDP_MID).as_bytes()).is_ok());
        let e =
            parse_inbound(&t, topic, c("sdpMid", super::MAX_SDP_MID + 1).as_bytes()).unwrap_err();
        assert!(e.reason.contains("sdpMid"), "{e}");
        assert_eq!(e.viewer.as_deref(), Some("v9"));
        let long = c("usernameFragment", super::MAX_UFRAG + 1);
        let e = parse_inbound(&t, topic, long.as_bytes()).unwrap_err();
        assert!(e.reason.contains("usernameFragment"), "{e}");
    }
}
