//! What a viewing window shows: frames, order, sizes, audio and latency.

use std::time::{Duration, Instant};

use super::{Decoded, Seen};

/// Summary of a viewing window.
#[derive(Debug)]
pub struct WindowReport {
    pub sent: u32,
    pub decoded: usize,
    pub increasing: bool,
    pub sizes_ok: bool,
    pub audio_packets: usize,
    pub latency_p50_ms: u64,
    pub latency_p95_ms: u64,
    /// Over the whole session: video packets, and of them those asking for no playout delay.
    pub video_rtp: usize,
    pub zero_playout_delay: usize,
}

/// Analyses the frames whose decode time falls in `[from, from+len)`.
pub fn window_report(
    seen: &Seen,
    from: Instant,
    len: Duration,
    width: usize,
    height: usize,
) -> WindowReport {
    let frames: Vec<&Decoded> = seen
        .decoded
        .iter()
        .filter(|d| d.at >= from && d.at < from + len)
        .collect();
    let increasing = frames.windows(2).all(|w| w[1].frame > w[0].frame);
    let sent = match (frames.first(), frames.last()) {
        (Some(a), Some(b)) => b.frame - a.frame + 1,
        _ => 0,
    };
    let sizes_ok = frames
        .iter()
        .all(|d| d.width == width && d.height == height);
    let mut lat: Vec<u64> = frames
        .iter()
        .map(|d| d.decoded_ms.saturating_sub(d.capture_ms))
        .collect();
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 - 1.0) * p).round() as usize)
            .copied()
            .unwrap_or(0)
    };
    let audio_packets = seen
        .audio_at
        .iter()
        .filter(|t| **t >= from && **t < from + len)
        .count();
    WindowReport {
        sent,
        decoded: frames.len(),
        increasing,
        sizes_ok,
        audio_packets,
        latency_p50_ms: pct(0.5),
        latency_p95_ms: pct(0.95),
        video_rtp: seen.video_rtp,
        zero_playout_delay: seen.zero_playout_delay,
    }
}

impl super::Viewer {
    /// What happened to the video so far, for a failure's message: pictures decoded and
    /// unstamped, units lost or refused, IDRs, the device's last stats.
    pub fn counts(&self) -> String {
        let s = self.seen.lock().unwrap();
        format!(
            "decoded {} unstamped {} undecodable {} (lost {}, refused by the decoder {}) idrs {} last stats {:?}",
            s.decoded.len(),
            s.unstamped,
            s.undecodable,
            s.lost,
            s.decode_errors,
            s.idr_at.len(),
            s.stats.last().map(|(_, v)| v)
        )
    }

    /// Pictures decoded a second over the next `window` (waits for it).
    pub async fn fps_over(&self, window: std::time::Duration) -> f64 {
        let before = self.seen.lock().unwrap().decoded.len();
        tokio::time::sleep(window).await;
        let after = self.seen.lock().unwrap().decoded.len();
        (after - before) as f64 / window.as_secs_f64()
    }
}
