//! The frame stamp: a strip of black/white blocks at the top of synthetic pictures that carries
//! the frame number and the wall-clock capture time. The blocks are large and of extreme
//! contrast so they survive H.264 at ordinary bitrates; a viewer reads them back from decoded
//! pictures to measure latency and spot lost or reordered frames.
//!
//! Layout: [`ROWS`] rows of [`BITS_PER_ROW`] blocks, MSB first: 32-bit frame number, 48-bit
//! Unix milliseconds, 16-bit CRC-16/CCITT-FALSE over the 10 preceding bytes.

/// Blocks per row.
pub const BITS_PER_ROW: usize = 32;
/// Rows of blocks.
pub const ROWS: usize = 3;
/// Height of one block row in pixels.
pub const BLOCK_HEIGHT: usize = 16;
/// Total height of the strip in pixels.
pub const STRIP_HEIGHT: usize = ROWS * BLOCK_HEIGHT;

const WHITE: u8 = 235;
const BLACK: u8 = 16;

/// What a stamp carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Frame number (wraps at 2^32).
    pub frame: u32,
    /// Capture time, Unix milliseconds (48 bits kept).
    pub unix_ms: u64,
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= (b as u16) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

fn payload(stamp: Stamp) -> [u8; 12] {
    let mut p = [0u8; 12];
    p[..4].copy_from_slice(&stamp.frame.to_be_bytes());
    p[4..10].copy_from_slice(&stamp.unix_ms.to_be_bytes()[2..]);
    let crc = crc16(&p[..10]);
    p[10..].copy_from_slice(&crc.to_be_bytes());
    p
}

fn block_width(width: usize) -> usize {
    width / BITS_PER_ROW
}

/// Writes the stamp into the top of an I420 picture (`y` of `width`×`height`, `u`/`v` at half
/// resolution). Pictures must be at least 64 pixels wide and [`STRIP_HEIGHT`] high.
pub fn write(stamp: Stamp, width: usize, height: usize, y: &mut [u8], u: &mut [u8], v: &mut [u8]) {
    debug_assert!(width >= 64 && height >= STRIP_HEIGHT);
    let bytes = payload(stamp);
    let bw = block_width(width);
    for row in 0..ROWS {
        for py in row * BLOCK_HEIGHT..(row + 1) * BLOCK_HEIGHT {
            let line = &mut y[py * width..(py + 1) * width];
            for (bit, chunk) in line.chunks_mut(bw).enumerate().take(BITS_PER_ROW) {
                let index = row * BITS_PER_ROW + bit;
                let on = bytes[index / 8] & (0x80 >> (index % 8)) != 0;
                chunk.fill(if on { WHITE } else { BLACK });
            }
            // Pixels right of the last block stay black.
            line[bw * BITS_PER_ROW..].fill(BLACK);
        }
    }
    let cw = width / 2;
    for cy in 0..STRIP_HEIGHT / 2 {
        u[cy * cw..(cy + 1) * cw].fill(128);
        v[cy * cw..(cy + 1) * cw].fill(128);
    }
}

