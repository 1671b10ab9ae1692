//! A standby offer that nobody claims is replaced before its TURN credentials expire.

use super::*;

fn renewing(t: Instant) -> Sessions {
    let mut n = 0;
    let mut m = Sessions::new(
        SessionSettings {
            max_viewers: 2,
            connect_timeout: Duration::from_secs(30),
        },
        move || {
            n += 1;
            format!("s{n}")
        },
    )
    .with_standby_renewal(Duration::from_secs(600));
    m.handle(t, Event::Start);
    m.handle(
        t,
        Event::StandbyReady {
            session: "s1".into(),
            sdp: "offer1".into(),
        },
    );
    m
}

#[test]
fn an_unclaimed_standby_offer_is_replaced_after_its_age() {
    let t = Instant::now();
    let mut m = renewing(t);
    assert_eq!(m.poll_timeout(), Some(t + Duration::from_secs(600)));
    assert!(m.handle_timeout(t + Duration::from_secs(599)).is_empty());
    let a = m.handle_timeout(t + Duration::from_secs(600));
    assert_eq!(
        a,
        vec![
            Action::ClearOffer,
            Action::ClosePeer {
                session: "s1".into(),
                reason: "renewed".into(),
                notify: false
            },
            Action::PrepareStandby {
                session: "s2".into()
            },
        ]
    );
    // A late answer to the retired offer is told it has ended; the slot is not taken.
    let a = m.handle(t + Duration::from_secs(601), answer("s1", "v1"));
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
    assert_eq!(m.viewers(), 0);
    // The new offer lives its own age from when it is published.
    let later = t + Duration::from_secs(602);
    let a = m.handle(
        later,
        Event::StandbyReady {
            session: "s2".into(),
            sdp: "offer2".into(),
        },
    );
    assert_eq!(
        a,
        vec![Action::PublishOffer {
            session: "s2".into(),
            sdp: "offer2".into()
        }]
    );
    assert_eq!(m.poll_timeout(), Some(later + Duration::from_secs(600)));
}

#[test]
fn a_claimed_offer_is_never_renewed() {
    let t = Instant::now();
    let mut m = renewing(t);
    m.handle(t, answer("s1", "v1"));
    m.handle(
        t,
        Event::PeerConnected {
            session: "s1".into(),
        },
    );
    // The next standby (s2) is being prepared; s1 belongs to its viewer now.
    let a = m.handle_timeout(t + Duration::from_secs(900));
    assert!(
        !a.iter()
            .any(|x| matches!(x, Action::ClosePeer { session, .. } if session == "s1")),
        "{a:?}"
    );
    assert_eq!(m.claimer("s1"), Some("v1"));
}
