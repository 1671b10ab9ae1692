//! Everything the device publishes, with its topic and retain flag, behind the [`Publish`]
//! seam so that what goes out is tested without a broker.

use std::collections::HashMap;

use tracing::warn;

use super::viewer_ice::ViewerIce;
use crate::config::ice::unix_now;

use crate::signaling::mqtt::{MqttError, Publisher};
use crate::signaling::protocol::{
    CandidateInit, ErrorCode, ErrorMessage, Hangup, Offer, Route, SessionStats, Status, Topics,
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
    /// Retained messages that could not be queued (the request queue was full): the newest
    /// per topic, sent again by [`Outbox::retry_unsent`] until the broker has them.
    unsent: Vec<(String, Vec<u8>)>,
    /// Sessions whose viewer claimed them on its own topics: session → viewer id. What the
    /// device sends those sessions goes to `R/session/{s}/viewer/{id}/device/…`.
    own_topics: HashMap<String, String>,
    /// STUN/TURN servers for viewers, carried in the offer.
    viewer_ice: ViewerIce,
}

impl Outbox {
    pub fn new(topics: Topics, mqtt: Box<dyn Publish>, status: Status) -> Self {
        Self {
            topics,
            mqtt,
            status,
            unsent: Vec::new(),
            own_topics: HashMap::new(),
            viewer_ice: ViewerIce::new(&[], ""),
        }
    }

    /// Carries `viewer_ice`'s servers in every offer.
    pub fn with_viewer_ice(mut self, viewer_ice: ViewerIce) -> Self {
        self.viewer_ice = viewer_ice;
        self
    }

    /// From now on, what goes to `session` goes to `viewer` on the topics of `route`.
    pub fn address(&mut self, session: &str, viewer: String, route: Route) {
        match route {
            Route::Own => {
                self.own_topics.insert(session.to_string(), viewer);
            }
            Route::Shared => {
                self.own_topics.remove(session);
            }
        }
    }

    /// The session ended: nothing more goes to it.
    pub fn forget(&mut self, session: &str) {
        self.own_topics.remove(session);
    }

    /// The topic for a device → viewer message of `kind` on `session`: the viewer's own when
    /// it claimed there, else the shared one `shared` names.
    fn session_topic(&self, session: &str, kind: &str, shared: impl FnOnce() -> String) -> String {
        match self.own_topics.get(session) {
            Some(viewer) => self.topics.to_viewer(session, viewer, kind),
            None => shared(),
        }
    }

    /// Sends the retained messages that could not be queued before; `true` when none is left.
    pub fn retry_unsent(&mut self) -> bool {
        for (topic, payload) in std::mem::take(&mut self.unsent) {
            self.send(topic, true, payload);
        }
        self.unsent.is_empty()
    }

    pub fn topics(&self) -> &Topics {
        &self.topics
    }

    /// The standby offer, retained.
    pub fn offer(&mut self, session: String, sdp: String) {
        let offer = Offer {
            ice_servers: self.viewer_ice.at(&session, unix_now()),
            session,
            kind: "offer".into(),
            sdp,
        };
        self.send(self.topics.offer(), true, json(&offer));
    }

    /// No offer: an empty retained message.
    pub fn clear_offer(&mut self) {
        self.send(self.topics.offer(), true, Vec::new());
    }

    /// One of the device's candidates, to the session's viewer.
    pub fn device_candidate(&mut self, session: &str, candidate: &CandidateInit) {
        let topic = self.session_topic(session, "candidate", || {
            self.topics.device_candidate(session)
        });
        self.send(topic, false, json(candidate));
    }

    /// The device ends a session.
    pub fn hangup(&mut self, session: &str, reason: String) {
        let msg = Hangup {
            reason,
            viewer: None,
        };
        let topic = self.session_topic(session, "hangup", || self.topics.hangup(session));
        self.send(topic, false, json(&msg));
    }

    /// Why a viewer's message was refused, on the topics it wrote on (which need not be
    /// the session's claimer's: a `taken` goes to whoever answered too late).
    pub fn error(
        &mut self,
        session: &str,
        viewer: String,
        code: ErrorCode,
        message: String,
        route: Route,
    ) {
        let topic = match route {
            Route::Own => self.topics.to_viewer(session, &viewer, "error"),
            Route::Shared => self.topics.error(session),
        };
        let msg = ErrorMessage {
            viewer,
            code,
            message,
        };
        self.send(topic, false, json(&msg));
    }

