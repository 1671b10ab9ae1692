//! The device's own candidates: held while nobody can hear them, released at the claim, then
//! passed through; duplicates of the offer's lines skipped; bounded.

use super::*;

const OFFER: &str = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:0\r\n\
                     a=candidate:1 1 udp 1 198.18.0.1 5000 typ host\r\nm=audio 9 UDP 111\r\na=mid:1\r\n";
const IN_OFFER: &str = "candidate:1 1 udp 1 198.18.0.1 5000 typ host";

fn local(session: &str, candidate: Option<&str>) -> Event {
    Event::LocalCandidate {
        session: session.into(),
        candidate: candidate.map(str::to_string),
    }
}

fn published(session: &str, candidate: &str) -> Action {
    Action::PublishCandidate {
        session: session.into(),
        candidate: CandidateInit {
            candidate: candidate.into(),
            sdp_mid: Some("0".into()),
            sdp_mline_index: Some(0),
            username_fragment: None,
        },
    }
}

fn end_of_candidates(session: &str) -> Action {
    Action::PublishCandidate {
        session: session.into(),
        candidate: CandidateInit {
            candidate: String::new(),
            sdp_mid: None,
            sdp_mline_index: None,
            username_fragment: None,
        },
    }
}

/// A machine whose first standby `s1` is being prepared (no offer yet).
fn preparing(t: Instant) -> Sessions {
    let mut m = machine(2);
    m.handle(t, Event::Start);
    m
}

#[test]
fn candidates_before_the_offer_and_before_the_claim_are_held_then_released_in_order() {
    let t = Instant::now();
    let mut m = preparing(t);
    // Before the offer is ready: held (and the one the offer will carry is dropped then).
    assert_eq!(m.handle(t, local("s1", Some(IN_OFFER))), vec![]);
    assert_eq!(m.handle(t, local("s1", Some("candidate:2 early"))), vec![]);
    let ready = Event::StandbyReady {
        session: "s1".into(),
        sdp: OFFER.into(),
    };
    assert_eq!(m.handle(t, ready).len(), 1, "only the offer is published");
    // After publication, before any answer: still held.
    assert_eq!(m.handle(t, local("s1", Some("candidate:3 late"))), vec![]);
    assert_eq!(
        m.handle(t, local("s1", Some(IN_OFFER))),
        vec![],
        "in the offer"
    );
    assert_eq!(m.handle(t, local("s1", None)), vec![]);
    let a = m.handle(t, answer("s1", "alice"));
    assert_eq!(
        &a[..4],
        &[
            Action::ApplyAnswer {
                session: "s1".into(),
                sdp: "v=0".into(),
                viewer: "alice".into(),
                route: Route::Shared,
            },
            published("s1", "candidate:2 early"),
            published("s1", "candidate:3 late"),
            end_of_candidates("s1"),
        ]
    );
    // Claimed: straight through, still without the offer's own lines.
    assert_eq!(
        m.handle(t, local("s1", Some("candidate:4 after"))),
        vec![published("s1", "candidate:4 after")]
    );
    assert_eq!(m.handle(t, local("s1", Some(IN_OFFER))), vec![]);
}

#[test]
fn candidates_name_the_offers_first_mid() {
    let t = Instant::now();
    let mut m = preparing(t);
    let sdp = OFFER.replace("a=mid:0", "a=mid:video");
    m.handle(
        t,
        Event::StandbyReady {
            session: "s1".into(),
            sdp,
        },
    );
    m.handle(t, answer("s1", "alice"));
    let a = m.handle(t, local("s1", Some("candidate:9 x")));
    let [Action::PublishCandidate { candidate, .. }] = &a[..] else {
        panic!("{a:?}");
    };
    assert_eq!(candidate.sdp_mid.as_deref(), Some("video"));
}

#[test]
fn held_candidates_are_bounded_and_unknown_sessions_dropped() {
    let t = Instant::now();
    let mut m = preparing(t);
    for i in 0..(MAX_HELD_LOCAL_CANDIDATES + 10) {
        assert_eq!(
            m.handle(t, local("s1", Some(&format!("candidate:{i} x")))),
            vec![]
        );
    }
    assert_eq!(
        m.handle(t, local("s1", None)),
        vec![],
        "the end of gathering"
    );
    assert_eq!(m.handle(t, local("nobody", Some("candidate:x"))), vec![]);
    m.handle(
        t,
        Event::StandbyReady {
            session: "s1".into(),
            sdp: OFFER.into(),
        },
    );
    let a = m.handle(t, answer("s1", "alice"));
    let released = a
        .iter()
        .filter(|x| matches!(x, Action::PublishCandidate { .. }))
        .count();
    assert_eq!(released, MAX_HELD_LOCAL_CANDIDATES + 1);
    assert!(a.contains(&published("s1", "candidate:0 x")), "oldest kept");
    assert!(
        a.contains(&end_of_candidates("s1")),
        "the end is never dropped"
    );
}

#[test]
fn an_ended_sessions_candidates_go_nowhere() {
    let t = Instant::now();
    let mut m = started(2, t);
    m.handle(t, answer("s1", "alice"));
    m.handle(
        t,
        Event::Hangup {
            session: "s1".into(),
            viewer: "alice".into(),
            reason: "bye".into(),
            route: Route::Shared,
        },
    );
    assert_eq!(m.handle(t, local("s1", Some("candidate:7 x"))), vec![]);
}
