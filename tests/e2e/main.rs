//! The end-to-end tests, in one test binary (each file under `tests/` would be a crate of its
//! own, linking webrtc-rs again: minutes of CI on two cores). One module per behaviour; the
//! helpers they share are in [`support`]. Each test that streams runs in a network namespace
//! of its own ([`support::netns`]), so the suite needs root (CI has it).
//!
//! Run one: `cargo test --test e2e -- stream_mosquitto` (as root, or through `sudo -E`).

mod support;

mod arm_binary_under_qemu;
mod bad_input;
mod bench;
mod broker_acl;
mod broker_restart;
mod browser;
mod churn;
mod command_source;
mod junk_flood;
mod keyframe_on_pli;
mod network;
mod one_udp_port;
mod oversized_messages;
mod page_server_under_load;
mod passthrough_h264;
mod pli_flood;
mod publish_janus;
mod publish_whip;
mod remote;
mod soak;
mod stop_fast;
mod stream_embedded_broker;
mod stream_mosquitto;
mod subscribe_refused;
mod talkback;
mod viewer_isolation;
mod viewer_slots;
mod vm_real_drivers;
