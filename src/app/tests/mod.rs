//! The event loop with fakes behind its seams (peers, media, the MQTT publisher): the whole
//! daemon logic between the sockets, run in memory.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::{mpsc, oneshot};
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;

use super::event_loop::Daemon;
use super::outbox::{Outbox, Publish};
use super::seams::{Fut, MediaControl, OfferMaker, PeerLink, Standby};
use crate::peer::{PeerError, PeerEvent};
use crate::signaling::mqtt::{MqttError, MqttEvent};
use crate::signaling::protocol::{SourcesState, Status, Topics};
use crate::signaling::session::{SessionSettings, Sessions};

type Log = Arc<Mutex<Vec<String>>>;
type Sent = Arc<Mutex<Vec<(String, bool, Value)>>>;

const OFFER_CANDIDATE: &str = "candidate:1 1 udp 2130706431 198.18.0.1 5000 typ host";
const LATE_CANDIDATE: &str = "candidate:2 1 udp 1 198.18.0.1 5001 typ host";

fn offer_sdp(session: &str) -> String {
    format!("v=0\r\no=- {session} 0 IN IP4 0.0.0.0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\na={OFFER_CANDIDATE}\r\n")
}

struct FakePeer {
    session: String,
    log: Log,
}

impl PeerLink for FakePeer {
    fn session(&self) -> &str {
        &self.session
    }
    fn apply_answer(&self, sdp: String) -> Fut<'_, Result<(), PeerError>> {
        self.log
            .lock()
            .unwrap()
            .push(format!("answer {} {}", self.session, sdp.len()));
        Box::pin(async { Ok(()) })
    }
    fn add_candidate(&self, c: RTCIceCandidateInit) -> Fut<'_, Result<(), PeerError>> {
        let line = format!("candidate {} {}", self.session, c.candidate);
        self.log.lock().unwrap().push(line);
        Box::pin(async { Ok(()) })
    }
    fn close(&self) -> Fut<'_, ()> {
        self.log
            .lock()
            .unwrap()
            .push(format!("close {}", self.session));
        Box::pin(async {})
    }
}

struct FakeMaker {
    log: Log,
}

impl OfferMaker for FakeMaker {
    fn create_offer(&self, session: String) -> Fut<'_, Standby> {
        let peer = FakePeer {
            session: session.clone(),
            log: self.log.clone(),
        };
        Box::pin(async move { Ok((Box::new(peer) as Box<dyn PeerLink>, offer_sdp(&session))) })
    }
}

#[derive(Default)]
struct FakeMedia {
    active: Arc<AtomicUsize>,
    keyframes: Arc<AtomicUsize>,
    /// The video thread's loop counter: tests turn it (or stop turning it).
    beats: Arc<AtomicU64>,
}

impl MediaControl for FakeMedia {
    fn set_active_viewers(&self, connected: usize) {
        self.active.store(connected, Ordering::Relaxed);
    }
    fn request_keyframe(&self) {
        self.keyframes.fetch_add(1, Ordering::Relaxed);
    }
    fn sources(&self) -> SourcesState {
        SourcesState {
            video: "ok".into(),
            audio: None,
            talkback: None,
            video_keyframes: None,
        }
    }
    fn heartbeats(&self) -> Vec<(&'static str, u64)> {
        vec![("video", self.beats.load(Ordering::Relaxed))]
    }
}

struct Recorder(Sent);

impl Publish for Recorder {
    fn publish(&self, topic: String, retain: bool, payload: Vec<u8>) -> Result<(), MqttError> {
        let v = serde_json::from_slice(&payload).unwrap_or(Value::Null);
        self.0.lock().unwrap().push((topic, retain, v));
        Ok(())
    }
}

