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
