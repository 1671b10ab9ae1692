//! RTCP from one viewer's video sender: picture loss (PLI) and full intra requests (FIR)
//! become keyframe requests (throttled per viewer by the fan-out), receiver reports (loss,
//! round-trip time from LSR/DLSR), transport-wide feedback (arrival times) and REMB feed the
//! viewer's bandwidth estimate, NACKs are
//! answered from the viewer's track history within its budget.
//!
//! Everything in RTCP is untrusted: report blocks for other SSRCs are ignored, a round trip
//! that is negative or longer than [`MAX_RTT`] is treated as absent, and the estimator
//! clamps whatever remains.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tracing::debug;
use webrtc::rtcp::packet::Packet;
use webrtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use webrtc::rtcp::receiver_report::ReceiverReport;
use webrtc::rtcp::reception_report::ReceptionReport;
use webrtc::rtcp::sender_report::SenderReport;
use webrtc::rtcp::transport_feedbacks::transport_layer_cc::{
    PacketStatusChunk, SymbolTypeTcc, TransportLayerCc,
};
use webrtc::rtcp::transport_feedbacks::transport_layer_nack::TransportLayerNack;
use webrtc::rtp_transceiver::rtp_sender::RTCRtpSender;

use crate::fanout::rate::{delay, Feedback};
use crate::fanout::track::ViewerTrack;

/// Longest round trip believed.
pub const MAX_RTT: Duration = Duration::from_secs(10);

/// What one RTCP packet asks of us.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Signal {
    Keyframe(&'static str),
    Report {
        fraction_lost: u8,
        last_sender_report: u32,
        delay: u32,
    },
    Remb(u64),
    /// Sequence numbers the viewer asks for again.
    Nack(Vec<u16>),
    /// Transport-wide feedback: when our packets arrived.
    Transport(Feedback),
}

/// The signals in `packets` that concern the stream `ssrc`.
pub(super) fn signals(packets: &[Box<dyn Packet + Send + Sync>], ssrc: u32) -> Vec<Signal> {
    let mut out = Vec::new();
    let mut report = |r: &ReceptionReport| {
        if r.ssrc == ssrc {
            out.push(Signal::Report {
                fraction_lost: r.fraction_lost,
                last_sender_report: r.last_sender_report,
                delay: r.delay,
            });
        }
    };
    let mut rest = Vec::new();
    for p in packets {
        let any = p.as_any();
        if let Some(rr) = any.downcast_ref::<ReceiverReport>() {
            rr.reports.iter().for_each(&mut report);
        } else if let Some(sr) = any.downcast_ref::<SenderReport>() {
            sr.reports.iter().for_each(&mut report);
        } else if any.downcast_ref::<PictureLossIndication>().is_some() {
            rest.push(Signal::Keyframe("PLI"));
        } else if any.downcast_ref::<FullIntraRequest>().is_some() {
            rest.push(Signal::Keyframe("FIR"));
        } else if let Some(nack) = any.downcast_ref::<TransportLayerNack>() {
            if nack.media_ssrc == ssrc {
                // At most a history's worth: a NACK cannot make us scan more than that.
                let seqs: Vec<u16> = nack
                    .nacks
                    .iter()
                    .flat_map(|n| n.packet_list())
                    .take(1024)
                    .collect();
                rest.push(Signal::Nack(seqs));
            }
        } else if let Some(cc) = any.downcast_ref::<TransportLayerCc>() {
            // Its sequence numbers are ours for this viewer: the track's log checks them.
            rest.push(Signal::Transport(transport_feedback(cc)));
        } else if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
            if remb.ssrcs.is_empty() || remb.ssrcs.contains(&ssrc) {
                let bps = f64::from(remb.bitrate);
                if bps.is_finite() && bps >= 0.0 {
                    rest.push(Signal::Remb(bps.min(u64::MAX as f64) as u64));
                }
            }
        }
    }
    out.extend(rest);
    out
}

/// Decodes transport-wide feedback into one arrival time (µs, the viewer's clock) or none per
/// packet, reading at most [`delay::LOG_LEN`] packets (what the log can match).
pub(super) fn transport_feedback(cc: &TransportLayerCc) -> Feedback {
    let count = usize::from(cc.packet_status_count).min(delay::LOG_LEN);
    let mut statuses: Vec<SymbolTypeTcc> = Vec::with_capacity(count);
    for chunk in &cc.packet_chunks {
        let left = count - statuses.len();
        match chunk {
            PacketStatusChunk::RunLengthChunk(c) => statuses.extend(
                std::iter::repeat(c.packet_status_symbol).take(usize::from(c.run_length).min(left)),
            ),
            PacketStatusChunk::StatusVectorChunk(c) => {
                statuses.extend(c.symbol_list.iter().copied().take(left));
            }
        }
        if statuses.len() >= count {
            break;
        }
    }
    let mut deltas = cc.recv_deltas.iter();
    let mut at = i64::from(cc.reference_time) * 64_000;
    let arrivals = statuses
        .into_iter()
        .map(|symbol| match symbol {
            SymbolTypeTcc::PacketReceivedSmallDelta | SymbolTypeTcc::PacketReceivedLargeDelta => {
                deltas.next().map(|d| {
                    at = at.saturating_add(d.delta);
                    at
                })
            }
            _ => None,
        })
        .collect();
    Feedback {
        base_seq: cc.base_sequence_number,
        arrivals,
    }
}

