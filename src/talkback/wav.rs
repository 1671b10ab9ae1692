//! A WAV file as the talkback sink (`audio.talkback_device = "wav:PATH"`): 48 kHz mono
//! signed 16-bit, written with `hound`. It behaves like a speaker, so a viewer cannot fill the
//! disk: audio is accepted at the pace it would be played ([`Pace`]: a 0.5 s buffer that
//! drains in real time; what arrives faster is dropped), and after `max` of audio the file is
//! rotated (the previous one is kept as `PATH.1`). The header is brought up to date every
//! second, so the file is playable while the daemon runs.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::{TalkbackError, TalkbackSink};
use crate::audio::SAMPLE_RATE;

const HEADER_REFRESH: Duration = Duration::from_secs(1);
/// How much audio may arrive ahead of real time (network jitter) before it is dropped.
pub const PACE_BUFFER: Duration = Duration::from_millis(500);

/// A speaker's buffer: filled by writes, drained at the sample rate, never over capacity.
#[derive(Debug)]
pub struct Pace {
    capacity: f64,
    level: f64,
    last: Instant,
}

impl Pace {
    pub fn new(buffer: Duration, now: Instant) -> Self {
        Self {
            capacity: buffer.as_secs_f64() * f64::from(SAMPLE_RATE),
            level: 0.0,
            last: now,
        }
    }

    /// How many of `n` samples offered at `now` fit; they are counted as buffered.
    pub fn admit(&mut self, n: usize, now: Instant) -> usize {
        let played =
            now.saturating_duration_since(self.last).as_secs_f64() * f64::from(SAMPLE_RATE);
        self.last = now;
        self.level = (self.level - played).max(0.0);
        let room = (self.capacity - self.level).max(0.0) as usize;
        let taken = n.min(room);
        self.level += taken as f64;
        taken
    }
}

type Writer = hound::WavWriter<BufWriter<File>>;

/// Writes talkback into a WAV file.
pub struct WavSink {
    path: PathBuf,
    writer: Option<Writer>,
    /// Samples in the current file, and the most it may hold.
    samples: u64,
    max_samples: u64,
    pace: Pace,
    /// Samples dropped for arriving faster than real time since the last log line.
    too_fast: u64,
    header_at: Instant,
}

fn spec() -> hound::WavSpec {
    hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    }
}

fn error(path: &Path, e: hound::Error) -> TalkbackError {
    let cause = match e {
        hound::Error::IoError(io) => io,
        other => std::io::Error::other(other.to_string()),
    };
    TalkbackError::Io {
        target: path.display().to_string(),
        cause,
    }
}

impl WavSink {
    /// Creates (or truncates) the file; it is rotated after `max` of audio.
    pub fn create(path: &Path, max: Duration) -> Result<Self, TalkbackError> {
        let writer = hound::WavWriter::create(path, spec()).map_err(|e| error(path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Some(writer),
            samples: 0,
            max_samples: (max.as_secs_f64() * f64::from(SAMPLE_RATE)) as u64,
            pace: Pace::new(PACE_BUFFER, Instant::now()),
            too_fast: 0,
            header_at: Instant::now(),
        })
    }

    /// The previous file's name: `PATH.1`.
    pub fn rotated_path(path: &Path) -> PathBuf {
        let mut name = path.as_os_str().to_owned();
        name.push(".1");
        PathBuf::from(name)
    }

    /// Closes the full file, keeps it as `PATH.1` and starts a new one.
    fn rotate(&mut self) -> Result<(), TalkbackError> {
        if let Some(w) = self.writer.take() {
            w.finalize().map_err(|e| error(&self.path, e))?;
        }
        let previous = Self::rotated_path(&self.path);
        std::fs::rename(&self.path, &previous).map_err(|cause| TalkbackError::Io {
            target: previous.display().to_string(),
            cause,
        })?;
        info!(
            file = %self.path.display(),
            previous = %previous.display(),
            seconds = self.samples / u64::from(SAMPLE_RATE),
            "talkback WAV full; rotated"
        );
        self.writer =
            Some(hound::WavWriter::create(&self.path, spec()).map_err(|e| error(&self.path, e))?);
        self.samples = 0;
        Ok(())
    }
}

