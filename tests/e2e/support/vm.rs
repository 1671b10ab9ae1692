//! The emulated board of `tests/vm/`: boots it, runs shell commands on its console and reads
//! their output. Every wait is bounded; the console is echoed to the test's output with a
//! `[vm]` prefix so a failure shows what the guest printed.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running VM.
pub struct Vm {
    child: Child,
    stdin: ChildStdin,
    lines: Arc<Mutex<Vec<String>>>,
    /// How long the kernel took to reach the guest's `@@READY` (wall clock, from spawn).
    pub boot: Duration,
}

/// The repository's root (the e2e tests run from it, but say so explicitly).
fn repo() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Builds the image around `binary` (`tests/vm/image.sh`) with `files` in the guest's
/// `/data/`, panicking with its output on failure.
pub fn build_image(binary: &std::ffi::OsStr, files: &[&std::path::Path]) {
    let out = Command::new(repo().join("tests/vm/image.sh"))
        .arg(binary)
        .args(files)
        .output()
        .expect("run tests/vm/image.sh");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "tests/vm/image.sh failed");
}

impl Vm {
    /// Boots the VM with `udp_port` forwarded from the host's loopback; waits for the guest
    /// (at most `timeout`).
    pub fn boot(udp_port: u16, timeout: Duration) -> Vm {
        let started = Instant::now();
        let mut child = Command::new(repo().join("tests/vm/run.sh"))
            .env("RTCAM_VM_UDP_PORT", udp_port.to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tests/vm/run.sh");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        std::thread::spawn({
            let lines = lines.clone();
            move || {
                for line in BufReader::new(stdout).split(b'\n').map_while(Result::ok) {
                    let line = String::from_utf8_lossy(&line).trim_end().to_string();
                    println!("[vm] {line}");
                    lines.lock().unwrap().push(line);
                }
            }
        });
        let mut vm = Vm {
            child,
            stdin,
            lines,
            boot: Duration::ZERO,
        };
        assert!(
            vm.wait_line(0, timeout, |l| l.contains("@@READY"))
                .is_some(),
            "the VM did not boot within {timeout:?}"
        );
        vm.boot = started.elapsed();
        vm
    }

    fn wait_line(
        &mut self,
        from: usize,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Option<usize> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(i) = self.lines.lock().unwrap()[from..]
                .iter()
                .position(|l| pred(l))
            {
                return Some(from + i);
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the VM exited: {status}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Runs `command` in the guest's shell; returns its exit status and the lines it printed
    /// (and whatever else reached the console meanwhile, e.g. rtcam's log).
    pub fn run(&mut self, command: &str, timeout: Duration) -> (i32, Vec<String>) {
        assert!(!command.contains('\n'), "one line per command");
        let from = self.lines.lock().unwrap().len();
        writeln!(self.stdin, "{command}").expect("write to the VM's console");
        self.stdin.flush().unwrap();
        let Some(done) = self.wait_line(from, timeout, |l| l.contains("@@DONE")) else {
            panic!("`{command}` did not finish in the VM within {timeout:?}");
        };
        let lines = self.lines.lock().unwrap();
        let status = lines[done]
            .rsplit("@@DONE ")
            .next()
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(-1);
        (status, lines[from..done].to_vec())
    }

    /// Runs `command` and fails the test unless it exits 0; returns its output.
    pub fn ok(&mut self, command: &str, timeout: Duration) -> String {
        let (status, out) = self.run(command, timeout);
        assert_eq!(
            status,
            0,
            "`{command}` failed in the VM:\n{}",
            out.join("\n")
        );
        out.join("\n")
    }

    /// Writes `contents` (text without single quotes) to `path` in the guest, a line at a time.
    pub fn write_file(&mut self, path: &str, contents: &str) {
        assert!(!contents.contains('\''), "no single quotes in {path}");
        self.ok(&format!(": > {path}"), Duration::from_secs(10));
        for line in contents.lines() {
            self.ok(&format!("echo '{line}' >> {path}"), Duration::from_secs(10));
        }
    }

    /// Powers the guest off (bounded), killing QEMU if it does not stop.
    pub fn shutdown(mut self) {
        let _ = writeln!(self.stdin, "reboot -f");
        let _ = self.stdin.flush();
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Vm {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
