//! Half-size pictures, for links too slow for the full size: a 2x2 box average of each plane
//! (cheap, and what an encoder at a low bitrate would blur away anyway). The frame stamp of a
//! synthetic picture is carried over at its normal size, so viewers still read it.

use super::{stamp, VideoFrame};

/// Whether a picture of this size can be halved (both halves even, the stamp still fits).
pub fn can_halve(width: u32, height: u32) -> bool {
    width % 4 == 0 && height % 4 == 0 && width / 2 >= 64 && height / 2 >= stamp::STRIP_HEIGHT as u32
}

fn halve_plane(src: &[u8], w: usize, h: usize, dst: &mut [u8]) {
    let (hw, hh) = (w / 2, h / 2);
    for row in 0..hh {
        let (a, b) = (&src[2 * row * w..][..w], &src[(2 * row + 1) * w..][..w]);
        for (col, out) in dst[row * hw..][..hw].iter_mut().enumerate() {
            let sum = u16::from(a[2 * col])
                + u16::from(a[2 * col + 1])
                + u16::from(b[2 * col])
                + u16::from(b[2 * col + 1]);
            *out = ((sum + 2) / 4) as u8;
        }
    }
}

/// `frame` at half its width and height (call only when [`can_halve`] says so).
pub fn halve(frame: &VideoFrame) -> VideoFrame {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let mut out = VideoFrame::black(
        frame.width / 2,
        frame.height / 2,
        frame.captured_at,
        frame.seq,
    );
    let (sy, su, sv) = frame.planes();
    let carried = stamp::read(w, h, sy, w);
    {
        let (dy, du, dv) = out.planes_mut();
        halve_plane(sy, w, h, dy);
        halve_plane(su, w / 2, h / 2, du);
        halve_plane(sv, w / 2, h / 2, dv);
        if let Some(s) = carried {
            stamp::write(s, w / 2, h / 2, dy, du, dv);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::synthetic::SyntheticVideo;
    use crate::capture::{VideoFormat, VideoSource};
    use crate::clock::SimulatedClock;
    use std::sync::Arc;

    #[test]
    fn half_size_keeps_the_picture_and_its_stamp() {
        let clock = Arc::new(SimulatedClock::new(1_700_000_000_000));
        let format = VideoFormat {
            width: 640,
            height: 480,
            fps: 30,
        };
        let frame = SyntheticVideo::new(format, clock).next_frame().unwrap();
        let half = halve(&frame);
        assert_eq!((half.width, half.height), (320, 240));
        let s = stamp::read(320, 240, half.planes().0, 320).expect("stamp carried over");
        assert_eq!(s.frame, 0);
        // Below the stamp, a pixel is the average of its four.
        let (y, hy) = (frame.planes().0, half.planes().0);
        let (r, c) = (100, 50);
        let avg = (u16::from(y[2 * r * 640 + 2 * c])
            + u16::from(y[2 * r * 640 + 2 * c + 1])
            + u16::from(y[(2 * r + 1) * 640 + 2 * c])
            + u16::from(y[(2 * r + 1) * 640 + 2 * c + 1])
            + 2)
            / 4;
        assert_eq!(u16::from(hy[r * 320 + c]), avg);
        assert!(can_halve(640, 480) && can_halve(1280, 720));
        assert!(!can_halve(642, 480) && !can_halve(120, 96));
    }
}
