//! Topics and JSON messages of the MQTT signaling (documented in `docs/protocol.md`).
//! Pure: no I/O, so parsing and formatting are tested without a broker.

mod inbound;
mod messages;
mod stats;
mod topics;

pub use inbound::{parse_inbound, Inbound, ProtocolError};
pub use messages::*;
pub use stats::{RateInfo, SessionStats, ViewerRateInfo};
pub use topics::{
    new_session_id, valid_session_id, valid_topic_viewer_id, InboundKind, InboundTopic, Route,
    Topics,
};

/// Largest SDP accepted from a viewer.
pub const MAX_SDP_BYTES: usize = 64 * 1024;
/// Longest viewer id accepted.
pub const MAX_VIEWER_ID: usize = 64;
/// Largest viewer message the device reads: an answer with the largest SDP and some room for
/// its JSON. Bigger ones are dropped unread (not even parsed to find whom to tell).
pub const MAX_MESSAGE_BYTES: usize = MAX_SDP_BYTES + 8 * 1024;
/// Longest `candidate` line accepted.
pub const MAX_CANDIDATE: usize = 1024;
/// Longest `sdpMid` accepted (browsers use "0", "1", ...).
pub const MAX_SDP_MID: usize = 32;
/// Longest `usernameFragment` accepted (ICE allows 256 characters).
pub const MAX_UFRAG: usize = 256;
/// Longest session id accepted in a topic.
pub const MAX_SESSION_ID: usize = 64;
