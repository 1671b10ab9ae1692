use super::*;
use crate::clock::RealClock;
use crate::h264::split_access_units;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/synthetic-320x240-15fps.h264"
);

fn format(width: u32, height: u32) -> VideoFormat {
    VideoFormat {
        width,
        height,
        fps: 15,
    }
}

#[test]
fn h264_from_a_command_is_the_stream_it_wrote() {
    let recorded = split_access_units(&std::fs::read(FIXTURE).unwrap());
    let mut s = CommandH264::new(
        &format!("cat {FIXTURE}"),
        format(320, 240),
        Arc::new(RealClock),
    );
    let mut got = Vec::new();
    let err = loop {
        match s.next_access_unit() {
            Ok(au) => got.push(au),
            Err(e) => break e,
        }
    };
    // Every unit, the last one too (the command exited: its output is whole).
    assert_eq!(got.len(), recorded.len(), "{err}");
    assert!(got[0].keyframe, "the fixture starts with an IDR");
    for (au, rec) in got.iter().zip(&recorded) {
        assert_eq!(&au.data[..], &rec[..]);
    }
    assert!(err.to_string().contains("exited"), "{err}");
    assert!(
        !s.request_keyframe(),
        "a command cannot be asked for an IDR"
    );
}

#[test]
fn raw_pictures_from_a_command_and_a_partial_one_at_its_end() {
    // 64x48 I420 is 4608 bytes: two and a bit pictures.
    let cmd = "head -c 10000 /dev/zero";
    let mut s = CommandRaw::new(cmd, format(64, 48), Arc::new(RealClock));
    for seq in 0..2 {
        let f = s.next_frame().unwrap();
        assert_eq!(
            (f.width, f.height, f.data.len(), f.seq),
            (64, 48, 4608, seq)
        );
    }
    let err = s.next_frame().unwrap_err();
    assert!(err.to_string().contains("exited"), "{err}");
    assert!(s.buf.is_empty(), "the partial picture is not kept");
}
