//! A PLI from the viewer produces an IDR within 200 ms, at most one per viewer per second (a
//! viewer that keeps asking gets longer windows): a PLI inside the window is deferred to its
//! end, not lost. Periodic keyframes are set 10 min
//! apart so only the PLIs can explain the IDRs.

use std::time::{Duration, Instant};

use crate::support;

use support::viewer::{Viewer, ViewerOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pli_produces_an_idr_within_200ms() {
    if !support::netns::enter(module_path!(), "pli_produces_an_idr_within_200ms") {
        return;
    }
    let port = support::embedded_broker();
    let mut config = support::device_config(port, "cam-pli");
    config.video.keyframe_interval_s = 600;
    let device = support::Device::start(config);
    let v = Viewer::join(ViewerOptions::new(port, "cam-pli", "viewer-pli"))
        .await
        .expect("join");
    assert!(v.wait_connected(Duration::from_secs(15)).await, "connected");
    assert!(
        v.wait_until(Duration::from_secs(10), |s| s.decoded.len() > 30)
            .await,
        "stream running"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut delays = Vec::new();
    for _ in 0..3 {
        let before = v.seen.lock().unwrap().idr_at.len();
        let sent = Instant::now();
        v.send_pli().await;
        let got = v
            .wait_until(Duration::from_secs(2), |s| s.idr_at.len() > before)
            .await;
        assert!(got, "an IDR follows the PLI");
        let idr = v.seen.lock().unwrap().idr_at[before];
        delays.push(idr.duration_since(sent));
        // Past the window, and past the 2 s within which asking again counts as persistent
        // (which would double the window).
        tokio::time::sleep(Duration::from_millis(2_200)).await;
    }
    println!("PLI -> IDR delays: {delays:?}");
    assert!(
        delays.iter().all(|d| *d <= Duration::from_millis(200)),
        "{delays:?}"
    );
    // Two PLIs 300 ms apart: the second is answered when the viewer's second is over.
    let before = v.seen.lock().unwrap().idr_at.len();
    v.send_pli().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    v.send_pli().await;
    let got = v
        .wait_until(Duration::from_secs(3), |s| s.idr_at.len() >= before + 2)
        .await;
    assert!(got, "the deferred PLI is answered too");
    let gap = {
        let s = v.seen.lock().unwrap();
        s.idr_at[before + 1].duration_since(s.idr_at[before])
    };
    println!("deferred PLI answered {gap:?} after the first IDR");
    assert!(
        gap >= Duration::from_millis(900) && gap <= Duration::from_millis(1_300),
        "{gap:?}"
    );
    // Without a PLI no further IDR arrives (the periodic interval is 10 minutes).
    let before = v.seen.lock().unwrap().idr_at.len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        v.seen.lock().unwrap().idr_at.len(),
        before,
        "no unrequested IDRs"
    );
    v.hangup().await;
    device.stop().await;
}
