//! The bitrate in what the device publishes: `rate` in the retained status (re-published when
//! it changes noticeably, at most every [`REPORT_EVERY`]) and each connected viewer's own
//! numbers on `R/session/{s}/stats`.

use std::time::Duration;

use crate::fanout::rate::{RateSnapshot, ViewerRateSnapshot};
use crate::signaling::protocol::{RateInfo, SessionStats, ViewerRateInfo};

use super::event_loop::Daemon;

/// How often the numbers are published.
pub const REPORT_EVERY: Duration = Duration::from_secs(2);

fn kbps(bps: u32) -> u32 {
    bps.div_ceil(1000)
}

fn rtt_ms(v: &ViewerRateSnapshot) -> Option<u64> {
    v.observed.rtt.map(|d| d.as_millis() as u64)
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The status' `rate` object.
pub fn rate_info(s: &RateSnapshot) -> RateInfo {
    RateInfo {
        adaptive: s.adaptive,
        target_kbps: kbps(s.target_bps),
        fps: round2(s.fps),
        second_stream_kbps: s.low.map(|(bps, _)| kbps(bps)),
        viewers: s
            .viewers
            .iter()
            .map(|v| ViewerRateInfo {
                estimate_kbps: kbps(v.estimate_bps),
                loss: round2(v.observed.loss),
                rtt_ms: rtt_ms(v),
                fps: round2(v.fps),
                second_stream: v.on_low,
            })
            .collect(),
    }
}

/// One viewer's `stats` message.
pub fn session_stats(s: &RateSnapshot, v: &ViewerRateSnapshot) -> SessionStats {
    let share = (s.fps / v.fps.max(0.01)).round() as u32;
    SessionStats {
        target_kbps: kbps(s.target_bps),
        fps: round2(s.fps),
        estimate_kbps: kbps(v.estimate_bps),
        sent_kbps: kbps(v.sent_bps),
        loss: round2(v.observed.loss),
        rtt_ms: rtt_ms(v),
        remb_kbps: v.observed.remb_bps.map(|b| b.div_ceil(1000)),
        queue_ms: v.observed.queue.map(|d| d.as_millis() as u64),
        second_stream_kbps: s.low.filter(|_| v.on_low).map(|(bps, _)| kbps(bps)),
        viewer_fps: round2(v.fps),
        layers: if share <= 1 {
            "all".into()
        } else {
            format!("1/{share}")
        },
    }
}

/// Whether the retained status should be re-published: the target moved by more than 10 %,
/// the picture rate or the number of viewers changed, or a viewer was thinned or restored.
pub fn worth_publishing(old: Option<&RateInfo>, new: &RateInfo) -> bool {
    let Some(old) = old else { return true };
    let moved = f64::from(old.target_kbps.abs_diff(new.target_kbps))
        > 0.1 * f64::from(old.target_kbps.max(1));
    let fps = |r: &RateInfo| {
        let mut f: Vec<u64> = r.viewers.iter().map(|v| (v.fps * 100.0) as u64).collect();
        f.sort_unstable();
        f
    };
    moved
        || old.fps != new.fps
        || old.adaptive != new.adaptive
        || old.viewers.len() != new.viewers.len()
        || fps(old) != fps(new)
        || old.second_stream_kbps.is_some() != new.second_stream_kbps.is_some()
}

impl Daemon {
    /// Publishes the bitrate numbers (called every [`REPORT_EVERY`]).
    pub(super) fn report_rates(&mut self) {
        let Some(snap) = self.media.rate() else {
            return;
        };
        if !self.broker_up() {
            return;
        }
        let info = rate_info(&snap);
        if worth_publishing(self.out.status.rate.as_ref(), &info) {
            self.out.status.rate = Some(info);
            self.out.publish_status();
        }
        for v in &snap.viewers {
            self.out.stats(&v.session, &session_stats(&snap, v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fanout::rate::Observed;

    fn snapshot(viewer_fps: f64) -> RateSnapshot {
        RateSnapshot {
            adaptive: true,
            target_bps: 812_345,
            fps: 30.0,
            low: None,
            viewers: vec![ViewerRateSnapshot {
                session: "s1".into(),
                estimate_bps: 300_000,
                sent_bps: 280_000,
                observed: Observed {
                    loss: 0.0234,
                    rtt: Some(Duration::from_micros(12_700)),
                    remb_bps: Some(350_500),
                    queue: Some(Duration::from_micros(31_900)),
                },
                layer: 0,
                fps: viewer_fps,
                on_low: false,
            }],
        }
    }

    #[test]
    fn numbers_for_people() {
        let s = snapshot(7.5);
        let info = rate_info(&s);
        assert_eq!(info.target_kbps, 813);
        assert_eq!(info.viewers[0].loss, 0.02);
        assert_eq!(info.viewers[0].rtt_ms, Some(12));
        let stats = session_stats(&s, &s.viewers[0]);
        assert_eq!(stats.layers, "1/4");
        assert_eq!(stats.remb_kbps, Some(351));
        assert_eq!(stats.queue_ms, Some(31));
        assert_eq!(stats.second_stream_kbps, None);
        let mut second = snapshot(30.0);
        second.low = Some((251_000, 30.0));
        second.viewers[0].on_low = true;
        let v = &second.viewers[0];
        assert_eq!(session_stats(&second, v).second_stream_kbps, Some(251));
        assert_eq!(rate_info(&second).second_stream_kbps, Some(251));
        assert!(rate_info(&second).viewers[0].second_stream);
        assert!(worth_publishing(Some(&info), &rate_info(&second)));
        assert_eq!(session_stats(&snapshot(30.0), &s.viewers[0]).layers, "1/4");
        let whole = snapshot(30.0);
        assert_eq!(session_stats(&whole, &whole.viewers[0]).layers, "all");
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(
            json["viewers"][0].get("session"),
            None,
            "no session ids in the status"
        );
    }

    #[test]
    fn republished_only_when_it_changed_noticeably() {
        let a = rate_info(&snapshot(30.0));
        assert!(worth_publishing(None, &a));
        let mut b = a.clone();
        b.target_kbps = 870;
        assert!(!worth_publishing(Some(&a), &b), "7 %");
        b.target_kbps = 1000;
        assert!(worth_publishing(Some(&a), &b));
        let thinned = rate_info(&snapshot(15.0));
        assert!(worth_publishing(Some(&a), &thinned));
    }
}
