//! CPU use of the device over a window, split by thread: the capture and encode threads
//! (`rtcam-video`, `rtcam-audio`: the same work whatever the number of viewers) and the rest
//! (the async runtime: packetizing, pacing, SRTP, sending, RTCP, signalling), where a
//! viewer's cost shows. The encoder's share moves by a few % of a core from one window to the
//! next with the busy pattern, more than a viewer costs, so the per-viewer figure is read
//! from the rest alone.

use std::time::{Duration, Instant};

use crate::support::process::stat_cpu_ticks;

/// Threads whose work does not depend on the number of viewers.
const MEDIA_THREADS: [&str; 2] = ["rtcam-video", "rtcam-audio"];

/// % of one core over a window: the whole process, and its threads other than the media ones.
#[derive(Debug, Clone, Copy)]
pub struct CpuShare {
    pub total: f64,
    pub send: f64,
}

/// CPU ticks (user + system, USER_HZ = 100 per second) of every thread of `pid`, keyed by
/// thread id, with whether it is a media thread.
fn thread_ticks(pid: u32) -> Vec<(u64, bool, u64)> {
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let e = e.ok()?;
        let tid: u64 = e.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
        // The thread's name sits in parentheses.
        let name = stat.rsplit_once(')')?.0.split_once('(')?.1;
        Some((tid, MEDIA_THREADS.contains(&name), stat_cpu_ticks(&stat)))
    })
    .collect()
}

/// Measures `pid` over `window`. Threads that start or end inside the window count with the
/// ticks seen of them.
pub async fn measure(pid: u32, window: Duration) -> CpuShare {
    let (t0, before) = (Instant::now(), thread_ticks(pid));
    tokio::time::sleep(window).await;
    let (t1, after) = (Instant::now(), thread_ticks(pid));
    let (mut total, mut send) = (0u64, 0u64);
    for (tid, media, ticks) in after {
        let was = before
            .iter()
            .find(|(t, _, _)| *t == tid)
            .map_or(0, |(_, _, c)| *c);
        let used = ticks.saturating_sub(was);
        total += used;
        if !media {
            send += used;
        }
    }
    let percent = |ticks: u64| ticks as f64 / 100.0 / (t1 - t0).as_secs_f64() * 100.0;
    CpuShare {
        total: percent(total),
        send: percent(send),
    }
}
