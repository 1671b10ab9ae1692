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

/// A fourcc as `v4l2-ctl` prints it: four characters (trailing spaces kept), with `-BE` when
/// the big-endian flag (bit 31) is set. Bytes that are not printable ASCII show as `?`.
pub fn fourcc_name(repr: [u8; 4]) -> String {
    let mut bytes = repr;
    let big_endian = bytes[3] & 0x80 != 0;
    bytes[3] &= 0x7f;
    let mut name: String = bytes
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    if big_endian {
        name.push_str("-BE");
    }
    name
}

#[cfg(test)]
mod tests {
    use super::fourcc_name;

    #[test]
    fn fourcc_names_match_v4l2_ctl() {
        assert_eq!(fourcc_name(*b"YUYV"), "YUYV");
        assert_eq!(fourcc_name(*b"Y16 "), "Y16 ");
        // V4L2_PIX_FMT_Y16_BE: 'Y16 ' with the big-endian flag; vivid offers it.
        assert_eq!(fourcc_name([b'Y', b'1', b'6', b' ' | 0x80]), "Y16 -BE");
        assert_eq!(fourcc_name([0, b'A', 0xff, b'B']), "?A?B");
    }
}
