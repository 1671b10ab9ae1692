//! A test viewer on webrtc-rs, an independent second WebRTC stack. It knows the device only through
//! MQTT as `docs/protocol.md` describes: it waits for the retained online status and offer,
//! subscribes to the session, answers, trickles its candidates (or puts them all in the
//! answer), receives RTP, decodes the H.264 with openh264 and reads the frame stamps.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rumqttc::{AsyncClient, QoS};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use webrtc::api::interceptor_registry::register_default_interceptors;
use webrtc::api::media_engine::MediaEngine;
use webrtc::api::APIBuilder;
use webrtc::ice_transport::ice_candidate::RTCIceCandidateInit;
use webrtc::interceptor::registry::Registry;
use webrtc::peer_connection::peer_connection_state::RTCPeerConnectionState;
use webrtc::peer_connection::sdp::session_description::RTCSessionDescription;
use webrtc::peer_connection::RTCPeerConnection;
use webrtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use webrtc::track::track_remote::TrackRemote;

mod ice;
mod jitter;
mod media;
mod options;
mod report;
mod retry;
mod seen;
mod topics;

pub use super::mqtt_client::TestMqtt;
pub use media::{count_video, read_audio, read_video, talk};
pub use options::ViewerOptions;
pub use report::{window_report, WindowReport};
use rtcam::fanout::codecs::PLAYOUT_DELAY_URI;
pub use seen::{Decoded, Seen};
use topics::{FromDevice, SessionTopics};

pub(super) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// A viewer with a live (or pending) session.
pub struct Viewer {
    pub opts: ViewerOptions,
    /// When the answer went to the broker (the time to first frame counts from here).
    pub answered_at: Instant,
    pub session: String,
    pub pc: Arc<RTCPeerConnection>,
    pub seen: Arc<Mutex<Seen>>,
    pub mqtt: AsyncClient,
    topics: SessionTopics,
}

/// Waits for the device's retained online status and a non-empty retained offer, and returns
/// the newest one: a broker may hand a new subscriber older offers first (rumqttd replays its
/// log), so the offer is taken only after 150 ms without a newer message.
pub async fn wait_for_offer(mqtt: &mut TestMqtt, root: &str, timeout: Duration) -> Option<Value> {
    const SETTLE: Duration = Duration::from_millis(150);
    let (status_t, offer_t) = (format!("{root}/status"), format!("{root}/offer"));
    let mut online = false;
    let mut offer: Option<Value> = None;
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let ready = online && offer.is_some();
        let wait_until = if ready {
            (tokio::time::Instant::now() + SETTLE).min(deadline)
        } else {
            deadline
        };
        let next = tokio::time::timeout_at(wait_until, mqtt.rx.recv()).await;
        let (topic, payload) = match next {
            Ok(Some(m)) => m,
            Ok(None) => return None,
            Err(_) if ready => return offer,
            Err(_) => return None,
        };
        if topic == status_t {
            let v: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
            online = v["state"] == "online";
        } else if topic == offer_t {
            offer = if payload.is_empty() {
                None
            } else {
                serde_json::from_slice(&payload).ok()
            };
        }
    }
}

impl Viewer {
    /// Discovers the device, answers its standby offer and returns once the answer is sent.
    pub async fn join(opts: ViewerOptions) -> Result<Viewer, String> {
        let root = format!("{}/{}", opts.prefix, opts.device);
        // A client id of its own per join: a second connection with the id of one still open
        // (a retried join) would make the broker drop one of them, back and forth.
        static JOINS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = JOINS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let client_id = if opts.client_id_is_viewer_id {
            opts.viewer_id.clone()
        } else {
            format!("viewer-{}-{}-{n}", opts.viewer_id, std::process::id())
        };
        let credentials = opts
            .credentials
            .as_ref()
            .map(|(u, p)| (u.as_str(), p.as_str()));
        let mut mqtt = TestMqtt::connect_with(
            &opts.host,
            opts.port,
            &client_id,
            credentials,
            opts.tls.clone(),
        )
        .await;
        mqtt.subscribe(&format!("{root}/status")).await;
        mqtt.subscribe(&format!("{root}/offer")).await;
        let offer = wait_for_offer(&mut mqtt, &root, Duration::from_secs(20))
            .await
            .ok_or("no online device with a standby offer within 20 s")?;
        Self::answer(opts, mqtt, root, offer).await
    }

