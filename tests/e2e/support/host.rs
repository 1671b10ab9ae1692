//! A network namespace of the test's own, held by a `sleep` started under `unshare --net`;
//! commands enter it with `nsenter`. It goes away when the holder dies (the test's own
//! namespace goes with the test).

use std::process::Command;
use std::time::{Duration, Instant};

use super::process::Proc;

/// Runs `cmd`; panics with its standard error, naming `what`, if it fails.
pub fn run(what: &str, cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub struct Host {
    holder: Proc,
}

impl Host {
    /// A new namespace with `lo` up (call inside the test's own namespace).
    pub fn new() -> Self {
        let holder = Proc::spawn(
            "namespace holder",
            Command::new("unshare").args(["--net", "--", "sleep", "3600"]),
        );
        let pid = holder.pid();
        // unshare has exec'd sleep once the namespace differs from ours.
        let ours = std::fs::read_link("/proc/self/ns/net").ok();
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_link(format!("/proc/{pid}/ns/net")).ok() == ours {
            assert!(Instant::now() < deadline, "a namespace did not appear");
            std::thread::sleep(Duration::from_millis(10));
        }
        let host = Self { holder };
        host.exec("ip link set lo up");
        host
    }

    /// The holder's pid: `ip link set … netns {pid}` moves a link here.
    pub fn pid(&self) -> u32 {
        self.holder.pid()
    }

    /// A command that runs `program` in this namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new("nsenter");
        c.arg(format!("--net=/proc/{}/ns/net", self.pid()))
            .arg(program);
        c
    }

    /// Runs a shell script here; panics if it fails.
    pub fn exec(&self, script: &str) {
        run(script, self.command("sh").args(["-c", script]));
    }
}
