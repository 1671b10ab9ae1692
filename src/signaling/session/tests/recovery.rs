//! Timeouts, failures, reconnects, stale results and shutdown.

use super::*;

#[test]
fn a_claimed_session_that_never_connects_times_out() {
    let t = Instant::now();
    let mut m = started(1, t);
    m.handle(t, answer("s1", "alice"));
    assert_eq!(m.poll_timeout(), Some(t + Duration::from_secs(30)));
    assert!(m.handle_timeout(t + Duration::from_secs(29)).is_empty());
    let a = m.handle_timeout(t + Duration::from_secs(30));
    assert_eq!(
        a,
        vec![
            Action::ClosePeer {
                session: "s1".into(),
                reason: "connect_timeout".into(),
                notify: true
            },
            Action::PublishStatus { viewers: 0 },
            Action::PrepareStandby {
                session: "s2".into()
            },
        ]
    );
}

#[test]
fn failed_standby_preparation_backs_off_and_retries() {
    let t = Instant::now();
    let mut m = machine(4);
    m.handle(t, Event::Start);
    let a = m.handle(
        t,
        Event::StandbyFailed {
            session: "s1".into(),
            reason: "x".into(),
        },
    );
    assert_eq!(
        a,
        vec![Action::ClosePeer {
            session: "s1".into(),
            reason: "failed".into(),
            notify: false
        }]
    );
    assert_eq!(m.poll_timeout(), Some(t + RETRY_MIN));
    assert!(m.handle_timeout(t + Duration::from_millis(999)).is_empty());
    let a = m.handle_timeout(t + RETRY_MIN);
    assert_eq!(
        a,
        vec![Action::PrepareStandby {
            session: "s2".into()
        }]
    );
    // The second failure in a row waits twice as long.
    m.handle(
        t,
        Event::StandbyFailed {
            session: "s2".into(),
            reason: "x".into(),
        },
    );
    assert_eq!(m.poll_timeout(), Some(t + RETRY_MIN * 2));
}

#[test]
fn a_rejected_answer_tells_the_viewer_and_frees_the_slot() {
    let t = Instant::now();
    let mut m = started(1, t);
    m.handle(t, answer("s1", "alice"));
    let a = m.handle(
        t,
        Event::AnswerRejected {
            session: "s1".into(),
            message: "bad sdp".into(),
        },
    );
    assert!(
        matches!(&a[0], Action::SendError { code: ErrorCode::BadRequest, viewer, .. } if viewer == "alice")
    );
    assert!(
        a.contains(&Action::PrepareStandby {
            session: "s2".into()
        }),
        "{a:?}"
    );
}

#[test]
fn reconnect_republishes_the_standby_offer() {
    let t = Instant::now();
    let mut m = started(4, t);
    assert_eq!(
        m.handle(t, Event::MqttConnected),
        vec![
            Action::PublishStatus { viewers: 0 },
            Action::PublishOffer {
                session: "s1".into(),
                sdp: "offer1".into()
            },
        ]
    );
}

#[test]
fn a_stale_standby_result_is_discarded() {
    let t = Instant::now();
    let mut m = started(4, t);
    let a = m.handle(
        t,
        Event::StandbyReady {
            session: "old".into(),
            sdp: "x".into(),
        },
    );
    assert_eq!(
        a,
        vec![Action::ClosePeer {
            session: "old".into(),
            reason: "stale".into(),
            notify: false
        }]
    );
    assert_eq!(m.standby_session(), Some("s1"));
}

#[test]
fn shutdown_closes_everything_and_goes_offline() {
    let t = Instant::now();
    let mut m = started(4, t);
    m.handle(t, answer("s1", "alice"));
    let a = m.handle(t, Event::Shutdown);
    assert_eq!(
        a,
        vec![
            Action::ClosePeer {
                session: "s1".into(),
                reason: "shutdown".into(),
                notify: true
            },
            Action::ClosePeer {
                session: "s2".into(),
                reason: "shutdown".into(),
                notify: false
            },
            Action::ClearOffer,
            Action::PublishOffline,
        ]
    );
    assert!(
        m.handle(t, answer("s2", "bob")).is_empty(),
        "nothing after shutdown"
    );
}

#[test]
fn a_viewer_that_claimed_on_its_own_topics_is_heard_only_there() {
    let t = Instant::now();
    let mut m = started(4, t);
    let a = m.handle(
        t,
        Event::Answer {
            session: "s1".into(),
            viewer: "alice".into(),
            sdp: "v=0".into(),
            route: Route::Own,
        },
    );
    assert!(
        matches!(
            &a[0],
            Action::ApplyAnswer {
                route: Route::Own,
                ..
            }
        ),
        "{a:?}"
    );
    // Someone writing in alice's name on the shared topics: ignored.
    let forged = |route| Event::Hangup {
        session: "s1".into(),
        viewer: "alice".into(),
        reason: "left".into(),
        route,
    };
    assert_eq!(m.handle(t, forged(Route::Shared)), vec![]);
    let c = Event::Candidate {
        session: "s1".into(),
        viewer: "alice".into(),
        candidate: cand("evil"),
        route: Route::Shared,
    };
    assert_eq!(m.handle(t, c), vec![]);
    assert_eq!(m.claimer("s1"), Some("alice"));
    // alice herself, on her topics.
    let a = m.handle(t, forged(Route::Own));
    assert!(
        a.iter()
            .any(|x| matches!(x, Action::ClosePeer { session, .. } if session == "s1")),
        "{a:?}"
    );
}

