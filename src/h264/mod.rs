//! H.264 Annex B plumbing shared by every stage: NAL unit splitting and types, access-unit
//! splitting (whole buffers and streams that arrive in pieces) and parameter sets. A leaf: it
//! imports nothing of the crate.

mod access_units;
mod stream;

pub use access_units::{split_access_units, ParamSets};
pub use stream::{AccessUnitStream, MAX_NAL};

/// Coded slice of a non-IDR picture.
pub const NAL_SLICE: u8 = 1;
/// Coded slice of an IDR picture.
pub const NAL_IDR: u8 = 5;
/// Supplemental enhancement information.
pub const NAL_SEI: u8 = 6;
/// Sequence parameter set.
pub const NAL_SPS: u8 = 7;
/// Picture parameter set.
pub const NAL_PPS: u8 = 8;
/// Access unit delimiter.
pub const NAL_AUD: u8 = 9;

/// The type of one NAL unit (without its start code); 0 for an empty one.
pub fn nal_type(nal: &[u8]) -> u8 {
    nal.first().map(|b| b & 0x1f).unwrap_or(0)
}

/// Whether a NAL unit of type `t` carries picture data (a slice).
pub fn is_vcl(t: u8) -> bool {
    t == NAL_SLICE || t == NAL_IDR
}

/// NAL unit types in an Annex B buffer, in order.
pub fn nal_types(annex_b: &[u8]) -> Vec<u8> {
    split_nals(annex_b).map(nal_type).collect()
}

/// Splits an Annex B buffer into NAL units (without start codes).
pub fn split_nals(annex_b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut i = 0;
    while i + 3 <= annex_b.len() {
        if annex_b[i] == 0 && annex_b[i + 1] == 0 && annex_b[i + 2] == 1 {
            starts.push(i + 3);
            i += 3;
        } else {
            i += 1;
        }
    }
    let ends: Vec<usize> = starts
        .iter()
        .skip(1)
        .map(|&s| {
            // Drop the start code and a leading zero of a 4-byte start code.
            let mut e = s - 3;
            if e > 0 && annex_b[e - 1] == 0 {
                e -= 1;
            }
            e
        })
        .chain(std::iter::once(annex_b.len()))
        .collect();
    starts
        .into_iter()
        .zip(ends)
        .filter(|(s, e)| e > s)
        .map(move |(s, e)| &annex_b[s..e])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_three_and_four_byte_start_codes() {
        let buf = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5,
        ];
        let nals: Vec<_> = split_nals(&buf).collect();
        assert_eq!(
            nals,
            vec![&[0x67, 1, 2][..], &[0x68, 3][..], &[0x65, 4, 5][..]]
        );
    }
}