/// The middle 32 bits of the NTP time of `now` (what LSR echoes).
pub(super) fn ntp_middle(now: SystemTime) -> u32 {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs().wrapping_add(2_208_988_800);
    let frac = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    (((secs & 0xffff) << 16) | (frac >> 16)) as u32
}

/// Round trip from a report block: now − LSR − DLSR, in 1/65536 s (RFC 3550 6.4.1).
pub(super) fn rtt(now_middle: u32, last_sender_report: u32, delay: u32) -> Option<Duration> {
    if last_sender_report == 0 {
        return None;
    }
    let units = now_middle
        .wrapping_sub(last_sender_report)
        .wrapping_sub(delay);
    // A wrapped (negative) result is a lie or clock trouble.
    if units > 0x8000_0000 {
        return None;
    }
    let rtt = Duration::from_micros(u64::from(units) * 1_000_000 / 65_536);
    (rtt <= MAX_RTT).then_some(rtt)
}

/// Reads the video sender's RTCP until the connection closes.
pub(super) async fn read_video_rtcp(
    sender: Arc<RTCRtpSender>,
    track: Arc<ViewerTrack>,
    session: String,
) {
    while let Ok((packets, _)) = sender.read_rtcp().await {
        let Some(ssrc) = track.ssrc() else { continue };
        let now = Instant::now();
        for signal in signals(&packets, ssrc) {
            match signal {
                Signal::Keyframe(kind) => {
                    debug!(%session, kind, "keyframe requested");
                    track.request_keyframe(now);
                }
                Signal::Report {
                    fraction_lost,
                    last_sender_report,
                    delay,
                } => {
                    let rtt = rtt(ntp_middle(SystemTime::now()), last_sender_report, delay);
                    track.rate().receiver_report(now, fraction_lost, rtt);
                }
                Signal::Remb(bps) => track.rate().remb(now, bps),
                Signal::Nack(seqs) => track.resend(&seqs),
                Signal::Transport(feedback) => track.rate().transport_feedback(now, &feedback),
            }
        }
    }
    track.forget_keyframes();
}

