//! Messages from viewers: classified by topic, parsed, and checked before the session machine
//! sees them. A message that fails names its sender when it can, so the sender can be told.

use super::messages::{Answer, CandidateInit, Hangup, ViewerCandidate};
use super::topics::{InboundKind, InboundTopic, Route, Topics};
use super::{
    MAX_CANDIDATE, MAX_MESSAGE_BYTES, MAX_SDP_BYTES, MAX_SDP_MID, MAX_UFRAG, MAX_VIEWER_ID,
};

/// A message from a viewer, parsed and checked. `route`: the topics it came on.
#[derive(Debug, Clone, PartialEq)]
pub enum Inbound {
    Answer {
        session: String,
        viewer: String,
        sdp: String,
        route: Route,
    },
    Candidate {
        session: String,
        viewer: String,
        candidate: CandidateInit,
        route: Route,
    },
    Hangup {
        session: String,
        viewer: String,
        reason: String,
        route: Route,
    },
}

/// Why an inbound message was refused. `viewer` is set when the sender can be told, on the
/// topics of `route`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("bad message on {topic}: {reason}")]
pub struct ProtocolError {
    pub topic: String,
    pub session: String,
    pub viewer: Option<String>,
    pub route: Route,
    pub reason: String,
}

fn valid_viewer_id(v: &str) -> bool {
    !v.is_empty() && v.len() <= MAX_VIEWER_ID && v.chars().all(|c| c.is_ascii_graphic())
}

/// Parses a message on one of the device's subscriptions. `Ok(None)`: not ours (ignored).
///
/// On a viewer's own topics (`R/session/{s}/viewer/{id}/…`) the sender is `{id}`: the
/// message's `viewer` may be left out, and one that names another viewer is refused (nobody
/// is told: that is someone writing in another's name).
pub fn parse_inbound(
    topics: &Topics,
    topic: &str,
    payload: &[u8],
) -> Result<Option<Inbound>, ProtocolError> {
    let Some(InboundTopic { session, kind, own }) = topics.parse(topic) else {
        return Ok(None);
    };
    let route = if own.is_some() {
        Route::Own
    } else {
        Route::Shared
    };
    let refuse = |viewer: Option<String>, reason: String| ProtocolError {
        topic: topic.to_string(),
        session: session.clone(),
        viewer,
        route,
        reason,
    };
    if payload.len() > MAX_MESSAGE_BYTES {
        return Err(refuse(
            None,
            format!(
                "{} bytes; viewer messages are at most {MAX_MESSAGE_BYTES} (dropped unread)",
                payload.len()
            ),
        ));
    }
    // Best effort: find the viewer id even in a message that fails to parse fully, so the
    // sender can be told what was wrong.
    let loose: Option<serde_json::Value> = serde_json::from_slice(payload).ok();
    let named = loose
        .as_ref()
        .and_then(|v| v.get("viewer"))
        .and_then(|v| v.as_str())
        .map(str::to_string);
    if let (Some(own), Some(named)) = (&own, &named) {
        if named != own {
            return Err(refuse(
                None,
                format!("names viewer {named:?} on viewer {own:?}'s topics (ignored)"),
            ));
        }
    }
    let sender = own
        .clone()
        .or_else(|| named.clone().filter(|v| valid_viewer_id(v)));
    let fail = |reason: String| refuse(sender.clone(), reason);
    // The viewer a message is from: its own topic's id, else the one it names.
    let viewer_of = |named: &str| -> Result<String, ProtocolError> {
        let v = own.clone().unwrap_or_else(|| named.to_string());
        if valid_viewer_id(&v) {
            Ok(v)
        } else {
            Err(fail(format!(
                "`viewer` must be 1-{MAX_VIEWER_ID} printable ASCII characters"
            )))
        }
    };
    match kind {
        InboundKind::Answer => {
            let a: Answer =
                serde_json::from_slice(payload).map_err(|e| fail(format!("answer JSON: {e}")))?;
            let viewer = viewer_of(&a.viewer)?;
            if a.kind != "answer" {
                return Err(fail(format!("`type` must be \"answer\", not {:?}", a.kind)));
            }
            if a.sdp.len() > MAX_SDP_BYTES || !a.sdp.starts_with("v=0") {
                return Err(fail(format!(
                    "`sdp` must be an SDP (starting with v=0) of at most {MAX_SDP_BYTES} bytes"
                )));
            }
            crate::signaling::sdp::check_answer(&a.sdp)
                .map_err(|e| fail(format!("`sdp` is not a WebRTC answer: {e}")))?;
            Ok(Some(Inbound::Answer {
                session,
                viewer,
                sdp: a.sdp,
                route,
            }))
        }
        InboundKind::ViewerCandidate => {
            let c: ViewerCandidate = serde_json::from_slice(payload)
                .map_err(|e| fail(format!("candidate JSON: {e}")))?;
            let viewer = viewer_of(&c.viewer)?;
            check_candidate(&c.init).map_err(fail)?;
            Ok(Some(Inbound::Candidate {
                session,
                viewer,
                candidate: c.init,
                route,
            }))
        }
        InboundKind::Hangup => {
            let h: Hangup =
                serde_json::from_slice(payload).map_err(|e| fail(format!("hangup JSON: {e}")))?;
            // The device's own hangups (no viewer) come back on the shared topic: not ours.
            let Some(named) = h.viewer.or_else(|| own.clone()) else {
                return Ok(None);
            };
            let viewer = viewer_of(&named)?;
            Ok(Some(Inbound::Hangup {
                session,
                viewer,
                reason: h.reason,
                route,
            }))
        }
    }
}

