//! Access units of an elementary stream, and SPS/PPS kept ahead of every IDR.

use bytes::Bytes;

use super::{is_vcl, nal_type, split_nals, NAL_AUD, NAL_IDR, NAL_PPS, NAL_SEI, NAL_SPS};

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
    use crate::h264::nal_types;

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
