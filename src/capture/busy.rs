//! The demanding synthetic picture: a detailed texture panning diagonally under film grain.
//! Nothing in it repeats from one picture to the next, so an encoder needs all the bitrate it
//! is given (the bars pattern needs about 200 kbit/s at 640x480, whatever the target): this
//! is what the network tests and benchmarks stress links with. Cheap to draw: the texture
//! and the grain are made once, each picture copies a window and adds an offset of grain.

/// Grain amplitude (luma steps either way).
const GRAIN: i16 = 2;
/// Fine detail of the texture (luma steps either way).
const DETAIL: i32 = 8;
/// Pan, pixels per picture.
const PAN: (usize, usize) = (3, 1);

pub(super) struct Busy {
    width: usize,
    height: usize,
    /// Luma texture of 2w x 2h, and chroma of w x h (the quarter-size planes, doubled).
    luma: Vec<u8>,
    chroma_u: Vec<u8>,
    chroma_v: Vec<u8>,
    /// Grain in -GRAIN..=GRAIN, as wrapping bytes.
    grain: Vec<u8>,
}

struct XorShift(u32);

impl XorShift {
    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }
}

/// `out = texture + grain` (each byte wrapping; the texture keeps clear of the limits, so
/// nothing wraps in fact), eight pixels per 64-bit add: the loop stays cheap in the
/// size-optimised release profile, which does not vectorise it.
fn add_grain(out: &mut [u8], texture: &[u8], grain: &[u8]) {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut out_words = out.chunks_exact_mut(8);
    let mut tex_words = texture.chunks_exact(8);
    let mut grain_words = grain.chunks_exact(8);
    for ((o, t), g) in (&mut out_words).zip(&mut tex_words).zip(&mut grain_words) {
        let word = |b: &[u8]| u64::from_ne_bytes(b.try_into().unwrap_or([0; 8]));
        let (t, g) = (word(t), word(g));
        // Byte-wise add: the low seven bits add without crossing bytes, the top bits by xor.
        let sum = ((t & LOW7) + (g & LOW7)) ^ ((t ^ g) & !LOW7);
        o.copy_from_slice(&sum.to_ne_bytes());
    }
    let rest = out_words.into_remainder();
    for ((o, t), g) in rest
        .iter_mut()
        .zip(tex_words.remainder())
        .zip(grain_words.remainder())
    {
        *o = t.wrapping_add(*g);
    }
}

impl Busy {
    pub fn new(width: u32, height: u32) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut rng = XorShift(0x9E37_79B9);
        // Detail at a 2-pixel scale over smooth gradients: hard but not pure noise.
        // Smooth blobs (a random grid every 16 pixels, interpolated: what a motion search
        // locks on to and intra coding handles) with fine detail on top.
        let (gw, gh) = (2 * w / 16 + 2, 2 * h / 16 + 2);
        let grid: Vec<i32> = (0..gw * gh)
            .map(|_| 40 + (rng.next() % 170) as i32)
            .collect();
        let mut luma = vec![0u8; 4 * w * h];
        for row in 0..2 * h {
            let (gy, fy) = (row / 16, (row % 16) as i32);
            for col in 0..2 * w {
                let (gx, fx) = (col / 16, (col % 16) as i32);
                let at = |x: usize, y: usize| grid[y * gw + x];
                let top = at(gx, gy) * (16 - fx) + at(gx + 1, gy) * fx;
                let bottom = at(gx, gy + 1) * (16 - fx) + at(gx + 1, gy + 1) * fx;
                let smooth = (top * (16 - fy) + bottom * fy) / 256;
                let detail = (rng.next() % (2 * DETAIL as u32 + 1)) as i32 - DETAIL;
                // Kept GRAIN away from the limits, so adding grain needs no clamp.
                let (lo, hi) = (16 + i32::from(GRAIN), 235 - i32::from(GRAIN));
                luma[row * 2 * w + col] = (smooth + detail).clamp(lo, hi) as u8;
            }
        }
        let chroma = |rng: &mut XorShift| {
            (0..w * h)
                .map(|i| (96 + (i % 64) as u32 / 2 + rng.next() % 32) as u8)
                .collect()
        };
        let chroma_u = chroma(&mut rng);
        let chroma_v = chroma(&mut rng);
        let grain = (0..w * h + 4099)
            .map(|_| ((rng.next() % (2 * GRAIN as u32 + 1)) as i8 - GRAIN as i8) as u8)
            .collect();
        Self {
            width: w,
            height: h,
            luma,
            chroma_u,
            chroma_v,
            grain,
        }
    }

    /// Draws picture `seq` into the three planes.
    pub fn draw(&self, seq: u64, y: &mut [u8], u: &mut [u8], v: &mut [u8]) {
        let (w, h) = (self.width, self.height);
        let (dx, dy) = ((seq as usize * PAN.0) % w, (seq as usize * PAN.1) % h);
        let grain_at = (seq as usize * 1237) % 4099;
        for row in 0..h {
            let src = &self.luma[(row + dy) * 2 * w + dx..][..w];
            let grain = &self.grain[row * w + grain_at..][..w];
            add_grain(&mut y[row * w..][..w], src, grain);
        }
        let (cw, ch) = (w / 2, h / 2);
        let (cx, cy) = (dx / 2, dy / 2);
        for row in 0..ch {
            let from = ((row + cy) % h) * w + cx;
            u[row * cw..][..cw].copy_from_slice(&self.chroma_u[from..][..cw]);
            v[row * cw..][..cw].copy_from_slice(&self.chroma_v[from..][..cw]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grain_adds_byte_by_byte() {
        let texture: Vec<u8> = (0..37).map(|i| 18 + (i * 37 % 216) as u8).collect();
        let grain: Vec<u8> = (0..37).map(|i| ((i % 5) as i8 - 2) as u8).collect();
        let mut out = vec![0u8; 37];
        add_grain(&mut out, &texture, &grain);
        for i in 0..37 {
            assert_eq!(out[i], texture[i].wrapping_add(grain[i]), "pixel {i}");
        }
    }

    #[test]
    fn pictures_stay_in_limited_range() {
        let busy = Busy::new(64, 48);
        let (mut y, mut u, mut v) = (vec![0; 64 * 48], vec![0; 32 * 24], vec![0; 32 * 24]);
        for seq in 0..10 {
            busy.draw(seq, &mut y, &mut u, &mut v);
            assert!(y.iter().all(|p| (16..=235).contains(p)), "picture {seq}");
        }
    }
}
