//! What a viewer saw, second by second, and over a window: decoded pictures a second, the
//! longest gap between two (a freeze), the delay the path added (arrival minus the picture's
//! capture stamp, relative to the best picture of the run), and the device's own numbers
//! from its `stats` messages (target and sent bitrate).

use std::time::{Duration, Instant};

use super::viewer::Seen;

/// One second of a run.
#[derive(Debug, Clone)]
pub struct Second {
    pub t: u64,
    pub target_kbps: Option<u64>,
    pub sent_kbps: Option<u64>,
    pub rtt_ms: Option<u64>,
    /// Queueing delay the device reads from the viewer's transport-wide feedback.
    pub queue_ms: Option<u64>,
    pub loss_pct: Option<u64>,
    pub fps: usize,
    pub delay_p95_ms: u64,
    pub max_gap_ms: u64,
}

/// A window of a run.
#[derive(Debug, Clone)]
pub struct Summary {
    pub fps: f64,
    pub max_gap_ms: u64,
    pub delay_p95_ms: u64,
}

fn best_latency(seen: &Seen) -> u64 {
    seen.decoded
        .iter()
        .map(|d| d.decoded_ms.saturating_sub(d.capture_ms))
        .min()
        .unwrap_or(0)
}

fn p95(mut v: Vec<u64>) -> u64 {
    v.sort_unstable();
    v.get(((v.len() as f64 - 1.0) * 0.95).round() as usize)
        .copied()
        .unwrap_or(0)
}

/// Summary of the pictures decoded in `[from, from + len)`. The gap counts from `from` to
/// the first picture and from the last to the end too: a stream that stops is a freeze.
pub fn summary(seen: &Seen, from: Instant, len: Duration) -> Summary {
    let best = best_latency(seen);
    let end = from + len;
    let frames: Vec<_> = seen
        .decoded
        .iter()
        .filter(|d| d.at >= from && d.at < end)
        .collect();
    let mut edges = vec![from];
    edges.extend(frames.iter().map(|d| d.at));
    edges.push(end);
    let max_gap_ms = edges
        .windows(2)
        .map(|w| w[1].duration_since(w[0]).as_millis() as u64)
        .max()
        .unwrap_or(0);
    let delays: Vec<u64> = frames
        .iter()
        .map(|d| {
            d.decoded_ms
                .saturating_sub(d.capture_ms)
                .saturating_sub(best)
        })
        .collect();
    Summary {
        fps: frames.len() as f64 / len.as_secs_f64(),
        max_gap_ms,
        delay_p95_ms: p95(delays),
    }
}

/// Second-by-second rows from `start` for `secs` seconds.
pub fn seconds(seen: &Seen, start: Instant, secs: u64) -> Vec<Second> {
    (0..secs)
        .map(|t| {
            let from = start + Duration::from_secs(t);
            let s = summary(seen, from, Duration::from_secs(1));
            let stat = |key: &str| {
                seen.stats
                    .iter()
                    .rfind(|(at, _)| *at < from + Duration::from_secs(1))
                    .and_then(|(_, v)| v[key].as_u64())
            };
            Second {
                t,
                // A viewer on the second stream: that stream's target.
                target_kbps: stat("second_stream_kbps").or_else(|| stat("target_kbps")),
                sent_kbps: stat("sent_kbps"),
                rtt_ms: stat("rtt_ms"),
                queue_ms: stat("queue_ms"),
                loss_pct: seen
                    .stats
                    .iter()
                    .rfind(|(at, _)| *at < from + Duration::from_secs(1))
                    .and_then(|(_, v)| v["loss"].as_f64())
                    .map(|l| (l * 100.0).round() as u64),
                fps: s.fps.round() as usize,
                delay_p95_ms: s.delay_p95_ms,
                max_gap_ms: s.max_gap_ms,
            }
        })
        .collect()
}

/// The rows as a Markdown table (what the benchmark prints and docs/benchmarks.md keeps).
pub fn table(title: &str, rows: &[Second]) -> String {
    let dash = |v: Option<u64>| v.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "\n{title}\n\n| s | target kbit/s | sent kbit/s | loss % | RTT ms | queue ms | viewer fps | added delay p95 ms | longest gap ms |\n|---|---|---|---|---|---|---|---|---|\n"
    );
    for r in rows {
        out += &format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.t,
            dash(r.target_kbps),
            dash(r.sent_kbps),
            dash(r.loss_pct),
            dash(r.rtt_ms),
            dash(r.queue_ms),
            r.fps,
            r.delay_p95_ms,
            r.max_gap_ms
        );
    }
    out
}
