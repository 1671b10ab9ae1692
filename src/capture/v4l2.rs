//! V4L2 cameras (`video.source = "v4l2"`, `video.device`, `video.format`).
//!
//! - **Negotiation** ([`choose`], pure): the configured size and rate, in the configured
//!   format, or with `format = "auto"` the first raw format in the order YU12 (no conversion),
//!   NV12, YUYV, MJPEG (decode cost) that offers them; failing that the nearest size, then the
//!   nearest rate. What was chosen is logged.
//! - **Capture** runs on its own thread (blocking `next()` on mmap buffers), slices each buffer
//!   to `bytesused`, stamps it with its capture time and keeps only the newest frame for raw
//!   formats (a slow encoder skips frames, no queue grows). H.264 (passthrough) keeps a short
//!   queue instead: dropping one access unit breaks the chain, so an overflow waits for the
//!   next IDR and asks the camera for one (`V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME`).
//! - **Failures** (unplugged, driver errors) end the capture thread; the next read reports the
//!   error, the media thread backs off, and the read after that reopens the device.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::convert::{to_i420, PixelFormat};
use super::h264::{AccessUnit, H264Source, ParamSets};
use super::{CaptureError, VideoFormat, VideoFrame, VideoSource};

/// `V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME`.
const CID_FORCE_KEY_FRAME: u32 = 0x0099_09e5;
/// Access units held for a slow consumer before waiting for the next IDR.
const H264_QUEUE: usize = 8;
/// How long a read waits for the camera before calling it stalled.
const FRAME_TIMEOUT: Duration = Duration::from_secs(5);

/// One size a camera offers in one format, with its frame rates (empty: any rate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub fps: Vec<u32>,
}

/// What to pick.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wanted {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// `None`: any raw format (auto).
    pub format: Option<PixelFormat>,
}

/// What was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// Raw formats in order of preference for `format = "auto"`.
pub const AUTO_ORDER: [PixelFormat; 4] = [
    PixelFormat::Yu12,
    PixelFormat::Nv12,
    PixelFormat::Yuyv,
    PixelFormat::Mjpeg,
];

/// Picks a format, size and rate from what the camera offers.
pub fn choose(offered: &[Offered], want: &Wanted) -> Result<Choice, String> {
    let formats: Vec<PixelFormat> = match want.format {
        Some(f) => vec![f],
        None => AUTO_ORDER.to_vec(),
    };
    let area = |w: u32, h: u32| (w as i64) * (h as i64);
    let best = offered
        .iter()
        .filter_map(|o| {
            let rank = formats.iter().position(|f| *f == o.format)?;
            // Odd sizes cannot become 4:2:0.
            if o.width % 2 != 0 || o.height % 2 != 0 {
                return None;
            }
            let size_gap = (area(o.width, o.height) - area(want.width, want.height)).abs();
            let fps = if o.fps.is_empty() || o.fps.contains(&want.fps) {
                want.fps
            } else {
                *o.fps
                    .iter()
                    .min_by_key(|f| (**f as i64 - want.fps as i64).abs())?
            };
            let fps_gap = (fps as i64 - want.fps as i64).abs();
            Some(((size_gap, fps_gap, rank), o, fps))
        })
        .min_by_key(|(key, _, _)| *key);
    match best {
        Some((_, o, fps)) => Ok(Choice {
            format: o.format,
            width: o.width,
            height: o.height,
            fps,
        }),
        None => {
            let names: Vec<&str> = formats.iter().map(|f| f.config_name()).collect();
            let have: Vec<String> = offered
                .iter()
                .map(|o| format!("{} {}x{}", o.format.config_name(), o.width, o.height))
                .collect();
            Err(format!(
                "the camera offers none of the formats {names:?} (it offers: {})",
                if have.is_empty() {
                    "nothing rtcam can use".to_string()
                } else {
                    have.join(", ")
                }
            ))
        }
    }
}

