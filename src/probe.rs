//! `rtcam probe`: every V4L2 capture device with its driver, formats, sizes and rates, the
//! libcamera cameras (Raspberry Pi camera modules, through `rpicam-hello --list-cameras`),
//! every ALSA capture and playback device, and the configuration rtcam would pick: the
//! answers of `v4l2-ctl --list-formats-ext`, `rpicam-hello` and `arecord -l` in one place.

use std::fmt::Write as _;

use crate::capture::convert::PixelFormat;
use crate::capture::v4l2::{choose, fourcc_name, offered, Offered, Wanted};
use crate::config::Config;

/// One V4L2 node.
#[derive(Debug)]
pub struct Camera {
    pub path: String,
    pub card: String,
    pub driver: String,
    pub bus: String,
    pub capture: bool,
    pub offered: Vec<Offered>,
    /// Formats the device has that rtcam does not read.
    pub other_formats: Vec<String>,
}

/// One ALSA PCM.
#[derive(Debug)]
pub struct Pcm {
    pub name: String,
    pub description: String,
    pub capture: bool,
    pub playback: bool,
}

/// Lists V4L2 nodes (`/dev/video*`). Nodes that cannot be opened are reported with the error.
pub fn cameras() -> Vec<Result<Camera, String>> {
    let mut nodes: Vec<_> = v4l::context::enum_devices();
    nodes.sort_by_key(|n| n.path().to_path_buf());
    nodes
        .into_iter()
        .map(|node| {
            let path = node.path().display().to_string();
            let dev = v4l::Device::with_path(node.path())
                .map_err(|e| format!("{path}: cannot open: {e}"))?;
            let caps = dev
                .query_caps()
                .map_err(|e| format!("{path}: not a V4L2 device: {e}"))?;
            let capture = caps.capabilities.contains(
                v4l::capability::Flags::VIDEO_CAPTURE | v4l::capability::Flags::STREAMING,
            );
            let (offered, other_formats) = if capture {
                use v4l::video::Capture;
                let other = dev
                    .enum_formats()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|d| PixelFormat::from_fourcc(d.fourcc.repr).is_none())
                    .map(|d| format!("{} ({})", fourcc_name(d.fourcc.repr), d.description))
                    .collect();
                (offered(&dev).unwrap_or_default(), other)
            } else {
                (Vec::new(), Vec::new())
            };
            Ok(Camera {
                path,
                card: caps.card,
                driver: caps.driver,
                bus: caps.bus,
                capture,
                offered,
                other_formats,
            })
        })
        .collect()
}

/// Lists ALSA PCM devices from alsa-lib's hints (cards and configured plugins).
pub fn pcms() -> Result<Vec<Pcm>, String> {
    let hints = alsa::device_name::HintIter::new_str(None, "pcm")
        .map_err(|e| format!("cannot list ALSA devices: {e}"))?;
    Ok(hints
        .filter_map(|h| {
            let name = h.name?;
            let description = h
                .desc
                .unwrap_or_default()
                .replace('\n', " — ")
                .trim()
                .to_string();
            // No direction in the hint means both.
            let (capture, playback) = match h.direction {
                Some(alsa::Direction::Capture) => (true, false),
                Some(alsa::Direction::Playback) => (false, true),
                None => (true, true),
            };
            Some(Pcm {
                name,
                description,
                capture,
                playback,
            })
        })
        .collect())
}

fn fps_list(fps: &[u32]) -> String {
    if fps.is_empty() {
        "any fps".into()
    } else {
        let list: Vec<String> = fps.iter().map(|f| f.to_string()).collect();
        format!("{} fps", list.join("/"))
    }
}

/// What `rpicam-hello --list-cameras` prints (libcamera's cameras), `None` when rpicam-apps
/// is not installed. Bounded: a tool that hangs is killed after 10 s.
pub fn libcamera() -> Option<Result<String, String>> {
    use std::process::{Command, Stdio};
    let mut child = match Command::new("rpicam-hello")
        .arg("--list-cameras")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(format!("rpicam-hello: {e}"))),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return Some(
                child
                    .wait_with_output()
                    .map(|o| {
                        String::from_utf8_lossy(&o.stdout).into_owned()
                            + &String::from_utf8_lossy(&o.stderr)
                    })
                    .map_err(|e| format!("rpicam-hello: {e}")),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    Some(Err(
        "rpicam-hello --list-cameras did not answer within 10 s".into(),
    ))
}

/// The `rpicam-vid` command line for `config`'s size and rate (hardware H.264 on a Pi 4).
pub fn rpicam_vid_command(config: &Config) -> String {
    let v = &config.video;
    format!(
        "rpicam-vid -t 0 -n --codec h264 --profile baseline --inline --intra {fps} --width {w} --height {h} --framerate {fps} -o -",
        fps = v.fps,
        w = v.width,
        h = v.height
    )
}

