//! Camera pixel formats to the encoder's I420: YUYV through the `yuv` crate (SIMD, NEON on
//! ARM), MJPEG decoded by `zune-jpeg` then converted by `yuv`, NV12 by splitting its
//! interleaved chroma plane, YU12 (I420) copied without row padding. Every length is checked
//! first: a short or corrupt buffer is an error, never a panic.

use yuv::{
    rgb_to_yuv420, yuyv422_to_yuv420, BufferStoreMut, YuvConversionMode, YuvPackedImage,
    YuvPlanarImageMut, YuvRange, YuvStandardMatrix,
};

/// Formats rtcam reads from V4L2 cameras.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PixelFormat {
    /// Packed YUV 4:2:2, Y0 U Y1 V.
    Yuyv,
    /// Y plane, then interleaved UV at half resolution.
    Nv12,
    /// Planar I420 (Y, U, V).
    Yu12,
    /// Motion JPEG: one JPEG per frame.
    Mjpeg,
    /// H.264 from the camera's own encoder (passed through).
    H264,
}

impl PixelFormat {
    /// The V4L2 four-character code.
    pub fn fourcc(self) -> [u8; 4] {
        match self {
            Self::Yuyv => *b"YUYV",
            Self::Nv12 => *b"NV12",
            Self::Yu12 => *b"YU12",
            Self::Mjpeg => *b"MJPG",
            Self::H264 => *b"H264",
        }
    }

    /// The format for a V4L2 four-character code (`JPEG` counts as MJPEG).
    pub fn from_fourcc(code: [u8; 4]) -> Option<Self> {
        match &code {
            b"YUYV" => Some(Self::Yuyv),
            b"NV12" => Some(Self::Nv12),
            b"YU12" => Some(Self::Yu12),
            b"MJPG" | b"JPEG" => Some(Self::Mjpeg),
            b"H264" => Some(Self::H264),
            _ => None,
        }
    }

    /// Config spelling (`video.format`).
    pub fn config_name(self) -> &'static str {
        match self {
            Self::Yuyv => "yuyv",
            Self::Nv12 => "nv12",
            Self::Yu12 => "yu12",
            Self::Mjpeg => "mjpeg",
            Self::H264 => "h264",
        }
    }
}

/// Why a frame could not be converted.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConvertError {
    #[error("{format:?} frame of {width}x{height} needs {need} bytes, got {got}")]
    TooShort {
        format: PixelFormat,
        width: u32,
        height: u32,
        need: usize,
        got: usize,
    },
    #[error("odd picture size {width}x{height} (4:2:0 needs even sizes)")]
    OddSize { width: u32, height: u32 },
    #[error("MJPEG frame: {0}")]
    Jpeg(String),
    #[error("MJPEG frame is {got_w}x{got_h}, expected {width}x{height}")]
    JpegSize {
        width: u32,
        height: u32,
        got_w: usize,
        got_h: usize,
    },
    #[error("pixel conversion: {0}")]
    Yuv(String),
    #[error("{0:?} frames are not converted (they are passed through)")]
    NotRaw(PixelFormat),
}

