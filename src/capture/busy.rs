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
    grain: Vec<i8>,
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
                luma[row * 2 * w + col] = (smooth + detail).clamp(16, 235) as u8;
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
            .map(|_| (rng.next() % (2 * GRAIN as u32 + 1)) as i8 - GRAIN as i8)
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
            for ((out, t), g) in y[row * w..][..w].iter_mut().zip(src).zip(grain) {
                *out = (i16::from(*t) + i16::from(*g)).clamp(16, 235) as u8;
            }
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
