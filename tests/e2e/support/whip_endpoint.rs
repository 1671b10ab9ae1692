//! A WHIP endpoint (RFC 9725) that checks the client's side of the protocol and answers with
//! a real WebRTC peer (webrtc-rs, decoding the H.264 it receives like the test viewer).
//! Every request is logged for the test to assert on. Routes:
//!
//! - `/whip/start`: OPTIONS names a STUN server in a `Link` header; POST redirects (307) to
//!   `/whip/endpoint`;
//! - `/whip/endpoint`: POST `application/sdp` with the bearer token → `201 Created`, the
//!   answer, a relative `Location: session/{id}` and an `ETag`, after refusing the first
//!   POSTs with the statuses in `fail_posts`;
//! - `/whip/session/{id}`: PATCH `application/trickle-ice-sdpfrag` with a matching
//!   `If-Match` → 204 (candidates applied), wrong tag → 412, unknown session → 404; DELETE.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::APIBuilder;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;

use super::viewer::{read_video, Seen};

/// One request as the endpoint saw it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub status: u16,
}

#[derive(Default)]
pub struct State {
    pub log: Vec<Logged>,
    /// Statuses to refuse the next POSTs with (404, 503…) before accepting one.
    pub fail_posts: Vec<u16>,
    /// The STUN server named in OPTIONS' `Link`.
    pub stun: String,
    pub token: String,
    sessions: HashMap<String, (Arc<RTCPeerConnection>, String)>,
    next: u64,
}

pub struct Endpoint {
    pub port: u16,
    pub state: Arc<Mutex<State>>,
    /// What the answering peers decoded.
    pub seen: Arc<Mutex<Seen>>,
}

impl Endpoint {
    pub async fn start(ip: &str, stun: &str, token: &str, fail_posts: &[u16]) -> Self {
        let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(State {
            fail_posts: fail_posts.to_vec(),
            stun: stun.into(),
            token: token.into(),
            ..State::default()
        }));
        let seen = Arc::new(Mutex::new(Seen::default()));
        let (st, sn) = (state.clone(), seen.clone());
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let (st, sn) = (st.clone(), sn.clone());
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let (st, sn) = (st.clone(), sn.clone());
                        async move { Ok::<_, Infallible>(handle(req, st, sn).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tcp), service)
                        .await;
                });
            }
        });
        Self { port, state, seen }
    }

    /// Drops every session on the server side, as a crashed or restarted server would.
    pub async fn drop_sessions(&self) {
        let peers: Vec<_> = self
            .state
            .lock()
            .unwrap()
            .sessions
            .drain()
            .map(|(_, (pc, _))| pc)
            .collect();
        for pc in peers {
            let _ = pc.close().await;
        }
    }

    pub fn log(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }
}

fn reply(status: StatusCode, headers: &[(&str, String)], body: String) -> Response<Full<Bytes>> {
    let mut r = Response::builder().status(status);
    for (k, v) in headers {
        r = r.header(*k, v);
    }
    r.body(Full::new(Bytes::from(body))).unwrap()
}

async fn handle(
    req: Request<hyper::body::Incoming>,
    state: Arc<Mutex<State>>,
    seen: Arc<Mutex<Seen>>,
) -> Response<Full<Bytes>> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let headers: HashMap<String, String> = req
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string()))
        .collect();
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let response = route(&method, &path, &headers, &body, &state, &seen).await;
    state.lock().unwrap().log.push(Logged {
        method,
        path,
        headers,
        body,
        status: response.status().as_u16(),
    });
    response
}

