//! Rate control for the one shared encode: every viewer's feedback keeps an [`Estimator`];
//! [`Target`] turns the estimates into the encoder's bitrate and each viewer's temporal
//! layers. This module is the thread-safe hub between them: the peers report into a
//! [`ViewerRate`] (one per viewer, held by its video track), the video thread asks for the
//! [`Plan`] before each picture, the daemon reads a [`RateSnapshot`] for the status.

pub mod delay;
mod estimator;
mod target;
mod viewer;
mod window;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::{debug, info};

pub use delay::{DelaySample, Feedback, TransportDelay};
pub use estimator::{Estimator, Observed};
pub use target::{LayerShares, Limits, LowPlan, Plan, Target, Viewer};
pub use viewer::ViewerRate;

/// How often the plan is recomputed at most.
const REPLAN_EVERY: Duration = Duration::from_millis(100);
/// A viewer that reported before but has been silent this long is treated as congested
/// (its reports are lost too): its estimate is cut a little every second until it reports.
pub const FEEDBACK_TIMEOUT: Duration = Duration::from_secs(3);
/// Fewest packets transport-wide feedback must have told of for its loss to replace a
/// receiver report's.
const MIN_TRANSPORT_PACKETS: u32 = 10;
/// Cuts larger than this share are logged at info.
const BIG_CUT: f64 = 0.25;

/// One viewer, as the status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewerRateSnapshot {
    pub session: String,
    pub estimate_bps: u32,
    pub sent_bps: u32,
    pub observed: Observed,
    /// Highest temporal layer sent to it.
    pub layer: u8,
    /// Pictures a second it receives.
    pub fps: f64,
    /// Whether it is sent the second stream.
    pub on_low: bool,
}

/// The rate control as the status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSnapshot {
    pub adaptive: bool,
    pub target_bps: u32,
    pub fps: f64,
    /// The second stream's bitrate and picture rate, while it runs.
    pub low: Option<(u32, f64)>,
    pub viewers: Vec<ViewerRateSnapshot>,
}

struct Entry {
    session: String,
    estimator: Estimator,
    layer: Arc<AtomicU8>,
    on_low: Arc<AtomicBool>,
    last_report: Instant,
    sent_bps: u32,
    /// Whether it has reported at all: a standby peer (no viewer yet) or a viewer still
    /// connecting does not count.
    reported: bool,
    timeout_cut: Option<Instant>,
}

struct State {
    viewers: BTreeMap<u64, Entry>,
    target: Target,
    /// Smoothed bytes per temporal layer.
    layer_bytes: [f64; 4],
    plan: Plan,
    planned_at: Option<Instant>,
}

/// The hub. Cheap to share (`Arc`).
pub struct RateControl {
    limits: Limits,
    adaptive: bool,
    next_id: AtomicU64,
    state: Mutex<State>,
}

