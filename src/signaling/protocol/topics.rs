//! Topic names under the root `{prefix}/{device_id}`, and session ids.

use super::MAX_SESSION_ID;

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
    /// `R/session/{s}/stats`: one viewer's bitrate numbers, device → viewer.
    pub fn stats(&self, session: &str) -> String {
        format!("{}/session/{session}/stats", self.root)
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
            Some(InboundTopic::Answer {
                session: "s1".into()
            })
        );
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