    /// One viewer's bitrate numbers, on its session (dropped when the broker is away: the
    /// next ones follow in 2 s).
    pub fn stats(&mut self, session: &str, stats: &SessionStats) {
        let topic = self.session_topic(session, "stats", || self.topics.stats(session));
        if let Err(e) = self.mqtt.publish(topic, false, json(stats)) {
            tracing::debug!(cause = %e, "stats not published");
        }
    }

    /// The current status, retained.
    pub fn publish_status(&mut self) {
        self.send(self.topics.status(), true, json(&self.status));
    }

    /// The offline status, retained (the Last Will says the same when the device vanishes).
    pub fn offline(&mut self) {
        self.send(self.topics.status(), true, json(&Status::offline()));
    }

    fn send(&mut self, topic: String, retain: bool, payload: Vec<u8>) {
        if retain {
            // A newer retained message replaces an unsent older one.
            self.unsent.retain(|(t, _)| *t != topic);
        }
        let kept = retain.then(|| (topic.clone(), payload.clone()));
        if let Err(e) = self.mqtt.publish(topic, retain, payload) {
            match kept {
                Some(entry) => {
                    warn!(cause = %e, "MQTT publish of retained state failed; retrying");
                    self.unsent.push(entry);
                }
                None => warn!(cause = %e, "MQTT publish dropped"),
            }
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
        let (mut out, sent) = outbox();
        out.offer("s1".into(), "v=0".into());
        out.clear_offer();
        out.publish_status();
        out.hangup("s1", "shutdown".into());
        out.error(
            "s1",
            "v1".into(),
            ErrorCode::Full,
            "full".into(),
            Route::Shared,
        );
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
        let (mut out, sent) = outbox();
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

    #[test]
    fn a_viewer_on_its_own_topics_is_answered_there_until_its_session_ends() {
        let (mut out, sent) = outbox();
        out.address("s1", "rtcam-viewer-a1".into(), Route::Own);
        let c = CandidateInit {
            candidate: String::new(),
            sdp_mid: None,
            sdp_mline_index: None,
            username_fragment: None,
        };
        out.device_candidate("s1", &c);
        out.stats("s1", &SessionStats::default());
        out.error(
            "s1",
            "late".into(),
            ErrorCode::Taken,
            "taken".into(),
            Route::Own,
        );
        out.hangup("s1", "closed".into());
        out.forget("s1");
        out.hangup("s1", "closed".into());
        let topics: Vec<String> = take(&sent).into_iter().map(|(t, _, _)| t).collect();
        let own = "rtcam/cam1/session/s1/viewer/rtcam-viewer-a1/device";
        assert_eq!(
            topics,
            [
                format!("{own}/candidate"),
                format!("{own}/stats"),
                "rtcam/cam1/session/s1/viewer/late/device/error".into(),
                format!("{own}/hangup"),
                "rtcam/cam1/session/s1/hangup".into(),
            ]
        );
    }

    /// Refuses while `full` is set, like rumqttc with a full request queue.
    struct Flaky(Sent, Arc<std::sync::atomic::AtomicBool>);

    impl Publish for Flaky {
        fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), MqttError> {
            if self.1.load(std::sync::atomic::Ordering::Relaxed) {
                return Err(MqttError::Queue {
                    what: "publish",
                    topic,
                    reason: "full".into(),
                });
            }
            self.0.lock().unwrap().push((topic, retain, payload));
            Ok(())
        }
    }

    #[test]
    fn retained_state_that_could_not_be_queued_is_sent_again_newest_only() {
        let sent = Sent::default();
        let full = Arc::new(std::sync::atomic::AtomicBool::new(true));
        let mut out = Outbox::new(
            Topics::new("rtcam", "cam1"),
            Box::new(Flaky(sent.clone(), full.clone())),
            Status::offline(),
        );
        out.offer("s1".into(), "v=0".into());
        out.offer("s2".into(), "v=0".into());
        out.publish_status();
        out.hangup("s1", "gone".into());
        assert!(!out.retry_unsent(), "still full");
        full.store(false, std::sync::atomic::Ordering::Relaxed);
        assert!(out.retry_unsent());
        let got = take(&sent);
        assert_eq!(
            got.len(),
            2,
            "the newest offer and the status, not the hangup: {got:?}"
        );
        assert_eq!(got[0].2["session"], "s2");
        assert_eq!(got[1].0, "rtcam/cam1/status");
        assert!(
            out.retry_unsent() && take(&sent).is_empty(),
            "nothing twice"
        );
    }
}
