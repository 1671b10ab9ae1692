use rtcam::capture::synthetic::SyntheticVideo;
use rtcam::capture::{VideoFormat, VideoSource};
use rtcam::clock::SimulatedClock;
use rtcam::encode::openh264::{H264Encoder, H264Settings};
use std::sync::Arc;
fn main() {
    for (w, h, fps) in [
        (640u32, 480u32, 15u32),
        (640, 480, 30),
        (320, 240, 15),
        (320, 240, 30),
    ] {
        for layers in [1u8, 3] {
            for kbps in [50u32, 80, 120] {
                let clock = Arc::new(SimulatedClock::new(1_000));
                let mut src = SyntheticVideo::new(
                    VideoFormat {
                        width: w,
                        height: h,
                        fps,
                    },
                    clock.clone(),
                );
                let mut enc = H264Encoder::new(H264Settings {
                    width: w,
                    height: h,
                    fps,
                    bitrate_bps: kbps * 1000,
                    max_bitrate_bps: 1_500_000,
                    keyframe_interval_frames: fps * 2,
                    temporal_layers: layers,
                })
                .unwrap();
                let mut bytes = 0usize;
                let mut n = 0;
                let mut idr = 0usize;
                let frames = fps * 10;
                for i in 0..frames {
                    let f = src.next_frame().unwrap();
                    if let Some(o) = enc.encode(&f, false).unwrap() {
                        if i >= fps * 2 {
                            bytes += o.data.len();
                            n += 1;
                            if o.keyframe {
                                idr = o.data.len();
                            }
                        }
                    }
                }
                println!(
                    "{w}x{h}@{fps} L{layers} {kbps}k: {:.0} kbit/s, {:.1} fps, last IDR {} B",
                    bytes as f64 * 8.0 / 8.0 / 1000.0,
                    n as f64 / 8.0,
                    idr
                );
            }
        }
    }
}
