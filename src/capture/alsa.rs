//! ALSA microphone capture (`audio.source = "alsa"`, device `audio.device`): opened at the
//! device's own rate and channel count when 48 kHz mono is not on offer, then mixed down to
//! mono and resampled to the Opus encoder's 48 kHz, in 20 ms frames.
//!
//! Overruns are recovered (`snd_pcm_recover`), never fatal. A device that vanishes makes
//! `next_frame` fail; the media thread retries, and the next call reopens the device.
//! Devices that do not pace reads (alsa-lib's `null`) are paced here on the clock.

use std::sync::Arc;
use std::time::{Duration, Instant};

use alsa::pcm::{Access, Format, HwParams, PCM};
use alsa::{Direction, ValueOr};
use tracing::{info, warn};

use super::pacer::Pacer;
use super::{AudioFrame, AudioSource, CaptureError, AUDIO_FRAME_SAMPLES, AUDIO_SAMPLE_RATE};
use crate::clock::Clock;

/// What a PCM was opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcmSetup {
    pub rate: u32,
    pub channels: u32,
    /// Frames per read.
    pub period: usize,
}

/// Opens `device` for capture or playback as interleaved S16 at (or near) 48 kHz, preferring
/// `channels`; returns what the device accepted.
pub fn open_pcm(
    device: &str,
    direction: Direction,
    channels: u32,
) -> Result<(PCM, PcmSetup), alsa::Error> {
    let pcm = PCM::new(device, direction, false)?;
    let setup = {
        let hw = HwParams::any(&pcm)?;
        hw.set_access(Access::RWInterleaved)?;
        hw.set_format(Format::s16())?;
        let channels = hw.set_channels_near(channels)?;
        let rate = hw.set_rate_near(AUDIO_SAMPLE_RATE, ValueOr::Nearest)?;
        // 20 ms periods, a buffer of 4 of them: low latency, room for scheduling hiccups.
        let period = hw.set_period_size_near((rate / 50) as alsa::pcm::Frames, ValueOr::Nearest)?;
        hw.set_buffer_size_near(period * 4)?;
        pcm.hw_params(&hw)?;
        PcmSetup {
            rate,
            channels,
            period: period.max(1) as usize,
        }
    };
    pcm.prepare()?;
    Ok((pcm, setup))
}

/// Mixes interleaved samples down to mono.
pub fn downmix(interleaved: &[i16], channels: usize, out: &mut Vec<i16>) {
    if channels <= 1 {
        out.extend_from_slice(interleaved);
        return;
    }
    out.extend(
        interleaved
            .chunks_exact(channels)
            .map(|f| (f.iter().map(|&s| s as i32).sum::<i32>() / channels as i32) as i16),
    );
}

/// Linear-interpolation resampler for mono speech from the device rate to 48 kHz (and back,
/// for playback). Keeps its phase across calls so blocks join without clicks.
#[derive(Debug)]
pub struct Resampler {
    from: u32,
    to: u32,
    /// Position of the next output sample, in input samples, relative to `last`.
    pos: f64,
    last: i16,
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Self {
        Self {
            from,
            to,
            pos: 0.0,
            last: 0,
        }
    }

    /// Whether the rates differ (otherwise [`Resampler::process`] copies).
    pub fn needed(&self) -> bool {
        self.from != self.to
    }

    /// Appends the resampled `input` to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        if !self.needed() {
            out.extend_from_slice(input);
            return;
        }
        let step = self.from as f64 / self.to as f64;
        // Sample i of the virtual signal: -1 is `last`, 0.. are `input`.
        let at = |i: isize| -> f64 {
            if i < 0 {
                self.last as f64
            } else {
                input[i as usize] as f64
            }
        };
        let n = input.len() as f64;
        let mut pos = self.pos - 1.0;
        while pos < n - 1.0 {
            let i = pos.floor();
            let frac = pos - i;
            let (a, b) = (at(i as isize), at(i as isize + 1));
            out.push((a + (b - a) * frac).round() as i16);
            pos += step;
        }
        self.pos = pos - (n - 1.0);
        if let Some(&l) = input.last() {
            self.last = l;
        }
    }
}

