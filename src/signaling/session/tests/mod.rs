//! The session machine's rules, driven in memory.

mod local_candidates;
mod recovery;
mod renewal;

use super::*;
use crate::signaling::protocol::{CandidateInit, ErrorCode, Route};

fn machine(max_viewers: usize) -> Sessions {
    let mut n = 0;
    Sessions::new(
        SessionSettings {
            max_viewers,
            connect_timeout: Duration::from_secs(30),
        },
        move || {
            n += 1;
            format!("s{n}")
        },
    )
}

fn cand(x: &str) -> CandidateInit {
    CandidateInit {
        candidate: format!("candidate:{x} 1 udp 1 198.18.0.1 5000 typ host"),
        sdp_mid: Some("0".into()),
        sdp_mline_index: Some(0),
        username_fragment: None,
    }
}

fn answer(session: &str, viewer: &str) -> Event {
    Event::Answer {
        session: session.into(),
        viewer: viewer.into(),
        sdp: "v=0".into(),
        route: Route::Shared,
    }
}

/// Starts a machine and publishes its first standby offer `s1`.
fn started(max_viewers: usize, t: Instant) -> Sessions {
    let mut m = machine(max_viewers);
    let a = m.handle(t, Event::Start);
    assert!(
        a.contains(&Action::PrepareStandby {
            session: "s1".into()
        }),
        "{a:?}"
    );
    let a = m.handle(
        t,
        Event::StandbyReady {
            session: "s1".into(),
            sdp: "offer1".into(),
        },
    );
    assert_eq!(
        a,
        vec![Action::PublishOffer {
            session: "s1".into(),
            sdp: "offer1".into()
        }]
    );
    m
}

#[test]
fn start_publishes_status_and_prepares_a_standby_offer() {
    let t = Instant::now();
    let mut m = machine(4);
    assert_eq!(
        m.handle(t, Event::Start),
        vec![
            Action::PublishStatus { viewers: 0 },
            Action::SetActiveViewers { connected: 0 },
            Action::PrepareStandby {
                session: "s1".into()
            },
        ]
    );
    // Reconnecting before the offer is ready clears a stale retained offer.
    assert_eq!(
        m.handle(t, Event::MqttConnected),
        vec![Action::PublishStatus { viewers: 0 }, Action::ClearOffer]
    );
}

#[test]
fn first_answer_claims_and_the_next_standby_is_prepared() {
    let t = Instant::now();
    let mut m = started(4, t);
    let a = m.handle(t, answer("s1", "alice"));
    assert_eq!(
        a,
        vec![
            Action::ApplyAnswer {
                session: "s1".into(),
                sdp: "v=0".into(),
                viewer: "alice".into(),
                route: Route::Shared,
            },
            Action::PublishStatus { viewers: 1 },
            // Nobody may answer the claimed offer while the next one is gathered.
            Action::ClearOffer,
            Action::PrepareStandby {
                session: "s2".into()
            },
        ]
    );
    assert_eq!(m.claimer("s1"), Some("alice"));
    // The loser of the race is told, by its own id.
    assert_eq!(
        m.handle(t, answer("s1", "bob")),
        vec![Action::SendError {
            session: "s1".into(),
            viewer: "bob".into(),
            code: ErrorCode::Taken,
            message: "another viewer claimed this offer first; wait for the next one".into(),
            route: Route::Shared,
        }]
    );
    // The winner's duplicate is ignored.
    assert_eq!(m.handle(t, answer("s1", "alice")), vec![]);
}

#[test]
fn early_candidates_are_buffered_and_only_the_claimers_applied() {
    let t = Instant::now();
    let mut m = started(4, t);
    for (viewer, c) in [("alice", "1"), ("bob", "2"), ("alice", "3")] {
        let ev = Event::Candidate {
            session: "s1".into(),
            viewer: viewer.into(),
            candidate: cand(c),
            route: Route::Shared,
        };
        assert_eq!(m.handle(t, ev), vec![]);
    }
    let a = m.handle(t, answer("s1", "alice"));
    assert_eq!(
        a[1],
        Action::ApplyCandidate {
            session: "s1".into(),
            candidate: cand("1")
        }
    );
    assert_eq!(
        a[2],
        Action::ApplyCandidate {
            session: "s1".into(),
            candidate: cand("3")
        }
    );
    assert!(!a
        .iter()
        .any(|x| matches!(x, Action::ApplyCandidate { candidate, .. } if *candidate == cand("2"))));
    // After the claim, candidates flow straight through; others' are dropped.
    let ev = Event::Candidate {
        session: "s1".into(),
        viewer: "alice".into(),
        candidate: cand("4"),
        route: Route::Shared,
    };
    assert_eq!(
        m.handle(t, ev),
        vec![Action::ApplyCandidate {
            session: "s1".into(),
            candidate: cand("4")
        }]
    );
    let ev = Event::Candidate {
        session: "s1".into(),
        viewer: "bob".into(),
        candidate: cand("5"),
        route: Route::Shared,
    };
    assert_eq!(m.handle(t, ev), vec![]);
}

