//! One bitrate for the shared encoder from every viewer's estimate, and which temporal layers
//! each viewer is sent (sans-IO).
//!
//! - The encoder follows the slowest viewer that keeps up: the minimum of the estimates of
//!   the viewers within [`THIN_BELOW`] of the fastest one.
//! - A viewer far below the rest does not lower everyone. With a **second stream**
//!   ([`Limits::second_stream`], the default) it moves to a second encode of the same
//!   pictures whose bitrate follows the slowest such viewer ([`Plan::low`]): every picture,
//!   at a rate its link carries. Without one it is **thinned**: sent the temporal layers that
//!   fit its estimate (all, every second picture, every fourth, every eighth); only when even
//!   the base layer does not fit does it pull the encoder down, as far as its base layer
//!   needs. Hysteresis ([`UNTHIN_ABOVE`]) keeps a viewer near the line from flapping.
//! - Cuts apply at once; raises come at most every [`RAISE_EVERY`], by at most
//!   [`RAISE_STEP`] each (a raise that proves wrong costs a freeze, a late one costs little).
//! - At low bitrates the encoder gets pictures of half the width and height
//!   ([`Plan::half_size`], below [`HALF_SIZE_BITS_PER_PIXEL`], back above 1.6 times that), and
//!   at very low bitrates fewer of them ([`Plan::frame_divisor`]), so each keeps enough bits
//!   to be a picture rather than mush.

use std::time::{Duration, Instant};

/// A viewer is thinned when its estimate is below this share of the fastest viewer's.
pub const THIN_BELOW: f64 = 0.5;
/// A thinned viewer gets the full stream again above this share.
pub const UNTHIN_ABOVE: f64 = 0.7;
/// A thinned viewer whose estimate covers this many times what the whole stream carries is
/// whole again (thinned only while it is below what is carried: hysteresis between the two).
pub const UNTHIN_COVERS: f64 = 1.3;
/// However slow a thinned viewer, the encoder keeps at least this share of what the viewers
/// that keep up can take: a slow link must not drag the others down (its base layer may then
/// not fit either, and it sees fewer pictures still).
pub const SLOW_VIEWER_FLOOR: f64 = 0.7;
/// Shortest time between two raises of the encoder's bitrate.
pub const RAISE_EVERY: Duration = Duration::from_secs(2);
/// Largest single raise.
pub const RAISE_STEP: f64 = 1.15;
/// Bits per pixel and picture under which the picture rate is halved (and halved again at
/// half of it): at 640x480x30 that is about 65 kbit/s, at 1280x720x30 about 190 kbit/s.
pub const LOW_BITS_PER_PIXEL: f64 = 0.007;

/// Bits per pixel and picture (at full size) under which pictures are halved in size: at
/// 640x480x30 about 92 kbit/s, at 1280x720x30 about 276 kbit/s.
pub const HALF_SIZE_BITS_PER_PIXEL: f64 = 0.01;
/// The second stream halves its pictures below this many times the main stream's line (at
/// 640x480x30 about 276 kbit/s): a slow link is better served by a smaller, sharper picture,
/// and it costs the board a quarter of the encoding.
pub const SECOND_STREAM_HALF_FACTOR: f64 = 3.0;
/// The bitrate must rise this far above the halving line before the full size returns.
pub const FULL_SIZE_HYSTERESIS: f64 = 1.6;

