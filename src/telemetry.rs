//! Tracing set-up: one subscriber for rtcam and for the `log` records of webrtc-rs, rumqttc
//! and rumqttd. `RUST_LOG` overrides the default filter. Under systemd (when `JOURNAL_STREAM`
//! is set) lines carry no timestamps or colours, since journald adds its own.

use tracing_subscriber::EnvFilter;

/// The filter used when `RUST_LOG` is not set. webrtc-rs warns about every socket it closes
/// when a viewer leaves, so its crates log errors only. rumqttd logs every client that leaves
/// (a browser tab closing) at ERROR level, so the embedded broker is silent unless asked for
/// (`RUST_LOG=info,rumqttd=info`).
pub const DEFAULT_FILTER: &str = "info,webrtc=error,webrtc_ice=error,webrtc_mdns=error,webrtc_dtls=error,webrtc_srtp=error,webrtc_sctp=error,interceptor=error,rumqttd=off";

/// Installs the global subscriber (and the `log` bridge). Safe to call more than once.
pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let journald = std::env::var_os("JOURNAL_STREAM").is_some();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(true);
    // `try_init` also installs the log→tracing bridge (tracing-log feature).
    let _ = if journald {
        builder.without_time().with_ansi(false).try_init()
    } else {
        builder.try_init()
    };
}
