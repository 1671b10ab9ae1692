//! Negotiation, pure: from what a camera offers, the format, size and rate to capture.

use crate::capture::convert::PixelFormat;

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
}
