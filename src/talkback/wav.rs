//! A WAV file as the talkback sink (`audio.talkback_device = "wav:PATH"`): 48 kHz mono
//! signed 16-bit little-endian. The header's sizes are brought up to date every second and
//! when the sink is dropped, so the file is playable while the daemon runs.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::{TalkbackError, TalkbackSink};
use crate::audio::SAMPLE_RATE;

const HEADER_BYTES: u32 = 44;
const HEADER_REFRESH: Duration = Duration::from_secs(1);

/// Writes talkback into a WAV file.
pub struct WavSink {
    path: PathBuf,
    out: BufWriter<File>,
    data_bytes: u32,
    header_at: Instant,
}

fn header(data_bytes: u32) -> [u8; HEADER_BYTES as usize] {
    let mut h = [0u8; HEADER_BYTES as usize];
    let byte_rate = SAMPLE_RATE * 2;
    h[0..4].copy_from_slice(b"RIFF");
    h[4..8].copy_from_slice(&(36 + data_bytes).to_le_bytes());
    h[8..12].copy_from_slice(b"WAVE");
    h[12..16].copy_from_slice(b"fmt ");
    h[16..20].copy_from_slice(&16u32.to_le_bytes());
    h[20..22].copy_from_slice(&1u16.to_le_bytes()); // PCM
    h[22..24].copy_from_slice(&1u16.to_le_bytes()); // mono
    h[24..28].copy_from_slice(&SAMPLE_RATE.to_le_bytes());
    h[28..32].copy_from_slice(&byte_rate.to_le_bytes());
    h[32..34].copy_from_slice(&2u16.to_le_bytes()); // block align
    h[34..36].copy_from_slice(&16u16.to_le_bytes()); // bits per sample
    h[36..40].copy_from_slice(b"data");
    h[40..44].copy_from_slice(&data_bytes.to_le_bytes());
    h
}

impl WavSink {
    /// Creates (or truncates) the file and writes an empty WAV header.
    pub fn create(path: &Path) -> Result<Self, TalkbackError> {
        let io = |cause| TalkbackError::Io {
            target: path.display().to_string(),
            cause,
        };
        let mut out = BufWriter::new(File::create(path).map_err(io)?);
        out.write_all(&header(0)).map_err(io)?;
        out.flush().map_err(io)?;
        Ok(Self {
            path: path.to_path_buf(),
            out,
            data_bytes: 0,
            header_at: Instant::now(),
        })
    }

    fn refresh_header(&mut self) -> std::io::Result<()> {
        self.out.flush()?;
        let file = self.out.get_mut();
        file.seek(SeekFrom::Start(0))?;
        file.write_all(&header(self.data_bytes))?;
        file.seek(SeekFrom::End(0))?;
        file.flush()
    }
}

impl TalkbackSink for WavSink {
    fn name(&self) -> String {
        format!("wav:{}", self.path.display())
    }

    fn write(&mut self, pcm: &[i16]) -> Result<(), TalkbackError> {
        let target = self.path.display().to_string();
        let io = |cause| TalkbackError::Io { target, cause };
        // A WAV file holds at most 4 GiB of data: stop growing instead of wrapping.
        let bytes = (pcm.len() * 2) as u32;
        if self.data_bytes.saturating_add(bytes) > u32::MAX - HEADER_BYTES {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(pcm.len() * 2);
        for s in pcm {
            buf.extend_from_slice(&s.to_le_bytes());
        }
        let written = self.out.write_all(&buf).and_then(|()| {
            self.data_bytes += bytes;
            if self.header_at.elapsed() >= HEADER_REFRESH {
                self.header_at = Instant::now();
                self.refresh_header()?;
            }
            Ok(())
        });
        written.map_err(io)
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        let _ = self.refresh_header();
    }
}

/// Reads a WAV file written by [`WavSink`] back into samples (tests and tools).
pub fn read_samples(path: &Path) -> std::io::Result<Vec<i16>> {
    let bytes = std::fs::read(path)?;
    if bytes.len() < HEADER_BYTES as usize || &bytes[0..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(std::io::Error::other("not a WAV file"));
    }
    Ok(bytes[HEADER_BYTES as usize..]
        .chunks_exact(2)
        .map(|c| i16::from_le_bytes([c[0], c[1]]))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_valid_wav_that_reads_back() {
        let path = std::env::temp_dir().join(format!("rtcam-wav-{}.wav", std::process::id()));
        {
            let mut sink = WavSink::create(&path).unwrap();
            sink.write(&[1, -2, 3]).unwrap();
            sink.write(&[i16::MAX, i16::MIN]).unwrap();
        }
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(&bytes[36..40], b"data");
        assert_eq!(u32::from_le_bytes(bytes[40..44].try_into().unwrap()), 10);
        assert_eq!(
            u32::from_le_bytes(bytes[24..28].try_into().unwrap()),
            48_000
        );
        assert_eq!(
            read_samples(&path).unwrap(),
            vec![1, -2, 3, i16::MAX, i16::MIN]
        );
        std::fs::remove_file(&path).ok();
    }

    #[test]
    fn an_unwritable_path_is_a_clear_error() {
        let err = WavSink::create(Path::new("/nonexistent-dir/x.wav"))
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("/nonexistent-dir/x.wav"), "{err}");
    }
}