impl TalkbackSink for WavSink {
    fn name(&self) -> String {
        format!("wav:{}", self.path.display())
    }

    fn write(&mut self, pcm: &[i16]) -> Result<(), TalkbackError> {
        let now = Instant::now();
        let taken = self.pace.admit(pcm.len(), now);
        self.too_fast += (pcm.len() - taken) as u64;
        let mut rest = &pcm[..taken];
        while !rest.is_empty() {
            if self.writer.is_none() || self.samples >= self.max_samples {
                self.rotate()?;
            }
            let room = (self.max_samples - self.samples).min(rest.len() as u64) as usize;
            let Some(w) = self.writer.as_mut() else {
                break;
            };
            for &s in &rest[..room] {
                w.write_sample(s).map_err(|e| error(&self.path, e))?;
            }
            self.samples += room as u64;
            rest = &rest[room..];
        }
        if self.header_at.elapsed() >= HEADER_REFRESH {
            self.header_at = now;
            if let Some(w) = self.writer.as_mut() {
                w.flush().map_err(|e| error(&self.path, e))?;
            }
            if self.too_fast > 0 {
                warn!(
                    samples = std::mem::take(&mut self.too_fast),
                    "talkback audio arrived faster than real time; the excess was dropped"
                );
            }
        }
        Ok(())
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.finalize();
        }
    }
}

/// Reads a WAV file written by [`WavSink`] back into samples (tests and tools).
pub fn read_samples(path: &Path) -> std::io::Result<Vec<i16>> {
    let reader = hound::WavReader::open(path).map_err(|e| std::io::Error::other(e.to_string()))?;
    reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("rtcam-wav-{name}-{}.wav", std::process::id()))
    }

    #[test]
    fn writes_a_valid_wav_that_reads_back() {
        let path = temp("basic");
        {
            let mut sink = WavSink::create(&path, Duration::from_secs(60)).unwrap();
            sink.write(&[1, -2, 3]).unwrap();
            sink.write(&[i16::MAX, i16::MIN]).unwrap();
        }
        let reader = hound::WavReader::open(&path).unwrap();
        assert_eq!(reader.spec().sample_rate, 48_000);
        assert_eq!(reader.spec().channels, 1);
        assert_eq!(
            read_samples(&path).unwrap(),
            vec![1, -2, 3, i16::MAX, i16::MIN]
        );
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn the_pace_admits_real_time_and_drops_what_comes_faster() {
        let t = Instant::now();
        let mut pace = Pace::new(Duration::from_millis(500), t);
        // 20 ms packets every 20 ms: all of it, for a minute.
        for i in 1..=3000u32 {
            let now = t + Duration::from_millis(20) * i;
            assert_eq!(pace.admit(960, now), 960, "packet {i}");
        }
        // A burst of 5 s of audio at one instant: only the buffer's 0.5 s fits.
        let now = t + Duration::from_secs(61);
        let burst: usize = (0..250).map(|_| pace.admit(960, now)).sum();
        assert!((23_000..=24_000).contains(&burst), "{burst}");
        // After a pause the buffer has drained and takes audio again.
        assert_eq!(pace.admit(960, now + Duration::from_secs(1)), 960);
    }

    #[test]
    fn a_full_file_is_rotated_and_the_previous_one_kept() {
        let path = temp("rotate");
        let previous = WavSink::rotated_path(&path);
        let _ = std::fs::remove_file(&previous);
        {
            // 10 ms (480 samples) per file; four writes of 5 ms, well within the pace buffer.
            let mut sink = WavSink::create(&path, Duration::from_millis(10)).unwrap();
            for i in 0..4 {
                sink.write(&vec![i as i16; 240]).unwrap();
            }
        }
        let old = read_samples(&previous).unwrap();
        let new = read_samples(&path).unwrap();
        assert_eq!(old.len(), 480, "the previous file is full");
        assert_eq!(new.len(), 480);
        assert_eq!((old[0], new[0]), (0, 2), "the newest audio is in PATH");
        std::fs::remove_file(&path).ok();
        std::fs::remove_file(&previous).ok();
    }

    #[test]
    fn an_unwritable_path_is_a_clear_error() {
        let err = WavSink::create(Path::new("/nonexistent-dir/x.wav"), Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent-dir/x.wav"), "{err}");
    }
}
