//! The viewer's media: its talkback tone out, the device's video and audio in.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtp::codecs::h264::H264Packet;
use webrtc::rtp::packetizer::Depacketizer;
use webrtc::track::track_remote::TrackRemote;

use rtcam::capture::stamp;
use rtcam::fanout::codecs::ZERO_PLAYOUT_DELAY;
use rtcam::h264::nal_types;

use super::jitter::{Jitter, Out};
use super::{unix_ms, Decoded, Seen};

/// Sends a tone as 20 ms Opus packets, in real time, for at most 60 s.
pub async fn talk(
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

/// Sends a PLI for `ssrc`.
async fn pli(pc: &RTCPeerConnection, ssrc: u32) {
    let _ = pc
        .write_rtcp(&[Box::new(PictureLossIndication {
            sender_ssrc: 0,
            media_ssrc: ssrc,
        })])
        .await;
}

/// Reads the device's video like a browser: in order through a jitter buffer that waits for
/// retransmissions, dropping pictures after a loss until an IDR it asks for with a PLI (again
/// every second while it waits).
pub async fn read_video(
    track: Arc<TrackRemote>,
    seen: Arc<Mutex<Seen>>,
    pc: Arc<RTCPeerConnection>,
) {
    let mut decoder = openh264::decoder::Decoder::new().expect("openh264 decoder");
    let mut depacketizer = H264Packet::default();
    let mut jitter = Jitter::default();
    let mut waiting_for_idr = false;
    let mut last_pli: Option<Instant> = None;
    let mut last_packet = Instant::now();
    let playout_delay_id = seen.lock().unwrap().playout_delay_id;
    while last_packet.elapsed() < Duration::from_secs(30) {
        let now = Instant::now();
        let outs = match tokio::time::timeout(Duration::from_millis(20), track.read_rtp()).await {
            Ok(Ok((pkt, _))) => {
                last_packet = now;
                let zero = playout_delay_id
                    .and_then(|id| pkt.header.get_extension(id))
                    .is_some_and(|b| b[..] == ZERO_PLAYOUT_DELAY);
                let mut s = seen.lock().unwrap();
                s.video_rtp += 1;
                s.zero_playout_delay += usize::from(zero);
                drop(s);
                jitter.push(pkt, now)
            }
            Ok(Err(_)) => break,
            Err(_) => jitter.tick(now),
        };
        for out in outs {
            let packets = match out {
                Out::Lost => {
                    waiting_for_idr = true;
                    let mut seen = seen.lock().unwrap();
                    seen.undecodable += 1;
                    seen.lost += 1;
                    continue;
                }
                Out::Unit(packets) => packets,
            };
            let mut au = Vec::new();
            for p in &packets {
                if let Ok(payload) = depacketizer.depacketize(&p.payload) {
                    au.extend_from_slice(&payload);
                }
            }
            let idr = nal_types(&au).contains(&5);
            if idr {
                seen.lock().unwrap().idr_at.push(now);
                waiting_for_idr = false;
            }
            if waiting_for_idr {
                seen.lock().unwrap().undecodable += 1;
                continue;
            }
            if !decode(&mut decoder, &au, &seen, now) {
                waiting_for_idr = true;
            }
        }
        if waiting_for_idr && last_pli.map_or(true, |t| t.elapsed() >= Duration::from_secs(1)) {
            last_pli = Some(now);
            pli(&pc, track.ssrc()).await;
        }
    }
}

/// Receives the video without decoding it: counts the packets and bytes into `video_packets`/`video_bytes`.
pub async fn count_video(track: Arc<TrackRemote>, seen: Arc<Mutex<Seen>>) {
    while let Ok(Ok((pkt, _))) =
        tokio::time::timeout(Duration::from_secs(30), track.read_rtp()).await
    {
        let mut seen = seen.lock().unwrap();
        seen.video_packets += 1;
        seen.video_bytes += pkt.payload.len();
    }
}

/// Decodes one access unit; `false` when the decoder refused it.
fn decode(
    decoder: &mut openh264::decoder::Decoder,
    au: &[u8],
    seen: &Mutex<Seen>,
    now: Instant,
) -> bool {
    match decoder.decode(au) {
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
                None => {
                    use std::hash::{Hash, Hasher};
                    let mut luma = std::collections::hash_map::DefaultHasher::new();
                    yuv.y().hash(&mut luma);
                    let row = h * 3 / 4 * stride;
                    let bars = std::array::from_fn(|i| yuv.y()[row + (2 * i + 1) * w / 16]);
                    let mut seen = seen.lock().unwrap();
                    seen.unstamped += 1;
                    seen.last_unstamped_bars = Some(bars);
                    if seen.unstamped_pictures.len() < 10_000 {
                        seen.unstamped_pictures.push((now, w, h, luma.finish()));
                    }
                }
            }
        }
        Ok(None) => {}
        Err(_) => {
            let mut seen = seen.lock().unwrap();
            seen.undecodable += 1;
            seen.decode_errors += 1;
            return false;
        }
    }
    true
}

pub async fn read_audio(track: Arc<TrackRemote>, seen: Arc<Mutex<Seen>>) {
    while let Ok(Ok((pkt, _))) =
        tokio::time::timeout(Duration::from_secs(30), track.read_rtp()).await
    {
        if !pkt.payload.is_empty() {
            let mut seen = seen.lock().unwrap();
            seen.audio_at.push(Instant::now());
            seen.audio_bytes += pkt.payload.len();
        }
    }
}
