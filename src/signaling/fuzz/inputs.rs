//! What the fuzzer feeds: steps of a random session, as proptest strategies. Indices are
//! resolved against the machine's state when a step runs (mod.rs).

use proptest::prelude::*;

/// One step, with indices resolved against the machine's state when it runs.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Message {
        topic: TopicShape,
        payload: Payload,
    },
    /// A well-formed answer to the standby offer, on the shared or the viewer's own topics.
    Answer {
        viewer: usize,
        own: bool,
    },
    Ready(usize),
    PrepareFailed(usize),
    Connected(usize),
    Ended(usize),
    Rejected(usize),
    LocalCandidate(usize, bool),
    Reconnected,
    Tick(u64),
}

#[derive(Debug, Clone)]
pub(super) enum TopicShape {
    Shared {
        session: usize,
        kind: usize,
    },
    Own {
        session: usize,
        viewer: usize,
        kind: usize,
    },
    Random(String),
}

#[derive(Debug, Clone)]
pub(super) enum Payload {
    Answer {
        viewer: usize,
        sdp: Sdp,
        kind: usize,
    },
    Candidate {
        viewer: usize,
        candidate: String,
        mid: Option<String>,
        ufrag: Option<String>,
    },
    Hangup {
        viewer: usize,
        reason: String,
    },
    Json(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Clone)]
pub(super) enum Sdp {
    Good,
    Bare,
    Text(String),
    Huge(usize),
}

pub(super) fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (topic(), payload()).prop_map(|(topic, payload)| Op::Message { topic, payload }),
        2 => (any::<usize>(), any::<bool>()).prop_map(|(viewer, own)| Op::Answer { viewer, own }),
        2 => any::<usize>().prop_map(Op::Ready),
        1 => any::<usize>().prop_map(Op::PrepareFailed),
        2 => any::<usize>().prop_map(Op::Connected),
        1 => any::<usize>().prop_map(Op::Ended),
        1 => any::<usize>().prop_map(Op::Rejected),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, c)| Op::LocalCandidate(i, c)),
        1 => Just(Op::Reconnected),
        2 => (0u64..40_000).prop_map(Op::Tick),
    ]
}

fn topic() -> impl Strategy<Value = TopicShape> {
    prop_oneof![
        3 => (any::<usize>(), 0usize..4).prop_map(|(session, kind)| TopicShape::Shared { session, kind }),
        4 => (any::<usize>(), any::<usize>(), 0usize..5)
            .prop_map(|(session, viewer, kind)| TopicShape::Own { session, viewer, kind }),
        1 => "rtcam/cam/[a-z/+#]{0,40}".prop_map(TopicShape::Random),
    ]
}

fn payload() -> impl Strategy<Value = Payload> {
    let sdp = prop_oneof![
        6 => Just(Sdp::Good),
        1 => Just(Sdp::Bare),
        2 => "v=0\r\n[ -~\r\n]{0,300}".prop_map(Sdp::Text),
        1 => (60_000usize..80_000).prop_map(Sdp::Huge),
    ];
    prop_oneof![
        4 => (any::<usize>(), sdp, 0usize..3)
            .prop_map(|(viewer, sdp, kind)| Payload::Answer { viewer, sdp, kind }),
        3 => (
            any::<usize>(),
            "[ -~]{0,1100}",
            proptest::option::of("[ -~]{0,40}"),
            proptest::option::of("[ -~]{0,300}")
        )
            .prop_map(|(viewer, candidate, mid, ufrag)| Payload::Candidate { viewer, candidate, mid, ufrag }),
        2 => (any::<usize>(), "[ -~]{0,300}").prop_map(|(viewer, reason)| Payload::Hangup { viewer, reason }),
        1 => "[{}\\[\\]\":,a-z0-9 ]{0,200}".prop_map(Payload::Json),
        1 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Payload::Bytes),
    ]
}
