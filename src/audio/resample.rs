//! Rate conversion between a device's rate and [`super::SAMPLE_RATE`], with `rubato`'s
//! windowed-sinc resampler: it low-pass filters before it decimates, so 48 kHz talkback played
//! on an 8 or 16 kHz USB speakerphone does not fold its upper band back as aliases (linear
//! interpolation did), and a 44.1 kHz microphone is converted cleanly.

use audioadapter_buffers::direct::InterleavedSlice;
use rubato::{
    Async, FixedAsync, Resampler as _, SincInterpolationParameters, SincInterpolationType,
    WindowFunction,
};
use tracing::error;

/// Mono resampler that keeps its state across calls, so blocks join without clicks. Input is
/// processed in 10 ms chunks; what is left over waits for the next call.
pub struct Resampler {
    from: u32,
    to: u32,
    inner: Option<Async<f32>>,
    pending: Vec<f32>,
    out_buf: Vec<f32>,
}

impl std::fmt::Debug for Resampler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Resampler({} Hz -> {} Hz)", self.from, self.to)
    }
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Self {
        let inner = (from != to && from > 0 && to > 0)
            .then(|| {
                let params = SincInterpolationParameters {
                    sinc_len: 64,
                    f_cutoff: 0.9,
                    oversampling_factor: 64,
                    interpolation: SincInterpolationType::Linear,
                    window: WindowFunction::BlackmanHarris2,
                };
                let chunk = (from / 100).max(1) as usize;
                let ratio = f64::from(to) / f64::from(from);
                Async::<f32>::new_sinc(ratio, 1.0, &params, chunk, 1, FixedAsync::Input)
                    .map_err(
                        |e| error!(from, to, cause = %e, "cannot resample; audio passes as is"),
                    )
                    .ok()
            })
            .flatten();
        Self {
            from,
            to,
            inner,
            pending: Vec::new(),
            out_buf: Vec::new(),
        }
    }

    /// Whether the rates differ (otherwise [`Resampler::process`] copies).
    pub fn needed(&self) -> bool {
        self.from != self.to
    }

    /// Appends the resampled `input` to `out`.
    pub fn process(&mut self, input: &[i16], out: &mut Vec<i16>) {
        let Some(inner) = self.inner.as_mut() else {
            out.extend_from_slice(input);
            return;
        };
        self.pending
            .extend(input.iter().map(|&s| f32::from(s) / 32768.0));
        loop {
            let need = inner.input_frames_next();
            if self.pending.len() < need {
                return;
            }
            let max_out = inner.output_frames_max();
            self.out_buf.resize(max_out, 0.0);
            let (Ok(src), Ok(mut dst)) = (
                InterleavedSlice::new(&self.pending[..need], 1, need),
                InterleavedSlice::new_mut(&mut self.out_buf, 1, max_out),
            ) else {
                return;
            };
            let (read, written) = match inner.process_into_buffer(&src, &mut dst, None) {
                Ok(rw) => rw,
                Err(e) => {
                    error!(cause = %e, "resampling failed; block dropped");
                    (need, 0)
                }
            };
            out.extend(
                self.out_buf[..written]
                    .iter()
                    .map(|&s| (s * 32768.0).round().clamp(-32768.0, 32767.0) as i16),
            );
            self.pending.drain(..read.min(self.pending.len()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, seconds: f64, amplitude: f64) -> Vec<i16> {
        (0..(f64::from(rate) * seconds) as usize)
            .map(|i| {
                ((i as f64 / f64::from(rate) * hz * std::f64::consts::TAU).sin() * amplitude) as i16
            })
            .collect()
    }

    fn rms(x: &[i16]) -> f64 {
        (x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
    }

    #[test]
    fn resampling_keeps_duration_and_tone() {
        // 44.1 kHz -> 48 kHz over 1 s in 10 ms blocks: 48000 samples less the filter's delay
        // and the unfinished last chunk, and a 440 Hz tone still crosses zero about 880 times.
        let mut r = Resampler::new(44_100, 48_000);
        let input = tone(44_100, 440.0, 1.0, 10_000.0);
        let mut out = Vec::new();
        for block in input.chunks(441) {
            r.process(block, &mut out);
        }
        assert!(
            (47_400..=48_000).contains(&out.len()),
            "{} samples",
            out.len()
        );
        // Past the filter's start-up (near-zero samples whose sign means nothing).
        let crossings = out[200..]
            .windows(2)
            .filter(|w| (w[0] < 0) != (w[1] < 0))
            .count();
        assert!(
            (860..=890).contains(&crossings),
            "{crossings} zero crossings"
        );
        let same = Resampler::new(48_000, 48_000);
        assert!(!same.needed());
    }

    #[test]
    fn what_the_lower_rate_cannot_carry_is_filtered_not_folded_back() {
        // 6 kHz at 48 kHz, played on an 8 kHz speaker (Nyquist 4 kHz): linear interpolation
        // turned it into a 2 kHz alias at almost full level; a low-pass removes it.
        let input = tone(48_000, 6_000.0, 1.0, 10_000.0);
        let mut r = Resampler::new(48_000, 8_000);
        let mut out = Vec::new();
        for block in input.chunks(960) {
            r.process(block, &mut out);
        }
        let settled = &out[800..];
        assert!(
            rms(settled) < 0.05 * rms(&input),
            "alias at {:.0} of {:.0} RMS",
            rms(settled),
            rms(&input)
        );
        // Speech-band content passes.
        let voice = tone(48_000, 1_000.0, 1.0, 10_000.0);
        let mut r = Resampler::new(48_000, 8_000);
        let mut out = Vec::new();
        for block in voice.chunks(960) {
            r.process(block, &mut out);
        }
        let ratio = rms(&out[800..]) / rms(&voice);
        assert!((0.9..1.1).contains(&ratio), "1 kHz passes: {ratio:.2}");
    }
}
