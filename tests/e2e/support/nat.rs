//! Two homes on the internet, each behind a NAT router, built from network namespaces on
//! 198.18.0.0/15 (the benchmarking range). Run it from inside a test's own namespace: that
//! namespace becomes the viewer's host, so the in-process test viewer and Chromium sit behind
//! the viewer's NAT.
//!
//! ```text
//!  device 198.18.10.2 ── home router 198.18.10.1 │ 198.19.0.10 ─┐
//!                                                                ├─ internet 198.19.0.1/24 (bridge):
//!  viewer (the test)  ── router A   198.18.20.1 │ 198.19.0.20 ──┤   the MQTT broker and coturn
//!    198.18.20.2 (wlan)  router B   198.18.21.1 │ 198.19.0.21 ──┘   ("4G": used after a path change)
//! ```
//!
//! Each router masquerades its LAN behind its WAN address and drops what nobody inside asked
//! for, as a home router does (nftables). [`Nat::Cone`] keeps the mapping of an inside
//! address and port whatever the destination (endpoint-independent mapping: hole punching
//! works); [`Nat::Symmetric`] picks a new random port per destination (a carrier's NAT:
//! only a relay gets through). There is no route between the two homes' LANs.

use std::process::Command;

use super::host::run;
pub use super::host::Host;

/// The internet side: the broker and coturn listen here.
pub const INTERNET_IP: &str = "198.19.0.1";
pub const DEVICE_IP: &str = "198.18.10.2";
pub const VIEWER_WLAN_IP: &str = "198.18.20.2";
pub const VIEWER_MOBILE_IP: &str = "198.18.21.2";

/// How a router maps its LAN's flows to its WAN address.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Nat {
    /// Endpoint-independent mapping (Linux masquerade keeps the source port).
    Cone,
    /// A random port per flow: the mapping seen by a STUN server is useless to a peer.
    Symmetric,
}

/// Runs a shell script in the test's own namespace (the viewer's host).
fn here(script: &str) {
    run(script, Command::new("sh").args(["-c", script]));
}

/// The whole topology; torn down when dropped (the holders die, their namespaces with them).
pub struct Internet {
    pub internet: Host,
    pub device: Host,
    home: Host,
    router_a: Host,
    router_b: Host,
}

/// A router between `lan` (its end of a veth whose other end is `inside`'s) and the internet.
fn router(
    internet: &Host,
    name: &str,
    wan_ip: &str,
    lan_ip: &str,
    nat: Nat,
    connect_lan: impl FnOnce(&Host),
) -> Host {
    let r = Host::new();
    // WAN: a veth into the internet's bridge.
    let wan_peer = format!("{name}-w");
    internet.exec(&format!(
        "ip link add {wan_peer} type veth peer name wan; \
         ip link set wan netns {pid}; ip link set {wan_peer} master br0; ip link set {wan_peer} up",
        pid = r.pid()
    ));
    connect_lan(&r);
    let fully_random = match nat {
        Nat::Cone => "",
        Nat::Symmetric => " fully-random",
    };
    r.exec(&format!(
        "ip addr add {wan_ip}/24 dev wan; ip link set wan up; \
         ip addr add {lan_ip}/24 dev lan; ip link set lan up; \
         ip route add default via {INTERNET_IP}; sysctl -qw net.ipv4.ip_forward=1; \
         nft -f - <<'EOF'\n\
         table ip home {{\n\
           chain nat_out {{\n\
             type nat hook postrouting priority 100;\n\
             oifname \"wan\" masquerade{fully_random}\n\
           }}\n\
           chain from_wan {{\n\
             type filter hook forward priority 0; policy accept;\n\
             ct state established,related accept\n\
             iifname \"wan\" drop\n\
           }}\n\
           chain to_router {{\n\
             type filter hook input priority 0; policy accept;\n\
             ct state established,related accept\n\
             iifname \"wan\" drop\n\
           }}\n\
         }}\n\
         EOF"
    ));
    r
}

impl Internet {
    /// Builds everything; the viewer's host (this namespace) is on router A's LAN. `home`
    /// is the device's router, `viewer` router A's (router B, the "mobile" one, is always
    /// symmetric, as a carrier's NAT is).
    pub fn new(home_nat: Nat, viewer_nat: Nat) -> Self {
        let internet = Host::new();
        // What no one on the internet answers (another home's LAN address) is dropped
        // silently, as out there (a gateway that never answers), rather than refused at once
        // for want of a route: coturn closes an allocation whose relayed send fails.
        internet.exec(&format!(
            "ip link add br0 type bridge; ip addr add {INTERNET_IP}/24 dev br0; ip link set br0 up; \
             ip route add default via 198.19.0.254"
        ));
        let device = Host::new();
        let home = router(
            &internet,
            "home",
            "198.19.0.10",
            "198.18.10.1",
            home_nat,
            |r| {
                r.exec(&format!(
                    "ip link add lan type veth peer name eth0; ip link set eth0 netns {}",
                    device.pid()
                ));
            },
        );
        device.exec(&format!(
            "ip addr add {DEVICE_IP}/24 dev eth0; ip link set eth0 up; \
             ip route add default via 198.18.10.1"
        ));
        // The test's own namespace: drop the harness' link (its default route with it).
        here("ip link del rtcam0 2>/dev/null || true");
        let pid = std::process::id();
        let router_a = router(
            &internet,
            "ra",
            "198.19.0.20",
            "198.18.20.1",
            viewer_nat,
            |r| {
                r.exec(&format!(
                    "ip link add lan type veth peer name wlan0; ip link set wlan0 netns {pid}"
                ));
            },
        );
        let router_b = router(
            &internet,
            "rb",
            "198.19.0.21",
            "198.18.21.1",
            Nat::Symmetric,
            |r| {
                r.exec(&format!(
                    "ip link add lan type veth peer name wwan0; ip link set wwan0 netns {pid}"
                ));
            },
        );
        here(&format!(
            "ip addr add {VIEWER_WLAN_IP}/24 dev wlan0; ip link set wlan0 up; \
             ip route add default via 198.18.20.1"
        ));
        let net = Self {
            internet,
            device,
            home,
            router_a,
            router_b,
        };
        net.check_paths();
        net
    }

    /// The layout works: both homes reach the internet, and not each other's LAN.
    fn check_paths(&self) {
        let ping = |from: Option<&Host>, to: &str| {
            let mut c = match from {
                Some(h) => h.command("ping"),
                None => Command::new("ping"),
            };
            c.args(["-c", "1", "-W", "1", to])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false)
        };
        assert!(ping(Some(&self.device), INTERNET_IP), "device → internet");
        assert!(ping(None, INTERNET_IP), "viewer → internet");
        assert!(
            !ping(None, DEVICE_IP),
            "no route from the viewer to the device's LAN"
        );
        assert!(
            !ping(Some(&self.device), VIEWER_WLAN_IP),
            "no route from the device to the viewer's LAN"
        );
        let _ = (&self.home, &self.router_a, &self.router_b);
    }

    /// Wi-Fi → mobile data: the viewer's Wi-Fi link goes away and its traffic leaves through
    /// router B, with another public address (a carrier's symmetric NAT).
    pub fn switch_viewer_to_mobile(&self) {
        here(&format!(
            "ip link set wlan0 down; \
             ip addr add {VIEWER_MOBILE_IP}/24 dev wwan0; ip link set wwan0 up; \
             ip route replace default via 198.18.21.1 dev wwan0"
        ));
    }
}
