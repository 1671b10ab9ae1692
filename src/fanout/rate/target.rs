//! One bitrate for the shared encoder from every viewer's estimate, and which temporal layers
//! each viewer is sent (sans-IO).
//!
//! - The encoder follows the slowest viewer that keeps up: the minimum of the estimates of
//!   the viewers within [`THIN_BELOW`] of the fastest one.
//! - A viewer far below the rest is **thinned** instead of lowering everyone: it is sent the
//!   temporal layers that fit its estimate (all, every second picture, every fourth, every eighth). Only
//!   when even the base layer does not fit does it pull the encoder down, as far as its base
//!   layer needs. Hysteresis ([`UNTHIN_ABOVE`]) keeps a viewer near the line from flapping.
//! - Cuts apply at once; raises come at most every [`RAISE_EVERY`], by at most
//!   [`RAISE_STEP`] each (a raise that proves wrong costs a freeze, a late one costs little).
//! - At very low bitrates the encoder is given fewer pictures ([`Plan::frame_divisor`]), so
//!   each keeps enough bits to be a picture rather than mush.

use std::time::{Duration, Instant};

/// A viewer is thinned when its estimate is below this share of the fastest viewer's.
pub const THIN_BELOW: f64 = 0.5;
/// A thinned viewer gets the full stream again above this share.
pub const UNTHIN_ABOVE: f64 = 0.7;
/// Shortest time between two raises of the encoder's bitrate.
pub const RAISE_EVERY: Duration = Duration::from_secs(2);
/// Largest single raise.
pub const RAISE_STEP: f64 = 1.15;
/// Bits per pixel and picture under which the picture rate is halved (and halved again at
/// half of it): at 640x480x30 that is about 65 kbit/s, at 1280x720x30 about 190 kbit/s.
pub const LOW_BITS_PER_PIXEL: f64 = 0.007;

/// The configured range and the picture the encoder makes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub start_bps: u32,
    pub min_bps: u32,
    pub max_bps: u32,
    pub temporal_layers: u8,
    pub pixels: u32,
    pub fps: u32,
}

impl Limits {
    /// The range `[video]` configures.
    pub fn from_config(v: &crate::config::VideoConfig) -> Self {
        Self {
            start_bps: v.bitrate_kbps * 1000,
            min_bps: v.min_bitrate_kbps * 1000,
            max_bps: v.max_bitrate_kbps().max(v.bitrate_kbps) * 1000,
            temporal_layers: v.temporal_layers,
            pixels: v.width * v.height,
            fps: v.fps,
        }
    }
}

/// One viewer as the combiner sees it.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub id: u64,
    pub estimate_bps: u32,
}

/// What the encoder and the viewers' tracks should do now.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub encoder_bps: u32,
    /// Encode every n-th captured picture (1, 2 or 4).
    pub frame_divisor: u32,
    /// Per viewer: the highest temporal layer it is sent.
    pub layers: Vec<(u64, u8)>,
}

/// Shares of the encoder's output per temporal layer, measured (bytes, smoothed):
/// `upto[l]` is the share of layers `0..=l`.
#[derive(Debug, Clone, Copy)]
pub struct LayerShares {
    pub upto: [f64; 4],
}

impl Default for LayerShares {
    fn default() -> Self {
        // About what a moving scene measures, until there is a measurement.
        Self {
            upto: [0.45, 0.65, 0.85, 1.0],
        }
    }
}

impl LayerShares {
    /// The share of layers `0..=layer`, sane whatever was measured.
    fn upto(&self, layer: u8, top: u8) -> f64 {
        if layer >= top {
            return 1.0;
        }
        let s = self.upto[usize::from(layer.min(3))];
        if s.is_finite() {
            s.clamp(0.1, 1.0)
        } else {
            1.0
        }
    }
}

/// The combiner's memory between updates.
#[derive(Debug)]
pub struct Target {
    limits: Limits,
    current: u32,
    last_raise: Option<Instant>,
    thinned: Vec<u64>,
}

impl Target {
    pub fn new(limits: Limits) -> Self {
        let current = limits
            .start_bps
            .clamp(limits.min_bps, limits.max_bps.max(limits.min_bps));
        Self {
            limits,
            current,
            last_raise: None,
            thinned: Vec::new(),
        }
    }

    /// The encoder's bitrate now.
    pub fn current_bps(&self) -> u32 {
        self.current
    }

    /// Whether `id` is being thinned.
    pub fn is_thinned(&self, id: u64) -> bool {
        self.thinned.contains(&id)
    }

    /// Recomputes the plan from the viewers' estimates.
    pub fn update(&mut self, now: Instant, viewers: &[Viewer], shares: LayerShares) -> Plan {
        let top_layer = self.limits.temporal_layers.clamp(1, 4) - 1;
        let fastest = viewers.iter().map(|v| v.estimate_bps).max().unwrap_or(0);
        self.thinned
            .retain(|id| viewers.iter().any(|v| v.id == *id));
        for v in viewers {
            let ratio = f64::from(v.estimate_bps) / f64::from(fastest.max(1));
            let thinned = self.thinned.contains(&v.id);
            if top_layer > 0 && !thinned && ratio < THIN_BELOW {
                self.thinned.push(v.id);
            } else if thinned && ratio >= UNTHIN_ABOVE {
                self.thinned.retain(|id| *id != v.id);
            }
        }
        let base_share = shares.upto(0, top_layer);
        let desired = viewers
            .iter()
            .map(|v| {
                let e = f64::from(v.estimate_bps);
                if self.is_thinned(v.id) {
                    e / base_share
                } else {
                    e
                }
            })
            .fold(None, |m: Option<f64>, e| Some(m.map_or(e, |m| m.min(e))));
        if let Some(desired) = desired {
            let desired = (desired as u32).clamp(self.limits.min_bps, self.limits.max_bps);
            if desired < self.current {
                self.current = desired;
            } else if desired > self.current
                && self
                    .last_raise
                    .map_or(true, |t| now.saturating_duration_since(t) >= RAISE_EVERY)
            {
                let step = (f64::from(self.current) * RAISE_STEP) as u32;
                self.current = desired.min(step.max(self.current + 1));
                self.last_raise = Some(now);
            }
        }
        let layers = viewers
            .iter()
            .map(|v| {
                let layer = if !self.is_thinned(v.id) {
                    top_layer
                } else {
                    // The most layers whose share of the stream fits the estimate.
                    let (e, t) = (f64::from(v.estimate_bps), f64::from(self.current));
                    (0..=top_layer)
                        .rev()
                        .find(|l| e >= t * shares.upto(*l, top_layer))
                        .unwrap_or(0)
                };
                (v.id, layer)
            })
            .collect();
        Plan {
            encoder_bps: self.current,
            frame_divisor: self.frame_divisor(),
            layers,
        }
    }

    fn frame_divisor(&self) -> u32 {
        let per_picture = f64::from(self.current) / f64::from(self.limits.fps.max(1));
        let bits_per_pixel = per_picture / f64::from(self.limits.pixels.max(1));
        if bits_per_pixel >= LOW_BITS_PER_PIXEL {
            1
        } else if bits_per_pixel >= LOW_BITS_PER_PIXEL / 2.0 || self.limits.fps < 8 {
            2
        } else {
            4
        }
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
