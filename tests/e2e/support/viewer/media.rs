//! The viewer's media: its talkback tone out, the device's video and audio in.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webrtc::rtp::codecs::h264::H264Packet;
use webrtc::rtp::packetizer::Depacketizer;
use webrtc::track::track_remote::TrackRemote;

use rtcam::capture::stamp;
use rtcam::h264::nal_types;

use super::{unix_ms, Decoded, Seen};

/// Sends a tone as 20 ms Opus packets, in real time, for at most 60 s.
pub(super) async fn talk(
    track: Arc<webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample>,
    hz: f32,
) {
    let mut encoder =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).expect("opus");
    let mut out = vec![0u8; 1500];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    for i in 0..3000usize {
        tick.tick().await;
        let pcm: Vec<i16> = (0..960)
            .map(|n| {
                let t = (i * 960 + n) as f32 / 48_000.0;
                ((t * hz * std::f32::consts::TAU).sin() * 12_000.0) as i16
            })
            .collect();
        let Ok(len) = encoder.encode(&pcm, &mut out) else {
            continue;
        };
        let sample = webrtc::media::Sample {
            data: bytes::Bytes::copy_from_slice(&out[..len]),
            duration: Duration::from_millis(20),
            ..Default::default()
        };
        if track.write_sample(&sample).await.is_err() {
            break;
        }
    }
}

pub(super) async fn read_video(track: Arc<TrackRemote>, seen: Arc<Mutex<Seen>>) {
    let mut decoder = openh264::decoder::Decoder::new().expect("openh264 decoder");
    let mut depacketizer = H264Packet::default();
    let mut access_unit: Vec<u8> = Vec::new();
    let mut last_seq: Option<u16> = None;
    let mut broken = false;
    while let Ok(Ok((pkt, _))) =
        tokio::time::timeout(Duration::from_secs(30), track.read_rtp()).await
    {
        if let Some(prev) = last_seq {
            if pkt.header.sequence_number != prev.wrapping_add(1) {
                broken = true; // lost packets: drop this access unit, let the decoder resync
            }
        }
        last_seq = Some(pkt.header.sequence_number);
        if let Ok(payload) = depacketizer.depacketize(&pkt.payload) {
            access_unit.extend_from_slice(&payload);
        }
        if !pkt.header.marker {
            continue;
        }
        let au = std::mem::take(&mut access_unit);
        if std::mem::take(&mut broken) || au.is_empty() {
            seen.lock().unwrap().undecodable += 1;
            continue;
        }
        let now = Instant::now();
        if nal_types(&au).contains(&5) {
            seen.lock().unwrap().idr_at.push(now);
        }
        match decoder.decode(&au) {
            Ok(Some(yuv)) => {
                use openh264::formats::YUVSource;
                let (w, h) = yuv.dimensions();
                let stride = yuv.strides().0;
                match stamp::read(w, h, yuv.y(), stride) {
                    Some(s) => seen.lock().unwrap().decoded.push(Decoded {
                        au_hash: {
                            use std::hash::{Hash, Hasher};
                            let mut h = std::collections::hash_map::DefaultHasher::new();
                            au.hash(&mut h);
                            h.finish()
                        },
                        frame: s.frame,
                        capture_ms: s.unix_ms,
                        decoded_ms: unix_ms(),
                        at: now,
                        width: w,
                        height: h,
                    }),
                    None => seen.lock().unwrap().unstamped += 1,
                }
            }
            Ok(None) => {}
            Err(_) => seen.lock().unwrap().undecodable += 1,
        }
    }
}

pub(super) async fn read_audio(track: Arc<TrackRemote>, seen: Arc<Mutex<Seen>>) {
    while let Ok(Ok((pkt, _))) =
        tokio::time::timeout(Duration::from_secs(30), track.read_rtp()).await
    {
        if !pkt.payload.is_empty() {
            seen.lock().unwrap().audio_at.push(Instant::now());
        }
    }
}
