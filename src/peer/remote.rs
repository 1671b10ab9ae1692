//! A viewer's own tracks: its microphone goes to talkback, anything else is drained.

use std::sync::Arc;

use tracing::{debug, info};
use webrtc::rtp_transceiver::rtp_codec::RTPCodecType;
use webrtc::track::track_remote::TrackRemote;

use super::ViewerAudio;

/// Reads a viewer's track until the connection closes: Opus goes to talkback (when on), any
/// other media is read and dropped so its buffers never fill.
pub(super) async fn read_remote_track(
    track: Arc<TrackRemote>,
    talkback: Option<Arc<dyn ViewerAudio>>,
    session: String,
) {
    let is_audio = track.kind() == RTPCodecType::Audio;
    let talkback = talkback.filter(|_| is_audio);
    info!(
        %session,
        kind = %track.kind(),
        codec = %track.codec().capability.mime_type,
        talkback = talkback.is_some(),
        "viewer sends a track"
    );
    while let Ok((packet, _)) = track.read_rtp().await {
        if let Some(tb) = &talkback {
            if !packet.payload.is_empty() {
                tb.packet(&session, packet.payload);
            }
        }
    }
    if let Some(tb) = &talkback {
        tb.ended(&session);
    }
    debug!(%session, "viewer track ended");
}
