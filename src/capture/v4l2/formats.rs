//! What a device offers: its formats, sizes and rates, read through the V4L2 enumeration ioctls.

use super::negotiate::Offered;
use crate::capture::convert::PixelFormat;

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