    /// Answers a given offer (used to race two viewers on the same offer).
    pub async fn answer(
        opts: ViewerOptions,
        mut mqtt: TestMqtt,
        root: String,
        offer: Value,
    ) -> Result<Viewer, String> {
        let session = offer["session"]
            .as_str()
            .ok_or("offer without session")?
            .to_string();
        let sdp = offer["sdp"]
            .as_str()
            .ok_or("offer without sdp")?
            .to_string();
        assert_eq!(offer["type"], "offer");
        let topics = SessionTopics::new(&root, &session, &opts.viewer_id, opts.shared_topics);
        // Seed step 10/11: be listening on the session before answering.
        mqtt.subscribe(&topics.subscription()).await;

        // Seed steps 13–18.
        rtcam::install_crypto_provider();
        let mut media = MediaEngine::default();
        rtcam::fanout::codecs::register(&mut media).map_err(|e| e.to_string())?;
        // Like Chromium and Firefox, accept the device's playout-delay requests.
        media
            .register_header_extension(
                webrtc::rtp_transceiver::rtp_codec::RTCRtpHeaderExtensionCapability {
                    uri: PLAYOUT_DELAY_URI.to_owned(),
                },
                webrtc::rtp_transceiver::rtp_codec::RTPCodecType::Video,
                None,
            )
            .map_err(|e| e.to_string())?;
        let registry = register_default_interceptors(Registry::new(), &mut media)
            .map_err(|e| e.to_string())?;
        let mut settings = webrtc::api::setting_engine::SettingEngine::default();
        if let Some(only) = opts.only_ip {
            settings.set_ip_filter(Box::new(move |ip| ip == only));
        }
        let api = APIBuilder::new()
            .with_media_engine(media)
            .with_interceptor_registry(registry)
            .with_setting_engine(settings)
            .build();
        let pc = Arc::new(
            api.new_peer_connection(ice::configuration(&offer, opts.relay_only))
                .await
                .map_err(|e| e.to_string())?,
        );
        let seen = Arc::new(Mutex::new(Seen::default()));

        let (track_tx, mut track_rx) = mpsc::channel::<Arc<TrackRemote>>(4);
        pc.on_track(Box::new(move |track, receiver, _| {
            let tx = track_tx.clone();
            // Reading the receiver's RTCP is what lets its interceptors see the device's
            // sender reports (and so put LSR/DLSR, the round trip, in the receiver reports).
            tokio::spawn(async move { while receiver.read_rtcp().await.is_ok() {} });
            Box::pin(async move {
                let _ = tx.send(track).await;
            })
        }));
        let (seen2, pc_for_pli, decode) = (seen.clone(), pc.clone(), opts.decode);
        tokio::spawn(async move {
            while let Some(track) = track_rx.recv().await {
                let seen = seen2.clone();
                if track.kind() == webrtc::rtp_transceiver::rtp_codec::RTPCodecType::Video {
                    seen.lock().unwrap().video_ssrc = Some(track.ssrc());
                    if decode {
                        tokio::spawn(read_video(track, seen, pc_for_pli.clone()));
                    } else {
                        tokio::spawn(count_video(track, seen));
                    }
                } else {
                    tokio::spawn(read_audio(track, seen));
                }
            }
        });
        let (state_tx, mut state_rx) = mpsc::channel::<RTCPeerConnectionState>(16);
        pc.on_peer_connection_state_change(Box::new(move |s| {
            let tx = state_tx.clone();
            Box::pin(async move {
                let _ = tx.send(s).await;
            })
        }));
        let seen3 = seen.clone();
        tokio::spawn(async move {
            while let Some(s) = state_rx.recv().await {
                if s == RTCPeerConnectionState::Connected {
                    seen3.lock().unwrap().connected = true;
                }
            }
        });

        let (cand_tx, mut cand_rx) = mpsc::channel::<Option<RTCIceCandidateInit>>(64);
        if opts.trickle {
            pc.on_ice_candidate(Box::new(move |c| {
                let tx = cand_tx.clone();
                Box::pin(async move {
                    let _ = tx.send(c.and_then(|c| c.to_json().ok())).await;
                })
            }));
        }

        if let Some(hz) = opts.talk_hz {
            // Seed step 14: the viewer adds its own track (talkback) before it applies the
            // offer, so that webrtc-rs pairs it with the offer's sendrecv audio m-line.
            let track = Arc::new(
                webrtc::track::track_local::track_local_static_sample::TrackLocalStaticSample::new(
                    rtcam::fanout::codecs::opus_capability(),
                    "talkback".into(),
                    opts.viewer_id.clone(),
                ),
            );
            pc.add_track(track.clone())
                .await
                .map_err(|e| format!("add talkback track: {e}"))?;
            tokio::spawn(talk(track, hz));
        }
        seen.lock().unwrap().playout_delay_id = extmap_id(&sdp, PLAYOUT_DELAY_URI);
        pc.set_remote_description(RTCSessionDescription::offer(sdp).map_err(|e| e.to_string())?)
            .await
            .map_err(|e| format!("set remote offer: {e}"))?;
        let answer = pc.create_answer(None).await.map_err(|e| e.to_string())?;
        let mut gathered = pc.gathering_complete_promise().await;
        pc.set_local_description(answer)
            .await
            .map_err(|e| e.to_string())?;
        if !opts.trickle {
            let _ = tokio::time::timeout(Duration::from_secs(5), gathered.recv()).await;
        }
        let local = pc.local_description().await.ok_or("no local description")?;
        let client = mqtt.client.clone();
        let viewer_id = opts.viewer_id.clone();
        if opts.trickle {
            // Candidates go out as they come: some before the answer, some after.
            let topic = topics.candidate();
            let (client, viewer_id) = (client.clone(), viewer_id.clone());
            tokio::spawn(async move {
                while let Some(c) = cand_rx.recv().await {
                    let msg = match c {
                        Some(c) => {
                            json!({"viewer": viewer_id, "candidate": c.candidate, "sdpMid": "0", "sdpMLineIndex": 0})
                        }
                        None => json!({"viewer": viewer_id, "candidate": ""}),
                    };
                    let _ = client
                        .publish(topic.clone(), QoS::AtLeastOnce, false, msg.to_string())
                        .await;
                }
            });
        }
        let msg = json!({"type": "answer", "sdp": local.sdp, "viewer": viewer_id});
        let answered_at = Instant::now();
        client
            .publish(topics.answer(), QoS::AtLeastOnce, false, msg.to_string())
            .await
            .map_err(|e| e.to_string())?;

        // Device → viewer messages on the session.
        let (pc2, seen4, me, inbound) = (
            pc.clone(),
            seen.clone(),
            opts.viewer_id.clone(),
            topics.clone(),
        );
        tokio::spawn(async move {
            while let Some((topic, payload)) = mqtt.rx.recv().await {
                let Some(kind) = inbound.device_message(&topic) else {
                    continue;
                };
                let v: Value = serde_json::from_slice(&payload).unwrap_or(Value::Null);
                match kind {
                    FromDevice::Candidate => {
                        seen4.lock().unwrap().device_candidates += 1;
                        let init = RTCIceCandidateInit {
                            candidate: v["candidate"].as_str().unwrap_or_default().to_string(),
                            sdp_mid: v["sdpMid"].as_str().map(str::to_string),
                            sdp_mline_index: v["sdpMLineIndex"].as_u64().map(|n| n as u16),
                            username_fragment: None,
                        };
                        let _ = pc2.add_ice_candidate(init).await;
                    }
                    FromDevice::Error if v["viewer"] == me.as_str() => {
                        seen4.lock().unwrap().errors.push(v)
                    }
                    FromDevice::Hangup if v.get("viewer").is_none() => {
                        seen4.lock().unwrap().hangups.push(v)
                    }
                    FromDevice::Stats => seen4.lock().unwrap().stats.push((Instant::now(), v)),
                    FromDevice::Error | FromDevice::Hangup => {}
                }
            }
        });
        Ok(Viewer {
            opts,
            answered_at,
            session,
            pc,
            seen,
            mqtt: client,
            topics,
        })
    }

