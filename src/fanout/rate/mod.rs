//! Rate control for the one shared encode: every viewer's feedback keeps an [`Estimator`];
//! [`Target`] turns the estimates into the encoder's bitrate and each viewer's temporal
//! layers. This module is the thread-safe hub between them: the peers report into a
//! [`ViewerRate`] (one per viewer, held by its video track), the video thread asks for the
//! [`Plan`] before each picture, the daemon reads a [`RateSnapshot`] for the status.

pub mod delay;
mod estimator;
mod target;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tracing::{debug, info};

pub use delay::{DelaySample, Feedback, TransportDelay};
pub use estimator::{Estimator, Observed};
pub use target::{LayerShares, Limits, Plan, Target, Viewer};

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
}

/// The rate control as the status shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct RateSnapshot {
    pub adaptive: bool,
    pub target_bps: u32,
    pub fps: f64,
    pub viewers: Vec<ViewerRateSnapshot>,
}

struct Entry {
    session: String,
    estimator: Estimator,
    layer: Arc<AtomicU8>,
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

    fn top_layer(&self) -> u8 {
        self.limits.temporal_layers.clamp(1, 4) - 1
    }

    /// A new viewer; it counts until the returned handle is dropped.
    pub fn join(self: &Arc<Self>, session: &str, now: Instant) -> ViewerRate {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let layer = Arc::new(AtomicU8::new(self.top_layer()));
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
            })
            .collect();
        let shares = Self::shares(&s);
        let mut plan = s.target.update(now, &viewers, shares);
        if !self.adaptive {
            plan.encoder_bps = self.limits.start_bps;
            plan.frame_divisor = 1;
            plan.half_size = false;
            for (_, layer) in plan.layers.iter_mut() {
                *layer = self.top_layer();
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
        RateSnapshot {
            adaptive: self.adaptive,
            target_bps: s.plan.encoder_bps,
            fps,
            viewers: s
                .viewers
                .values()
                .filter(|e| e.reported)
                .map(|e| {
                    let layer = e.layer.load(Ordering::Relaxed);
                    ViewerRateSnapshot {
                        session: e.session.clone(),
                        estimate_bps: e.estimator.estimate_bps(),
                        sent_bps: e.sent_bps,
                        observed: e.estimator.observed(),
                        layer,
                        fps: fps / f64::from(1u32 << (top - layer.min(top))),
                    }
                })
                .collect(),
        }
    }
}

/// One viewer's side of the rate control: what the peer reports and what its video track
/// sends. Dropping it removes the viewer.
pub struct ViewerRate {
    id: u64,
    rate: Arc<RateControl>,
    sent_bytes: AtomicU64,
    layer: Arc<AtomicU8>,
    /// Its packets' transport-wide sequence numbers and what its feedback says of them.
    transport: Mutex<TransportDelay>,
}

impl ViewerRate {
    /// Its key in the rate control and in the keyframe requests.
    pub fn id(&self) -> u64 {
        self.id
    }

    /// The highest temporal layer this viewer is sent now.
    pub fn max_layer(&self) -> u8 {
        self.layer.load(Ordering::Relaxed)
    }

    /// Its track sent `bytes` of RTP payload.
    pub fn note_sent(&self, bytes: usize) {
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// A receiver report for this viewer's video: `fraction_lost` of 256, and the RTT when
    /// the report answered a sender report.
    ///
    /// Where the viewer sends transport-wide feedback, the report cannot claim more loss than
    /// the feedback showed since the last report (see [`TransportDelay::take_loss`]). The
    /// report's fraction is what is left after retransmission, the feedback's is every first
    /// transmission lost, so normally the report is the lower one and counts; a report above
    /// the feedback is a viewer's miscount.
    pub fn receiver_report(&self, now: Instant, fraction_lost: u8, rtt: Option<Duration>) {
        let bytes = self.sent_bytes.swap(0, Ordering::Relaxed);
        let transport = self
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take_loss();
        let reported = fraction_lost;
        let fraction_lost = match transport {
            Some((lost, total)) if total >= MIN_TRANSPORT_PACKETS => {
                fraction_lost.min((u64::from(lost) * 256 / u64::from(total)).min(255) as u8)
            }
            _ => fraction_lost,
        };
        debug!(
            id = self.id,
            report_loss = reported,
            feedback_lost = transport.map(|t| t.0),
            feedback_packets = transport.map(|t| t.1),
            "receiver report"
        );
        let mut s = self.rate.lock();
        if let Some(e) = s.viewers.get_mut(&self.id) {
            let dt = now
                .saturating_duration_since(e.last_report)
                .as_secs_f64()
                .max(0.05);
            // The first report: the track may have waited minutes as a standby offer, so
            // what was sent per second since its creation means nothing.
            let first = !e.reported;
            e.last_report = now;
            e.reported = true;
            // Everything on the wire: video payload and its headers, and the audio.
            let video = bytes as f64 * 8.0 / dt;
            let audio = f64::from(self.rate.limits.audio_bps);
            e.sent_bps = if bytes == 0 || first {
                0 // nothing sent yet: unknown, not "nothing fits"
            } else {
                (video * 1.05 + 8_000.0 + audio).min(f64::from(u32::MAX)) as u32
            };
            let sent = e.sent_bps;
            e.estimator
                .on_receiver_report(now, fraction_lost, rtt, sent);
        }
    }

    /// This viewer's estimate (bit/s) and last round trip.
    pub fn estimate_and_rtt(&self) -> (u32, Option<Duration>) {
        let s = self.rate.lock();
        s.viewers
            .get(&self.id)
            .map_or((self.rate.limits.min_bps, None), |e| {
                (e.estimator.estimate_bps(), e.estimator.observed().rtt)
            })
    }

    /// The part of an estimate of this viewer left for video payload.
    pub fn video_share(&self, estimate_bps: u32) -> u32 {
        self.rate.limits.video_share(estimate_bps)
    }

    /// A video packet of `bytes` (headers included) leaves for this viewer now: its
    /// transport-wide sequence number.
    pub fn stamp_transport(&self, now: Instant, bytes: usize) -> u16 {
        self.transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .stamp(now, bytes)
    }

    /// Transport-wide feedback from this viewer.
    pub fn transport_feedback(&self, now: Instant, feedback: &Feedback) {
        let sample = self
            .transport
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .on_feedback(now, feedback);
        let Some(sample) = sample else { return };
        // What arrived is video; the estimate is for all the viewer receives.
        let audio = self.rate.limits.audio_bps;
        let acked = sample.acked_bps.map(|a| a.saturating_add(audio));
        let mut s = self.rate.lock();
        if let Some(e) = s.viewers.get_mut(&self.id) {
            e.estimator.on_queue_delay(now, sample.queue, acked);
        }
    }

    /// A REMB from this viewer (bit/s).
    pub fn remb(&self, now: Instant, bps: u64) {
        let mut s = self.rate.lock();
        if let Some(e) = s.viewers.get_mut(&self.id) {
            let sent = e.sent_bps;
            e.estimator.on_remb(now, bps, sent);
        }
    }
}

impl Drop for ViewerRate {
    fn drop(&mut self) {
        self.rate.lock().viewers.remove(&self.id);
    }
}

#[cfg(test)]
mod tests;