/// Everything a device offers (formats rtcam can use; sizes expanded, rates listed).
pub fn offered(dev: &v4l::Device) -> std::io::Result<Vec<Offered>> {
    use v4l::frameinterval::FrameIntervalEnum;
    use v4l::framesize::FrameSizeEnum;
    use v4l::video::Capture;
    let mut out = Vec::new();
    for desc in dev.enum_formats()? {
        let Some(format) = PixelFormat::from_fourcc(desc.fourcc.repr) else {
            continue;
        };
        for size in dev.enum_framesizes(desc.fourcc)? {
            let sizes: Vec<(u32, u32)> = match size.size {
                FrameSizeEnum::Discrete(d) => vec![(d.width, d.height)],
                // Continuous/stepwise: offer the common sizes inside the range.
                FrameSizeEnum::Stepwise(s) => [(320, 240), (640, 480), (1280, 720), (1920, 1080)]
                    .into_iter()
                    .filter(|(w, h)| {
                        (s.min_width..=s.max_width).contains(w)
                            && (s.min_height..=s.max_height).contains(h)
                    })
                    .collect(),
            };
            for (width, height) in sizes {
                let mut fps = Vec::new();
                for iv in dev
                    .enum_frameintervals(desc.fourcc, width, height)
                    .unwrap_or_default()
                {
                    if let FrameIntervalEnum::Discrete(f) = iv.interval {
                        if let Some(rate) = f.denominator.checked_div(f.numerator) {
                            fps.push(rate);
                        }
                    }
                }
                out.push(Offered {
                    format,
                    width,
                    height,
                    fps,
                });
            }
        }
    }
    Ok(out)
}

/// A captured buffer, sliced to `bytesused`.
struct Raw {
    data: Vec<u8>,
    captured_at: Instant,
}

#[derive(Default)]
struct Slot {
    frames: VecDeque<Raw>,
    error: Option<String>,
    ended: bool,
    /// Frames replaced before being read (raw) or units lost to overflow (H.264).
    dropped: u64,
    overflowed: bool,
}

/// The capture thread's output, shared with the reader.
struct Shared {
    slot: Mutex<Slot>,
    ready: Condvar,
    stop: AtomicBool,
}

/// An open camera with its capture thread.
struct Camera {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    device: Arc<v4l::Device>,
    stride: u32,
}

impl Camera {
    fn open(path: &str, want: &Wanted, keep: usize) -> Result<(Self, Choice), String> {
        use v4l::video::capture::Parameters;
        use v4l::video::Capture;
        let dev = v4l::Device::with_path(path).map_err(|e| format!("cannot open: {e}"))?;
        let caps = dev
            .query_caps()
            .map_err(|e| format!("not a V4L2 device: {e}"))?;
        let need = v4l::capability::Flags::VIDEO_CAPTURE | v4l::capability::Flags::STREAMING;
        if !caps.capabilities.contains(need) {
            return Err(format!(
                "{} ({}) is not a streaming capture device",
                caps.card, caps.driver
            ));
        }
        let offered = offered(&dev).map_err(|e| format!("cannot list formats: {e}"))?;
        let choice = choose(&offered, want)?;
        let fourcc = v4l::FourCC::new(&choice.format.fourcc());
        let set = dev
            .set_format(&v4l::Format::new(choice.width, choice.height, fourcc))
            .map_err(|e| format!("cannot set the format: {e}"))?;
        if set.fourcc != fourcc || set.width != choice.width || set.height != choice.height {
            return Err(format!(
                "the driver changed the format to {}x{} {:?}",
                set.width, set.height, set.fourcc
            ));
        }
        if let Err(e) = dev.set_params(&Parameters::with_fps(choice.fps)) {
            warn!(device = path, cause = %e, "cannot set the frame rate; using the driver's");
        }
        info!(
            device = path,
            card = %caps.card,
            driver = %caps.driver,
            format = choice.format.config_name(),
            width = choice.width,
            height = choice.height,
            fps = choice.fps,
            "camera opened"
        );
        let device = Arc::new(dev);
        let shared = Arc::new(Shared {
            slot: Mutex::new(Slot::default()),
            ready: Condvar::new(),
            stop: AtomicBool::new(false),
        });
        let thread = std::thread::Builder::new()
            .name("rtcam-v4l2".into())
            .spawn({
                let (device, shared) = (device.clone(), shared.clone());
                move || capture_loop(&device, &shared, keep)
            })
            .map_err(|e| format!("cannot start the capture thread: {e}"))?;
        Ok((
            Self {
                shared,
                thread: Some(thread),
                device,
                stride: set.stride,
            },
            choice,
        ))
    }

    /// Waits for the next buffer (or the capture thread's error).
    fn next(&self) -> Result<(Raw, bool), String> {
        let mut slot = self.shared.slot.lock().map_err(|_| "capture thread died")?;
        let deadline = Instant::now() + FRAME_TIMEOUT;
        loop {
            if let Some(raw) = slot.frames.pop_front() {
                let overflowed = std::mem::take(&mut slot.overflowed);
                return Ok((raw, overflowed));
            }
            if let Some(e) = slot.error.take() {
                return Err(e);
            }
            if slot.ended {
                return Err("capture stopped".into());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!("no frame for {} s", FRAME_TIMEOUT.as_secs()));
            }
            slot = self
                .shared
                .ready
                .wait_timeout(slot, left)
                .map_err(|_| "capture thread died")?
                .0;
        }
    }
}

