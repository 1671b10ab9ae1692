//! Synthetic sources: a moving test pattern with a frame stamp, and a tone. They pace
//! themselves on a [`Clock`] exactly like a camera delivers frames: one every `1/fps`.

use std::sync::Arc;
use std::time::Duration;

use super::busy::Busy;
use super::pacer::Pacer;
use super::{stamp, AudioFrame, AudioSource, CaptureError, VideoFormat, VideoFrame, VideoSource};
use crate::audio::{FRAME_SAMPLES, SAMPLE_RATE};
use crate::clock::Clock;

/// BT.601 limited-range YUV of the classic colour bars.
const BARS: [(u8, u8, u8); 8] = [
    (180, 128, 128), // grey
    (168, 44, 136),  // yellow
    (145, 147, 44),  // cyan
    (133, 63, 52),   // green
    (63, 193, 204),  // magenta
    (51, 109, 212),  // red
    (28, 212, 120),  // blue
    (16, 128, 128),  // black
];

/// Moving colour bars with a bouncing white square (or, [`SyntheticVideo::busy`], the
/// demanding picture of [`super::busy`]) and the [`stamp`] strip on top.
pub struct SyntheticVideo {
    format: VideoFormat,
    clock: Arc<dyn Clock>,
    pacer: Pacer,
    seq: u64,
    busy: Option<Busy>,
    bars: BarRows,
}

/// One row of each plane of the bars pattern, drawn twice over so that any shifted row is a
/// plain slice of it: a picture costs copies, not a colour lookup per pixel.
struct BarRows {
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

impl BarRows {
    fn new(width: usize) -> Self {
        let bar_w = width.div_ceil(BARS.len()).max(1);
        let luma = (0..2 * width)
            .map(|col| BARS[(col % width) / bar_w].0)
            .collect();
        // Chroma column c covers luma columns 2c and 2c + 1.
        let chroma = |pick: fn(&(u8, u8, u8)) -> u8| {
            (0..width)
                .map(|c| pick(&BARS[((2 * c) % width) / bar_w]))
                .collect()
        };
        Self {
            y: luma,
            u: chroma(|b| b.1),
            v: chroma(|b| b.2),
        }
    }
}

impl SyntheticVideo {
    /// A pattern of the given format, paced on `clock`.
    pub fn new(format: VideoFormat, clock: Arc<dyn Clock>) -> Self {
        let period = Duration::from_secs(1) / format.fps.max(1);
        Self {
            format,
            clock,
            pacer: Pacer::new(period),
            seq: 0,
            busy: None,
            bars: BarRows::new(format.width as usize),
        }
    }

    /// The demanding pattern: texture and grain that need every bit the encoder is given.
    pub fn busy(format: VideoFormat, clock: Arc<dyn Clock>) -> Self {
        Self {
            busy: Some(Busy::new(format.width, format.height)),
            bars: BarRows::new(0),
            ..Self::new(format, clock)
        }
    }

    fn draw(&self, frame: &mut VideoFrame, unix_ms: u64) {
        let (w, h) = (frame.width as usize, frame.height as usize);
        let stamp = stamp::Stamp {
            frame: self.seq as u32,
            unix_ms,
        };
        if let Some(busy) = &self.busy {
            let (y, u, v) = frame.planes_mut();
            busy.draw(self.seq, y, u, v);
            stamp::write(stamp, w, h, y, u, v);
            return;
        }
        // The bars move 4 pixels a picture: every row is a window on the pre-drawn rows.
        let shift = (self.seq as usize * 4) % w;
        let (y, u, v) = frame.planes_mut();
        let bars = &self.bars;
        for row in y.chunks_exact_mut(w) {
            row.copy_from_slice(&bars.y[shift..shift + w]);
        }
        let (cw, cshift) = (w / 2, shift / 2);
        for (u_row, v_row) in u.chunks_exact_mut(cw).zip(v.chunks_exact_mut(cw)) {
            u_row.copy_from_slice(&bars.u[cshift..cshift + cw]);
            v_row.copy_from_slice(&bars.v[cshift..cshift + cw]);
        }
        // A bouncing square below the stamp strip.
        let side = (h / 6).max(8) & !1;
        let span_x = w - side;
        let span_y = h - stamp::STRIP_HEIGHT - side;
        let t = self.seq as usize * 3;
        let bounce = |t: usize, span: usize| {
            let p = t % (2 * span.max(1));
            if p < span {
                p
            } else {
                2 * span - p
            }
        };
        let (sx, sy) = (
            bounce(t, span_x) & !1,
            (stamp::STRIP_HEIGHT + bounce(t, span_y)) & !1,
        );
        for row in sy..sy + side {
            y[row * w + sx..row * w + sx + side].fill(235);
        }
        for row in sy / 2..(sy + side) / 2 {
            u[row * (w / 2) + sx / 2..row * (w / 2) + (sx + side) / 2].fill(128);
            v[row * (w / 2) + sx / 2..row * (w / 2) + (sx + side) / 2].fill(128);
        }
        stamp::write(stamp, w, h, y, u, v);
    }
}

impl VideoSource for SyntheticVideo {
    fn name(&self) -> String {
        format!(
            "synthetic video ({}) {}x{}@{}",
            if self.busy.is_some() { "busy" } else { "bars" },
            self.format.width,
            self.format.height,
            self.format.fps
        )
    }

