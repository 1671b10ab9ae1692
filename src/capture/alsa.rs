//! ALSA microphone capture (`audio.source = "alsa"`, device `audio.device`): opened at the
//! device's own rate and channel count when 48 kHz mono is not on offer, then mixed down to
//! mono and resampled to the Opus encoder's 48 kHz, in 20 ms frames.
//!
//! Overruns are recovered (`snd_pcm_recover`), never fatal. A device that vanishes, or that
//! delivers nothing for 2 s (a stalled driver: a read never blocks longer), makes `next_frame`
//! fail; the media thread retries, and the next call reopens the device.
//! Devices that do not pace reads (alsa-lib's `null`) are paced here on the clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alsa::Direction;
use tracing::{info, warn};

use super::pacer::Pacer;
use super::{AudioFrame, AudioSource, CaptureError};
use crate::audio::pcm::ReopeningPcm;
use crate::audio::{downmix, Resampler, FRAME_SAMPLES, SAMPLE_RATE};
use crate::clock::Clock;

/// Longest a read may wait for samples before the device counts as stalled (reopened).
const STALL_TIMEOUT_MS: u32 = 2000;

/// The ALSA capture source.
pub struct AlsaAudio {
    pcm: ReopeningPcm,
    clock: Arc<dyn Clock>,
    resampler: Resampler,
    read_buf: Vec<i16>,
    mono: Vec<i16>,
    pending: Vec<i16>,
    pacer: Pacer,
    /// Whether reads block on their own (a real device) or must be paced (e.g. `null`).
    paced_by_device: bool,
}

impl AlsaAudio {
    /// Opens `device` (e.g. `default`, `hw:1,0`, `plughw:CARD=Device`).
    pub fn open(device: &str, clock: Arc<dyn Clock>) -> Result<Self, CaptureError> {
        let mut s = Self::closed(device, clock);
        s.open_if_closed()?;
        Ok(s)
    }

    /// A source that opens `device` on its first read (and again after every failure).
    pub fn closed(device: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            pcm: ReopeningPcm::new(device, Direction::Capture, 1),
            clock,
            resampler: Resampler::new(SAMPLE_RATE, SAMPLE_RATE),
            read_buf: Vec::new(),
            mono: Vec::new(),
            pending: Vec::new(),
            pacer: Pacer::new(Duration::from_millis(20)),
            paced_by_device: true,
        }
    }

    fn err(&self, reason: impl std::fmt::Display) -> CaptureError {
        CaptureError::Stopped {
            source_name: self.name(),
            reason: reason.to_string(),
        }
    }

    /// Opens the device when it is closed (first read, or after a failure) and sets up what
    /// depends on its rate and channel count.
    fn open_if_closed(&mut self) -> Result<(), CaptureError> {
        let (pcm, setup, fresh) = match self.pcm.get() {
            Ok(x) => x,
            Err(e) => return Err(self.err(format!("cannot open for capture: {e}"))),
        };
        if !fresh {
            return Ok(());
        }
        if let Err(e) = pcm.start() {
            let err = self.err(format!("cannot start capture: {e}"));
            self.pcm.close();
            return Err(err);
        }
        info!(
            device = %self.pcm.device(),
            rate = setup.rate,
            channels = setup.channels,
            period_frames = setup.period,
            "ALSA capture opened"
        );
        self.resampler = Resampler::new(setup.rate, SAMPLE_RATE);
        self.read_buf = vec![0; setup.period * setup.channels as usize];
        Ok(())
    }

    /// Reads one period into `self.pending` (mono, 48 kHz).
    fn read_period(&mut self) -> Result<(), CaptureError> {
        self.open_if_closed()?;
        let device = self.pcm.device().to_string();
        let (pcm, setup, _) = self.pcm.get().map_err(|e| CaptureError::Stopped {
            source_name: format!("ALSA capture {device}"),
            reason: format!("cannot open for capture: {e}"),
        })?;
        let started = Instant::now();
        // A capture stream starts on its first read; waiting on one that has not started
        // would time out.
        if pcm.state() == alsa::pcm::State::Prepared {
            let _ = pcm.start();
        }
        // The IO handle borrows the PCM: decide inside, act on `self.pcm` after.
        let outcome = match (pcm.wait(Some(STALL_TIMEOUT_MS)), pcm.io_i16()) {
            // Nothing for a long time: a wedged driver, not silence (silence is samples).
            (Ok(false), _) => Err(format!(
                "no samples for {} s (the device stalled)",
                STALL_TIMEOUT_MS / 1000
            )),
            (_, Err(e)) => Err(format!("cannot read samples: {e}")),
            (_, Ok(io)) => match io.readi(&mut self.read_buf) {
                Ok(n) => Ok(Some(n)),
                // Overrun (EPIPE) or suspend (ESTRPIPE): recover and go on; anything else
                // closes the device so that the next call reopens it.
                Err(e) => match pcm.try_recover(e, true) {
                    Ok(()) => {
                        warn!(device = %device, cause = %e, "ALSA capture overrun recovered");
                        let _ = pcm.start();
                        Ok(None)
                    }
                    Err(_) => Err(format!("read failed: {e}")),
                },
            },
        };
        let frames = match outcome {
            Ok(Some(n)) => n,
            Ok(None) => return Ok(()),
            Err(reason) => {
                let err = self.err(reason);
                self.pcm.close();
                return Err(err);
            }
        };
        let took = started.elapsed();
        let channels = setup.channels as usize;
        // A real device blocks for about a period per read; one that returns at once (`null`)
        // needs pacing.
        let period_time = Duration::from_secs_f64(setup.period as f64 / setup.rate as f64);
        self.paced_by_device = took >= period_time / 4;
        self.mono.clear();
        downmix(
            &self.read_buf[..frames * channels],
            channels,
            &mut self.mono,
        );
        self.resampler.process(&self.mono, &mut self.pending);
        Ok(())
    }
}

impl AudioSource for AlsaAudio {
    fn name(&self) -> String {
        format!("ALSA capture {}", self.pcm.device())
    }

    fn next_frame(&mut self) -> Result<AudioFrame, CaptureError> {
        while self.pending.len() < FRAME_SAMPLES {
            self.read_period()?;
        }
        if !self.paced_by_device {
            self.pacer.wait(self.clock.as_ref());
        }
        let samples: Vec<i16> = self.pending.drain(..FRAME_SAMPLES).collect();
        Ok(AudioFrame {
            samples,
            captured_at: self.clock.now(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::RealClock;

    /// alsa-lib's `null` device: opens, never blocks, reads silence; the source paces it to
    /// one 20 ms frame per 20 ms.
    #[test]
    fn null_device_is_captured_and_paced() {
        let mut src = AlsaAudio::open("null", Arc::new(RealClock)).expect("open null capture");
        let start = Instant::now();
        for _ in 0..25 {
            let f = src.next_frame().expect("frame");
            assert_eq!(f.samples.len(), FRAME_SAMPLES);
        }
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(440),
            "25 frames of 20 ms are paced, not instant: {took:?}"
        );
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let err = AlsaAudio::open("hw:CARD=NoSuchCard", Arc::new(RealClock))
            .err()
            .expect("no such card")
            .to_string();
        assert!(err.contains("hw:CARD=NoSuchCard"), "{err}");
    }
}