/// Converts one frame to tightly packed I420. `stride` is the first plane's bytes per row as
/// the driver reported it (0 = minimal).
pub fn to_i420(
    format: PixelFormat,
    data: &[u8],
    width: u32,
    height: u32,
    stride: u32,
) -> Result<Vec<u8>, ConvertError> {
    if width % 2 != 0 || height % 2 != 0 || width == 0 || height == 0 {
        return Err(ConvertError::OddSize { width, height });
    }
    let (w, h) = (width as usize, height as usize);
    let mut out = vec![0u8; w * h * 3 / 2];
    let short = |need: usize| ConvertError::TooShort {
        format,
        width,
        height,
        need,
        got: data.len(),
    };
    match format {
        PixelFormat::Yuyv => {
            let stride = if stride == 0 { w * 2 } else { stride as usize };
            // The whole padded frame: the yuv crate checks (and would panic on) stride × height.
            let need = stride * h;
            if data.len() < need || stride < w * 2 {
                return Err(short(need));
            }
            let packed = YuvPackedImage {
                yuy: &data[..need],
                yuy_stride: stride as u32,
                width,
                height,
            };
            let mut planar = planar(&mut out, width, height);
            yuyv422_to_yuv420(&mut planar, &packed)
                .map_err(|e| ConvertError::Yuv(e.to_string()))?;
        }
        PixelFormat::Nv12 | PixelFormat::Yu12 => {
            let stride = if stride == 0 { w } else { stride as usize };
            // Chroma rows are half as wide as luma rows for YU12 and as wide for NV12.
            let chroma_stride = if format == PixelFormat::Nv12 {
                stride
            } else {
                stride / 2
            };
            let need = stride * h
                + chroma_stride * h / 2 * if format == PixelFormat::Nv12 { 1 } else { 2 };
            if data.len() < need || stride < w {
                return Err(short(need));
            }
            let (y_out, chroma_out) = out.split_at_mut(w * h);
            for (row, dst) in y_out.chunks_exact_mut(w).enumerate() {
                dst.copy_from_slice(&data[row * stride..row * stride + w]);
            }
            let (u_out, v_out) = chroma_out.split_at_mut(w * h / 4);
            let chroma = &data[stride * h..];
            let cw = w / 2;
            if format == PixelFormat::Nv12 {
                for row in 0..h / 2 {
                    let src = &chroma[row * chroma_stride..row * chroma_stride + w];
                    let (u, v) = (
                        &mut u_out[row * cw..(row + 1) * cw],
                        &mut v_out[row * cw..(row + 1) * cw],
                    );
                    for ((pair, u), v) in src.chunks_exact(2).zip(u).zip(v) {
                        *u = pair[0];
                        *v = pair[1];
                    }
                }
            } else {
                let v_start = chroma_stride * h / 2;
                for row in 0..h / 2 {
                    let s = row * chroma_stride;
                    u_out[row * cw..(row + 1) * cw].copy_from_slice(&chroma[s..s + cw]);
                    v_out[row * cw..(row + 1) * cw]
                        .copy_from_slice(&chroma[v_start + s..v_start + s + cw]);
                }
            }
        }
        PixelFormat::Mjpeg => {
            let rgb = decode_jpeg(data, width, height)?;
            let mut planar = planar(&mut out, width, height);
            rgb_to_yuv420(
                &mut planar,
                &rgb,
                width * 3,
                YuvRange::Limited,
                YuvStandardMatrix::Bt601,
                YuvConversionMode::Balanced,
            )
            .map_err(|e| ConvertError::Yuv(e.to_string()))?;
        }
        PixelFormat::H264 => return Err(ConvertError::NotRaw(format)),
    }
    Ok(out)
}

fn planar(out: &mut [u8], width: u32, height: u32) -> YuvPlanarImageMut<'_, u8> {
    let (w, h) = (width as usize, height as usize);
    let (y, chroma) = out.split_at_mut(w * h);
    let (u, v) = chroma.split_at_mut(w * h / 4);
    YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(y),
        y_stride: width,
        u_plane: BufferStoreMut::Borrowed(u),
        u_stride: width / 2,
        v_plane: BufferStoreMut::Borrowed(v),
        v_stride: width / 2,
        width,
        height,
    }
}

