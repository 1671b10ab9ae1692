//! A child process (the `rtcam` binary, a browser driver) that is killed if the test fails
//! before it stops it.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Proc {
    child: Child,
    name: &'static str,
}

impl Proc {
    pub fn spawn(name: &'static str, cmd: &mut Command) -> Self {
        let child = cmd
            .stdin(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        Self { child, name }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and waits up to `wait`: the exit status (`None` if still running) and
    /// how long it took.
    pub fn terminate_within(&mut self, wait: Duration) -> (Option<ExitStatus>, Duration) {
        let start = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        while start.elapsed() < wait {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (Some(status), start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        (None, start.elapsed())
    }

    /// SIGTERM and wait (10 s): returns whether it exited successfully.
    pub fn terminate(&mut self) -> bool {
        match self.terminate_within(Duration::from_secs(10)) {
            (Some(status), _) => status.success(),
            (None, _) => {
                eprintln!("{} did not stop within 10 s of SIGTERM", self.name);
                false
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Starts the `rtcam` binary (`run`) for `device` against the broker on loopback `port`,
/// with its config written into `dir`; `extra` is more TOML (tables) for the config.
pub fn run_device(dir: &std::path::Path, port: u16, device: &str, extra: &str) -> Proc {
    run_device_binary(
        env!("CARGO_BIN_EXE_rtcam").as_ref(),
        dir,
        port,
        device,
        extra,
    )
}

/// [`run_device`] with another build of `rtcam` (the benchmark's release binary).
pub fn run_device_binary(
    binary: &std::path::Path,
    dir: &std::path::Path,
    port: u16,
    device: &str,
    extra: &str,
) -> Proc {
    let config = dir.join(format!("{device}.toml"));
    std::fs::write(
        &config,
        format!(
            "device_id = \"{device}\"\n{extra}\n[mqtt]\nurl = \"mqtt://127.0.0.1:{port}\"\n\
             keep_alive_s = 5\n"
        ),
    )
    .expect("write the device config");
    Proc::spawn(
        "rtcam run",
        Command::new(binary)
            .args(["run", "--config"])
            .arg(&config)
            // RTCAM_DEVICE_LOG: the device's RUST_LOG when a test is being looked into.
            .env(
                "RUST_LOG",
                std::env::var("RTCAM_DEVICE_LOG").unwrap_or_else(|_| "warn".into()),
            ),
    )
}

/// What `/proc` says about a process: RSS (KiB), threads, open fds, CPU ticks (user + system,
/// in USER_HZ = 100 per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStats {
    pub rss_kib: u64,
    pub threads: u64,
    pub fds: usize,
    pub cpu_ticks: u64,
}

/// Reads [`ProcStats`] of `pid` (`"self"` for this process).
pub fn proc_stats(pid: &str) -> ProcStats {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0)
    };
    let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    ProcStats {
        rss_kib: field("VmRSS:"),
        threads: field("Threads:"),
        fds,
        cpu_ticks: stat_cpu_ticks(&stat),
    }
}

/// User + system CPU ticks from the text of a `/proc/PID/stat` or `/proc/PID/task/TID/stat`:
/// fields 14 and 15, counted after the command name's ')' (a name may hold spaces).
pub fn stat_cpu_ticks(stat: &str) -> u64 {
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<u64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0))
        .collect();
    f.get(11).copied().unwrap_or(0) + f.get(12).copied().unwrap_or(0)
}
