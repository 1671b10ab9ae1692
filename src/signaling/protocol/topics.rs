//! Topic names under the root `{prefix}/{device_id}`, and session ids.

use super::MAX_SESSION_ID;

/// Topic names under the root `{prefix}/{device_id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topics {
    root: String,
}

/// What an inbound topic carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundKind {
    Answer,
    ViewerCandidate,
    Hangup,
}

/// Which topics a viewer speaks on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Route {
    /// The session's shared topics (`R/session/{s}/answer`, …): anyone on the broker can
    /// read them and write in any viewer's name (the protocol before rtcam 0.4).
    #[default]
    Shared,
    /// The viewer's own topics (`R/session/{s}/viewer/{id}/…`), which a broker ACL can
    /// reserve to the client whose id (or user name) is `{id}` (rtcam 0.4).
    Own,
}

/// Which inbound topic a message came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundTopic {
    pub session: String,
    pub kind: InboundKind,
    /// On a viewer's own topics: the viewer id the topic carries.
    pub own: Option<String>,
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
    /// `R/session/{s}/stats`: one viewer's bitrate numbers, device → viewer.
    pub fn stats(&self, session: &str) -> String {
        format!("{}/session/{session}/stats", self.root)
    }
    /// `R/session/{s}/#`: what a viewer subscribes to before answering.
    pub fn session_all(&self, session: &str) -> String {
        format!("{}/session/{session}/#", self.root)
    }

    /// `R/session/{s}/viewer/{id}/device/{kind}`: device → one viewer on its own topics
    /// (`candidate`, `hangup`, `error`, `stats`).
    pub fn to_viewer(&self, session: &str, viewer: &str, kind: &str) -> String {
        format!(
            "{}/session/{session}/viewer/{viewer}/device/{kind}",
            self.root
        )
    }

    /// What the device subscribes to: the shared topics and every viewer's own.
    pub fn device_subscriptions(&self) -> Vec<String> {
        vec![
            format!("{}/session/+/answer", self.root),
            format!("{}/session/+/candidate/viewer", self.root),
            format!("{}/session/+/hangup", self.root),
            format!("{}/session/+/viewer/+/answer", self.root),
            format!("{}/session/+/viewer/+/candidate", self.root),
            format!("{}/session/+/viewer/+/hangup", self.root),
        ]
    }

    /// Classifies an inbound topic; `None` for anything the device does not handle.
    pub fn parse(&self, topic: &str) -> Option<InboundTopic> {
        let rest = topic.strip_prefix(&self.root)?.strip_prefix("/session/")?;
        let (session, kind) = rest.split_once('/')?;
        if !valid_session_id(session) {
            return None;
        }
        let (own, kind) = match kind.strip_prefix("viewer/") {
            Some(rest) => {
                let (viewer, kind) = rest.split_once('/')?;
                if !valid_topic_viewer_id(viewer) {
                    return None;
                }
                let kind = match kind {
                    "answer" => InboundKind::Answer,
                    "candidate" => InboundKind::ViewerCandidate,
                    "hangup" => InboundKind::Hangup,
                    _ => return None,
                };
                (Some(viewer.to_string()), kind)
            }
            None => {
                let kind = match kind {
                    "answer" => InboundKind::Answer,
                    "candidate/viewer" => InboundKind::ViewerCandidate,
                    "hangup" => InboundKind::Hangup,
                    _ => return None,
                };
                (None, kind)
            }
        };
        Some(InboundTopic {
            session: session.to_string(),
            kind,
            own,
        })
    }
}

/// Viewer ids that name a viewer's own topics: 1–64 of `[A-Za-z0-9_.@-]` (an MQTT client id
/// or user name, so that a broker ACL can match it).
pub fn valid_topic_viewer_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= super::MAX_VIEWER_ID
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
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

#[cfg(test)]
mod tests {
    use super::*;

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
            Some(InboundTopic {
                session: "s1".into(),
                kind: InboundKind::Answer,
                own: None
            })
        );
        assert_eq!(
            t.parse("rtcam/cam1/session/s1/viewer/rtcam-viewer-ab12/candidate"),
            Some(InboundTopic {
                session: "s1".into(),
                kind: InboundKind::ViewerCandidate,
                own: Some("rtcam-viewer-ab12".into())
            })
        );
        assert_eq!(
            t.to_viewer("s1", "v1", "error"),
            "rtcam/cam1/session/s1/viewer/v1/device/error"
        );
        // The device's own messages to a viewer, and ids a broker ACL could not match.
        assert_eq!(
            t.parse("rtcam/cam1/session/s1/viewer/v1/device/hangup"),
            None
        );
        assert_eq!(t.parse("rtcam/cam1/session/s1/viewer/a b/answer"), None);
        assert_eq!(t.parse("rtcam/cam1/session/s1/viewer//answer"), None);
        assert_eq!(t.parse("rtcam/cam1/session/s1/candidate/device"), None);
        assert_eq!(t.parse("rtcam/cam2/session/s1/answer"), None);
        assert_eq!(t.parse("rtcam/cam1/session/a+b/answer"), None);
    }

    #[test]
    fn session_ids_are_unguessable_and_valid() {
        let a = new_session_id();
        assert_eq!(a.len(), 32);
        assert!(valid_session_id(&a));
        assert_ne!(a, new_session_id());
    }
}
