//! Runs a test inside a network namespace of its own, so media never leaves the machine.
//!
//! The test binary re-executes itself for one test under `unshare --net`, after bringing `lo`
//! up and adding a veth pair on 198.18.0.0/15 (the benchmarking range) with a default route:
//! WebRTC stacks skip loopback and need a routable interface. Nothing in that namespace can
//! reach another host.

use std::process::Command;
use std::sync::Mutex;

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
    let status = Command::new("unshare")
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
        .status()
        .unwrap_or_else(|e| {
            panic!("cannot run `unshare --net` ({e}); the end-to-end tests need root and util-linux + iproute2")
        });
    assert!(
        status.success(),
        "{test_name} failed inside its network namespace ({status}); see its output above. \
         If the namespace could not be created, run the tests as root (CI does)."
    );
    false
}