#[test]
fn failed_claims_delay_the_next_standby_until_a_session_connects() {
    let t = Instant::now();
    let mut m = started(4, t);
    let ready = |m: &mut Sessions, s: &str| {
        m.handle(
            t,
            Event::StandbyReady {
                session: s.into(),
                sdp: format!("offer-{s}"),
            },
        )
    };
    let reject = |m: &mut Sessions, s: &str| {
        m.handle(
            t,
            Event::AnswerRejected {
                session: s.into(),
                message: "misfit".into(),
            },
        )
    };
    // The first junk claim: nothing has failed yet, the next offer is prepared at once.
    let a = m.handle(t, answer("s1", "junk1"));
    assert!(
        a.contains(&Action::PrepareStandby {
            session: "s2".into()
        }),
        "{a:?}"
    );
    reject(&mut m, "s1");
    ready(&mut m, "s2");
    // The second waits CLAIM_RETRY_MIN, the third twice that.
    let a = m.handle(t, answer("s2", "junk2"));
    assert!(
        !a.iter().any(|x| matches!(x, Action::PrepareStandby { .. })),
        "{a:?}"
    );
    assert_eq!(m.poll_timeout(), Some(t + CLAIM_RETRY_MIN));
    reject(&mut m, "s2");
    let t2 = t + CLAIM_RETRY_MIN;
    let a = m.handle_timeout(t2);
    assert!(
        a.contains(&Action::PrepareStandby {
            session: "s3".into()
        }),
        "{a:?}"
    );
    ready(&mut m, "s3");
    m.handle(t2, answer("s3", "junk3"));
    assert_eq!(m.poll_timeout(), Some(t2 + CLAIM_RETRY_MIN * 2));
    // A real viewer connects: the next claim's offer is prepared at once again.
    let t3 = t2 + CLAIM_RETRY_MIN * 2;
    m.handle_timeout(t3);
    ready(&mut m, "s4");
    m.handle(t3, answer("s4", "alice"));
    m.handle(
        t3,
        Event::PeerConnected {
            session: "s4".into(),
        },
    );
    let t4 = t3 + CLAIM_RETRY_MIN * 4;
    let a = m.handle_timeout(t4);
    assert!(
        a.contains(&Action::PrepareStandby {
            session: "s5".into()
        }),
        "{a:?}"
    );
    ready(&mut m, "s5");
    let a = m.handle(t4, answer("s5", "bob"));
    assert!(
        a.contains(&Action::PrepareStandby {
            session: "s6".into()
        }),
        "{a:?}"
    );
}

#[test]
fn a_viewer_id_whose_claims_keep_failing_is_refused_for_a_while() {
    let t = Instant::now();
    let mut m = started(4, t);
    let mut now = t;
    let mut standby = "s1".to_string();
    // Waits out the claim back-off and publishes the next standby offer.
    let next = |m: &mut Sessions, now: &mut Instant, prepared: Option<String>| -> String {
        let session = prepared.unwrap_or_else(|| {
            *now += CLAIM_RETRY_MAX;
            prepared_in(&m.handle_timeout(*now)).expect("a standby after the back-off")
        });
        m.handle(
            *now,
            Event::StandbyReady {
                session: session.clone(),
                sdp: format!("offer-{session}"),
            },
        );
        session
    };
    for _ in 0..REFUSE_AFTER {
        let a = m.handle(now, answer(&standby, "junk"));
        assert!(
            a.iter().any(|x| matches!(x, Action::ApplyAnswer { .. })),
            "{a:?}"
        );
        let prepared = prepared_in(&a);
        m.handle(
            now,
            Event::AnswerRejected {
                session: standby.clone(),
                message: "misfit".into(),
            },
        );
        standby = next(&mut m, &mut now, prepared);
    }
    // Refused: told so, and the standby offer stays for others.
    let a = m.handle(now, answer(&standby, "junk"));
    assert!(
        matches!(a.as_slice(), [Action::SendError { code: ErrorCode::Refused, viewer, .. }] if viewer == "junk"),
        "{a:?}"
    );
    assert_eq!(m.standby_session(), Some(standby.as_str()));
    let a = m.handle(now, answer(&standby, "alice"));
    assert!(
        a.iter().any(|x| matches!(x, Action::ApplyAnswer { .. })),
        "{a:?}"
    );
    // After the refusal the id may try again.
    let prepared = prepared_in(&a);
    let standby = next(&mut m, &mut now, prepared);
    let later = now + REFUSE_FOR;
    let a = m.handle(later, answer(&standby, "junk"));
    assert!(
        a.iter().any(|x| matches!(x, Action::ApplyAnswer { .. })),
        "{a:?}"
    );
}

/// The standby session an action list starts preparing, if any.
fn prepared_in(actions: &[Action]) -> Option<String> {
    actions.iter().find_map(|a| match a {
        Action::PrepareStandby { session } => Some(session.clone()),
        _ => None,
    })
}