/// Waits (bounded) until `pred` holds.
async fn until(what: &str, mut pred: impl FnMut() -> bool) {
    for _ in 0..200 {
        if pred() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

fn has(sent: &Sent, topic: &str, f: impl Fn(bool, &Value) -> bool) -> bool {
    sent.lock()
        .unwrap()
        .iter()
        .any(|(t, r, v)| t == topic && f(*r, v))
}

fn message(topic: &str, body: Value) -> MqttEvent {
    MqttEvent::Message {
        topic: topic.into(),
        payload: serde_json::to_vec(&body).unwrap().into(),
    }
}

/// A running event loop with fakes on every side.
struct Harness {
    log: Log,
    sent: Sent,
    active: Arc<AtomicUsize>,
    keyframes: Arc<AtomicUsize>,
    beats: Arc<AtomicU64>,
    mqtt: mpsc::Sender<MqttEvent>,
    peers: mpsc::Sender<PeerEvent>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Harness {
    /// A device `rtcam/cam1` whose sessions are named s1, s2, …
    fn start(max_viewers: usize) -> Self {
        Self::start_with(max_viewers, None)
    }

    /// With a systemd side: (notify socket, watchdog period, stall limit).
    fn start_with(
        max_viewers: usize,
        systemd: Option<(crate::systemd::Notifier, Duration, Duration)>,
    ) -> Self {
        let (log, sent) = (Log::default(), Sent::default());
        let media = FakeMedia::default();
        let (active, keyframes) = (media.active.clone(), media.keyframes.clone());
        let beats = media.beats.clone();
        let mut n = 0;
        let machine = Sessions::new(
            SessionSettings {
                max_viewers,
                connect_timeout: Duration::from_secs(30),
            },
            move || {
                n += 1;
                format!("s{n}")
            },
        );
        let video = crate::signaling::protocol::VideoInfo {
            codec: "H264".into(),
            width: 640,
            height: 480,
            fps: 30,
        };
        let outbox = Outbox::new(
            Topics::new("rtcam", "cam1"),
            Box::new(Recorder(sent.clone())),
            Status::online(0, max_viewers, video, None),
        );
        let (mqtt, mqtt_rx) = mpsc::channel(16);
        let (peers, peer_rx) = mpsc::channel(16);
        let (prepared_tx, prepared_rx) = mpsc::channel(16);
        let (stop, stop_rx) = oneshot::channel::<()>();
        let maker = Arc::new(FakeMaker { log: log.clone() });
        let mut daemon = Daemon::new(
            machine,
            maker,
            Box::new(media),
            outbox,
            prepared_tx,
            peers.clone(),
        );
        if let Some((notifier, period, stall)) = systemd {
            daemon = daemon.with_systemd(notifier, period, stall);
        }
        let task = tokio::spawn(async move {
            let stop = async {
                let _ = stop_rx.await;
            };
            daemon.event_loop(mqtt_rx, peer_rx, prepared_rx, stop).await;
        });
        Self {
            log,
            sent,
            active,
            keyframes,
            beats,
            mqtt,
            peers,
            stop,
            task,
        }
    }

    async fn mqtt(&self, ev: MqttEvent) {
        self.mqtt.send(ev).await.expect("the loop runs");
    }

    async fn peer(&self, ev: PeerEvent) {
        self.peers.send(ev).await.expect("the loop runs");
    }

    fn published(&self, topic: &str, f: impl Fn(bool, &Value) -> bool) -> bool {
        has(&self.sent, topic, f)
    }

    fn logged(&self, prefix: &str) -> bool {
        self.log
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.starts_with(prefix))
    }

    /// Shuts the loop down and waits (bounded) for it to end.
    async fn shutdown(self) -> (Log, Sent) {
        self.stop.send(()).expect("the loop runs");
        tokio::time::timeout(Duration::from_secs(2), self.task)
            .await
            .expect("the loop ends on shutdown")
            .expect("the loop does not panic");
        (self.log, self.sent)
    }
}

#[tokio::test]
async fn the_loop_publishes_claims_trickles_connects_and_goes_offline() {
    let h = Harness::start(2);
    h.mqtt(MqttEvent::Connected).await;
    until("the standby offer", || {
        h.published("rtcam/cam1/offer", |r, v| r && v["session"] == "s1")
    })
    .await;
    assert!(h.published("rtcam/cam1/status", |r, v| r && v["viewers"] == 0));

    // A candidate found after the offer went out is held until the claim; one the offer
    // carries is never sent again.
    for c in [LATE_CANDIDATE, OFFER_CANDIDATE] {
        let ev = PeerEvent::LocalCandidate {
            session: "s1".into(),
            candidate: Some(c.into()),
        };
        h.peer(ev).await;
    }
    let device_candidates = "rtcam/cam1/session/s1/candidate/device";
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(!h.published(device_candidates, |_, _| true), "held");

    let answer =
        json!({"type": "answer", "sdp": crate::signaling::sdp::TEST_ANSWER, "viewer": "alice"});
    h.mqtt(message("rtcam/cam1/session/s1/answer", answer))
        .await;
    until("the answer applied", || h.logged("answer s1")).await;
    until("the held candidate", || {
        h.published(device_candidates, |r, v| {
            !r && v["candidate"] == LATE_CANDIDATE && v["sdpMid"] == "0"
        })
    })
    .await;
    let published = h
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter(|(t, ..)| t == device_candidates)
        .count();
    assert_eq!(published, 1, "the offer's own candidate is not repeated");
    until("the next standby offer", || {
        h.published("rtcam/cam1/offer", |_, v| v["session"] == "s2")
    })
    .await;

    let cand = json!({"viewer": "alice", "candidate": "candidate:9 1 udp 1 198.18.0.2 6000 typ host", "sdpMid": "0"});
    h.mqtt(message("rtcam/cam1/session/s1/candidate/viewer", cand))
        .await;
    until("the viewer's candidate applied", || {
        h.logged("candidate s1 candidate:9")
    })
    .await;

    h.peer(PeerEvent::Connected {
        session: "s1".into(),
    })
    .await;
    until("encoding for one viewer", || {
        h.active.load(Ordering::Relaxed) == 1
    })
    .await;
    assert!(
        h.keyframes.load(Ordering::Relaxed) >= 1,
        "a keyframe for the newcomer"
    );

    let late =
        json!({"type": "answer", "sdp": crate::signaling::sdp::TEST_ANSWER, "viewer": "bob"});
    h.mqtt(message("rtcam/cam1/session/s1/answer", late)).await;
    until("bob told the offer is taken", || {
        h.published("rtcam/cam1/session/s1/error", |r, v| {
            !r && v["viewer"] == "bob" && v["code"] == "taken"
        })
    })
    .await;

    let (log, sent) = h.shutdown().await;
    let hangup = "rtcam/cam1/session/s1/hangup";
    assert!(has(&sent, hangup, |r, v| !r && v["reason"] == "shutdown"));
    assert!(has(&sent, "rtcam/cam1/offer", |r, v| r && v.is_null()));
    assert!(has(&sent, "rtcam/cam1/status", |r, v| r
        && v["state"] == "offline"));
    until("both peers closed", || {
        let log = log.lock().unwrap();
        log.contains(&"close s1".to_string()) && log.contains(&"close s2".to_string())
    })
    .await;
}

#[tokio::test]
async fn garbage_from_the_broker_is_answered_or_dropped_never_fatal() {
    let h = Harness::start(1);
    h.mqtt(MqttEvent::Connected).await;
    until("the offer", || {
        h.published("rtcam/cam1/offer", |_, v| v["session"] == "s1")
    })
    .await;
    for (topic, payload) in [
        ("rtcam/cam1/session/s1/answer", &b"not json"[..]),
        (
            "rtcam/cam1/session/s1/answer",
            br#"{"type":"answer","viewer":"eve"}"#,
        ),
        ("rtcam/cam1/session/s1/hangup", b"\xff\xfe"),
        ("rtcam/cam1/session/../answer", b"{}"),
        ("elsewhere", b"{}"),
    ] {
        let ev = MqttEvent::Message {
            topic: topic.into(),
            payload: bytes::Bytes::copy_from_slice(payload),
        };
        h.mqtt(ev).await;
    }
    until("eve told what was wrong", || {
        h.published("rtcam/cam1/session/s1/error", |_, v| {
            v["viewer"] == "eve" && v["code"] == "bad_request"
        })
    })
    .await;
    assert!(!h.logged("answer"), "no answer reached a peer");
    h.shutdown().await;
}

mod limits;
mod watchdog;