/// Reads (and drops) the audio sender's RTCP: the interceptors need it read.
pub(super) async fn drain_rtcp(sender: Arc<RTCRtpSender>) {
    while sender.read_rtcp().await.is_ok() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rr(ssrc: u32, fraction_lost: u8) -> Box<dyn Packet + Send + Sync> {
        Box::new(ReceiverReport {
            ssrc: 1,
            reports: vec![ReceptionReport {
                ssrc,
                fraction_lost,
                last_sender_report: 0x1234_0000,
                delay: 0x0001_0000,
                ..Default::default()
            }],
            ..Default::default()
        })
    }

    #[test]
    fn only_our_ssrc_counts() {
        let remb = ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 1,
            bitrate: 300_000.0,
            ssrcs: vec![7],
        };
        let bad_remb = ReceiverEstimatedMaximumBitrate {
            bitrate: f32::NAN,
            ..remb.clone()
        };
        let packets: Vec<Box<dyn Packet + Send + Sync>> = vec![
            rr(7, 255),
            rr(8, 10),
            Box::new(PictureLossIndication::default()),
            Box::new(remb.clone()),
            Box::new(ReceiverEstimatedMaximumBitrate {
                ssrcs: vec![8],
                ..remb
            }),
            Box::new(bad_remb),
        ];
        assert_eq!(
            signals(&packets, 7),
            vec![
                Signal::Report {
                    fraction_lost: 255,
                    last_sender_report: 0x1234_0000,
                    delay: 0x0001_0000
                },
                Signal::Keyframe("PLI"),
                Signal::Remb(300_000),
            ]
        );
    }

    #[test]
    fn round_trip_from_lsr_and_dlsr() {
        // Sent at 0x1234.0000, held 1 s by the viewer, back 1.25 s after sending.
        let now = 0x1234_0000u32 + 0x0001_4000;
        assert_eq!(
            rtt(now, 0x1234_0000, 0x0001_0000),
            Some(Duration::from_millis(250))
        );
        assert_eq!(rtt(now, 0, 0), None, "no sender report yet");
        assert_eq!(rtt(now, 0x1234_0000, 0x0002_0000), None, "negative");
        assert_eq!(rtt(now, 0x1200_0000, 0), None, "beyond 10 s");
        // Across the 16-bit seconds wrap.
        assert_eq!(
            rtt(0x0000_8000, 0xffff_8000, 0),
            Some(Duration::from_secs(1))
        );
    }

    #[test]
    fn transport_feedback_becomes_arrival_times() {
        use webrtc::rtcp::transport_feedbacks::transport_layer_cc::{
            RecvDelta, RunLengthChunk, StatusChunkTypeTcc, StatusVectorChunk, SymbolSizeTypeTcc,
        };
        let small = |us| RecvDelta {
            type_tcc_packet: SymbolTypeTcc::PacketReceivedSmallDelta,
            delta: us,
        };
        let cc = TransportLayerCc {
            base_sequence_number: 65_534,
            packet_status_count: 5,
            reference_time: 2,
            packet_chunks: vec![
                PacketStatusChunk::RunLengthChunk(RunLengthChunk {
                    type_tcc: StatusChunkTypeTcc::RunLengthChunk,
                    packet_status_symbol: SymbolTypeTcc::PacketReceivedSmallDelta,
                    run_length: 2,
                }),
                // A vector chunk carries more symbols than are left: the rest is padding.
                PacketStatusChunk::StatusVectorChunk(StatusVectorChunk {
                    type_tcc: StatusChunkTypeTcc::StatusVectorChunk,
                    symbol_size: SymbolSizeTypeTcc::OneBit,
                    symbol_list: vec![
                        SymbolTypeTcc::PacketNotReceived,
                        SymbolTypeTcc::PacketReceivedLargeDelta,
                        SymbolTypeTcc::PacketReceivedSmallDelta,
                        SymbolTypeTcc::PacketReceivedSmallDelta,
                    ],
                }),
            ],
            recv_deltas: vec![
                small(1_000),
                small(250),
                RecvDelta {
                    type_tcc_packet: SymbolTypeTcc::PacketReceivedLargeDelta,
                    delta: -500,
                },
                small(750),
            ],
            ..Default::default()
        };
        let fb = transport_feedback(&cc);
        assert_eq!(fb.base_seq, 65_534);
        assert_eq!(
            fb.arrivals,
            vec![
                Some(129_000),
                Some(129_250),
                None,
                Some(128_750),
                Some(129_500)
            ]
        );
        // Missing deltas and absurd counts: no panic, no more than the log.
        let broken = TransportLayerCc {
            packet_status_count: u16::MAX,
            packet_chunks: vec![
                PacketStatusChunk::RunLengthChunk(RunLengthChunk {
                    type_tcc: StatusChunkTypeTcc::RunLengthChunk,
                    packet_status_symbol: SymbolTypeTcc::PacketReceivedSmallDelta,
                    run_length: 8191,
                });
                10
            ],
            ..Default::default()
        };
        let fb = transport_feedback(&broken);
        assert_eq!(fb.arrivals.len(), delay::LOG_LEN);
        assert!(fb.arrivals.iter().all(Option::is_none));
    }

    #[test]
    fn webrtc_rs_feedback_round_trips_through_the_wire() {
        use webrtc::interceptor::twcc::Recorder;
        use webrtc::util::Unmarshal;
        // Arrivals with small, large and negative gaps, as a loaded viewer records them.
        let gaps = [
            0i64, 300, 70_000, 250, -2_000, 500, 90_000, 0, 1_000, 64_000,
        ];
        let mut rec = Recorder::new(1);
        let mut at = 5_000_000i64;
        let mut want = Vec::new();
        for i in 0..60u16 {
            at += gaps[usize::from(i) % gaps.len()];
            let seq = 65_500u16.wrapping_add(i);
            if i % 13 == 5 {
                want.push(None); // lost
                continue;
            }
            rec.record(7, seq, at);
            want.push(Some(at));
        }
        let packets = rec.build_feedback_packet();
        let mut got = Vec::new();
        for p in packets {
            let wire = p.marshal().unwrap();
            let cc = TransportLayerCc::unmarshal(&mut wire.clone()).unwrap();
            let fb = transport_feedback(&cc);
            got.extend(fb.arrivals.iter().copied());
        }
        assert_eq!(got.len(), want.len());
        let base = got[0].unwrap() - want[0].unwrap();
        for (g, w) in got.iter().zip(&want) {
            match (g, w) {
                (Some(g), Some(w)) => assert!((g - base - w).abs() < 1_000, "{g} vs {w}"),
                (None, None) => {}
                other => panic!("{other:?} in {got:?}"),
            }
        }
    }

    #[test]
    fn ntp_middle_bits() {
        let t = UNIX_EPOCH + Duration::from_millis(1_500);
        // 2208988801 s = 0x83AA7E81 → low 16 bits 0x7E81; 0.5 s → 0x8000.
        assert_eq!(ntp_middle(t), 0x7e81_8000);
    }
}
