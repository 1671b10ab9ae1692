//! ALSA speaker for talkback (`audio.playback_device = "default"`, `"hw:1,0"`, …): 48 kHz
//! mono in, converted to what the device accepts (rate, channels). Underruns (a viewer who
//! paused talking) are recovered; a device that fails is reopened on the next write.

use alsa::pcm::PCM;
use alsa::Direction;
use tracing::{info, warn};

use super::{PlaybackError, PlaybackSink};
use crate::capture::alsa::{open_pcm, PcmSetup, Resampler};
use crate::capture::AUDIO_SAMPLE_RATE;

/// Talkback into an ALSA playback device.
pub struct AlsaSink {
    device: String,
    pcm: Option<(PCM, PcmSetup)>,
    resampler: Resampler,
    mono: Vec<i16>,
    interleaved: Vec<i16>,
}

impl AlsaSink {
    /// Opens `device` for playback (errors name the device).
    pub fn open(device: &str) -> Result<Self, PlaybackError> {
        let mut s = Self {
            device: device.to_string(),
            pcm: None,
            resampler: Resampler::new(AUDIO_SAMPLE_RATE, AUDIO_SAMPLE_RATE),
            mono: Vec::new(),
            interleaved: Vec::new(),
        };
        s.reopen()?;
        Ok(s)
    }

    fn err(&self, cause: impl std::fmt::Display) -> PlaybackError {
        PlaybackError::Device {
            device: self.device.clone(),
            reason: cause.to_string(),
        }
    }

    fn reopen(&mut self) -> Result<(), PlaybackError> {
        self.pcm = None;
        let (pcm, setup) = open_pcm(&self.device, Direction::Playback, 1)
            .map_err(|e| self.err(format!("cannot open for playback: {e}")))?;
        info!(
            device = %self.device,
            rate = setup.rate,
            channels = setup.channels,
            "ALSA playback opened"
        );
        self.resampler = Resampler::new(AUDIO_SAMPLE_RATE, setup.rate);
        self.pcm = Some((pcm, setup));
        Ok(())
    }
}

impl PlaybackSink for AlsaSink {
    fn name(&self) -> String {
        format!("ALSA playback {}", self.device)
    }

    fn write(&mut self, pcm_in: &[i16]) -> Result<(), PlaybackError> {
        if self.pcm.is_none() {
            self.reopen()?;
        }
        self.mono.clear();
        self.resampler.process(pcm_in, &mut self.mono);
        let Some((pcm, setup)) = &self.pcm else {
            return Err(self.err("not open"));
        };
        let channels = setup.channels as usize;
        self.interleaved.clear();
        for &s in &self.mono {
            self.interleaved
                .extend(std::iter::repeat(s).take(channels.max(1)));
        }
        // The IO handle borrows the PCM: decide inside, act on `self.pcm` after.
        let failure = match pcm.io_i16() {
            Err(e) => Some(format!("cannot write samples: {e}")),
            Ok(io) => {
                let mut offset = 0;
                // Bounded: a device that accepts nothing twice in a row is treated as failed.
                let mut stalls = 0;
                let mut failure = None;
                while offset < self.interleaved.len() && stalls < 2 && failure.is_none() {
                    match io.writei(&self.interleaved[offset..]) {
                        Ok(frames) => {
                            offset += frames * channels.max(1);
                            stalls = if frames == 0 { stalls + 1 } else { 0 };
                        }
                        Err(e) => {
                            if pcm.try_recover(e, true).is_err() {
                                failure = Some(format!("write failed: {e}"));
                            } else {
                                warn!(device = %self.device, cause = %e, "ALSA playback underrun recovered");
                                stalls += 1;
                            }
                        }
                    }
                }
                failure
            }
        };
        if let Some(reason) = failure {
            let err = self.err(reason);
            self.pcm = None;
            return Err(err);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plays_into_the_null_device() {
        let mut sink = AlsaSink::open("null").expect("open null playback");
        for _ in 0..10 {
            sink.write(&[1000i16; 960]).expect("write 20 ms");
        }
        assert!(sink.name().contains("null"));
    }

    #[test]
    fn a_missing_device_is_a_clear_error() {
        let err = AlsaSink::open("hw:CARD=NoSuchCard")
            .err()
            .expect("no such card")
            .to_string();
        assert!(err.contains("hw:CARD=NoSuchCard"), "{err}");
    }
}