    fn format(&self) -> VideoFormat {
        self.format
    }

    fn next_frame(&mut self) -> Result<VideoFrame, CaptureError> {
        let at = self.pacer.wait(self.clock.as_ref());
        let mut frame = VideoFrame::black(self.format.width, self.format.height, at, self.seq);
        self.draw(&mut frame, self.clock.unix_ms());
        self.seq += 1;
        Ok(frame)
    }
}

/// A sine tone at 48 kHz mono, in 20 ms frames.
pub struct SyntheticAudio {
    tone_hz: f64,
    phase: f64,
    clock: Arc<dyn Clock>,
    pacer: Pacer,
}

impl SyntheticAudio {
    /// A tone of `tone_hz`, paced on `clock`.
    pub fn new(tone_hz: u32, clock: Arc<dyn Clock>) -> Self {
        Self {
            tone_hz: tone_hz as f64,
            phase: 0.0,
            clock,
            pacer: Pacer::new(Duration::from_millis(20)),
        }
    }
}

impl AudioSource for SyntheticAudio {
    fn name(&self) -> String {
        format!("synthetic tone {} Hz", self.tone_hz)
    }

    fn next_frame(&mut self) -> Result<AudioFrame, CaptureError> {
        let at = self.pacer.wait(self.clock.as_ref());
        let step = std::f64::consts::TAU * self.tone_hz / SAMPLE_RATE as f64;
        let samples = (0..FRAME_SAMPLES)
            .map(|_| {
                let s = (self.phase.sin() * 8000.0) as i16;
                self.phase = (self.phase + step) % std::f64::consts::TAU;
                s
            })
            .collect();
        Ok(AudioFrame {
            samples,
            captured_at: at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SimulatedClock;

    #[test]
    fn video_is_paced_and_stamped() {
        let clock = SimulatedClock::new(1_700_000_000_000);
        let start = clock.now();
        let format = VideoFormat {
            width: 320,
            height: 240,
            fps: 25,
        };
        let mut src = SyntheticVideo::new(format, Arc::new(clock.clone()));
        let frames: Vec<_> = (0..50).map(|_| src.next_frame().unwrap()).collect();
        // 50 frames at 25 fps span 49 periods of 40 ms.
        assert_eq!(clock.now() - start, Duration::from_millis(40 * 49));
        for (i, f) in frames.iter().enumerate() {
            assert_eq!(f.seq, i as u64);
            assert_eq!(f.data.len(), 320 * 240 * 3 / 2);
            let s = stamp::read(320, 240, f.planes().0, 320).expect("stamp");
            assert_eq!(s.frame, i as u32);
            assert_eq!(s.unix_ms, 1_700_000_000_000 + 40 * i as u64);
        }
        // The pattern moves.
        assert_ne!(
            frames[1].planes().0[320 * 200..],
            frames[2].planes().0[320 * 200..]
        );
    }

    #[test]
    fn bars_are_the_shifted_pattern() {
        let clock = SimulatedClock::new(0);
        let (w, h) = (320usize, 240usize);
        let format = VideoFormat {
            width: w as u32,
            height: h as u32,
            fps: 30,
        };
        let mut src = SyntheticVideo::new(format, Arc::new(clock.clone()));
        let bar_w = w.div_ceil(BARS.len());
        for seq in 0..100usize {
            let f = src.next_frame().unwrap();
            let (y, u, _) = f.planes();
            let shift = (seq * 4) % w;
            // The last row, below the stamp; where the square passes it is white (235, 128).
            let row = h - 1;
            for col in 0..w {
                let (got, bar) = (y[row * w + col], BARS[((col + shift) % w) / bar_w].0);
                assert!(got == bar || got == 235, "picture {seq} column {col}");
            }
            let crow = h / 2 - 1;
            for col in 0..w / 2 {
                let got = u[crow * (w / 2) + col];
                let bar = BARS[((col * 2 + shift) % w) / bar_w].1;
                assert!(
                    got == bar || got == 128,
                    "picture {seq} chroma column {col}"
                );
            }
        }
    }

    #[test]
    fn audio_is_a_20ms_tone() {
        let clock = SimulatedClock::new(0);
        let start = clock.now();
        let mut src = SyntheticAudio::new(440, Arc::new(clock.clone()));
        let f = (0..10).map(|_| src.next_frame().unwrap()).last().unwrap();
        assert_eq!(f.samples.len(), 960);
        assert_eq!(clock.now() - start, Duration::from_millis(180));
        let peak = f.samples.iter().map(|s| s.unsigned_abs()).max().unwrap();
        assert!((7000..=8000).contains(&peak), "{peak}");
    }
}