impl Drop for Camera {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn capture_loop(device: &v4l::Device, shared: &Shared, keep: usize) {
    use v4l::io::traits::CaptureStream;
    let result = (|| -> Result<(), String> {
        let mut stream =
            v4l::io::mmap::Stream::with_buffers(device, v4l::buffer::Type::VideoCapture, 4)
                .map_err(|e| format!("cannot start streaming: {e}"))?;
        stream.set_timeout(Duration::from_millis(500));
        while !shared.stop.load(Ordering::Relaxed) {
            let (buf, meta) = match stream.next() {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => return Err(format!("capture failed: {e}")),
            };
            let used = (meta.bytesused as usize).min(buf.len());
            if used == 0 {
                continue;
            }
            let raw = Raw {
                data: buf[..used].to_vec(),
                captured_at: Instant::now(),
            };
            let mut slot = shared.slot.lock().map_err(|_| "reader died")?;
            if slot.frames.len() >= keep {
                // Raw: the newest frame replaces the unread one. H.264: the chain is
                // broken; the reader waits for an IDR.
                slot.dropped += slot.frames.len() as u64;
                slot.frames.clear();
                slot.overflowed = true;
            }
            slot.frames.push_back(raw);
            drop(slot);
            shared.ready.notify_one();
        }
        Ok(())
    })();
    if let Ok(mut slot) = shared.slot.lock() {
        slot.error = result.err();
        slot.ended = true;
    }
    shared.ready.notify_all();
}

fn stopped(device: &str, reason: impl Into<String>) -> CaptureError {
    CaptureError::Stopped {
        source_name: format!("camera {device}"),
        reason: reason.into(),
    }
}

/// A V4L2 camera delivering raw frames (converted to I420 here).
pub struct V4l2Video {
    path: String,
    want: Wanted,
    camera: Option<(Camera, Choice)>,
    seq: u64,
}

impl V4l2Video {
    /// A camera at `path` (opened on the first read, and reopened after failures). The
    /// picture is delivered at the configured size: a camera that cannot offer it fails with
    /// a message naming what it offers.
    pub fn new(path: &str, want: Wanted) -> Self {
        Self {
            path: path.to_string(),
            want,
            camera: None,
            seq: 0,
        }
    }

    fn ensure_open(&mut self) -> Result<(), CaptureError> {
        if self.camera.is_none() {
            let (cam, choice) =
                Camera::open(&self.path, &self.want, 1).map_err(|e| stopped(&self.path, e))?;
            if (choice.width, choice.height) != (self.want.width, self.want.height) {
                return Err(stopped(
                    &self.path,
                    format!(
                        "the camera offers {}x{} at best, not the configured {}x{}: set \
                         video.width/height to a size `rtcam probe` lists",
                        choice.width, choice.height, self.want.width, self.want.height
                    ),
                ));
            }
            self.camera = Some((cam, choice));
        }
        Ok(())
    }
}

impl VideoSource for V4l2Video {
    fn name(&self) -> String {
        format!("camera {}", self.path)
    }

    fn format(&self) -> VideoFormat {
        VideoFormat {
            width: self.want.width,
            height: self.want.height,
            fps: self.want.fps,
        }
    }

    fn next_frame(&mut self) -> Result<VideoFrame, CaptureError> {
        self.ensure_open()?;
        let Some((cam, choice)) = &self.camera else {
            return Err(stopped(&self.path, "not open"));
        };
        let (raw, _) = match cam.next() {
            Ok(x) => x,
            Err(e) => {
                self.camera = None;
                return Err(stopped(&self.path, e));
            }
        };
        let data = to_i420(
            choice.format,
            &raw.data,
            choice.width,
            choice.height,
            cam.stride,
        )
        .map_err(|e| stopped(&self.path, format!("bad frame: {e}")))?;
        self.seq += 1;
        Ok(VideoFrame {
            width: choice.width,
            height: choice.height,
            data,
            captured_at: raw.captured_at,
            seq: self.seq - 1,
        })
    }
}

/// A V4L2 camera delivering H.264 (`video.format = "h264"`), passed through.
pub struct V4l2H264 {
    path: String,
    want: Wanted,
    camera: Option<Camera>,
    params: ParamSets,
}

impl V4l2H264 {
    pub fn new(path: &str, want: Wanted) -> Self {
        Self {
            path: path.to_string(),
            want: Wanted {
                format: Some(PixelFormat::H264),
                ..want
            },
            camera: None,
            params: ParamSets::default(),
        }
    }
}

impl H264Source for V4l2H264 {
    fn name(&self) -> String {
        format!("H.264 camera {}", self.path)
    }

