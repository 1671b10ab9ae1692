//! Access units out of a byte stream that arrives in pieces (a producer's stdout): the same
//! boundaries as [`split_access_units`](super::split_access_units), found incrementally. A
//! unit is complete when the next one starts (the first NAL unit of the next picture, or its
//! delimiter or parameter sets), so a unit leaves one picture after it arrived unless the
//! producer starts each picture with an access unit delimiter sent with the picture before.
//! Garbage without start codes cannot grow memory: a NAL unit longer than [`MAX_NAL`] is
//! dropped.

use super::{is_vcl, nal_type, NAL_AUD, NAL_PPS, NAL_SEI, NAL_SPS};

/// Longest NAL unit kept (a 4K IDR fits many times over).
pub const MAX_NAL: usize = 8 * 1024 * 1024;

/// The incremental splitter.
#[derive(Debug, Default)]
pub struct AccessUnitStream {
    /// Bytes from the start of the pending NAL unit's payload (or of the stream, before the
    /// first start code).
    buf: Vec<u8>,
    /// Whether `buf` starts with a NAL unit (a start code was seen).
    in_nal: bool,
    /// How far `buf` has been searched for a start code.
    scanned: usize,
    current: Vec<u8>,
    current_has_vcl: bool,
    /// Bytes thrown away (before the first start code, or an oversized NAL unit).
    dropped: u64,
}

impl AccessUnitStream {
    /// Bytes dropped so far (not part of any NAL unit, or in one too long to keep).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Takes the next piece of the stream; returns the access units it completed (4-byte
    /// start codes, as [`split_access_units`](super::split_access_units) returns them).
    pub fn push(&mut self, data: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        self.buf.extend_from_slice(data);
        let mut i = self.scanned.saturating_sub(2);
        while i + 3 <= self.buf.len() {
            if self.buf[i] != 0 || self.buf[i + 1] != 0 || self.buf[i + 2] != 1 {
                i += 1;
                continue;
            }
            // A NAL unit (if one was open) ends here; the next one starts after the code.
            let mut end = i;
            if end > 0 && self.buf[end - 1] == 0 {
                end -= 1;
            }
            if self.in_nal {
                let nal = self.buf[..end].to_vec();
                self.nal(&nal, &mut out);
            } else {
                self.dropped += end as u64;
            }
            self.buf.drain(..i + 3);
            self.in_nal = true;
            i = 0;
        }
        self.scanned = self.buf.len();
        if self.buf.len() > MAX_NAL {
            self.dropped += self.buf.len() as u64;
            self.buf.clear();
            self.scanned = 0;
            self.in_nal = false;
        }
        out
    }

    /// The stream ended: the access units still held (the last one, if it has a picture).
    pub fn finish(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        if self.in_nal && !self.buf.is_empty() {
            let nal = std::mem::take(&mut self.buf);
            self.nal(&nal, &mut out);
        }
        if self.current_has_vcl {
            out.push(std::mem::take(&mut self.current));
        }
        *self = Self {
            dropped: self.dropped,
            ..Self::default()
        };
        out
    }

    fn nal(&mut self, nal: &[u8], out: &mut Vec<Vec<u8>>) {
        if nal.is_empty() {
            return;
        }
        let t = nal_type(nal);
        // first_mb_in_slice is ue(v) right after the NAL header: a leading 1 bit means 0.
        let first_slice = is_vcl(t) && nal.get(1).is_some_and(|b| b & 0x80 != 0);
        let starts_new = self.current_has_vcl
            && (matches!(t, NAL_AUD | NAL_SPS | NAL_PPS | NAL_SEI) || first_slice);
        if starts_new {
            out.push(std::mem::take(&mut self.current));
            self.current_has_vcl = false;
        }
        self.current.extend_from_slice(&[0, 0, 0, 1]);
        self.current.extend_from_slice(nal);
        self.current_has_vcl |= is_vcl(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h264::split_access_units;

    fn nal(t: u8, first_slice: bool, len: usize) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, 0x60 | t];
        v.push(if first_slice { 0x88 } else { 0x08 });
        v.extend((0..len).map(|i| (i % 200 + 2) as u8));
        v
    }

    /// SPS PPS IDR, then P P, then IDR (with parameter sets), then a two-slice P.
    fn stream() -> Vec<u8> {
        let mut s = Vec::new();
        for n in [
            nal(7, false, 10),
            nal(8, false, 4),
            nal(5, true, 3000),
            nal(1, true, 700),
            nal(1, true, 650),
            nal(9, false, 1),
            nal(7, false, 10),
            nal(8, false, 4),
            nal(5, true, 2500),
            nal(1, true, 400),
            nal(1, false, 380),
        ] {
            s.extend(n);
        }
        s
    }

    #[test]
    fn pieces_of_any_size_give_the_units_the_whole_stream_gives() {
        let whole = split_access_units(&stream());
        assert_eq!(whole.len(), 5);
        for piece in [1, 2, 3, 7, 64, 1000, 100_000] {
            let mut s = AccessUnitStream::default();
            let mut got = Vec::new();
            for chunk in stream().chunks(piece) {
                got.extend(s.push(chunk));
            }
            assert_eq!(
                got.len(),
                4,
                "the last unit waits for the next one ({piece})"
            );
            got.extend(s.finish());
            assert_eq!(got, whole, "pieces of {piece}");
            assert_eq!(s.dropped(), 0);
        }
    }

    #[test]
    fn garbage_is_dropped_and_memory_stays_bounded() {
        let mut s = AccessUnitStream::default();
        assert!(s.push(b"no start code here").is_empty());
        let mut got = s.push(&stream());
        got.extend(s.finish());
        assert_eq!(got.len(), 5, "units after the garbage still come");
        assert_eq!(s.dropped(), 18);
        // A NAL unit that never ends.
        let mut s = AccessUnitStream::default();
        s.push(&[0, 0, 1, 0x65, 0x88]);
        for _ in 0..10 {
            s.push(&vec![0xaa; MAX_NAL / 4]);
        }
        assert!(s.buf.len() <= MAX_NAL);
        assert!(s.dropped() > 0);
    }
}