impl RateControl {
    /// `adaptive = false` keeps the encoder at the start bitrate whatever is reported
    /// (the reports are still kept, for the status).
    pub fn new(limits: Limits, adaptive: bool) -> Arc<Self> {
        let plan = Plan {
            encoder_bps: limits.start_bps,
            frame_divisor: 1,
            half_size: false,
            layers: Vec::new(),
            low: None,
        };
        Arc::new(Self {
            limits,
            adaptive,
            next_id: AtomicU64::new(1),
            state: Mutex::new(State {
                viewers: BTreeMap::new(),
                target: Target::new(limits),
                layer_bytes: [0.0; 4],
                plan,
                planned_at: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing that can panic runs under the lock; recover the data regardless.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether slow viewers may get a second encode.
    pub fn second_stream(&self) -> bool {
        self.limits.second_stream && self.adaptive
    }

    fn top_layer(&self) -> u8 {
        self.limits.temporal_layers.clamp(1, 4) - 1
    }

    /// A new viewer; it counts until the returned handle is dropped.
    pub fn join(self: &Arc<Self>, session: &str, now: Instant) -> ViewerRate {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let layer = Arc::new(AtomicU8::new(self.top_layer()));
        let on_low = Arc::new(AtomicBool::new(false));
        let start = self.lock().target.current_bps();
        let entry = Entry {
            session: session.to_string(),
            // Estimates are for all a viewer receives: the video range plus the audio.
            estimator: Estimator::new(
                self.limits.total_for(start),
                self.limits.total_for(self.limits.min_bps),
                self.limits.total_for(self.limits.max_bps),
            ),
            layer: layer.clone(),
            on_low: on_low.clone(),
            last_report: now,
            sent_bps: 0,
            reported: false,
            timeout_cut: None,
        };
        self.lock().viewers.insert(id, entry);
        ViewerRate {
            id,
            rate: self.clone(),
            sent_bytes: AtomicU64::new(0),
            layer,
            on_low,
            transport: Mutex::new(TransportDelay::new(now)),
        }
    }

    /// The encoder produced `bytes` in temporal layer `temporal_id`.
    pub fn note_encoded(&self, temporal_id: u8, bytes: usize) {
        let mut s = self.lock();
        for b in s.layer_bytes.iter_mut() {
            *b *= 0.98;
        }
        s.layer_bytes[usize::from(temporal_id.min(3))] += bytes as f64;
    }

    fn shares(s: &State) -> LayerShares {
        let total: f64 = s.layer_bytes.iter().sum();
        if total < 50_000.0 {
            return LayerShares::default();
        }
        let mut upto = [0.0; 4];
        let mut sum = 0.0;
        for (share, bytes) in upto.iter_mut().zip(s.layer_bytes) {
            sum += bytes;
            *share = sum / total;
        }
        LayerShares { upto }
    }

    /// The plan for the next picture (recomputed at most every 100 ms).
    pub fn plan(&self, now: Instant) -> Plan {
        let mut s = self.lock();
        if s.planned_at
            .is_some_and(|t| now.saturating_duration_since(t) < REPLAN_EVERY)
        {
            return s.plan.clone();
        }
        s.planned_at = Some(now);
        for e in s.viewers.values_mut().filter(|e| e.reported) {
            let silent = now.saturating_duration_since(e.last_report) > FEEDBACK_TIMEOUT;
            let due = e.timeout_cut.map_or(true, |t| {
                now.saturating_duration_since(t) >= Duration::from_secs(1)
            });
            if silent && due {
                // As if a quarter of the packets were lost: reports that do not come are news.
                e.estimator.on_receiver_report(now, 64, None, 0);
                e.timeout_cut = Some(now);
            }
        }
        let viewers: Vec<Viewer> = s
            .viewers
            .iter()
            .filter(|(_, e)| e.reported)
            .map(|(id, e)| Viewer {
                id: *id,
                estimate_bps: self.limits.video_share(e.estimator.estimate_bps()),
                sent_bps: self.limits.video_share(e.sent_bps),
            })
            .collect();
        let shares = Self::shares(&s);
        let mut plan = s.target.update(now, &viewers, shares);
        if !self.adaptive {
            plan.encoder_bps = self.limits.start_bps;
            plan.frame_divisor = 1;
            plan.half_size = false;
            plan.low = None;
            for (_, layer) in plan.layers.iter_mut() {
                *layer = self.top_layer();
            }
        }
        for (id, e) in &s.viewers {
            let low = plan.low.as_ref().is_some_and(|l| l.viewers.contains(id));
            if e.on_low.swap(low, Ordering::Relaxed) != low {
                let estimate_kbps = e.estimator.estimate_bps() / 1000;
                if low {
                    info!(session = %e.session, estimate_kbps, "viewer moves to the second stream (a slow link)");
                } else {
                    info!(session = %e.session, estimate_kbps, "viewer back on the main stream");
                }
            }
        }
        for (id, layer) in &plan.layers {
            if let Some(e) = s.viewers.get(id) {
                let before = e.layer.swap(*layer, Ordering::Relaxed);
                if before != *layer {
                    info!(session = %e.session, layer = *layer, estimate_kbps = e.estimator.estimate_bps() / 1000,
                        "viewer's temporal layers changed (thinned stream for a slow link)");
                }
            }
        }
        let before = s.plan.encoder_bps;
        if plan.encoder_bps != before {
            let cut = 1.0 - f64::from(plan.encoder_bps) / f64::from(before.max(1));
            let (from_kbps, to_kbps) = (before / 1000, plan.encoder_bps / 1000);
            if cut > BIG_CUT {
                info!(
                    from_kbps,
                    to_kbps,
                    viewers = viewers.len(),
                    "video bitrate cut"
                );
            } else {
                debug!(
                    from_kbps,
                    to_kbps,
                    viewers = viewers.len(),
                    "video bitrate target"
                );
            }
        }
        s.plan = plan.clone();
        plan
    }

    /// What the status shows.
    pub fn snapshot(&self) -> RateSnapshot {
        let s = self.lock();
        let fps = f64::from(self.limits.fps) / f64::from(s.plan.frame_divisor.max(1));
        let top = self.top_layer();
        let low = s.plan.low.as_ref().map(|l| {
            let fps = f64::from(self.limits.fps) / f64::from(l.frame_divisor.max(1));
            (l.encoder_bps, fps)
        });
        RateSnapshot {
            adaptive: self.adaptive,
            target_bps: s.plan.encoder_bps,
            fps,
            low,
            viewers: s
                .viewers
                .values()
                .filter(|e| e.reported)
                .map(|e| {
                    let layer = e.layer.load(Ordering::Relaxed);
                    let on_low = e.on_low.load(Ordering::Relaxed);
                    let stream_fps = match low {
                        Some((_, low_fps)) if on_low => low_fps,
                        _ => fps,
                    };
                    ViewerRateSnapshot {
                        session: e.session.clone(),
                        estimate_bps: e.estimator.estimate_bps(),
                        sent_bps: e.sent_bps,
                        observed: e.estimator.observed(),
                        layer,
                        fps: stream_fps / f64::from(1u32 << (top - layer.min(top))),
                        on_low,
                    }
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests;
