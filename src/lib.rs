//! # rtcam — a WebRTC camera daemon
//!
//! rtcam turns a Linux board into a WebRTC camera. It is the *offerer* (Client1 in the
//! original walk-through): it holds a standby offer on an MQTT broker, and a viewer (Client2)
//! claims it by answering.
//!
//! ## Data flow
//!
//! ```text
//!  capture/ ──frames──▶ encode/ ──H.264/Opus──▶ media/ (fan-out) ──samples──▶ peer/ (one per viewer)
//!  (synthetic,            (openh264,              shared tracks,              ▲  RTCP PLI/FIR
//!   V4L2, ALSA)            opus)                  keyframe requests ◀─────────┘
//!                                                                              ▲
//!                                  signaling/ (MQTT) ◀── offer/answer/ICE ─────┤
//!                                  playback/ (talkback) ◀── viewers' Opus ─────┘
//! ```
//!
//! ## Module map
//! - [`config`]: the TOML file, its defaults and validation.
//! - [`clock`]: the clock seam (real and simulated) used for pacing and timeouts.
//! - [`capture`]: video and audio sources behind the [`capture::VideoSource`] and
//!   [`capture::AudioSource`] traits; the synthetic ones carry a machine-readable frame stamp.
//! - [`encode`]: openh264 and Opus encoders.
//! - [`media`]: capture+encode threads, one encode fanned out to every viewer.
//! - [`peer`]: webrtc-rs peer connections, one per viewer, RTCP handling.
//! - [`signaling`]: the MQTT protocol (pure), the session state machine (pure) and the MQTT task.
//! - [`daemon`]: glue that runs the state machine's actions against peers and MQTT.
//! - [`playback`]: talkback, the viewers' microphones decoded and played on the device.
//! - [`http`]: the small web server that serves the viewer page and its `config.json`.
//! - [`broker`]: the embedded rumqttd broker used by `rtcam demo`.
//! - [`probe`]: `rtcam probe`, the cameras and sound devices present and what rtcam would pick.
//! - [`systemd`]: readiness, status and watchdog notifications to systemd.
//! - [`telemetry`]: tracing setup.

pub mod broker;
pub mod capture;
pub mod clock;
pub mod config;
pub mod daemon;
pub mod encode;
pub mod http;
pub mod media;
pub mod peer;
pub mod playback;
pub mod probe;
pub mod signaling;
pub mod systemd;
pub mod telemetry;

pub use config::Config;
pub use daemon::{run, Error};

/// The version reported in the device's status message.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Selects rustls' process-wide crypto provider (ring, as used by webrtc-rs' DTLS). Several
/// dependencies use rustls; without one explicit choice the first TLS or DTLS handshake
/// panics. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Resolves on SIGINT or SIGTERM (the signals systemd and Ctrl-C send).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
