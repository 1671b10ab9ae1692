//! A recorded H.264 elementary stream (Annex B) played as a camera that encodes on its own
//! (`video.source = "h264file"`): access units at the configured frame rate, looping. It
//! stands in for a UVC H.264 camera in tests and demos; the stream should start with an IDR
//! and carry periodic IDRs, since a file cannot be asked for a new one.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::pacer::Pacer;
use super::{AccessUnit, H264Source};
use super::{CaptureError, VideoFormat};
use crate::clock::Clock;
use crate::h264::{split_access_units, ParamSets};

/// Plays a `.h264` file in a loop.
pub struct H264FileSource {
    path: PathBuf,
    format: VideoFormat,
    units: Vec<Vec<u8>>,
    next: usize,
    params: ParamSets,
    pacer: Pacer,
    clock: Arc<dyn Clock>,
}

impl H264FileSource {
    /// Reads and splits the file. `format` is what the stream holds (size is not parsed from
    /// the SPS; the rate sets the pace).
    pub fn open(
        path: &Path,
        format: VideoFormat,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, CaptureError> {
        let fail = |reason: String| CaptureError::Stopped {
            source_name: format!("H.264 file {}", path.display()),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read: {e}")))?;
        let units = split_access_units(&bytes);
        if units.is_empty() {
            return Err(fail(
                "no H.264 access units in the file (Annex B expected)".into(),
            ));
        }
        let mut params = ParamSets::default();
        if !params.complete(&units[0]).1 {
            return Err(fail("the stream does not start with an IDR".into()));
        }
        Ok(Self {
            path: path.to_path_buf(),
            format,
            units,
            next: 0,
            params: ParamSets::default(),
            pacer: Pacer::new(Duration::from_secs(1) / format.fps.max(1)),
            clock,
        })
    }

    /// Access units in the file.
    pub fn len(&self) -> usize {
        self.units.len()
    }

    /// Whether the file holds no access unit (never true after [`Self::open`]).
    pub fn is_empty(&self) -> bool {
        self.units.is_empty()
    }
}

impl H264Source for H264FileSource {
    fn name(&self) -> String {
        format!(
            "H.264 file {} ({} access units)",
            self.path.display(),
            self.units.len()
        )
    }

    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_access_unit(&mut self) -> Result<AccessUnit, CaptureError> {
        let captured_at = self.pacer.wait(self.clock.as_ref());
        let (data, keyframe) = self.params.complete(&self.units[self.next]);
        self.next = (self.next + 1) % self.units.len();
        Ok(AccessUnit {
            data,
            keyframe,
            captured_at,
        })
    }

    fn request_keyframe(&mut self) -> bool {
        false
    }
}
