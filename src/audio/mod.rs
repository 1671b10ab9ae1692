//! Audio plumbing shared by capture and talkback: the one PCM format used end to end (48 kHz
//! mono S16 in 20 ms frames), mixing down, resampling, and ALSA devices that reopen after a
//! failure. A leaf: it imports nothing of the crate.

pub mod pcm;
mod resample;

pub use resample::Resampler;

/// The audio sample rate used end to end (Opus' native rate).
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples per 20 ms frame at [`SAMPLE_RATE`].
pub const FRAME_SAMPLES: usize = 960;

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        let mut out = Vec::new();
        downmix(&[100, 300, -100, -300], 2, &mut out);
        assert_eq!(out, vec![200, -200]);
        out.clear();
        downmix(&[1, 2, 3], 1, &mut out);
        assert_eq!(out, vec![1, 2, 3]);
    }
}
