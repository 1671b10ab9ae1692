//! What a test viewer saw: its decoded pictures, losses, audio, and the device's messages.

use std::time::Instant;

use serde_json::Value;

/// One decoded picture.
#[derive(Debug, Clone)]
pub struct Decoded {
    pub frame: u32,
    pub capture_ms: u64,
    pub decoded_ms: u64,
    pub at: Instant,
    pub width: usize,
    pub height: usize,
    /// Hash of the received access unit: equal across viewers when one encode is shared.
    pub au_hash: u64,
}

/// What the viewer saw.
#[derive(Debug, Default)]
pub struct Seen {
    pub decoded: Vec<Decoded>,
    pub undecodable: usize,
    /// Access units the jitter buffer gave up on (a packet lost for good).
    pub lost: usize,
    /// Access units the decoder refused (each is answered with a PLI, like a browser).
    pub decode_errors: usize,
    pub unstamped: usize,
    /// Pictures without rtcam's stamp (a real camera's, a video command's): when, their
    /// size, and a hash of their luma (to tell that the picture changes).
    pub unstamped_pictures: Vec<(Instant, usize, usize, u64)>,
    /// The last unstamped picture's luma at the centre of each eighth of its width, three
    /// quarters down (where a test pattern's colour bars are, below any text overlay).
    pub last_unstamped_bars: Option<[u8; 8]>,
    pub idr_at: Vec<Instant>,
    pub audio_at: Vec<Instant>,
    /// Bytes of Opus payload received (a tone makes far bigger packets than silence).
    pub audio_bytes: usize,
    /// Video packets and payload bytes received by a viewer that does not decode.
    pub video_packets: usize,
    pub video_bytes: usize,
    pub video_ssrc: Option<u32>,
    /// The playout-delay extension's id in the offer (this viewer accepts it, as browsers do).
    pub playout_delay_id: Option<u8>,
    /// Video packets read by the decoding viewer, and of them those asking for a playout
    /// delay of 0 (minimum and maximum).
    pub video_rtp: usize,
    pub zero_playout_delay: usize,
    pub errors: Vec<Value>,
    pub hangups: Vec<Value>,
    /// The device's `stats` messages for this session, as they arrived.
    pub stats: Vec<(Instant, Value)>,
    pub device_candidates: usize,
    pub connected: bool,
}
