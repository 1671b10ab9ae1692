//! A second network namespace for the device, joined to the test's own by a veth pair, so
//! media really crosses a link that can be shaped (two addresses in one namespace would
//! talk through `lo`, past any qdisc).
//!
//! ```text
//!   test namespace (viewers, browser)          device namespace (rtcam demo: broker, page)
//!   rtv  198.18.1.2, .3, .4 /24  <── veth ──>  rtd  198.18.1.1/24
//!                                              egress of rtd: tc (tbf / htb) + nft loss
//! ```
//!
//! The namespace is held by a `sleep` started under `unshare --net`; commands run in it
//! through `nsenter`. Everything is torn down when the holder dies (the test's namespace
//! goes with the test).

use std::process::Command;

use super::host::{run, Host};

/// The device's address on the link.
pub const DEVICE_IP: &str = "198.18.1.1";
/// The viewers' addresses on the link (one per viewer that must be told apart).
pub const VIEWER_IPS: [&str; 3] = ["198.18.1.2", "198.18.1.3", "198.18.1.4"];

pub struct DeviceNet {
    host: Host,
}

impl DeviceNet {
    /// Creates the namespace and the link (call inside the test's own namespace).
    pub fn new() -> Self {
        let host = Host::new();
        let sh = |script: &str| run(script, Command::new("sh").args(["-c", script]));
        sh("ip link add rtv type veth peer name rtd");
        sh(&format!("ip link set rtd netns {}", host.pid()));
        for ip in VIEWER_IPS {
            sh(&format!("ip addr add {ip}/24 dev rtv"));
        }
        sh("ip link set rtv up");
        let net = Self { host };
        net.exec(&format!(
            "ip addr add {DEVICE_IP}/24 dev rtd; ip link set rtd up; \
             ip route add default via {} dev rtd",
            VIEWER_IPS[0]
        ));
        net
    }

    /// Runs a shell script in the device namespace; panics if it fails.
    pub fn exec(&self, script: &str) {
        self.host.exec(script);
    }

    /// A command that runs `program` in the device namespace.
    pub fn command(&self, program: &str) -> Command {
        self.host.command(program)
    }

    /// Caps the device → viewer direction at `kbit` kbit/s: a token bucket with a queue of
    /// at most `latency_ms` (a router's buffer) and a burst of one 1500-byte packet's worth
    /// rounded up to 4 KiB.
    pub fn cap(&self, kbit: u32, latency_ms: u32) {
        self.exec(&format!(
            "tc qdisc replace dev rtd root tbf rate {kbit}kbit burst 4096 latency {latency_ms}ms"
        ));
    }

    /// Caps only what goes to `ip` (the other viewers' traffic is not limited).
    pub fn cap_to(&self, ip: &str, kbit: u32, queue_bytes: u32) {
        self.exec(&format!(
            "tc qdisc replace dev rtd root handle 1: htb default 20; \
             tc class replace dev rtd parent 1: classid 1:10 htb rate {kbit}kbit ceil {kbit}kbit burst 4k; \
             tc class replace dev rtd parent 1: classid 1:20 htb rate 1000mbit; \
             tc qdisc replace dev rtd parent 1:10 handle 10: bfifo limit {queue_bytes}; \
             tc filter replace dev rtd parent 1: protocol ip prio 1 u32 match ip dst {ip}/32 flowid 1:10"
        ));
    }

    /// What the qdiscs on the device's side did (sent, dropped, backlog), for the log.
    pub fn qdisc_stats(&self) -> String {
        let out = self
            .command("tc")
            .args(["-s", "qdisc", "show", "dev", "rtd"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out
    }

    /// Lifts every cap.
    pub fn uncap(&self) {
        self.exec("tc qdisc del dev rtd root 2>/dev/null || true");
    }

    /// Drops `per_mille` of the UDP packets the device sends (random, nftables `numgen`).
    pub fn lose(&self, per_mille: u32) {
        self.exec(&format!(
            "nft -f - <<'EOF'\n\
             table inet rtcam_loss {{\n\
               chain out {{\n\
                 type filter hook output priority 0; policy accept;\n\
                 oifname \"rtd\" meta l4proto udp numgen random mod 1000 < {per_mille} drop\n\
               }}\n\
             }}\n\
             EOF"
        ));
    }
}
