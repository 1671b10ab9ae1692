//! Microphone frames encoded with Opus, 20 ms each, skipped while nobody watches.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};

use super::retry::CaptureRetry;
use super::sample::{SampleOut, Sent};
use super::FanoutStats;
use crate::capture::AudioSource;
use crate::clock::{Clock, Stop};
use crate::encode::opus::OpusEncoder;

pub(super) struct AudioThread {
    pub source: Box<dyn AudioSource>,
    pub encoder: OpusEncoder,
    pub out: SampleOut,
    pub clock: Arc<dyn Clock>,
    pub stats: Arc<FanoutStats>,
    pub active: Arc<AtomicUsize>,
    pub stop: Stop,
}

impl AudioThread {
    pub fn run(mut self) {
        info!(source = %self.source.name(), "audio capture started");
        let mut retry = CaptureRetry::new("audio");
        while !self.stop.requested() {
            self.stats.audio_turns.fetch_add(1, Ordering::Relaxed);
            let next = self.source.next_frame();
            let failing = &self.stats.audio_failing;
            let Some(frame) = retry.capture(next, failing, self.clock.as_ref(), &self.stop) else {
                continue;
            };
            if self.active.load(Ordering::Relaxed) == 0 {
                continue;
            }
            match self.encoder.encode(&frame) {
                Ok(packet) => {
                    self.stats.audio_packets.fetch_add(1, Ordering::Relaxed);
                    // Audio is not resynced by keyframes: a dropped packet is just lost.
                    if self.out.send(packet, Duration::from_millis(20)) == Sent::Closed {
                        break;
                    }
                }
                Err(e) => warn!(cause = %e, "audio encode failed; frame skipped"),
            }
        }
        info!("audio capture stopped");
    }
}