/// The configured range and the picture the encoder makes.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub start_bps: u32,
    pub min_bps: u32,
    pub max_bps: u32,
    pub temporal_layers: u8,
    pub pixels: u32,
    pub fps: u32,
    /// What the audio takes on the wire (Opus plus packet headers), 0 without audio: the
    /// viewers' estimates are for everything they receive, the encoder gets the rest.
    pub audio_bps: u32,
    /// Whether pictures may be halved in size (a raw source whose size halves evenly).
    pub scalable: bool,
    /// Whether viewers far slower than the rest get a second encode (`video.second_stream`).
    pub second_stream: bool,
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
            audio_bps: 0,
            scalable: crate::capture::scale::can_halve(v.width, v.height),
            second_stream: v.second_stream,
        }
    }

    /// With audio of `opus_kbps`: the Opus bitrate plus 50 packets a second of RTP, SRTP,
    /// UDP and IP headers (about 50 bytes each).
    pub fn with_audio(mut self, opus_kbps: u32) -> Self {
        self.audio_bps = opus_kbps * 1000 + AUDIO_HEADERS_BPS;
        self
    }

    /// What a viewer must receive for the video to get `video_bps` (the inverse of
    /// [`Limits::video_share`]).
    pub fn total_for(&self, video_bps: u32) -> u32 {
        ((f64::from(video_bps) + 8_000.0) / 0.95).ceil() as u32 + self.audio_bps
    }

    /// The part of a viewer's estimate left for video payload: minus the audio, minus
    /// about 5 % and 8 kbit/s of packet headers.
    pub fn video_share(&self, estimate_bps: u32) -> u32 {
        let left = f64::from(estimate_bps.saturating_sub(self.audio_bps));
        (left * 0.95 - 8_000.0).max(0.0) as u32
    }
}

/// Packet headers of 50 Opus packets a second.
pub const AUDIO_HEADERS_BPS: u32 = 50 * 50 * 8;

/// One viewer as the combiner sees it.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub id: u64,
    pub estimate_bps: u32,
    /// What the viewer's video was sent over its last report interval, bit/s (0: unknown).
    pub sent_bps: u32,
}

/// What the encoder and the viewers' tracks should do now.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    pub encoder_bps: u32,
    /// Encode every n-th captured picture (1, 2 or 4).
    pub frame_divisor: u32,
    /// Encode pictures of half the width and height.
    pub half_size: bool,
    /// Per viewer: the highest temporal layer it is sent.
    pub layers: Vec<(u64, u8)>,
    /// The second stream, while a viewer needs it.
    pub low: Option<LowPlan>,
}

