use super::*;
use crate::capture::synthetic::SyntheticVideo;
use crate::capture::{stamp, VideoFormat, VideoSource};
use crate::clock::SimulatedClock;
use crate::h264::nal_types;
use openh264::formats::YUVSource;
use std::sync::Arc;

fn settings(temporal_layers: u8) -> H264Settings {
    H264Settings {
        width: 320,
        height: 240,
        fps: 30,
        bitrate_bps: 600_000,
        max_bitrate_bps: 2_000_000,
        keyframe_interval_frames: 60,
        temporal_layers,
    }
}

fn source() -> SyntheticVideo {
    let clock = Arc::new(SimulatedClock::new(1_000));
    let format = VideoFormat {
        width: 320,
        height: 240,
        fps: 30,
    };
    SyntheticVideo::new(format, clock)
}

/// A picture no encoder can squeeze: fresh pseudo-random texture everywhere, every frame.
fn noise(seed: u32) -> VideoFrame {
    let mut f = VideoFrame::black(320, 240, std::time::Instant::now(), seed.into());
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    for b in f.data.iter_mut() {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        *b = (x >> 24) as u8;
    }
    f
}

#[test]
fn idr_carries_sps_pps_and_forcing_works_and_stamps_survive() {
    let mut src = source();
    let mut enc = H264Encoder::new(settings(1)).unwrap();
    let mut dec = openh264::decoder::Decoder::new().unwrap();
    let mut kinds = Vec::new();
    for i in 0..40 {
        let frame = src.next_frame().unwrap();
        let out = enc.encode(&frame, i == 25).unwrap().expect("a frame");
        let types = nal_types(&out.data);
        if out.keyframe {
            assert!(
                types.starts_with(&[7, 8]),
                "SPS/PPS lead the IDR: {types:?}"
            );
            assert!(types.contains(&5), "{types:?}");
        } else {
            assert!(!types.contains(&5), "{types:?}");
        }
        assert_eq!(out.temporal_id, 0, "one layer");
        kinds.push(out.keyframe);
        let yuv = dec.decode(&out.data).unwrap().expect("decoded picture");
        let (w, h) = yuv.dimensions();
        assert_eq!((w, h), (320, 240));
        let s = stamp::read(w, h, yuv.y(), yuv.strides().0).expect("stamp survives");
        assert_eq!(s.frame, i);
    }
    assert!(kinds[0], "first frame is an IDR");
    assert!(kinds[25], "forced IDR");
    assert_eq!(kinds.iter().filter(|k| **k).count(), 2, "{kinds:?}");
}

#[test]
fn three_temporal_layers_and_the_base_alone_decodes() {
    let mut src = source();
    let mut enc = H264Encoder::new(settings(3)).unwrap();
    let mut full = openh264::decoder::Decoder::new().unwrap();
    let mut base = openh264::decoder::Decoder::new().unwrap();
    let mut half = openh264::decoder::Decoder::new().unwrap();
    let mut ids = Vec::new();
    let (mut base_pictures, mut half_pictures) = (0, 0);
    for i in 0..48u32 {
        let frame = src.next_frame().unwrap();
        let out = enc.encode(&frame, false).unwrap().expect("a frame");
        ids.push(out.temporal_id);
        let types = nal_types(&out.data);
        assert!(
            !types.contains(&14) && !types.contains(&20),
            "plain AVC: {types:?}"
        );
        full.decode(&out.data)
            .unwrap()
            .expect("full stream decodes");
        for (dec, max, count) in [
            (&mut base, 0, &mut base_pictures),
            (&mut half, 1, &mut half_pictures),
        ] {
            if out.temporal_id <= max {
                let yuv = dec
                    .decode(&out.data)
                    .unwrap()
                    .expect("thinned stream decodes");
                let (w, h) = yuv.dimensions();
                let s = stamp::read(w, h, yuv.y(), yuv.strides().0).expect("stamp");
                assert_eq!(s.frame, i, "the picture is the one sent");
                *count += 1;
            }
        }
    }
    assert_eq!(&ids[..8], &[0, 2, 1, 2, 0, 2, 1, 2], "{ids:?}");
    assert_eq!((base_pictures, half_pictures), (12, 24));
}

#[test]
fn bitrate_changes_at_run_time_up_to_the_ceiling() {
    let mut enc = H264Encoder::new(settings(1)).unwrap();
    let bytes_at = |enc: &mut H264Encoder, bps: u32, seed: u32| {
        enc.set_bitrate(bps).unwrap();
        let mut n = 0;
        // Skip the first second: the rate control needs a moment to settle.
        for i in 0..60 {
            if let Some(out) = enc.encode(&noise(seed + i), false).unwrap() {
                if i >= 30 {
                    n += out.data.len();
                }
            }
        }
        n * 8 // bits in one second
    };
    let low = bytes_at(&mut enc, 200_000, 0);
    let high = bytes_at(&mut enc, 1_600_000, 100);
    let capped = bytes_at(&mut enc, 50_000_000, 200);
    assert_eq!(enc.bitrate_bps(), 2_000_000, "clamped to the ceiling");
    assert!(low < 400_000, "{low} bit/s at 200 kbit/s");
    assert!(high > 3 * low, "{high} vs {low}");
    assert!(capped < 3_000_000, "{capped}");
    enc.set_frame_rate(10.0).unwrap();
}

#[test]
fn wrong_size_is_an_error_not_a_panic() {
    let mut enc = H264Encoder::new(settings(1)).unwrap();
    let frame = VideoFrame::black(640, 480, std::time::Instant::now(), 0);
    assert!(enc.encode(&frame, false).is_err());
}
