//! The two kinds of video a [`Producer`] writes: H.264 Annex B, split into access units and
//! passed through (SPS/PPS put ahead of any IDR that lacks them), or raw I420 pictures of the
//! configured size, encoded by rtcam. Neither can be asked for a keyframe: the producer's
//! own intra period is the only one (`rpicam-vid --intra`, x264's `key-int-max`).

use std::sync::Arc;

use tracing::warn;

use super::command::{NoOutput, Producer};
use super::{AccessUnit, CaptureError, H264Source, VideoFormat, VideoFrame, VideoSource};
use crate::clock::Clock;
use crate::h264::{AccessUnitStream, ParamSets};

fn stopped(p: &Producer, reason: String) -> CaptureError {
    CaptureError::Stopped {
        source_name: format!("video command `{}`", p.command()),
        reason,
    }
}

/// H.264 from a command, passed through.
pub struct CommandH264 {
    producer: Producer,
    format: VideoFormat,
    splitter: AccessUnitStream,
    params: ParamSets,
    ready: std::collections::VecDeque<Vec<u8>>,
    /// Why the command stopped, told once the units it wrote before are out.
    ended: Option<NoOutput>,
    clock: Arc<dyn Clock>,
    warned_dropped: u64,
}

impl CommandH264 {
    pub fn new(command: &str, format: VideoFormat, clock: Arc<dyn Clock>) -> Self {
        Self {
            producer: Producer::new(command),
            format,
            splitter: AccessUnitStream::default(),
            params: ParamSets::default(),
            ready: Default::default(),
            ended: None,
            clock,
            warned_dropped: 0,
        }
    }
}

impl H264Source for CommandH264 {
    fn name(&self) -> String {
        format!("video command `{}` (H.264)", self.producer.command())
    }

    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_access_unit(&mut self) -> Result<AccessUnit, CaptureError> {
        loop {
            if let Some(au) = self.ready.pop_front() {
                let (data, keyframe) = self.params.complete(&au);
                return Ok(AccessUnit {
                    data,
                    keyframe,
                    captured_at: self.clock.now(),
                });
            }
            if let Some(end) = self.ended.take() {
                return Err(stopped(&self.producer, end.reason));
            }
            match self.producer.read() {
                Ok(chunk) => {
                    self.ready.extend(self.splitter.push(&chunk));
                    let dropped = self.splitter.dropped();
                    if dropped > self.warned_dropped {
                        warn!(bytes = dropped - self.warned_dropped, command = %self.producer.command(),
                            "video command wrote bytes that are not H.264 Annex B; dropped");
                        self.warned_dropped = dropped;
                    }
                }
                Err(end) => {
                    // A command that exited wrote its last unit whole: send it. One that
                    // was cut off may have left half a picture: drop it. The next run
                    // starts a new stream (new parameter sets).
                    let tail = self.splitter.finish();
                    if end.ended {
                        self.ready.extend(tail);
                    }
                    self.warned_dropped = 0;
                    if self.ready.is_empty() {
                        self.params = ParamSets::default();
                        return Err(stopped(&self.producer, end.reason));
                    }
                    self.ended = Some(end);
                }
            }
        }
    }

    fn request_keyframe(&mut self) -> bool {
        false
    }
}

/// Raw I420 pictures from a command, encoded by rtcam.
pub struct CommandRaw {
    producer: Producer,
    format: VideoFormat,
    buf: Vec<u8>,
    seq: u64,
    clock: Arc<dyn Clock>,
}

impl CommandRaw {
    pub fn new(command: &str, format: VideoFormat, clock: Arc<dyn Clock>) -> Self {
        Self {
            producer: Producer::new(command),
            format,
            buf: Vec::new(),
            seq: 0,
            clock,
        }
    }

    fn frame_len(&self) -> usize {
        let (w, h) = (self.format.width as usize, self.format.height as usize);
        w * h + 2 * (w / 2) * (h / 2)
    }
}

impl VideoSource for CommandRaw {
    fn name(&self) -> String {
        let f = self.format;
        format!(
            "video command `{}` (I420 {}x{}@{})",
            self.producer.command(),
            f.width,
            f.height,
            f.fps
        )
    }

    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<VideoFrame, CaptureError> {
        let len = self.frame_len();
        while self.buf.len() < len {
            match self.producer.read() {
                Ok(chunk) => self.buf.extend_from_slice(&chunk),
                Err(end) => {
                    // A partial picture of an ended run is not a picture.
                    self.buf.clear();
                    return Err(stopped(&self.producer, end.reason));
                }
            }
        }
        let rest = self.buf.split_off(len);
        let data = std::mem::replace(&mut self.buf, rest);
        let frame = VideoFrame {
            width: self.format.width,
            height: self.format.height,
            data,
            captured_at: self.clock.now(),
            seq: self.seq,
        };
        self.seq += 1;
        Ok(frame)
    }
}

#[cfg(test)]
#[path = "command_video_tests.rs"]
mod tests;
