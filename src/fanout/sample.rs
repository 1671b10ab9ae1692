//! The send path every capture thread shares: encoded samples go through a bounded channel to
//! an async writer that hands them to the shared audio track or to every viewer's video
//! track ([`VideoTracks`]).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::debug;
use webrtc::media::Sample;
use webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample;

use super::track::{Stream, VideoTracks, VideoUnit};

/// What the capture threads hand to the track writers.
pub(super) struct EncodedSample {
    pub data: bytes::Bytes,
    pub duration: Duration,
    /// Temporal layer of a video unit (0 for audio and passed-through video).
    pub temporal_id: u8,
    /// Whether a video unit is an IDR.
    pub keyframe: bool,
    /// Which encode a video unit comes from.
    pub stream: Stream,
}

/// Where a writer sends.
pub(super) enum Destination {
    /// One shared track (audio).
    Track(Arc<TrackLocalStaticSample>),
    /// Every viewer's video track.
    Video(Arc<VideoTracks>),
}

/// What became of a sample offered to the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sent {
    Queued,
    /// The writer is behind: the sample was dropped (never waited for).
    Dropped,
    /// The writer is gone (shutdown): the thread ends.
    Closed,
}

/// A capture thread's end of the channel to its track writer.
pub(super) struct SampleOut {
    tx: mpsc::Sender<EncodedSample>,
}

impl SampleOut {
    /// Starts the writer for `track` on the current tokio runtime, with room for `queue`
    /// samples between the thread and the writer.
    pub fn start(to: Destination, queue: usize, kind: &'static str) -> Self {
        let (tx, rx) = mpsc::channel(queue);
        tokio::spawn(write_samples(to, rx, kind));
        Self { tx }
    }

    /// Offers a sample without waiting: capture never waits on the network.
    pub fn send(&self, data: bytes::Bytes, duration: Duration) -> Sent {
        self.send_video(data, duration, 0, false, Stream::Main)
    }

    /// Offers a video unit of temporal layer `temporal_id` from `stream`.
    pub fn send_video(
        &self,
        data: bytes::Bytes,
        duration: Duration,
        temporal_id: u8,
        keyframe: bool,
        stream: Stream,
    ) -> Sent {
        let sample = EncodedSample {
            data,
            duration,
            temporal_id,
            keyframe,
            stream,
        };
        match self.tx.try_send(sample) {
            Ok(()) => Sent::Queued,
            Err(mpsc::error::TrySendError::Full(_)) => Sent::Dropped,
            Err(mpsc::error::TrySendError::Closed(_)) => Sent::Closed,
        }
    }
}

async fn write_samples(to: Destination, mut rx: mpsc::Receiver<EncodedSample>, kind: &'static str) {
    while let Some(s) = rx.recv().await {
        match &to {
            Destination::Track(track) => {
                let sample = Sample {
                    data: s.data,
                    duration: s.duration,
                    ..Default::default()
                };
                if let Err(e) = track.write_sample(&sample).await {
                    debug!(kind, cause = %e, "writing sample to peers failed");
                }
            }
            Destination::Video(tracks) => {
                let unit = VideoUnit {
                    data: s.data,
                    duration: s.duration,
                    temporal_id: s.temporal_id,
                    keyframe: s.keyframe,
                    stream: s.stream,
                };
                tracks.write(&unit).await;
            }
        }
    }
}