    /// The selected candidate pair: local type, remote type, remote address.
    pub async fn selected_pair(&self) -> Option<(String, String, String)> {
        ice::selected_pair(&self.pc).await
    }

    /// Waits until the peer connection is up.
    pub async fn wait_connected(&self, timeout: Duration) -> bool {
        self.wait_until(timeout, |s| s.connected).await
    }

    /// Polls `pred` on what was seen, every 20 ms, until `timeout`.
    pub async fn wait_until(&self, timeout: Duration, pred: impl Fn(&Seen) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if pred(&self.seen.lock().unwrap()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        pred(&self.seen.lock().unwrap())
    }
    /// Sends an RTCP PLI for the video stream.
    pub async fn send_pli(&self) {
        let ssrc = self.seen.lock().unwrap().video_ssrc.expect("video track");
        self.pc
            .write_rtcp(&[Box::new(PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc: ssrc,
            })])
            .await
            .expect("write PLI");
    }

    /// Hangs up (leaves the session) and closes the connection.
    pub async fn hangup(&self) {
        let msg = json!({"reason": "test done", "viewer": self.opts.viewer_id});
        let _ = self
            .mqtt
            .publish(
                self.topics.hangup(),
                QoS::AtLeastOnce,
                false,
                msg.to_string(),
            )
            .await;
        let _ = self.pc.close().await;
    }
}

/// The id an SDP gives the header extension `uri` (`a=extmap:ID[/direction] URI`).
fn extmap_id(sdp: &str, uri: &str) -> Option<u8> {
    sdp.lines().find_map(|l| {
        let (id, rest) = l.trim().strip_prefix("a=extmap:")?.split_once(' ')?;
        let id = id.split('/').next()?.parse().ok()?;
        (rest.split_whitespace().next()? == uri).then_some(id)
    })
}
