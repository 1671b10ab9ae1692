//! Rate conversion between a device's rate and [`super::SAMPLE_RATE`].

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
