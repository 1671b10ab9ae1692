//! `video.source = "command"`: a program that writes the video to its standard output, run
//! and supervised by rtcam — `rpicam-vid` for the Raspberry Pi camera modules (libcamera,
//! and on a Pi 4 the hardware H.264 encoder), a GStreamer pipeline ending in `fdsink`,
//! ffmpeg. It writes H.264 Annex B (`video.format = "h264"`, passed through) or raw I420
//! pictures of the configured size (`"yu12"`, encoded by rtcam).
//!
//! Supervision: the command runs through `sh -c` in a process group of its own; its stderr
//! goes to the log (a burst of lines is cut short); when it exits, or writes nothing for
//! [`SILENCE`], it is stopped and started again after a back-off (1 s doubling to 30 s, back
//! to 1 s after a run of a minute); when rtcam stops, the group is killed (and were rtcam
//! killed outright, the command's next write fails on the closed pipe).

use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use tracing::{debug, info, warn};

use crate::backoff::Backoff;
use crate::log_budget::LogBudget;

/// Longest the command may write nothing before it counts as stuck.
pub const SILENCE: Duration = Duration::from_secs(5);
/// Back-off between runs of a command that keeps ending.
pub const RESTART_MIN: Duration = Duration::from_secs(1);
pub const RESTART_MAX: Duration = Duration::from_secs(30);
/// A run this long resets the back-off.
const GOOD_RUN: Duration = Duration::from_secs(60);
/// Lines of stderr logged per [`STDERR_WINDOW`]; more are counted, not logged.
const STDERR_LINES: u32 = 20;
const STDERR_WINDOW: Duration = Duration::from_secs(10);
/// Bytes read from the pipe at a time, and chunks waiting for the capture thread.
const CHUNK: usize = 64 * 1024;
const CHUNKS_QUEUED: usize = 16;

/// Why [`Producer::read`] has nothing.
#[derive(Debug, Clone, PartialEq)]
pub struct NoOutput {
    pub reason: String,
    /// The command closed its output and exited: everything it wrote was read, so what is
    /// still buffered is whole. Otherwise (silent, killed, not started) it may be cut off.
    pub ended: bool,
}

impl NoOutput {
    fn cut(reason: String) -> Self {
        Self {
            reason,
            ended: false,
        }
    }
}

struct Running {
    child: Child,
    chunks: Receiver<Vec<u8>>,
    started: Instant,
}

/// The command, running or waiting to be started again.
pub struct Producer {
    command: String,
    running: Option<Running>,
    backoff: Backoff,
    not_before: Option<Instant>,
    runs: u64,
    silence: Duration,
}

impl Producer {
    pub fn new(command: &str) -> Self {
        Self {
            command: command.to_string(),
            running: None,
            backoff: Backoff::new(RESTART_MIN, RESTART_MAX),
            not_before: None,
            runs: 0,
            silence: SILENCE,
        }
    }

    /// With other waits (tests).
    #[cfg(test)]
    fn with_waits(mut self, silence: Duration, restart: Duration) -> Self {
        self.silence = silence;
        self.backoff = Backoff::new(restart, restart * 4);
        self
    }

    /// The command line, for names and logs.
    pub fn command(&self) -> &str {
        &self.command
    }