/// The second encode, for the viewers far slower than the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct LowPlan {
    pub encoder_bps: u32,
    pub frame_divisor: u32,
    pub half_size: bool,
    /// The viewers it is for.
    pub viewers: Vec<u64>,
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
    half_size: bool,
    /// The second stream's bitrate, last raise and size, while it runs.
    low: Option<(u32, Option<Instant>, bool)>,
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
            half_size: false,
            low: None,
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
        // What the main stream really carries, as the other viewers on it were sent (a quiet
        // scene sends far less than the encoder's target, and an estimate is only proven up
        // to what was carried): a viewer whose estimate covers it is not slow, however far
        // above it another one's estimate. The same measure decides both ways (no flapping);
        // unknown (0) when no other viewer on the main stream has reported what it was sent.
        let thinned_now = self.thinned.clone();
        let carried = |me: u64| {
            viewers
                .iter()
                .filter(|o| o.id != me && !thinned_now.contains(&o.id))
                .map(|o| o.sent_bps)
                .max()
                .unwrap_or(0)
        };
        for v in viewers {
            let ratio = f64::from(v.estimate_bps) / f64::from(fastest.max(1));
            let main = carried(v.id);
            let covers =
                |factor: f64| main > 0 && f64::from(v.estimate_bps) >= factor * f64::from(main);
            let thinned = self.thinned.contains(&v.id);
            let can_thin = top_layer > 0 || self.limits.second_stream;
            if can_thin && !thinned && ratio < THIN_BELOW && !covers(1.0) {
                self.thinned.push(v.id);
            } else if thinned && (ratio >= UNTHIN_ABOVE || covers(UNTHIN_COVERS)) {
                self.thinned.retain(|id| *id != v.id);
            }
        }
        let base_share = shares.upto(0, top_layer);
        let min = |it: &mut dyn Iterator<Item = f64>| {
            it.fold(None, |m: Option<f64>, e| {
                Some(m.map_or(e, |m: f64| m.min(e)))
            })
        };
        let keeping_up = min(&mut viewers
            .iter()
            .filter(|v| !self.is_thinned(v.id))
            .map(|v| f64::from(v.estimate_bps)));
        let slow = min(&mut viewers
            .iter()
            .filter(|v| self.is_thinned(v.id))
            .map(|v| f64::from(v.estimate_bps) / base_share));
        let second = self.limits.second_stream && !self.thinned.is_empty();
        let desired = match (keeping_up, slow) {
            (Some(k), _) if second => Some(k),
            (Some(k), Some(s)) => Some(k.min(s.max(SLOW_VIEWER_FLOOR * k))),
            (k, s) => k.or(s),
        };
        if let Some(desired) = desired {
            let desired = (desired as u32).clamp(self.limits.min_bps, self.limits.max_bps);
            (self.current, self.last_raise) = follow(now, self.current, self.last_raise, desired);
        }
        self.low = if second {
            let slowest = viewers
                .iter()
                .filter(|v| self.is_thinned(v.id))
                .map(|v| v.estimate_bps)
                .min()
                .unwrap_or(0);
            let desired = slowest.clamp(self.limits.min_bps, self.current.max(self.limits.min_bps));
            let (bps, raised, half) = match self.low {
                Some((bps, raised, half)) => {
                    let (bps, raised) = follow(now, bps, raised, desired);
                    (bps, raised, half)
                }
                None => (desired, Some(now), false),
            };
            Some((
                bps,
                raised,
                self.size_for(bps, half, SECOND_STREAM_HALF_FACTOR),
            ))
        } else {
            None
        };
        let layers = viewers
            .iter()
            .map(|v| {
                let layer = if !self.is_thinned(v.id) || second {
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
        self.half_size = self.size_for(self.current, self.half_size, 1.0);
        let low = self.low.map(|(bps, _, half)| LowPlan {
            encoder_bps: bps,
            frame_divisor: self.frame_divisor(bps, half),
            half_size: half,
            viewers: self.thinned.clone(),
        });
        Plan {
            encoder_bps: self.current,
            frame_divisor: self.frame_divisor(self.current, self.half_size),
            half_size: self.half_size,
            layers,
            low,
        }
    }

    /// Whether an encoder at `bps` should make half-size pictures (`half`: whether it does),
    /// with the halving line moved up by `factor`.
    fn size_for(&self, bps: u32, half: bool, factor: f64) -> bool {
        let full_rate = f64::from(self.limits.pixels) * f64::from(self.limits.fps.max(1));
        let halve_below = full_rate * HALF_SIZE_BITS_PER_PIXEL * factor;
        let bps = f64::from(bps);
        if !self.limits.scalable {
            false
        } else if !half {
            bps < halve_below
        } else {
            bps <= halve_below * FULL_SIZE_HYSTERESIS
        }
    }

    fn frame_divisor(&self, bps: u32, half: bool) -> u32 {
        let pixels = if half {
            self.limits.pixels / 4
        } else {
            self.limits.pixels
        };
        let per_picture = f64::from(bps) / f64::from(self.limits.fps.max(1));
        let bits_per_pixel = per_picture / f64::from(pixels.max(1));
        if bits_per_pixel >= LOW_BITS_PER_PIXEL {
            1
        } else if bits_per_pixel >= LOW_BITS_PER_PIXEL / 2.0 || self.limits.fps < 8 {
            2
        } else {
            4
        }
    }
}

/// One step of a bitrate towards `desired`: a cut at once, a raise at most every
/// [`RAISE_EVERY`] and by at most [`RAISE_STEP`]. Returns the new rate and last raise.
fn follow(
    now: Instant,
    current: u32,
    last_raise: Option<Instant>,
    desired: u32,
) -> (u32, Option<Instant>) {
    if desired < current {
        (desired, last_raise)
    } else if desired > current
        && last_raise.map_or(true, |t| now.saturating_duration_since(t) >= RAISE_EVERY)
    {
        let step = (f64::from(current) * RAISE_STEP) as u32;
        (desired.min(step.max(current + 1)), Some(now))
    } else {
        (current, last_raise)
    }
}

#[cfg(test)]
#[path = "target_tests.rs"]
mod tests;
