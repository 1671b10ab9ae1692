//! A property-based fuzz test over what strangers on the broker control: random topics and
//! payloads (well-formed, half-formed and garbage) go through the protocol parser into the
//! session machine, mixed with the device's own events (peers ready, connected, failed,
//! candidates, broker reconnects) and a clock that jumps. Nothing may panic, and the machine's
//! promises hold after every step: no more viewers than slots, one answer per session, at most
//! `MAX_REMOTE_CANDIDATES` applied per session, errors only to readable viewer ids.
//!
//! proptest on the stable toolchain (cargo-fuzz needs nightly, which this project's machines
//! do not have). `RTCAM_FUZZ_CASES` sets the number of sequences (default 300, each up to 96
//! steps, in CI); `RTCAM_FUZZ_CASES=12000 cargo test --release --lib fuzz -- --nocapture`
//! feeds over a million inputs, printing the count every 250,000.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use proptest::prelude::*;

mod inputs;
use inputs::{op, Op, Payload, Sdp, TopicShape};

use super::protocol::{parse_inbound, Topics};
use super::sdp::TEST_ANSWER;
use super::session::{Action, Event, SessionSettings, Sessions, MAX_REMOTE_CANDIDATES};

const MAX_VIEWERS: usize = 3;
/// Viewer ids: many valid ones (ids that keep failing are refused for a while, so a few would
/// soon stop claiming), and some no topic or message may carry.
const VIEWERS: [&str; 16] = [
    "alice",
    "bob",
    "carol",
    "dave",
    "erin",
    "frank",
    "grace",
    "heidi",
    "ivan",
    "judy",
    "mallory",
    "rtcam-viewer-0123456789abcdef",
    "a/b",
    "",
    "+",
    "x y",
];

/// The state the fuzzer picks from, and what it checks.
struct Harness {
    topics: Topics,
    machine: Sessions,
    now: Instant,
    /// Sessions the machine asked to prepare, published, and claimed.
    prepared: Vec<String>,
    sessions: Vec<String>,
    claimed: HashSet<String>,
    recent_claims: Vec<String>,
    applied: HashMap<String, usize>,
}

/// Inputs fed, claims made and errors sent, over the whole run (printed now and then, so a
/// long run shows it reached the interesting states).
static INPUTS: AtomicU64 = AtomicU64::new(0);
static CLAIMS: AtomicU64 = AtomicU64::new(0);
static ERRORS: AtomicU64 = AtomicU64::new(0);

impl Harness {
    fn new() -> Self {
        let mut n = 0u32;
        let machine = Sessions::new(
            SessionSettings {
                max_viewers: MAX_VIEWERS,
                connect_timeout: Duration::from_secs(10),
            },
            move || {
                n += 1;
                format!("s{n:04}")
            },
        );
        let mut h = Self {
            topics: Topics::new("rtcam", "cam"),
            machine,
            now: Instant::now(),
            prepared: Vec::new(),
            sessions: vec!["unknown".into()],
            claimed: HashSet::new(),
            recent_claims: Vec::new(),
            applied: HashMap::new(),
        };
        h.feed(Event::Start);
        h.feed(Event::MqttConnected);
        h
    }

    fn pick(list: &[String], i: usize) -> Option<&String> {
        (!list.is_empty()).then(|| &list[i % list.len()])
    }

    /// A session to name: a third of the time the standby offer's, a third a claimed one's,
    /// else any seen (old, unknown) one, so that claims and their sessions' events happen.
    fn session(&self, i: usize) -> String {
        let standby = self.machine.standby_session().map(str::to_string);
        let claimed = Self::pick(&self.recent_claims, i / 3).cloned();
        match i % 3 {
            0 => standby,
            1 => claimed,
            _ => None,
        }
        .or_else(|| Self::pick(&self.sessions, i / 3).cloned())
        .unwrap_or_default()
    }

    fn feed(&mut self, event: Event) {
        let actions = self.machine.handle(self.now, event);
        self.check(actions);
    }

    fn check(&mut self, actions: Vec<Action>) {
        assert!(
            actions.len() < 256,
            "{} actions for one event",
            actions.len()
        );
        for a in actions {
            match a {
                Action::PrepareStandby { session } => {
                    self.prepared.push(session.clone());
                    self.sessions.push(session);
                }
                Action::ApplyAnswer { session, .. } => {
                    assert!(
                        self.claimed.insert(session.clone()),
                        "{session} answered twice"
                    );
                    CLAIMS.fetch_add(1, Ordering::Relaxed);
                    self.recent_claims.push(session);
                }
                Action::ApplyCandidate { session, .. } => {
                    let n = self.applied.entry(session.clone()).or_default();
                    *n += 1;
                    assert!(
                        *n <= MAX_REMOTE_CANDIDATES,
                        "{session}: {n} candidates applied"
                    );
                }
                Action::SendError { viewer, .. } => {
                    ERRORS.fetch_add(1, Ordering::Relaxed);
                    assert!(
                        !viewer.is_empty() && viewer.len() <= 64,
                        "an error to {viewer:?}"
                    );
                }
                _ => {}
            }
        }
        assert!(self.machine.viewers() <= MAX_VIEWERS);
        assert!(self.machine.connected() <= self.machine.viewers());
        // Keep the pick lists small: old sessions are as good as unknown ones.
        if self.sessions.len() > 64 {
            self.sessions.drain(1..32);
        }
        if self.recent_claims.len() > 8 {
            self.recent_claims.drain(..4);
        }
        if self.prepared.len() > 16 {
            self.prepared.drain(..8);
        }
    }