async fn route(
    method: &str,
    path: &str,
    headers: &HashMap<String, String>,
    body: &str,
    state: &Arc<Mutex<State>>,
    seen: &Arc<Mutex<Seen>>,
) -> Response<Full<Bytes>> {
    let header = |k: &str| headers.get(k).map(String::as_str).unwrap_or("");
    let token = state.lock().unwrap().token.clone();
    if header("authorization") != format!("Bearer {token}") {
        return reply(StatusCode::UNAUTHORIZED, &[], "bearer token wanted".into());
    }
    match (method, path) {
        ("OPTIONS", "/whip/start") => {
            let stun = state.lock().unwrap().stun.clone();
            let link = format!("<stun:{stun}>; rel=\"ice-server\"");
            reply(StatusCode::NO_CONTENT, &[("link", link)], String::new())
        }
        ("POST", "/whip/start") => reply(
            StatusCode::TEMPORARY_REDIRECT,
            &[("location", "/whip/endpoint".into())],
            String::new(),
        ),
        ("POST", "/whip/endpoint") => {
            {
                let mut s = state.lock().unwrap();
                if !s.fail_posts.is_empty() {
                    let status = StatusCode::from_u16(s.fail_posts.remove(0)).unwrap();
                    return reply(status, &[], "not now".into());
                }
            }
            if header("content-type") != "application/sdp" || !body.starts_with("v=0") {
                return reply(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    &[],
                    "application/sdp wanted".into(),
                );
            }
            let (pc, answer) = answer(body, seen.clone()).await;
            let mut s = state.lock().unwrap();
            s.next += 1;
            let id = s.next.to_string();
            let etag = format!("\"{id}-1\"");
            s.sessions.insert(id.clone(), (pc, etag.clone()));
            reply(
                StatusCode::CREATED,
                &[
                    ("content-type", "application/sdp".into()),
                    ("location", format!("session/{id}")),
                    ("etag", etag),
                ],
                answer,
            )
        }
        (m, p) if p.starts_with("/whip/session/") => {
            let id = p.trim_start_matches("/whip/session/").to_string();
            let found = state.lock().unwrap().sessions.get(&id).cloned();
            let Some((pc, etag)) = found else {
                return reply(StatusCode::NOT_FOUND, &[], "no such session".into());
            };
            match m {
                "PATCH" => {
                    if header("content-type") != "application/trickle-ice-sdpfrag" {
                        return reply(StatusCode::UNSUPPORTED_MEDIA_TYPE, &[], String::new());
                    }
                    if header("if-match") != etag {
                        return reply(StatusCode::PRECONDITION_FAILED, &[], String::new());
                    }
                    let mid = body
                        .lines()
                        .find_map(|l| l.trim().strip_prefix("a=mid:"))
                        .map(str::to_string);
                    for line in body.lines().filter_map(|l| l.trim().strip_prefix("a=")) {
                        if line.starts_with("candidate:") {
                            let init = RTCIceCandidateInit {
                                candidate: line.to_string(),
                                sdp_mid: mid.clone(),
                                sdp_mline_index: Some(0),
                                username_fragment: None,
                            };
                            let _ = pc.add_ice_candidate(init).await;
                        }
                    }
                    reply(StatusCode::NO_CONTENT, &[], String::new())
                }
                "DELETE" => {
                    state.lock().unwrap().sessions.remove(&id);
                    let _ = pc.close().await;
                    reply(StatusCode::OK, &[], String::new())
                }
                _ => reply(StatusCode::METHOD_NOT_ALLOWED, &[], String::new()),
            }
        }
        _ => reply(StatusCode::NOT_FOUND, &[], String::new()),
    }
}

/// A receive-only peer for `offer` that decodes the video into `seen`; its answer (with
/// its candidates).
async fn answer(offer: &str, seen: Arc<Mutex<Seen>>) -> (Arc<RTCPeerConnection>, String) {
    rtcam::install_crypto_provider();
    let mut media = MediaEngine::default();
    rtcam::fanout::codecs::register(&mut media).unwrap();
    let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
    let api = APIBuilder::new()
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .build();
    let pc = Arc::new(api.new_peer_connection(Default::default()).await.unwrap());
    let (pc2, seen2) = (pc.clone(), seen.clone());
    pc.on_track(Box::new(move |track, receiver, _| {
        tokio::spawn(async move { while receiver.read_rtcp().await.is_ok() {} });
        if track.kind() == webrtc::rtp_transceiver::rtp_codec::RTPCodecType::Video {
            tokio::spawn(read_video(track, seen2.clone(), pc2.clone()));
        }
        Box::pin(async {})
    }));
    pc.set_remote_description(RTCSessionDescription::offer(offer.to_string()).unwrap())
        .await
        .unwrap();
    let answer = pc.create_answer(None).await.unwrap();
    let mut gathered = pc.gathering_complete_promise().await;
    pc.set_local_description(answer).await.unwrap();
    let _ = gathered.recv().await;
    let sdp = pc.local_description().await.unwrap().sdp;
    (pc, sdp)
}