    /// The next piece of its output, starting it if it is not running. An error says why
    /// there is none (it exited, it is silent, it is waiting to be restarted); the next call
    /// tries again.
    pub fn read(&mut self) -> Result<Vec<u8>, NoOutput> {
        if self.running.is_none() {
            if let Some(at) = self.not_before {
                let left = at.saturating_duration_since(Instant::now());
                if !left.is_zero() {
                    return Err(NoOutput::cut(format!(
                        "restarting in {:.1} s",
                        left.as_secs_f64()
                    )));
                }
            }
            self.start().map_err(NoOutput::cut)?;
        }
        let Some(run) = self.running.as_mut() else {
            return Err(NoOutput::cut("not running".into()));
        };
        match run.chunks.recv_timeout(self.silence) {
            Ok(chunk) => Ok(chunk),
            Err(RecvTimeoutError::Timeout) => {
                let why = format!("wrote nothing for {:.1} s", self.silence.as_secs_f64());
                self.stop(&why);
                Err(NoOutput::cut(format!("{why}; stopped, starting it again")))
            }
            Err(RecvTimeoutError::Disconnected) => {
                // Its output is closed; it normally exits with it. One that lingers is
                // stopped below (never waited for without a bound).
                let deadline = Instant::now() + Duration::from_secs(1);
                let why = loop {
                    match run.child.try_wait() {
                        Ok(Some(status)) => break format!("exited ({status})"),
                        Ok(None) if Instant::now() < deadline => {
                            std::thread::sleep(Duration::from_millis(10))
                        }
                        Ok(None) => break "closed its output but kept running".to_string(),
                        Err(e) => break format!("exited ({e})"),
                    }
                };
                self.stop(&why);
                Err(NoOutput {
                    reason: why,
                    ended: true,
                })
            }
        }
    }

    fn start(&mut self) -> Result<(), String> {
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(&self.command)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| {
                self.not_before = Some(Instant::now() + self.backoff.failed());
                format!("cannot run sh: {e}")
            })?;
        self.runs += 1;
        let (tx, chunks) = mpsc::sync_channel(CHUNKS_QUEUED);
        if let Some(mut out) = child.stdout.take() {
            spawn("rtcam-cmd-out", move || {
                let mut buf = vec![0u8; CHUNK];
                // Ends at EOF, on a read error, or when the source is gone.
                while let Ok(n) = out.read(&mut buf) {
                    if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            });
        }
        if let Some(err) = child.stderr.take() {
            let command = short(&self.command);
            spawn("rtcam-cmd-err", move || log_stderr(err, &command));
        }
        info!(command = %self.command, pid = child.id(), run = self.runs, "video command started");
        self.running = Some(Running {
            child,
            chunks,
            started: Instant::now(),
        });
        Ok(())
    }

    /// Stops the command (its whole process group) and schedules the next start.
    fn stop(&mut self, why: &str) {
        let Some(mut run) = self.running.take() else {
            return;
        };
        kill_group(&mut run.child);
        let ran = run.started.elapsed();
        if ran >= GOOD_RUN {
            self.backoff.succeeded();
        }
        let wait = self.backoff.failed();
        self.not_before = Some(Instant::now() + wait);
        warn!(command = %self.command, reason = why, ran_s = ran.as_secs(), restart_in_s = wait.as_secs_f64(),
            "video command stopped");
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        if let Some(mut run) = self.running.take() {
            kill_group(&mut run.child);
            debug!(command = %self.command, "video command stopped with its source");
        }
    }
}

/// SIGTERM to the command's process group, then SIGKILL if it is still there after 0.5 s.
fn kill_group(child: &mut Child) {
    let pgid = child.id() as i32;
    // SAFETY: killpg sends a signal; no memory is touched.
    unsafe { libc::killpg(pgid, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // SAFETY: as above.
    unsafe { libc::killpg(pgid, libc::SIGKILL) };
    let _ = child.wait();
}

fn log_stderr(err: impl Read, command: &str) {
    let mut budget = LogBudget::new(STDERR_LINES, STDERR_WINDOW);
    for line in BufReader::new(err).lines() {
        let Ok(line) = line else { break };
        let take = budget.take(Instant::now());
        if take.held_before > 0 {
            info!(
                command,
                lines = take.held_before,
                "video command: more stderr lines not logged"
            );
        }
        if take.log {
            info!(
                command,
                "video command: {}",
                line.chars().take(500).collect::<String>()
            );
        }
    }
}

/// The program name of a command line, for log fields.
fn short(command: &str) -> String {
    command
        .split_whitespace()
        .next()
        .unwrap_or("")
        .chars()
        .take(64)
        .collect()
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) {
    if let Err(e) = std::thread::Builder::new().name(name.into()).spawn(f) {
        warn!(cause = %e, "cannot start a thread for the video command");
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
