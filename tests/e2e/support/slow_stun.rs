//! A STUN server that answers binding requests after a delay, so the candidates it gives
//! arrive after the device's bounded wait for ICE gathering: they must be trickled.

use std::time::Duration;

use webrtc::stun::fingerprint::FINGERPRINT;
use webrtc::stun::message::{Message, BINDING_SUCCESS};
use webrtc::stun::xoraddr::XorMappedAddress;

/// Serves on `ip` (an ephemeral port) until the runtime ends; returns `ip:port`.
pub async fn start(ip: &str, delay: Duration) -> String {
    let socket = std::sync::Arc::new(tokio::net::UdpSocket::bind((ip, 0)).await.unwrap());
    let addr = socket.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 1500];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let mut req = Message::new();
            if req.unmarshal_binary(&buf[..n]).is_err() {
                continue;
            }
            let socket = socket.clone();
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let mut res = Message::new();
                let built = res.build(&[
                    Box::new(req.transaction_id),
                    Box::new(BINDING_SUCCESS),
                    Box::new(XorMappedAddress {
                        ip: from.ip(),
                        port: from.port(),
                    }),
                    Box::new(FINGERPRINT),
                ]);
                if built.is_ok() {
                    let _ = socket.send_to(&res.raw, from).await;
                }
            });
        }
    });
    addr
}
