//! Shared helpers for the integration tests: network namespace, real mosquitto, an
//! in-process device and a webrtc-rs test viewer.
#![allow(dead_code)]

pub mod mosquitto;
pub mod netns;
pub mod viewer;

use std::net::{SocketAddr, TcpListener};

use tokio::sync::oneshot;

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Starts the embedded broker on free loopback ports; returns the TCP port.
pub fn embedded_broker() -> u16 {
    let tcp: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let ws: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    rtcam::broker::start(tcp, ws).expect("embedded broker").tcp.port()
}

/// A device config for tests: synthetic sources, the broker on `port`.
pub fn device_config(port: u16, device: &str) -> rtcam::Config {
    let mut c = rtcam::Config::default();
    c.device_id = device.into();
    c.mqtt.url = format!("mqtt://127.0.0.1:{port}");
    c.mqtt.keep_alive_s = 5;
    c
}

/// A running in-process device; stopped (cleanly) by [`Device::stop`].
pub struct Device {
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), rtcam::Error>>,
}

impl Device {
    pub fn start(config: rtcam::Config) -> Self {
        rtcam::telemetry::init();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(rtcam::run(config, async {
            let _ = rx.await;
        }));
        Self { stop: Some(tx), task }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        let r = tokio::time::timeout(std::time::Duration::from_secs(10), &mut self.task)
            .await
            .expect("device stops within 10 s");
        r.expect("device task").expect("device ran without error");
    }
}