#[test]
fn early_candidate_buffers_are_bounded() {
    let t = Instant::now();
    let mut m = started(4, t);
    for i in 0..100 {
        for v in 0..40 {
            let ev = Event::Candidate {
                session: "s1".into(),
                viewer: format!("v{v}"),
                candidate: cand(&i.to_string()),
                route: Route::Shared,
            };
            m.handle(t, ev);
        }
    }
    assert_eq!(m.early.viewers(), MAX_EARLY_VIEWERS);
    assert!(m.early.candidates() <= MAX_EARLY_VIEWERS * MAX_EARLY_CANDIDATES);
    // One viewer alone keeps at most its share.
    let mut m = started(4, t);
    for i in 0..100 {
        m.handle(
            t,
            Event::Candidate {
                session: "s1".into(),
                viewer: "v".into(),
                candidate: cand(&i.to_string()),
                route: Route::Shared,
            },
        );
    }
    assert_eq!(m.early.candidates(), MAX_EARLY_CANDIDATES);
}

#[test]
fn junk_viewer_ids_cannot_lock_a_real_viewer_out_of_early_candidates() {
    let t = Instant::now();
    let mut m = started(4, t);
    let early = |viewer: &str, c: &str| Event::Candidate {
        session: "s1".into(),
        viewer: viewer.into(),
        candidate: cand(c),
        route: Route::Shared,
    };
    for v in 0..MAX_EARLY_VIEWERS * 3 {
        m.handle(t, early(&format!("junk{v}"), "j"));
    }
    // A real viewer arriving after the flood still has its early candidate applied.
    m.handle(t, early("alice", "real"));
    let a = m.handle(t, answer("s1", "alice"));
    assert!(
        a.contains(&Action::ApplyCandidate {
            session: "s1".into(),
            candidate: cand("real")
        }),
        "{a:?}"
    );
    assert_eq!(m.early.viewers(), 0, "the rest are forgotten at the claim");
}

#[test]
fn a_claimed_session_applies_a_bounded_number_of_candidates() {
    let t = Instant::now();
    let mut m = started(4, t);
    m.handle(t, answer("s1", "alice"));
    let applied = (0..MAX_REMOTE_CANDIDATES * 4)
        .map(|i| {
            let ev = Event::Candidate {
                session: "s1".into(),
                viewer: "alice".into(),
                candidate: cand(&i.to_string()),
                route: Route::Shared,
            };
            m.handle(t, ev).len()
        })
        .sum::<usize>();
    assert_eq!(applied, MAX_REMOTE_CANDIDATES);
}

#[test]
fn full_device_clears_the_offer_and_reopens_when_a_slot_frees() {
    let t = Instant::now();
    let mut m = started(2, t);
    m.handle(t, answer("s1", "alice"));
    m.handle(
        t,
        Event::StandbyReady {
            session: "s2".into(),
            sdp: "offer2".into(),
        },
    );
    let a = m.handle(t, answer("s2", "bob"));
    assert_eq!(
        a,
        vec![
            Action::ApplyAnswer {
                session: "s2".into(),
                sdp: "v=0".into(),
                viewer: "bob".into(),
                route: Route::Shared,
            },
            Action::PublishStatus { viewers: 2 },
            Action::ClearOffer,
        ]
    );
    // A third viewer answering an old offer hears "full".
    let a = m.handle(t, answer("s9", "carol"));
    assert!(
        matches!(&a[..], [Action::SendError { code: ErrorCode::Full, viewer, .. }] if viewer == "carol"),
        "{a:?}"
    );
    // Bob hangs up: his slot frees and a new standby offer is prepared.
    let a = m.handle(
        t,
        Event::Hangup {
            session: "s2".into(),
            viewer: "bob".into(),
            reason: "bye".into(),
            route: Route::Shared,
        },
    );
    assert_eq!(
        a,
        vec![
            Action::ClosePeer {
                session: "s2".into(),
                reason: "viewer_hangup".into(),
                notify: false
            },
            Action::PublishStatus { viewers: 1 },
            Action::PrepareStandby {
                session: "s3".into()
            },
        ]
    );
    // A late answer to the ended session is "taken".
    let a = m.handle(t, answer("s2", "dave"));
    assert!(
        matches!(
            &a[..],
            [Action::SendError {
                code: ErrorCode::Taken,
                ..
            }]
        ),
        "{a:?}"
    );
}

#[test]
fn only_the_claimer_can_hang_up() {
    let t = Instant::now();
    let mut m = started(4, t);
    m.handle(t, answer("s1", "alice"));
    let ev = Event::Hangup {
        session: "s1".into(),
        viewer: "mallory".into(),
        reason: String::new(),
        route: Route::Shared,
    };
    assert_eq!(m.handle(t, ev), vec![]);
    assert_eq!(m.viewers(), 1);
}

#[test]
fn connecting_requests_a_keyframe_and_activates_encoding() {
    let t = Instant::now();
    let mut m = started(4, t);
    m.handle(t, answer("s1", "alice"));
    assert_eq!(
        m.handle(
            t,
            Event::PeerConnected {
                session: "s1".into()
            }
        ),
        vec![
            Action::SetActiveViewers { connected: 1 },
            Action::RequestKeyframe
        ]
    );
    // A connected session has no deadline left.
    let a = m.handle_timeout(t + Duration::from_secs(3600));
    assert!(a.is_empty(), "{a:?}");
    let a = m.handle(
        t,
        Event::PeerEnded {
            session: "s1".into(),
            reason: "ice_failed".into(),
        },
    );
    assert_eq!(
        a[..3],
        [
            Action::ClosePeer {
                session: "s1".into(),
                reason: "ice_failed".into(),
                notify: true
            },
            Action::PublishStatus { viewers: 0 },
            Action::SetActiveViewers { connected: 0 },
        ]
    );
}