/// The report printed by `rtcam probe`, for the wanted size/rate of `config`.
pub fn report(
    config: &Config,
    cameras: &[Result<Camera, String>],
    libcamera: &Option<Result<String, String>>,
    pcms: &Result<Vec<Pcm>, String>,
) -> String {
    let mut out = String::new();
    let v = &config.video;
    let want = Wanted {
        width: v.width,
        height: v.height,
        fps: v.fps,
        format: crate::capture::open::pixel_format(v.format),
    };
    let _ = writeln!(out, "Video (V4L2)");
    let mut pick: Option<(String, String)> = None;
    if cameras.is_empty() {
        let _ = writeln!(out, "  no V4L2 devices (/dev/video*) on this machine");
    }
    for cam in cameras {
        match cam {
            Err(e) => {
                let _ = writeln!(out, "  {e}");
            }
            Ok(c) if !c.capture => {
                let _ = writeln!(
                    out,
                    "  {}  {} ({}, {}): not a capture node (metadata/output/codec)",
                    c.path, c.card, c.driver, c.bus
                );
            }
            Ok(c) => {
                let _ = writeln!(out, "  {}  {} ({}, {})", c.path, c.card, c.driver, c.bus);
                for o in &c.offered {
                    let _ = writeln!(
                        out,
                        "      {:<6} {:>4}x{:<4} {}",
                        o.format.config_name(),
                        o.width,
                        o.height,
                        fps_list(&o.fps)
                    );
                }
                for other in &c.other_formats {
                    let _ = writeln!(out, "      (not used by rtcam: {other})");
                }
                match choose(&c.offered, &want) {
                    Ok(ch) => {
                        let line = format!(
                            "source = \"v4l2\", device = \"{}\", format = \"{}\", width = {}, height = {}, fps = {}",
                            c.path,
                            if want.format.is_some() { ch.format.config_name() } else { "auto" },
                            ch.width,
                            ch.height,
                            ch.fps
                        );
                        let _ = writeln!(
                            out,
                            "      -> would capture {} {}x{} at {} fps",
                            ch.format.config_name(),
                            ch.width,
                            ch.height,
                            ch.fps
                        );
                        pick.get_or_insert((c.path.clone(), line));
                    }
                    Err(e) => {
                        let _ = writeln!(
                            out,
                            "      -> unusable for {}x{}@{}: {e}",
                            want.width, want.height, want.fps
                        );
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "\nVideo (libcamera: Raspberry Pi camera modules)");
    let mut libcamera_found = false;
    match libcamera {
        None => {
            let _ = writeln!(
                out,
                "  rpicam-hello not installed (camera modules need rpicam-apps)"
            );
        }
        Some(Err(e)) => {
            let _ = writeln!(out, "  {e}");
        }
        Some(Ok(text)) => {
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let _ = writeln!(out, "  {line}");
                // Camera lines look like "0 : imx708 [4608x2592 10-bit RGGB] (/base/…)".
                libcamera_found |= line
                    .trim_start()
                    .split_once(" : ")
                    .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
            }
        }
    }
    let _ = writeln!(out, "\nAudio (ALSA)");
    let (mut capture, mut playback) = (None, None);
    match pcms {
        Err(e) => {
            let _ = writeln!(out, "  {e}");
        }
        Ok(list) if list.is_empty() => {
            let _ = writeln!(out, "  no ALSA devices on this machine");
        }
        Ok(list) => {
            for p in list {
                let dir = match (p.capture, p.playback) {
                    (true, true) => "capture+playback",
                    (true, false) => "capture",
                    _ => "playback",
                };
                let _ = writeln!(out, "  {:<40} {:<17} {}", p.name, dir, p.description);
                // Real cards first: skip alsa-lib's plumbing for the suggestion.
                let plumbing = matches!(
                    p.name.as_str(),
                    "null"
                        | "pulse"
                        | "jack"
                        | "oss"
                        | "lavrate"
                        | "samplerate"
                        | "speexrate"
                        | "upmix"
                        | "vdownmix"
                        | "speex"
                );
                if !plumbing {
                    if p.capture && capture.is_none() {
                        capture = Some(p.name.clone());
                    }
                    if p.playback && playback.is_none() {
                        playback = Some(p.name.clone());
                    }
                }
            }
        }
    }
    let _ = writeln!(out, "\nSuggested configuration");
    match &pick {
        Some((_, line)) => {
            let _ = writeln!(out, "  [video] {line}");
        }
        None if libcamera_found => {
            let _ = writeln!(
                out,
                "  [video] source = \"command\", format = \"h264\", command = \"{}\"",
                rpicam_vid_command(config)
            );
        }
        None => {
            let _ = writeln!(
                out,
                "  [video] no usable camera: source = \"synthetic\" (the test pattern)"
            );
        }
    }
    match &capture {
        Some(d) => {
            let _ = writeln!(out, "  [audio] source = \"alsa\", device = \"{d}\"");
        }
        None => {
            let _ = writeln!(
                out,
                "  [audio] no microphone: source = \"synthetic\", or enabled = false"
            );
        }
    }
    match &playback {
        Some(d) => {
            let _ = writeln!(
                out,
                "  [audio] talkback_device = \"{d}\"   (talkback; empty = off)"
            );
        }
        None => {
            let _ = writeln!(out, "  [audio] no speaker: talkback stays off");
        }
    }
    out
}

#[cfg(test)]
mod tests;