/// Decodes one MJPEG frame to packed RGB of the expected size.
fn decode_jpeg(data: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ConvertError> {
    use zune_jpeg::zune_core::bytestream::ZCursor;
    use zune_jpeg::zune_core::colorspace::ColorSpace;
    use zune_jpeg::zune_core::options::DecoderOptions;
    let options = DecoderOptions::default().jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(data), options);
    decoder
        .decode_headers()
        .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
    let (got_w, got_h) = decoder
        .dimensions()
        .ok_or_else(|| ConvertError::Jpeg("no picture size".into()))?;
    if got_w != width as usize || got_h != height as usize {
        return Err(ConvertError::JpegSize {
            width,
            height,
            got_w,
            got_h,
        });
    }
    let rgb = decoder
        .decode()
        .map_err(|e| ConvertError::Jpeg(e.to_string()))?;
    if rgb.len() < got_w * got_h * 3 {
        return Err(ConvertError::Jpeg("decoded picture is short".into()));
    }
    Ok(rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u32 = 64;
    const H: u32 = 48;

    /// A reference I420 picture: gradients in all three planes.
    fn reference() -> Vec<u8> {
        let (w, h) = (W as usize, H as usize);
        let mut p = vec![0u8; w * h * 3 / 2];
        for y in 0..h {
            for x in 0..w {
                p[y * w + x] = (16 + (x * 3 + y) % 200) as u8;
            }
        }
        for i in 0..w * h / 4 {
            p[w * h + i] = (64 + i % 128) as u8;
            p[w * h + w * h / 4 + i] = (192 - i % 128) as u8;
        }
        p
    }

    fn data(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn max_diff(a: &[u8], b: &[u8]) -> u8 {
        a.iter()
            .zip(b)
            .map(|(x, y)| x.abs_diff(*y))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn fixtures_convert_to_the_reference_picture() {
        let reference = data("ref-64x48.i420");
        assert_eq!(
            reference,
            super::tests::reference(),
            "fixture matches its generator"
        );
        // Lossless layouts: exact.
        let yu12 = to_i420(PixelFormat::Yu12, &data("ref-64x48.yu12"), W, H, 0).unwrap();
        assert_eq!(yu12, reference);
        let nv12 = to_i420(PixelFormat::Nv12, &data("ref-64x48.nv12"), W, H, 0).unwrap();
        assert_eq!(nv12, reference);
        // YUYV carries chroma per line pair twice: the yuv crate averages the pair, which
        // here are equal, so luma is exact and chroma within 1.
        let yuyv = to_i420(PixelFormat::Yuyv, &data("ref-64x48.yuyv"), W, H, 0).unwrap();
        let n = (W * H) as usize;
        assert_eq!(&yuyv[..n], &reference[..n]);
        assert!(max_diff(&yuyv[n..], &reference[n..]) <= 1);
    }

    #[test]
    fn mjpeg_fixture_decodes_close_to_the_reference() {
        let mjpeg = to_i420(PixelFormat::Mjpeg, &data("ref-64x48.mjpeg"), W, H, 0).unwrap();
        let reference = data("ref-64x48.i420");
        let n = (W * H) as usize;
        let luma_err = mjpeg[..n]
            .iter()
            .zip(&reference[..n])
            .map(|(a, b)| a.abs_diff(*b) as u32)
            .sum::<u32>() as f64
            / n as f64;
        assert!(
            luma_err < 4.0,
            "mean luma error {luma_err:.2} after JPEG at q=95"
        );
    }

    #[test]
    fn padded_rows_are_respected() {
        let reference = reference();
        let (w, h) = (W as usize, H as usize);
        // YU12 with 16 bytes of padding per luma row (8 per chroma row).
        let stride = w + 16;
        let mut padded = vec![0xAA; stride * h + stride / 2 * h];
        for y in 0..h {
            padded[y * stride..y * stride + w].copy_from_slice(&reference[y * w..(y + 1) * w]);
        }
        let (cw, cs) = (w / 2, stride / 2);
        for plane in 0..2 {
            for y in 0..h / 2 {
                let src = w * h + plane * cw * h / 2 + y * cw;
                let dst = stride * h + plane * cs * h / 2 + y * cs;
                padded[dst..dst + cw].copy_from_slice(&reference[src..src + cw]);
            }
        }
        let out = to_i420(PixelFormat::Yu12, &padded, W, H, stride as u32).unwrap();
        assert_eq!(out, reference);
    }

    #[test]
    fn padded_yuyv_converts_like_unpadded() {
        let packed = data("ref-64x48.yuyv");
        let (w, h) = (W as usize, H as usize);
        let stride = w * 2 + 32;
        let mut padded = vec![0x55; stride * h];
        for y in 0..h {
            padded[y * stride..y * stride + w * 2]
                .copy_from_slice(&packed[y * w * 2..(y + 1) * w * 2]);
        }
        let a = to_i420(PixelFormat::Yuyv, &packed, W, H, 0).unwrap();
        let b = to_i420(PixelFormat::Yuyv, &padded, W, H, stride as u32).unwrap();
        assert_eq!(a, b);
        // One byte short of the padded frame is refused, not a panic.
        assert!(to_i420(
            PixelFormat::Yuyv,
            &padded[..padded.len() - 1],
            W,
            H,
            stride as u32
        )
        .is_err());
    }

    #[test]
    fn bad_frames_are_errors_not_panics() {
        assert!(matches!(
            to_i420(PixelFormat::Yuyv, &[0; 100], W, H, 0),
            Err(ConvertError::TooShort { .. })
        ));
        assert!(matches!(
            to_i420(PixelFormat::Nv12, &[0; 100], W, H, 0),
            Err(ConvertError::TooShort { .. })
        ));
        assert!(matches!(
            to_i420(PixelFormat::Mjpeg, b"\xff\xd8 not a jpeg", W, H, 0),
            Err(ConvertError::Jpeg(_))
        ));
        assert!(matches!(
            to_i420(PixelFormat::Yuyv, &[0; 10_000], 63, 48, 0),
            Err(ConvertError::OddSize { .. })
        ));
        assert!(matches!(
            to_i420(PixelFormat::H264, &[0; 10], W, H, 0),
            Err(ConvertError::NotRaw(_))
        ));
        assert_eq!(PixelFormat::from_fourcc(*b"MJPG"), Some(PixelFormat::Mjpeg));
        assert_eq!(PixelFormat::from_fourcc(*b"RGB3"), None);
    }
}