    fn run(&mut self, op: Op) {
        let n = INPUTS.fetch_add(1, Ordering::Relaxed) + 1;
        if n % 250_000 == 0 {
            eprintln!(
                "fuzz: {n} inputs fed, {} claims, {} errors sent",
                CLAIMS.load(Ordering::Relaxed),
                ERRORS.load(Ordering::Relaxed)
            );
        }
        match op {
            Op::Message { topic, payload } => self.run_message(&topic, payload),
            Op::Answer { viewer, own } => {
                // Session pick 0 is the standby offer's; kind 0 is "answer".
                let (session, kind) = (0, 0);
                let topic = if own {
                    TopicShape::Own {
                        session,
                        viewer,
                        kind,
                    }
                } else {
                    TopicShape::Shared { session, kind }
                };
                let sdp = Sdp::Good;
                let payload = Payload::Answer {
                    viewer,
                    sdp,
                    kind: 0,
                };
                self.run_message(&topic, payload);
            }
            Op::Ready(i) => {
                if let Some(session) = Self::pick(&self.prepared, i).cloned() {
                    let sdp = format!("offer {session}");
                    self.feed(Event::StandbyReady { session, sdp });
                }
            }
            Op::PrepareFailed(i) => {
                if let Some(session) = Self::pick(&self.prepared, i).cloned() {
                    let reason = "fuzz".into();
                    self.feed(Event::StandbyFailed { session, reason });
                }
            }
            Op::Connected(i) => self.feed(Event::PeerConnected {
                session: self.session(i),
            }),
            Op::Ended(i) => self.feed(Event::PeerEnded {
                session: self.session(i),
                reason: "ice_failed".into(),
            }),
            Op::Rejected(i) => self.feed(Event::AnswerRejected {
                session: self.session(i),
                message: "fuzz".into(),
            }),
            Op::LocalCandidate(i, done) => self.feed(Event::LocalCandidate {
                session: self.session(i),
                candidate: (!done).then(|| "candidate:1 1 udp 1 198.18.0.1 9 typ host".into()),
            }),
            Op::Reconnected => self.feed(Event::MqttConnected),
            Op::Tick(ms) => {
                self.now += Duration::from_millis(ms);
                if self.machine.poll_timeout().is_some_and(|t| t <= self.now) {
                    let actions = self.machine.handle_timeout(self.now);
                    self.check(actions);
                }
            }
        }
    }

    fn run_message(&mut self, topic: &TopicShape, payload: Payload) {
        let topic = self.topic(topic);
        let payload = self.payload(payload);
        let parsed = parse_inbound(&self.topics, &topic, &payload);
        if let Err(e) = &parsed {
            if let Some(v) = &e.viewer {
                assert!(!v.is_empty(), "an empty sender from {topic}");
            }
        }
        if let Some(event) = Event::from_inbound(&parsed) {
            self.feed(event);
        }
    }

    fn topic(&self, shape: &TopicShape) -> String {
        let root = self.topics.root();
        match shape {
            TopicShape::Shared { session, kind } => {
                let kind = ["answer", "candidate/viewer", "hangup", "offer"][*kind];
                format!("{root}/session/{}/{kind}", self.session(*session))
            }
            TopicShape::Own {
                session,
                viewer,
                kind,
            } => {
                let kind = ["answer", "candidate", "hangup", "device/candidate", "x"][*kind];
                let viewer = VIEWERS[viewer % VIEWERS.len()];
                format!(
                    "{root}/session/{}/viewer/{viewer}/{kind}",
                    self.session(*session)
                )
            }
            TopicShape::Random(t) => t.clone(),
        }
    }

    fn payload(&self, payload: Payload) -> Vec<u8> {
        let viewer = |i: usize| VIEWERS[i % VIEWERS.len()];
        let json = match payload {
            Payload::Answer {
                viewer: v,
                sdp,
                kind,
            } => {
                let sdp = match sdp {
                    Sdp::Good => TEST_ANSWER.to_string(),
                    Sdp::Bare => "v=0\r\n".to_string(),
                    Sdp::Text(t) => t,
                    Sdp::Huge(n) => format!("{TEST_ANSWER}{}", "a".repeat(n)),
                };
                let kind = ["answer", "offer", ""][kind];
                serde_json::json!({"type": kind, "viewer": viewer(v), "sdp": sdp})
            }
            Payload::Candidate {
                viewer: v,
                candidate,
                mid,
                ufrag,
            } => serde_json::json!({
                "viewer": viewer(v),
                "candidate": {"candidate": candidate, "sdpMid": mid, "usernameFragment": ufrag},
            }),
            Payload::Hangup { viewer: v, reason } => {
                serde_json::json!({"viewer": viewer(v), "reason": reason})
            }
            Payload::Json(text) => return text.into_bytes(),
            Payload::Bytes(bytes) => return bytes,
        };
        json.to_string().into_bytes()
    }
}

fn cases() -> u32 {
    std::env::var("RTCAM_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn strangers_on_the_broker_cannot_break_the_session_machine(
        ops in proptest::collection::vec(op(), 1..96)
    ) {
        let mut h = Harness::new();
        for op in ops {
            h.run(op);
        }
        h.feed(Event::Shutdown);
        prop_assert_eq!(h.machine.viewers(), 0);
    }
}
