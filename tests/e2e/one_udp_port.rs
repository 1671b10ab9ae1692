//! `webrtc.udp_port`: every viewer's media uses that one UDP port. The namespace drops every
//! UDP packet that neither comes from nor goes to it (nftables), so the two viewers can only
//! stream through that port — what a router with one forwarded port allows.

use std::process::Command;
use std::time::Duration;

use crate::support;
use support::viewer::{wait_for_offer, TestMqtt, Viewer, ViewerOptions};

const DEVICE: &str = "cam-one-port";

fn nft(rules: &str) {
    let status = Command::new("nft")
        .arg("-f")
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(rules.as_bytes())?;
            c.wait()
        })
        .expect("nft (apt-get install nftables; scripts/install-deps.sh test installs it)");
    assert!(status.success(), "nft rules: {rules}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_viewer_streams_through_the_one_udp_port() {
    if !support::netns::enter(
        module_path!(),
        "every_viewer_streams_through_the_one_udp_port",
    ) {
        return;
    }
    let media_port = {
        let s = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        s.local_addr().unwrap().port()
    };
    // (Three rules, not `udp sport != P udp dport != P drop`: nft 1.0.6 also matched packets
    // from P with that one.)
    nft(&format!(
        "table inet onlyport {{\n chain out {{\n  type filter hook output priority 0; policy accept;\n  \
         udp sport {media_port} accept\n  udp dport {media_port} accept\n  \
         meta l4proto udp counter drop\n }}\n}}\n"
    ));
    let port = support::embedded_broker();
    let mut config = support::device_config(port, DEVICE);
    config.webrtc.udp_port = media_port;
    let device = support::Device::start(config);

    // The offer's candidates all name that port.
    let root = format!("rtcam/{DEVICE}");
    let mut m = TestMqtt::connect("127.0.0.1", port, "port-watch").await;
    m.subscribe(&format!("{root}/status")).await;
    m.subscribe(&format!("{root}/offer")).await;
    let offer = wait_for_offer(&mut m, &root, Duration::from_secs(20))
        .await
        .expect("offer");
    let sdp = offer["sdp"].as_str().unwrap_or_default();
    let ports: Vec<&str> = sdp
        .lines()
        .filter(|l| l.starts_with("a=candidate:"))
        .filter_map(|l| l.split(' ').nth(5))
        .collect();
    assert!(!ports.is_empty(), "candidates in the offer: {sdp}");
    assert!(
        ports.iter().all(|p| *p == media_port.to_string()),
        "every candidate on port {media_port}: {ports:?}"
    );

    let a = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "port-a"), 5)
        .await
        .expect("viewer a");
    let b = Viewer::join_connected(ViewerOptions::new(port, DEVICE, "port-b"), 5)
        .await
        .expect("viewer b");
    for (name, v) in [("a", &a), ("b", &b)] {
        assert!(
            v.wait_until(Duration::from_secs(10), |s| s.decoded.len() >= 30)
                .await,
            "viewer {name} plays through port {media_port}"
        );
    }
    let listed = Command::new("nft")
        .args(["list", "chain", "inet", "onlyport", "out"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let dropped = listed
        .split("counter packets ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .unwrap_or("?");
    println!(
        "ONE UDP PORT: two viewers streamed through port {media_port} ({} candidates); \
         {dropped} UDP packets on other ports dropped",
        ports.len()
    );
    a.hangup().await;
    b.hangup().await;
    device.stop().await;
}
