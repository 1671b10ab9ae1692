//! What the benchmark measures: its picture sizes, and how much and how long.

use std::time::Duration;

/// One picture size of the benchmark.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub label: &'static str,
    pub width: u32,
    pub height: u32,
    pub kbps: u32,
}

pub const P480: Size = Size {
    label: "480p30 1 Mbit/s",
    width: 640,
    height: 480,
    kbps: 1000,
};
pub const P720: Size = Size {
    label: "720p30 2 Mbit/s",
    width: 1280,
    height: 720,
    kbps: 2000,
};

/// What to measure, and how long.
pub struct Plan {
    pub sizes: &'static [Size],
    pub viewers: &'static [usize],
    /// Measured window per viewer count, after `settle`.
    pub window: Duration,
    pub settle: Duration,
    /// Joins per size for the time to first frame, with nobody watching and with one.
    pub joins: usize,
    /// Process starts for start → offer.
    pub starts: usize,
    pub reps: usize,
    /// Page runs per repetition: with the low delay request (`true`), without (`false`).
    pub page_modes: &'static [bool],
    /// Joins of the page (Chromium) per size and repetition.
    pub page_joins: usize,
    /// What the camera draws for the viewers' load: busy in the benchmark; the bars in CI's
    /// quick run, where no number is read and a busy picture drawn by the unoptimised test
    /// build would take a third of a core from the test running beside it.
    pub load_pattern: Pattern,
}

/// What the synthetic camera draws: `Busy` fills the bitrate (a panning texture under film
/// grain), so a viewer really is sent `kbps`; `Bars` encodes to a few hundred kbit/s.
#[derive(Debug, Clone, Copy)]
pub enum Pattern {
    Bars,
    Busy,
}
