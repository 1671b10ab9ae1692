//! # rtcam — a WebRTC camera daemon
//!
//! rtcam turns a Linux board into a WebRTC camera. It is the *offerer*: it holds a standby
//! offer on an MQTT broker, and a viewer claims it by answering.
//!
//! ## Data flow
//!
//! ```text
//!  capture/ ──frames──▶ encode/ ──H.264/Opus──▶ fanout/ ──samples──▶ peer/ (one per viewer)
//!  (synthetic,          (openh264,              shared tracks,        │  ▲ RTCP PLI/FIR
//!   V4L2, ALSA)          opus)                  keyframe requests ◀───┘  │
//!                                                                        │ offer/answer/ICE
//!                             talkback/ ◀── viewers' Opus ── peer/   signaling/ (MQTT)
//!
//!  app/ wires them all; config/ and the leaves (clock, backoff, h264/, audio/) serve everyone.
//! ```
//!
//! Imports point down the flow (a stage may use the stages before it) or into the leaves,
//! never back; `docs/architecture.md` draws the allowed arrows and a unit test
//! (`layout_tests.rs`) fails when an import breaks them.
//!
//! ## Module map
//! - Leaves: [`clock`] (the clock seam, real and simulated), [`backoff`] (the one retry
//!   policy), [`h264`] (Annex B parsing, parameter sets), [`audio`] (PCM format, resampling,
//!   ALSA devices), [`config`] (the TOML file: plain data, defaults, validation).
//! - [`capture`]: video and audio sources behind [`capture::VideoSource`],
//!   [`capture::AudioSource`] and [`capture::H264Source`]; the synthetic ones carry a
//!   machine-readable frame stamp.
//! - [`encode`]: openh264 and Opus encoders.
//! - [`fanout`]: capture+encode threads, one encode sent to every viewer, keyframe requests.
//! - [`peer`]: webrtc-rs peer connections, one per viewer, RTCP handling.
//! - [`talkback`]: the viewers' microphones decoded and played on the device.
//! - [`signaling`]: the MQTT protocol (pure), the session state machine (pure) and the MQTT
//!   task.
//! - [`app`]: the daemon: wiring, event loop, action executor.
//! - Beside the flow: [`http`] (the viewer page server), [`broker`] (the embedded demo
//!   broker), [`probe`] (`rtcam probe`: the devices present and what rtcam would pick),
//!   [`systemd`] (readiness, status, watchdog), [`telemetry`] (tracing setup).

pub mod app;
pub mod audio;
pub mod backoff;
pub mod broker;
pub mod capture;
pub mod clock;
pub mod config;
pub mod encode;
pub mod fanout;
pub mod h264;
pub mod http;
pub mod log_budget;
pub mod peer;
pub mod probe;
pub mod publish;
pub mod signaling;
pub mod systemd;
pub mod talkback;
pub mod telemetry;

#[cfg(test)]
mod layout_tests;

pub use app::{run, Error};
pub use config::Config;

/// The version reported in the device's status message.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Selects rustls' process-wide crypto provider (ring, as used by webrtc-rs' DTLS). Several
/// dependencies use rustls; without one explicit choice the first TLS or DTLS handshake
/// panics. Idempotent.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Resolves on SIGINT or SIGTERM (the signals systemd and Ctrl-C send). A second signal
/// during the clean stop that follows exits the process at once.
pub async fn shutdown_signal() {
    one_signal().await;
    tokio::spawn(async {
        one_signal().await;
        tracing::warn!("second stop signal: exiting without a clean stop");
        std::process::exit(130);
    });
}

async fn one_signal() {
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
