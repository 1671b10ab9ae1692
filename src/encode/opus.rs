//! Opus: 48 kHz mono, 20 ms frames, VoIP tuning with in-band FEC.

use super::EncodeError;
use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};
use crate::capture::AudioFrame;

/// Largest Opus packet we accept from libopus (RFC 6716 recommends 1275 bytes per frame).
const MAX_PACKET: usize = 1500;

/// The libopus encoder.
pub struct OpusEncoder {
    inner: opus::Encoder,
    buf: Vec<u8>,
}

fn err(what: &'static str) -> impl FnOnce(opus::Error) -> EncodeError {
    move |e| EncodeError::Opus {
        what,
        reason: e.to_string(),
    }
}

impl OpusEncoder {
    /// An encoder at `bitrate_bps`.
    pub fn new(bitrate_bps: u32) -> Result<Self, EncodeError> {
        let mut inner =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(err("create"))?;
        inner
            .set_bitrate(opus::Bitrate::Bits(bitrate_bps as i32))
            .map_err(err("bitrate"))?;
        inner.set_inband_fec(true).map_err(err("fec"))?;
        Ok(Self {
            inner,
            buf: vec![0; MAX_PACKET],
        })
    }

    /// Encodes one 20 ms frame into one Opus packet.
    pub fn encode(&mut self, frame: &AudioFrame) -> Result<bytes::Bytes, EncodeError> {
        if frame.samples.len() != FRAME_SAMPLES {
            return Err(EncodeError::Opus {
                what: "input",
                reason: format!(
                    "frame has {} samples, expected {FRAME_SAMPLES}",
                    frame.samples.len()
                ),
            });
        }
        let n = self
            .inner
            .encode(&frame.samples, &mut self.buf)
            .map_err(err("encode"))?;
        Ok(bytes::Bytes::copy_from_slice(&self.buf[..n]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::synthetic::SyntheticAudio;
    use crate::capture::AudioSource;
    use crate::clock::SimulatedClock;
    use std::sync::Arc;

    #[test]
    fn tone_round_trips_through_opus() {
        let mut src = SyntheticAudio::new(440, Arc::new(SimulatedClock::new(0)));
        let mut enc = OpusEncoder::new(32_000).unwrap();
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut out = vec![0i16; 960];
        let mut energy = 0f64;
        for _ in 0..25 {
            let packet = enc.encode(&src.next_frame().unwrap()).unwrap();
            assert!(!packet.is_empty() && packet.len() < 400, "{}", packet.len());
            let n = dec.decode(&packet, &mut out, false).unwrap();
            assert_eq!(n, 960);
            energy = out.iter().map(|s| (*s as f64).powi(2)).sum::<f64>() / 960.0;
        }
        // The tone's RMS is 8000/sqrt(2) ≈ 5657; Opus keeps it within a few dB.
        let rms = energy.sqrt();
        assert!((3500.0..8000.0).contains(&rms), "{rms}");
    }

    #[test]
    fn wrong_frame_length_is_an_error() {
        let mut enc = OpusEncoder::new(32_000).unwrap();
        let frame = AudioFrame {
            samples: vec![0; 100],
            captured_at: std::time::Instant::now(),
        };
        assert!(enc.encode(&frame).is_err());
    }
}