/// The ALSA capture source.
pub struct AlsaAudio {
    device: String,
    clock: Arc<dyn Clock>,
    pcm: Option<(PCM, PcmSetup)>,
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
        s.reopen()?;
        Ok(s)
    }

    /// A source that opens `device` on its first read (and again after every failure).
    pub fn closed(device: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            device: device.to_string(),
            clock,
            pcm: None,
            resampler: Resampler::new(AUDIO_SAMPLE_RATE, AUDIO_SAMPLE_RATE),
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

    fn reopen(&mut self) -> Result<(), CaptureError> {
        self.pcm = None;
        let (pcm, setup) = open_pcm(&self.device, Direction::Capture, 1)
            .map_err(|e| self.err(format!("cannot open for capture: {e}")))?;
        info!(
            device = %self.device,
            rate = setup.rate,
            channels = setup.channels,
            period_frames = setup.period,
            "ALSA capture opened"
        );
        self.resampler = Resampler::new(setup.rate, AUDIO_SAMPLE_RATE);
        self.read_buf = vec![0; setup.period * setup.channels as usize];
        pcm.start()
            .map_err(|e| self.err(format!("cannot start capture: {e}")))?;
        self.pcm = Some((pcm, setup));
        Ok(())
    }

    /// Reads one period into `self.pending` (mono, 48 kHz).
    fn read_period(&mut self) -> Result<(), CaptureError> {
        if self.pcm.is_none() {
            self.reopen()?;
        }
        let Some((pcm, setup)) = &self.pcm else {
            return Err(self.err("not open"));
        };
        let started = Instant::now();
        // The IO handle borrows the PCM: decide inside, act on `self.pcm` after.
        let outcome = match pcm.io_i16() {
            Err(e) => Err(format!("cannot read samples: {e}")),
            Ok(io) => match io.readi(&mut self.read_buf) {
                Ok(n) => Ok(Some(n)),
                // Overrun (EPIPE) or suspend (ESTRPIPE): recover and go on; anything else
                // closes the device so that the next call reopens it.
                Err(e) => match pcm.try_recover(e, true) {
                    Ok(()) => {
                        warn!(device = %self.device, cause = %e, "ALSA capture overrun recovered");
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
                self.pcm = None;
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
        format!("ALSA capture {}", self.device)
    }

    fn next_frame(&mut self) -> Result<AudioFrame, CaptureError> {
        while self.pending.len() < AUDIO_FRAME_SAMPLES {
            self.read_period()?;
        }
        if !self.paced_by_device {
            self.pacer.wait(self.clock.as_ref());
        }
        let samples: Vec<i16> = self.pending.drain(..AUDIO_FRAME_SAMPLES).collect();
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

    #[test]
    fn downmix_averages_channels() {
        let mut out = Vec::new();
        downmix(&[100, 300, -100, -300], 2, &mut out);
        assert_eq!(out, vec![200, -200]);
        out.clear();
        downmix(&[1, 2, 3], 1, &mut out);
        assert_eq!(out, vec![1, 2, 3]);
    }

    #[test]
    fn resampling_keeps_duration_and_tone() {
        // 44.1 kHz -> 48 kHz over 1 s in 10 ms blocks: 48000 samples (within one), and a
        // 440 Hz tone still crosses zero about 880 times.
        let mut r = Resampler::new(44_100, 48_000);
        let input: Vec<i16> = (0..44_100)
            .map(|i| {
                ((i as f64 / 44_100.0 * 440.0 * std::f64::consts::TAU).sin() * 10_000.0) as i16
            })
            .collect();
        let mut out = Vec::new();
        for block in input.chunks(441) {
            r.process(block, &mut out);
        }
        assert!(
            (out.len() as i64 - 48_000).abs() <= 2,
            "{} samples",
            out.len()
        );
        let crossings = out.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count();
        assert!(
            (870..=890).contains(&crossings),
            "{crossings} zero crossings"
        );
        let same = Resampler::new(48_000, 48_000);
        assert!(!same.needed());
    }

    /// alsa-lib's `null` device: opens, never blocks, reads silence; the source paces it to
    /// one 20 ms frame per 20 ms.
    #[test]
    fn null_device_is_captured_and_paced() {
        let mut src = AlsaAudio::open("null", Arc::new(RealClock)).expect("open null capture");
        let start = Instant::now();
        for _ in 0..25 {
            let f = src.next_frame().expect("frame");
            assert_eq!(f.samples.len(), AUDIO_FRAME_SAMPLES);
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