    fn format(&self) -> VideoFormat {
        VideoFormat {
            width: self.want.width,
            height: self.want.height,
            fps: self.want.fps,
        }
    }

    fn next_access_unit(&mut self) -> Result<AccessUnit, CaptureError> {
        if self.camera.is_none() {
            let (cam, _) = Camera::open(&self.path, &self.want, H264_QUEUE)
                .map_err(|e| stopped(&self.path, e))?;
            self.camera = Some(cam);
            self.request_keyframe();
        }
        let Some(cam) = &self.camera else {
            return Err(stopped(&self.path, "not open"));
        };
        let (raw, overflowed) = match cam.next() {
            Ok(x) => x,
            Err(e) => {
                self.camera = None;
                return Err(stopped(&self.path, e));
            }
        };
        if overflowed {
            self.request_keyframe();
        }
        let (data, keyframe) = self.params.complete(&raw.data);
        Ok(AccessUnit {
            data,
            keyframe,
            captured_at: raw.captured_at,
        })
    }

    fn request_keyframe(&mut self) -> bool {
        let Some(cam) = &self.camera else {
            return false;
        };
        let ctrl = v4l::Control {
            id: CID_FORCE_KEY_FRAME,
            value: v4l::control::Value::None,
        };
        cam.device.set_control(ctrl).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(format: PixelFormat, width: u32, height: u32, fps: &[u32]) -> Offered {
        Offered {
            format,
            width,
            height,
            fps: fps.to_vec(),
        }
    }

    /// A typical UVC webcam: YUYV only up to 10 fps at 720p, MJPEG at 30.
    fn webcam() -> Vec<Offered> {
        vec![
            o(PixelFormat::Yuyv, 640, 480, &[30, 15]),
            o(PixelFormat::Yuyv, 1280, 720, &[10, 5]),
            o(PixelFormat::Mjpeg, 640, 480, &[30]),
            o(PixelFormat::Mjpeg, 1280, 720, &[30]),
            o(PixelFormat::H264, 1280, 720, &[30]),
        ]
    }

    fn want(width: u32, height: u32, fps: u32, format: Option<PixelFormat>) -> Wanted {
        Wanted {
            width,
            height,
            fps,
            format,
        }
    }

    #[test]
    fn auto_prefers_raw_formats_that_meet_size_and_rate() {
        let c = choose(&webcam(), &want(640, 480, 30, None)).unwrap();
        assert_eq!(c.format, PixelFormat::Yuyv);
        // YUYV cannot do 720p30: MJPEG can.
        let c = choose(&webcam(), &want(1280, 720, 30, None)).unwrap();
        assert_eq!((c.format, c.fps), (PixelFormat::Mjpeg, 30));
        // NV12 beats YUYV when both fit (no 4:2:2 → 4:2:0 step).
        let mut cam = webcam();
        cam.push(o(PixelFormat::Nv12, 640, 480, &[30]));
        assert_eq!(
            choose(&cam, &want(640, 480, 30, None)).unwrap().format,
            PixelFormat::Nv12
        );
    }

    #[test]
    fn falls_back_to_the_nearest_size_then_rate() {
        let c = choose(&webcam(), &want(800, 600, 30, None)).unwrap();
        assert_eq!((c.width, c.height), (640, 480));
        let c = choose(&webcam(), &want(1280, 720, 25, Some(PixelFormat::Yuyv))).unwrap();
        assert_eq!((c.width, c.height, c.fps), (1280, 720, 10));
    }

    #[test]
    fn an_explicit_format_is_respected_or_explained() {
        let c = choose(&webcam(), &want(1280, 720, 30, Some(PixelFormat::H264))).unwrap();
        assert_eq!(c.format, PixelFormat::H264);
        let err = choose(&webcam(), &want(640, 480, 30, Some(PixelFormat::Nv12))).unwrap_err();
        assert!(
            err.contains("nv12") && err.contains("yuyv 640x480"),
            "{err}"
        );
        let err = choose(&[], &want(640, 480, 30, None)).unwrap_err();
        assert!(err.contains("nothing rtcam can use"), "{err}");
    }

    #[test]
    fn a_missing_camera_is_a_clear_error() {
        let mut cam = V4l2Video::new("/dev/video-none", want(640, 480, 30, None));
        let err = cam.next_frame().unwrap_err().to_string();
        assert!(
            err.contains("/dev/video-none") && err.contains("cannot open"),
            "{err}"
        );
    }
}
