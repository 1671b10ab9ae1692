//! The benchmark's numbers, and their table: medians over the repetitions.

use std::collections::BTreeMap;

use super::browser::PageLatency;
use super::cpu::CpuShare;
use super::Size;

/// The value at `p` % of the sorted values (nearest rank); NaN for none.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

pub fn median(values: &[f64]) -> f64 {
    percentile(values, 50.0)
}

#[derive(Debug, Default)]
pub struct Report {
    binary: String,
    pub start_ms: Vec<f64>,
    /// (size, viewers) → CPU % of a core, one per repetition.
    cpu: BTreeMap<(&'static str, usize), Vec<f64>>,
    /// The same, of the threads other than capture and encode (where viewers cost).
    send_cpu: BTreeMap<(&'static str, usize), Vec<f64>>,
    rss_mib: BTreeMap<(&'static str, usize), Vec<f64>>,
    /// (size, viewers) → the slowest receive-only viewer's video kbit/s.
    received_kbps: BTreeMap<(&'static str, usize), Vec<f64>>,
    /// size → capture → decoded latency of every picture the first viewer decoded.
    latency_ms: BTreeMap<&'static str, Vec<f64>>,
    fps: BTreeMap<&'static str, Vec<f64>>,
    /// (size, warm) → answer → first decoded picture.
    join_ms: BTreeMap<(&'static str, bool), Vec<f64>>,
    /// low delay requested → the page's runs.
    page: BTreeMap<bool, Vec<PageLatency>>,
    /// size → the page's answer → first picture shown (Chromium).
    page_join_ms: BTreeMap<&'static str, Vec<f64>>,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|m| m.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown CPU".into())
}

impl Report {
    pub fn new(binary: &std::path::Path) -> Self {
        Self {
            binary: binary.display().to_string(),
            ..Self::default()
        }
    }

    pub fn cpu(&mut self, size: Size, viewers: usize, cpu: CpuShare, rss_mib: f64) {
        let key = (size.label, viewers);
        self.cpu.entry(key).or_default().push(cpu.total);
        self.send_cpu.entry(key).or_default().push(cpu.send);
        self.rss_mib.entry(key).or_default().push(rss_mib);
    }

    pub fn received(&mut self, size: Size, viewers: usize, kbps: f64) {
        self.received_kbps
            .entry((size.label, viewers))
            .or_default()
            .push(kbps);
    }

    pub fn latency(&mut self, size: Size, ms: impl Iterator<Item = f64>) {
        self.latency_ms.entry(size.label).or_default().extend(ms);
    }

    pub fn fps(&mut self, size: Size, fps: f64) {
        self.fps.entry(size.label).or_default().push(fps);
    }

    pub fn join(&mut self, size: Size, warm: bool, ms: f64) {
        self.join_ms.entry((size.label, warm)).or_default().push(ms);
    }

    pub fn page_joins(&mut self, size: Size, ms: Vec<f64>) {
        self.page_join_ms.entry(size.label).or_default().extend(ms);
    }

    /// Chromium joined `joins` times at each size, each in under 10 s.
    pub fn page_joins_complete(&self, sizes: &[Size], joins: usize) -> bool {
        sizes.iter().all(|s| {
            self.page_join_ms.get(s.label).is_some_and(|j| {
                j.len() == joins && j.iter().all(|ms| (0.0..10_000.0).contains(ms))
            })
        })
    }

    pub fn page(&mut self, low_delay: bool, run: PageLatency) {
        self.page.entry(low_delay).or_default().push(run);
    }

    /// The page ran in each mode and read stamps (at least 100 in its 10 s).
    pub fn page_complete(&self, modes: &[bool]) -> bool {
        modes.iter().all(|m| {
            self.page
                .get(m)
                .is_some_and(|runs| runs.iter().all(|r| r.frames >= 100 && r.p50.is_finite()))
        })
    }

    /// Every number of the plan was measured.
    pub fn complete(&self, sizes: &[Size], viewers: &[usize], joins: usize) -> bool {
        sizes.iter().all(|s| {
            viewers.iter().all(|&n| {
                self.cpu.get(&(s.label, n)).is_some_and(|c| !c.is_empty())
                    && self.rss_mib.get(&(s.label, n)).is_some_and(|r| r[0] > 1.0)
            }) && self.latency_ms.get(s.label).is_some_and(|l| !l.is_empty())
                && [false, true].iter().all(|w| {
                    self.join_ms
                        .get(&(s.label, *w))
                        .is_some_and(|j| j.len() == joins)
                })
        })
    }

    pub fn markdown(&self) -> String {
        let mut out = format!(
            "rtcam benchmark: {}, {} cores; binary {}\n\n",
            cpu_model(),
            std::thread::available_parallelism().map_or(0, |n| n.get()),
            self.binary
        );
        out += &format!(
            "start → standby offer on the broker: median {:.0} ms, p90 {:.0} ms ({} starts)\n\n",
            median(&self.start_ms),
            percentile(&self.start_ms, 90.0),
            self.start_ms.len()
        );
        out += "| size | viewers | CPU % of a core (median) | of it, outside capture and encode | per viewer vs 1 (outside capture and encode) | RSS MiB | slowest other viewer receives kbit/s |\n";
        out += "|---|---|---|---|---|---|---|\n";
        for (&(size, n), cpu) in &self.cpu {
            let send = median(&self.send_cpu[&(size, n)]);
            let one = self.send_cpu.get(&(size, 1)).map(|c| median(c));
            let per = match one {
                Some(one) if n > 1 => format!("{:+.2}", (send - one) / (n - 1) as f64),
                _ => "-".into(),
            };
            let rss = median(&self.rss_mib[&(size, n)]);
            let received = self
                .received_kbps
                .get(&(size, n))
                .map_or("-".into(), |k| format!("{:.0}", median(k)));
            out += &format!(
                "| {size} | {n} | {:.2} | {send:.2} | {per} | {rss:.1} | {received} |\n",
                median(cpu)
            );
        }
        out += "\n| size | joins | answer → first picture p50 / p90 / max ms |\n|---|---|---|\n";
        for (&(size, warm), ms) in &self.join_ms {
            let who = if warm {
                "one viewer watching"
            } else {
                "nobody watching"
            };
            out += &format!(
                "| {size} | {} ({who}) | {:.0} / {:.0} / {:.0} |\n",
                ms.len(),
                median(ms),
                percentile(ms, 90.0),
                percentile(ms, 100.0)
            );
        }
        for (size, ms) in &self.page_join_ms {
            out += &format!(
                "| {size} | {} (Chromium, viewer page; nobody else watching) | {:.0} / {:.0} / {:.0} |\n",
                ms.len(),
                median(ms),
                percentile(ms, 90.0),
                percentile(ms, 100.0)
            );
        }
        out += "\n| size | capture → decoded p50 / p95 ms | first viewer's fps (median) |\n|---|---|---|\n";
        for (size, ms) in &self.latency_ms {
            let fps = self.fps.get(size).map_or(f64::NAN, |f| median(f));
            out += &format!(
                "| {size} | {:.0} / {:.0} | {fps:.1} |\n",
                median(ms),
                percentile(ms, 95.0)
            );
        }
        out += "\n| viewer page, Chromium, 640x480 | runs | capture → display p50 / p95 ms (medians) | of it, p50 ms: capture → received / → to the compositor (decode) | page open → playing ms |\n|---|---|---|---|---|\n";
        for (low, runs) in self.page.iter().rev() {
            let pick = |f: fn(&PageLatency) -> f64| median(&runs.iter().map(f).collect::<Vec<_>>());
            let mode = if *low {
                "low playout delay asked (default)"
            } else {
                "browser's own delay (`?lowdelay=0`)"
            };
            out += &format!(
                "| {mode} | {} | {:.0} / {:.0} | {:.1} / {:.1} ({:.1}) | {:.0} |\n",
                runs.len(),
                pick(|r| r.p50),
                pick(|r| r.p95),
                pick(|r| r.received_p50),
                pick(|r| r.presented_p50),
                pick(|r| r.decode_p50),
                pick(|r| r.open_to_playing_ms)
            );
        }
        out
    }
}