/// The length limits of a candidate's fields.
fn check_candidate(c: &CandidateInit) -> Result<(), String> {
    if c.candidate.len() > MAX_CANDIDATE {
        return Err(format!("`candidate` is longer than {MAX_CANDIDATE} bytes"));
    }
    if c.sdp_mid.as_ref().is_some_and(|m| m.len() > MAX_SDP_MID) {
        return Err(format!("`sdpMid` is longer than {MAX_SDP_MID} bytes"));
    }
    if c.username_fragment
        .as_ref()
        .is_some_and(|u| u.len() > MAX_UFRAG)
    {
        return Err(format!(
            "`usernameFragment` is longer than {MAX_UFRAG} bytes"
        ));
    }
    Ok(())
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
        let sdp = crate::signaling::sdp::TEST_ANSWER;
        let a = json!({"type":"answer","sdp":sdp,"viewer":"v1"}).to_string();
        assert_eq!(
            parse_inbound(&t, "rtcam/cam1/session/s1/answer", a.as_bytes()).unwrap(),
            Some(Inbound::Answer {
                session: "s1".into(),
                viewer: "v1".into(),
                sdp: sdp.into(),
                route: Route::Shared,
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
    fn on_its_own_topics_the_topic_names_the_viewer() {
        let t = topics();
        let own = "rtcam/cam1/session/s1/viewer/rtcam-viewer-a1";
        let sdp = crate::signaling::sdp::TEST_ANSWER;
        let a = json!({"type":"answer","sdp":sdp}).to_string();
        assert_eq!(
            parse_inbound(&t, &format!("{own}/answer"), a.as_bytes()).unwrap(),
            Some(Inbound::Answer {
                session: "s1".into(),
                viewer: "rtcam-viewer-a1".into(),
                sdp: sdp.into(),
                route: Route::Own,
            })
        );
        let h = json!({"reason":"left"}).to_string();
        assert!(matches!(
            parse_inbound(&t, &format!("{own}/hangup"), h.as_bytes()).unwrap(),
            Some(Inbound::Hangup { viewer, route: Route::Own, .. }) if viewer == "rtcam-viewer-a1"
        ));
        // Naming another viewer on one's own topics is writing in its name: refused, untold.
        let c = json!({"viewer":"victim","candidate":"candidate:1 1 udp 1 10.0.0.1 9 typ host"})
            .to_string();
        let e = parse_inbound(&t, &format!("{own}/candidate"), c.as_bytes()).unwrap_err();
        assert_eq!(e.viewer, None);
        assert!(e.reason.contains("victim"), "{e}");
        // A bad message there is answered on the same topics.
        let bad = json!({"type":"offer","sdp":"v=0"}).to_string();
        let e = parse_inbound(&t, &format!("{own}/answer"), bad.as_bytes()).unwrap_err();
        assert_eq!(
            (e.viewer.as_deref(), e.route),
            (Some("rtcam-viewer-a1"), Route::Own)
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
