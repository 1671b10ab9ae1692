//! An open camera: format set, mmap streaming on a thread of its own, buffers handed to the
//! reader through a small slot (newest frame for raw formats, a short queue for H.264).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::formats::offered;
use super::negotiate::{choose, Choice, Wanted};
use super::FRAME_TIMEOUT;

/// A captured buffer, sliced to `bytesused`.
pub(super) struct Raw {
    pub data: Vec<u8>,
    pub captured_at: Instant,
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
pub(super) struct Camera {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub device: Arc<v4l::Device>,
    pub stride: u32,
}

impl Camera {
    pub fn open(path: &str, want: &Wanted, keep: usize) -> Result<(Self, Choice), String> {
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
    pub fn next(&self) -> Result<(Raw, bool), String> {
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
