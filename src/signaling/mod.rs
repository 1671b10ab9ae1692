//! Signaling: the MQTT contract ([`protocol`], pure), the session state machine ([`session`],
//! pure) and the connection that carries them ([`mqtt`]). `docs/protocol.md` is the public
//! description of the same contract.

pub mod explain;
pub mod mqtt;
pub mod protocol;
pub mod sdp;
pub mod session;
pub mod status_query;
pub mod subscriptions;
pub mod tls;

#[cfg(test)]
mod fuzz;
