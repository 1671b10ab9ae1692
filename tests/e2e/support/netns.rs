//! Runs a test inside a network namespace of its own, so media never leaves the machine.
//!
//! The test binary re-executes itself for one test under `unshare --net`, after bringing `lo`
//! up and adding a veth pair on 198.18.0.0/15 (the benchmarking range) with a default route:
//! WebRTC stacks skip loopback and need a routable interface. Nothing in that namespace can
//! reach another host.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::thread::JoinHandle;

const MARKER: &str = "RTCAM_TEST_IN_NETNS";

/// Shell commands that set the namespace up.
const SETUP: &str = "set -e; ip link set lo up; \
    ip link add rtcam0 type veth peer name rtcam1; \
    ip addr add 198.18.0.1/24 dev rtcam0; ip addr add 198.18.0.2/24 dev rtcam1; \
    ip link set rtcam0 up; ip link set rtcam1 up; \
    ip route add default via 198.18.0.254 dev rtcam0";

/// Whether this process runs inside a test's namespace (no route to the outside world).
pub fn inside() -> bool {
    std::env::var_os(MARKER).is_some()
}

/// Held while a CPU-hungry test runs (see [`enter_alone`]).
static HUNGRY: Mutex<()> = Mutex::new(());

/// [`enter`] for a test that needs most of the machine (headless Chromium, a QEMU board, the
/// soak's steady frame rate, a hundred viewers churning): at most one of them runs at a time,
/// next to at most one light test. Two at once on 2 cores starve each other, and their frame
/// rates and bandwidth estimates then measure the machine, not rtcam (seen: a Chromium tab's
/// estimate fell to 176–198 kbit/s on loopback while another Chromium test, and once the churn
/// test, ran beside it, and it was moved to the half-size second stream; the soak's viewers
/// fell to 21 fps next to a browser test).
pub fn enter_alone(module: &str, name: &str) -> bool {
    if inside() {
        return true;
    }
    let _alone = HUNGRY
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    enter(module, name)
}

/// Returns `true` when the caller is already inside the namespace and should run the test
/// body. Otherwise runs the test `name` of `module` (pass `module_path!()`) in a new
/// namespace, fails if it failed, and returns `false`.
pub fn enter(module: &str, name: &str) -> bool {
    if std::env::var_os(MARKER).is_some() {
        return true;
    }
    // The harness names tests by their path inside the crate: without the crate's own name.
    let module = module.split_once("::").map_or("", |(_, m)| m);
    let test_name = if module.is_empty() {
        name.to_string()
    } else {
        format!("{module}::{name}")
    };
    let test_name = test_name.as_str();
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new("unshare")
        .arg("--net")
        .arg("--")
        .arg("sh")
        .arg("-c")
        .arg(format!("{SETUP}; exec \"$0\" \"$@\""))
        .arg(&exe)
        // --include-ignored: an ignored test (run on purpose, e.g. the long soak) must run
        // in its namespace too, not be skipped there and "pass".
        .args([test_name, "--exact", "--include-ignored", "--nocapture", "--test-threads=1"])
        .env(MARKER, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot run `unshare --net` ({e}); the end-to-end tests need root and util-linux + iproute2")
        });
    // The child's output is passed through as it comes (live progress), and its panic
    // messages and last lines are kept for the failure message: CI's summary shows the
    // failures' messages, and "see its output above" pointed at thousands of lines.
    let out = pass_through(child.stdout.take().unwrap(), false);
    let err = pass_through(child.stderr.take().unwrap(), true);
    let status = child.wait().expect("wait for the namespaced test");
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    assert!(
        status.success(),
        "{test_name} failed inside its network namespace ({status}). If the namespace could \
         not be created, run the tests as root (CI does).\n--- its stderr (panics):\n{}\
         --- its stdout (last lines):\n{}",
        err.summary(),
        out.summary()
    );
    false
}

/// What a namespaced test printed that explains its failure.
#[derive(Default)]
struct Kept {
    /// The last lines before the first panic: what the test was doing.
    before: VecDeque<String>,
    /// Each panic's location and message (up to its backtrace), in order.
    panics: Vec<String>,
}

const BEFORE_LINES: usize = 15;
const MAX_PANIC_LINES: usize = 40;

impl Kept {
    fn summary(&self) -> String {
        let mut lines: Vec<&str> = self.before.iter().map(String::as_str).collect();
        lines.extend(self.panics.iter().map(String::as_str));
        lines.iter().map(|l| format!("{l}\n")).collect()
    }
}

/// Copies `from` to this process's stdout (or stderr) line by line, bypassing the test
/// harness's capture as the child's own output did, and keeps what [`Kept`] describes.
fn pass_through(from: impl Read + Send + 'static, to_stderr: bool) -> JoinHandle<Kept> {
    std::thread::spawn(move || {
        let mut kept = Kept::default();
        let mut in_panic = false;
        let mut reader = BufReader::new(from);
        let mut raw = Vec::new();
        // Bytes, not `lines()`: a line that is not UTF-8 (a tool's binary output) must not
        // stop the reading, or the child blocks once the pipe is full.
        loop {
            raw.clear();
            match reader.read_until(b'\n', &mut raw) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
            let line = String::from_utf8_lossy(&raw);
            let line = line.trim_end_matches(['\n', '\r']).to_string();
            let _ = if to_stderr {
                writeln!(std::io::stderr().lock(), "{line}")
            } else {
                writeln!(std::io::stdout().lock(), "{line}")
            };
            if line.contains("panicked at") {
                in_panic = true;
            } else if line.starts_with("stack backtrace:") || line.starts_with("note: ") {
                in_panic = false;
            }
            if in_panic {
                if kept.panics.len() < MAX_PANIC_LINES {
                    kept.panics.push(line);
                }
            } else if kept.panics.is_empty() {
                if kept.before.len() == BEFORE_LINES {
                    kept.before.pop_front();
                }
                kept.before.push_back(line);
            }
        }
        kept
    })
}
