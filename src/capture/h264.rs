//! Sources that deliver H.264 already encoded (UVC H.264 webcams, `rpicam-vid`-style V4L2
//! H.264 nodes, recorded streams): their access units go to the viewers as they are, without
//! decoding or re-encoding. This module holds the trait and the stream plumbing they share:
//! access-unit splitting and keeping SPS/PPS ahead of every IDR.

use std::time::Instant;

use bytes::Bytes;

use super::{CaptureError, VideoFormat};
use crate::encode::h264::split_nals;

/// One H.264 access unit (Annex B), as captured.
#[derive(Debug, Clone)]
pub struct AccessUnit {
    pub data: Bytes,
    /// Contains an IDR slice.
    pub keyframe: bool,
    pub captured_at: Instant,
}

/// A source of encoded H.264. Blocks like [`super::VideoSource::next_frame`].
pub trait H264Source: Send {
    /// Human-readable name for logs and errors.
    fn name(&self) -> String;
    /// Picture size and rate.
    fn format(&self) -> VideoFormat;
    /// Blocks until the next access unit; SPS/PPS are ahead of every IDR.
    fn next_access_unit(&mut self) -> Result<AccessUnit, CaptureError>;
    /// Asks for an IDR soon. Returns `false` when the source has no way to force one (its
    /// periodic IDRs are then the only ones).
    fn request_keyframe(&mut self) -> bool;
}

const NAL_SLICE: u8 = 1;
const NAL_IDR: u8 = 5;
const NAL_SEI: u8 = 6;
const NAL_SPS: u8 = 7;
const NAL_PPS: u8 = 8;
const NAL_AUD: u8 = 9;

fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map(|b| b & 0x1f).unwrap_or(0)
}

fn is_vcl(t: u8) -> bool {
    t == NAL_SLICE || t == NAL_IDR
}

/// Splits an Annex B elementary stream into access units (H.264 7.4.1.2.3: a new unit starts
/// at an AUD, SPS, PPS or SEI after a slice, or at a slice whose `first_mb_in_slice` is 0).
/// Each unit is returned with 4-byte start codes.
pub fn split_access_units(stream: &[u8]) -> Vec<Vec<u8>> {
    let mut units: Vec<Vec<u8>> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut current_has_vcl = false;
    for nal in split_nals(stream) {
        let t = nal_type(nal);
        // first_mb_in_slice is ue(v) right after the NAL header: a leading 1 bit means 0.
        let first_slice = is_vcl(t) && nal.get(1).is_some_and(|b| b & 0x80 != 0);
        let starts_new =
            current_has_vcl && (matches!(t, NAL_AUD | NAL_SPS | NAL_PPS | NAL_SEI) || first_slice);
        if starts_new {
            units.push(std::mem::take(&mut current));
            current_has_vcl = false;
        }
        current.extend_from_slice(&[0, 0, 0, 1]);
        current.extend_from_slice(nal);
        current_has_vcl |= is_vcl(t);
    }
    if current_has_vcl {
        units.push(current);
    }
    units
}

/// Keeps the latest SPS and PPS and puts them ahead of any IDR that arrives without them
/// (cameras often send them once, at stream start; a viewer joining later needs them).
#[derive(Debug, Default)]
pub struct ParamSets {
    sps: Option<Vec<u8>>,
    pps: Option<Vec<u8>>,
}

impl ParamSets {
    /// Returns the access unit ready to send and whether it is a keyframe.
    pub fn complete(&mut self, au: &[u8]) -> (Bytes, bool) {
        let (mut has_sps, mut has_pps, mut idr) = (false, false, false);
        for nal in split_nals(au) {
            match nal_type(nal) {
                NAL_SPS => {
                    has_sps = true;
                    self.sps = Some(nal.to_vec());
                }
                NAL_PPS => {
                    has_pps = true;
                    self.pps = Some(nal.to_vec());
                }
                NAL_IDR => idr = true,
                _ => {}
            }
        }
        if !idr || (has_sps && has_pps) {
            return (Bytes::copy_from_slice(au), idr);
        }
        let mut out = Vec::with_capacity(au.len() + 64);
        for (have, cached) in [(has_sps, &self.sps), (has_pps, &self.pps)] {
            if let (false, Some(nal)) = (have, cached) {
                out.extend_from_slice(&[0, 0, 0, 1]);
                out.extend_from_slice(nal);
            }
        }
        out.extend_from_slice(au);
        (Bytes::from(out), true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::h264::nal_types;

    fn nal(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 0, 1, t];
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn access_units_split_at_parameter_sets_and_first_slices() {
        let mut stream = Vec::new();
        // AU 1: SPS PPS IDR(two slices: first_mb 0, then not 0)
        stream.extend(nal(0x67, &[0x42]));
        stream.extend(nal(0x68, &[0xce]));
        stream.extend(nal(0x65, &[0x88, 1]));
        stream.extend(nal(0x65, &[0x40, 2]));
        // AU 2: P slice
        stream.extend(nal(0x41, &[0x9a, 3]));
        // AU 3: AUD, P slice
        stream.extend(nal(0x09, &[0xf0]));
        stream.extend(nal(0x41, &[0x9a, 4]));
        let units = split_access_units(&stream);
        assert_eq!(units.len(), 3);
        assert_eq!(nal_types(&units[0]), vec![7, 8, 5, 5]);
        assert_eq!(nal_types(&units[1]), vec![1]);
        assert_eq!(nal_types(&units[2]), vec![9, 1]);
    }

    #[test]
    fn idrs_without_parameter_sets_get_the_cached_ones() {
        let mut p = ParamSets::default();
        let mut first = nal(0x67, &[0x42]);
        first.extend(nal(0x68, &[0xce]));
        first.extend(nal(0x65, &[0x88]));
        let (out, key) = p.complete(&first);
        assert!(key);
        assert_eq!(&out[..], &first[..], "complete units pass unchanged");
        let (out, key) = p.complete(&nal(0x41, &[0x9a]));
        assert!(!key);
        assert_eq!(nal_types(&out), vec![1]);
        let (out, key) = p.complete(&nal(0x65, &[0x88]));
        assert!(key);
        assert_eq!(
            nal_types(&out),
            vec![7, 8, 5],
            "SPS and PPS put ahead of the IDR"
        );
    }
}