/// Reads a stamp back from a decoded luma plane with the given row stride. Returns `None`
/// when the picture carries no (intact) stamp.
pub fn read(width: usize, height: usize, y: &[u8], stride: usize) -> Option<Stamp> {
    if width < 64 || height < STRIP_HEIGHT || y.len() < stride * STRIP_HEIGHT {
        return None;
    }
    let bw = block_width(width);
    let mut bytes = [0u8; 12];
    for row in 0..ROWS {
        for bit in 0..BITS_PER_ROW {
            // Average the middle of the block, away from edges smeared by the codec.
            let (x0, x1) = (bit * bw + bw / 4, bit * bw + bw - bw / 4);
            let (y0, y1) = (
                row * BLOCK_HEIGHT + 4,
                row * BLOCK_HEIGHT + BLOCK_HEIGHT - 4,
            );
            let mut sum = 0u32;
            let mut n = 0u32;
            for py in y0..y1 {
                for px in x0..x1.max(x0 + 1) {
                    sum += y[py * stride + px] as u32;
                    n += 1;
                }
            }
            if sum / n > 128 {
                let index = row * BITS_PER_ROW + bit;
                bytes[index / 8] |= 0x80 >> (index % 8);
            }
        }
    }
    let crc = u16::from_be_bytes([bytes[10], bytes[11]]);
    if crc != crc16(&bytes[..10]) {
        return None;
    }
    let frame = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]);
    let mut ms = [0u8; 8];
    ms[2..].copy_from_slice(&bytes[4..10]);
    Some(Stamp {
        frame,
        unix_ms: u64::from_be_bytes(ms),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn picture(w: usize, h: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        (vec![90; w * h], vec![60; w * h / 4], vec![200; w * h / 4])
    }

    #[test]
    fn round_trips_at_several_sizes() {
        for (w, h) in [(640, 480), (320, 240), (128, 96), (1280, 720), (642, 480)] {
            let (mut y, mut u, mut v) = picture(w, h);
            let s = Stamp {
                frame: 0xDEAD_BEEF,
                unix_ms: 1_790_000_000_123,
            };
            write(s, w, h, &mut y, &mut u, &mut v);
            assert_eq!(read(w, h, &y, w), Some(s), "{w}x{h}");
        }
    }

    #[test]
    fn survives_noise_but_rejects_corruption() {
        let (w, h) = (320, 240);
        let (mut y, mut u, mut v) = picture(w, h);
        let s = Stamp {
            frame: 7,
            unix_ms: 42,
        };
        write(s, w, h, &mut y, &mut u, &mut v);
        // Mild codec-like noise keeps the stamp readable.
        for (i, px) in y.iter_mut().enumerate() {
            *px = px.saturating_add((i % 7) as u8 * 3).saturating_sub(9);
        }
        assert_eq!(read(w, h, &y, w), Some(s));
        // Flipping one block breaks the CRC.
        for py in 0..BLOCK_HEIGHT {
            for px in 0..w / BITS_PER_ROW {
                y[py * w + px] = 255 - y[py * w + px];
            }
        }
        assert_eq!(read(w, h, &y, w), None);
        // A picture without a stamp reads as none.
        assert_eq!(read(w, h, &vec![128; w * h], w), None);
    }

    /// The vector the viewer page's decoder is tested against too (web/tests/stamp.test.mjs):
    /// both sides are pinned to one file. `RTCAM_WRITE_FIXTURES=1` rewrites it after a
    /// deliberate change of the layout.
    #[test]
    fn matches_the_shared_test_vector() {
        use base64::Engine as _;
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/stamp-64x48.json");
        let (w, h) = (64, STRIP_HEIGHT);
        let s = Stamp {
            frame: 305_419_896,
            unix_ms: 1_733_000_000_123,
        };
        let (mut y, mut u, mut v) = picture(w, h);
        write(s, w, h, &mut y, &mut u, &mut v);
        let b64 = base64::engine::general_purpose::STANDARD;
        if std::env::var_os("RTCAM_WRITE_FIXTURES").is_some() {
            let json = serde_json::json!({
                "width": w, "height": h, "frame": s.frame, "unix_ms": s.unix_ms,
                "y_base64": b64.encode(&y),
            });
            let text = serde_json::to_string_pretty(&json).expect("json") + "\n";
            std::fs::write(path, text).expect("write the vector");
        }
        let text = std::fs::read_to_string(path).expect("tests/data/stamp-64x48.json");
        let vector: serde_json::Value = serde_json::from_str(&text).expect("vector JSON");
        assert_eq!(vector["width"], w);
        assert_eq!(vector["height"], h);
        assert_eq!(vector["frame"], s.frame);
        assert_eq!(vector["unix_ms"], s.unix_ms);
        let pinned = b64
            .decode(vector["y_base64"].as_str().expect("y_base64"))
            .expect("base64");
        assert_eq!(
            pinned, y,
            "the stamp layout changed: update the viewer page too"
        );
        assert_eq!(read(w, h, &pinned, w), Some(s));
    }
}
