//! ALSA speaker for talkback (`audio.talkback_device = "default"`, `"hw:1,0"`, …): 48 kHz
//! mono in, converted to what the device accepts (rate, channels). Underruns (a viewer who
//! paused talking) are recovered; a device that fails is reopened on the next write.

use alsa::Direction;
use tracing::{info, warn};

use super::{TalkbackError, TalkbackSink};
use crate::audio::pcm::ReopeningPcm;
use crate::audio::{Resampler, SAMPLE_RATE};

/// Talkback into an ALSA playback device.
pub struct AlsaSink {
    pcm: ReopeningPcm,
    resampler: Resampler,
    mono: Vec<i16>,
    interleaved: Vec<i16>,
}

impl AlsaSink {
    /// Opens `device` for playback (errors name the device).
    pub fn open(device: &str) -> Result<Self, TalkbackError> {
        let mut s = Self {
            pcm: ReopeningPcm::new(device, Direction::Playback, 1),
            resampler: Resampler::new(SAMPLE_RATE, SAMPLE_RATE),
            mono: Vec::new(),
            interleaved: Vec::new(),
        };
        s.open_if_closed()?;
        Ok(s)
    }

    fn err(&self, cause: impl std::fmt::Display) -> TalkbackError {
        TalkbackError::Device {
            device: self.pcm.device().to_string(),
            reason: cause.to_string(),
        }
    }

    /// Opens the device when it is closed (start, or after a failure) and sets the resampler
    /// to its rate.
    fn open_if_closed(&mut self) -> Result<(), TalkbackError> {
        let (_, setup, fresh) = match self.pcm.get() {
            Ok(x) => x,
            Err(e) => return Err(self.err(format!("cannot open for playback: {e}"))),
        };
        if fresh {
            info!(
                device = %self.pcm.device(),
                rate = setup.rate,
                channels = setup.channels,
                "ALSA playback opened"
            );
            self.resampler = Resampler::new(SAMPLE_RATE, setup.rate);
        }
        Ok(())
    }
}

impl TalkbackSink for AlsaSink {
    fn name(&self) -> String {
        format!("ALSA playback {}", self.pcm.device())
    }

    fn write(&mut self, pcm_in: &[i16]) -> Result<(), TalkbackError> {
        self.open_if_closed()?;
        self.mono.clear();
        self.resampler.process(pcm_in, &mut self.mono);
        let device = self.pcm.device().to_string();
        let (pcm, setup, _) = self.pcm.get().map_err(|e| TalkbackError::Device {
            device: device.clone(),
            reason: format!("cannot open for playback: {e}"),
        })?;
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
                                warn!(device = %device, cause = %e, "ALSA playback underrun recovered");
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
            self.pcm.close();
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
