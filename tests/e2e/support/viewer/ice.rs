//! The test viewer's ICE side as the protocol gives it: the offer's `ice_servers` (rtcam
//! 0.5) in its configuration, and which candidate pair it ended up using.

use serde_json::Value;
use webrtc::ice_transport::ice_server::RTCIceServer;
use webrtc::peer_connection::configuration::RTCConfiguration;
use webrtc::peer_connection::policy::ice_transport_policy::RTCIceTransportPolicy;
use webrtc::peer_connection::RTCPeerConnection;

/// The peer configuration for `offer`: its `ice_servers`, and only relayed candidates when
/// `relay_only` (as a browser's `iceTransportPolicy: 'relay'`).
pub fn configuration(offer: &Value, relay_only: bool) -> RTCConfiguration {
    let ice_servers = offer["ice_servers"]
        .as_array()
        .map(|list| list.iter().map(server).collect())
        .unwrap_or_default();
    RTCConfiguration {
        ice_servers,
        ice_transport_policy: if relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        },
        ..Default::default()
    }
}

fn server(v: &Value) -> RTCIceServer {
    let urls = match &v["urls"] {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(|u| u.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let text = |k: &str| v[k].as_str().unwrap_or("").to_string();
    RTCIceServer {
        urls,
        username: text("username"),
        credential: text("credential"),
    }
}

/// The selected pair's candidate types, local then remote (`"relay"`, `"srflx"`, …), and
/// the remote address, once ICE has chosen one.
pub async fn selected_pair(pc: &RTCPeerConnection) -> Option<(String, String, String)> {
    let dtls = pc.sctp().transport();
    let pair = dtls.ice_transport().get_selected_candidate_pair().await?;
    Some((
        pair.local.typ.to_string(),
        pair.remote.typ.to_string(),
        format!("{}:{}", pair.remote.address, pair.remote.port),
    ))
}
