//! A viewer's track from its binding on: nothing before an IDR (and the first picture asks
//! for one), its first picture paced fast, then everything in order under its own numbers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use webrtc::interceptor::Attributes;
use webrtc::rtp::packet::Packet;
use webrtc::track::track_local::TrackLocalWriter;

use super::*;
use crate::fanout::pacer::{opening_bps, pacing_bps, send_time, OPENING_PACING_FACTOR};
use crate::fanout::rate::Limits;

#[derive(Debug, Default)]
struct Wire {
    packets: Mutex<Vec<(Instant, u16, bool)>>,
}

#[async_trait::async_trait]
impl TrackLocalWriter for Wire {
    async fn write_rtp_with_attributes(
        &self,
        p: &Packet,
        _attr: &Attributes,
    ) -> webrtc::error::Result<usize> {
        let keyframe = p
            .payload
            .first()
            .is_some_and(|b| b & 0x1f == 24 || b & 0x1f == 5);
        self.packets
            .lock()
            .unwrap()
            .push((Instant::now(), p.header.sequence_number, keyframe));
        Ok(p.payload.len())
    }
}

fn limits() -> Limits {
    Limits {
        start_bps: 1_000_000,
        min_bps: 100_000,
        max_bps: 2_000_000,
        temporal_layers: 1,
        pixels: 640 * 480,
        fps: 30,
        audio_bps: 0,
        scalable: true,
        second_stream: false,
    }
}

/// An IDR of `slices` slices of 1100 bytes (one packet each), or one P picture.
fn unit(keyframe: bool, slices: usize) -> VideoUnit {
    let mut data = Vec::new();
    if keyframe {
        data.extend_from_slice(&[0, 0, 0, 1, 0x67, 0x42, 0x00, 0x1f]); // SPS
        data.extend_from_slice(&[0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80]); // PPS
    }
    for _ in 0..slices {
        data.extend_from_slice(&[0, 0, 0, 1, if keyframe { 0x65 } else { 0x41 }]);
        data.extend(std::iter::repeat(0x5a).take(1100));
    }
    VideoUnit {
        data: Bytes::from(data),
        duration: Duration::from_millis(33),
        temporal_id: 0,
        keyframe,
        stream: Stream::Main,
    }
}

fn binding(wire: Arc<Wire>) -> Binding {
    Binding {
        ssrc: 1234,
        payload_type: 102,
        writer: wire,
        mid: None,
        playout_delay: None,
        abs_send_time: None,
        transport_cc: None,
    }
}

async fn settle(wire: &Wire, packets: usize) {
    for _ in 0..200 {
        if wire.packets.lock().unwrap().len() >= packets {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn a_bound_viewer_is_sent_nothing_before_an_idr_and_asks_for_one() {
    let keyframes = Arc::new(KeyframeRequests::default());
    let tracks = VideoTracks::new(
        RateControl::new(limits(), true),
        keyframes.clone(),
        Arc::new(KeyframeRequests::default()),
    );
    let track = tracks.track_for("s");
    let wire = Arc::new(Wire::default());
    track.bound(binding(wire.clone()));
    assert!(
        !keyframes.take(Instant::now()),
        "nothing asked before a picture"
    );

    tracks.write(&unit(false, 2)).await;
    assert!(
        keyframes.take(Instant::now()),
        "a P picture before any IDR asks for one"
    );
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        wire.packets.lock().unwrap().is_empty(),
        "an undecodable picture was sent"
    );

    tracks.write(&unit(true, 20)).await;
    tracks.write(&unit(false, 2)).await;
    settle(&wire, 22).await;
    let sent = wire.packets.lock().unwrap().clone();
    assert_eq!(sent.len(), 22, "the IDR's 20 packets and the P picture's 2");
    assert!(sent[0].2, "the first packet sent is the IDR's");
    for pair in sent.windows(2) {
        assert_eq!(
            pair[1].1,
            pair[0].1.wrapping_add(1),
            "numbered without gaps"
        );
    }
}

#[test]
fn the_first_picture_is_paced_eight_times_faster() {
    // 20 packets of 1100 bytes (an IDR at 640x480) at the start estimate of 1 Mbit/s.
    let bps = pacing_bps(1_000_000);
    let paced: Duration = (0..20).map(|_| send_time(1100, bps)).sum();
    let opening: Duration = (0..20)
        .map(|_| send_time(1100, opening_bps(bps, true)))
        .sum();
    assert!(
        (Duration::from_millis(150)..=Duration::from_millis(160)).contains(&paced),
        "{paced:?}"
    );
    assert_eq!(opening_bps(bps, false), bps);
    assert!(
        opening < paced / 6 && OPENING_PACING_FACTOR >= 8.0,
        "{opening:?}"
    );
}
