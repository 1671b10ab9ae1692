//! Everything the device publishes, with its topic and retain flag, behind the [`Publish`]
//! seam so that what goes out is tested without a broker.

use tracing::warn;

use crate::signaling::mqtt::{MqttError, Publisher};
use crate::signaling::protocol::{
    CandidateInit, ErrorCode, ErrorMessage, Hangup, Offer, Status, Topics,
};

/// Where messages go: the MQTT task in the daemon, a recorder in tests. Must not wait.
pub trait Publish: Send {
    fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), MqttError>;
}

impl Publish for Publisher {
    fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), MqttError> {
        Publisher::publish(self, topic, retain, payload)
    }
}

/// The device's outgoing messages and the status it keeps retained.
pub struct Outbox {
    topics: Topics,
    mqtt: Box<dyn Publish>,
    /// The retained status as last published (or about to be).
    pub status: Status,
}

impl Outbox {
    pub fn new(topics: Topics, mqtt: Box<dyn Publish>, status: Status) -> Self {
        Self {
            topics,
            mqtt,
            status,
        }
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// The standby offer, retained.
    pub fn offer(&self, session: String, sdp: String) {
        let offer = Offer {
            session,
            kind: "offer".into(),
            sdp,
        };
        self.send(self.topics.offer(), true, json(&offer));
    }

    /// No offer: an empty retained message.
    pub fn clear_offer(&self) {
        self.send(self.topics.offer(), true, Vec::new());
    }

    /// One of the device's candidates, to the session's viewer.
    pub fn device_candidate(&self, session: &str, candidate: &CandidateInit) {
        self.send(
            self.topics.device_candidate(session),
            false,
            json(candidate),
        );
    }

    /// The device ends a session.
    pub fn hangup(&self, session: &str, reason: String) {
        let msg = Hangup {
            reason,
            viewer: None,
        };
        self.send(self.topics.hangup(session), false, json(&msg));
    }

    /// Why a viewer's message was refused.
    pub fn error(&self, session: &str, viewer: String, code: ErrorCode, message: String) {
        let msg = ErrorMessage {
            viewer,
            code,
            message,
        };
        self.send(self.topics.error(session), false, json(&msg));
    }

    /// The current status, retained.
    pub fn publish_status(&self) {
        self.send(self.topics.status(), true, json(&self.status));
    }

    /// The offline status, retained (the Last Will says the same when the device vanishes).
    pub fn offline(&self) {
        self.send(self.topics.status(), true, json(&Status::offline()));
    }

    fn send(&self, topic: String, retain: bool, payload: Vec<u8>) {
        if let Err(e) = self.mqtt.publish(topic, retain, payload) {
            warn!(cause = %e, "MQTT publish dropped");
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Our message types are plain structs of strings and numbers: serialising cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{json, Value};

    use super::*;

    type Sent = Arc<Mutex<Vec<(String, bool, Vec<u8>)>>>;

    struct Recorder(Sent);

    impl Publish for Recorder {
        fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), MqttError> {
            self.0.lock().unwrap().push((topic, retain, payload));
            Ok(())
        }
    }

    fn outbox() -> (Outbox, Sent) {
        let sent = Sent::default();
        let status = Status::offline();
        let out = Outbox::new(
            Topics::new("rtcam", "cam1"),
            Box::new(Recorder(sent.clone())),
            status,
        );
        (out, sent)
    }

    fn take(sent: &Sent) -> Vec<(String, bool, Value)> {
        sent.lock()
            .unwrap()
            .drain(..)
            .map(|(t, r, p)| {
                let v = if p.is_empty() {
                    Value::Null
                } else {
                    serde_json::from_slice(&p).unwrap()
                };
                (t, r, v)
            })
            .collect()
    }

    #[test]
    fn offers_and_status_are_retained_session_messages_are_not() {
        let (out, sent) = outbox();
        out.offer("s1".into(), "v=0".into());
        out.clear_offer();
        out.publish_status();
        out.hangup("s1", "shutdown".into());
        out.error("s1", "v1".into(), ErrorCode::Full, "full".into());
        assert_eq!(
            take(&sent),
            vec![
                (
                    "rtcam/cam1/offer".into(),
                    true,
                    json!({"session":"s1","type":"offer","sdp":"v=0"})
                ),
                ("rtcam/cam1/offer".into(), true, Value::Null),
                ("rtcam/cam1/status".into(), true, json!({"state":"offline"})),
                (
                    "rtcam/cam1/session/s1/hangup".into(),
                    false,
                    json!({"reason":"shutdown"})
                ),
                (
                    "rtcam/cam1/session/s1/error".into(),
                    false,
                    json!({"viewer":"v1","code":"full","message":"full"})
                ),
            ]
        );
    }

    #[test]
    fn device_candidates_go_to_the_session_and_end_with_an_empty_one() {
        let (out, sent) = outbox();
        let c = CandidateInit {
            candidate: "candidate:1 1 udp 1 198.18.0.1 5000 typ host".into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        };
        out.device_candidate("s1", &c);
        out.device_candidate(
            "s1",
            &CandidateInit {
                candidate: String::new(),
                sdp_mid: None,
                sdp_mline_index: None,
                username_fragment: None,
            },
        );
        let got = take(&sent);
        assert_eq!(got[0].0, "rtcam/cam1/session/s1/candidate/device");
        assert!(!got[0].1);
        assert_eq!(got[0].2["sdpMid"], "0");
        assert_eq!(got[0].2["sdpMLineIndex"], 0);
        assert_eq!(got[1].2, json!({"candidate": ""}));
    }
}
