//! Publishing into a Janus VideoRoom through Janus's HTTP API: create a session, attach the
//! VideoRoom plugin, join the room as a publisher with the device's offer (its candidates in
//! the SDP), apply Janus's answer, then keep the session alive (a long poll that Janus
//! answers with events, and a keep-alive every 25 s) until rtcam stops (leave, destroy) or
//! something fails: Janus restarted (its sessions are gone), hung up, the connection failed.
//! Then everything is torn down and publishing starts again after the back-off, forever.

pub mod api;

use std::time::Duration;

use serde_json::Value;
use tokio::sync::{mpsc, watch};
use tracing::{debug, info};

use super::http;
use super::{PeerNews, PublishError, Target};
use crate::backoff::Backoff;
use crate::peer::Peer;
use api::Reply;

/// One request's time limit, and the long poll's (Janus answers an idle poll after 30 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const POLL_TIMEOUT: Duration = Duration::from_secs(40);
/// Janus forgets a session after 60 s without a request.
const KEEPALIVE_EVERY: Duration = Duration::from_secs(25);
/// How long Janus has to answer the offer.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the media connection has to come up once the answer is applied.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// A Janus session's requests: the URLs, the secret and transaction ids.
struct Api {
    base: String,
    secret: String,
    next: u64,
}

impl Api {
    fn transaction(&mut self) -> String {
        self.next += 1;
        format!("rtcam-{}", self.next)
    }

    /// POSTs a request (`make(transaction, secret)`) to `url` and reads the reply.
    async fn call(
        &mut self,
        url: &str,
        make: impl FnOnce(&str, &str) -> Value,
    ) -> Result<Reply, PublishError> {
        let t = self.transaction();
        let body = make(&t, &self.secret);
        let reply = api::parse(&http::post_json(url, &body, REQUEST_TIMEOUT).await?);
        match reply {
            Reply::Error { code, reason } => Err(PublishError::Janus { code, reason }),
            other => Ok(other),
        }
    }

    /// A request that creates something: its id.
    async fn create(
        &mut self,
        url: &str,
        make: impl FnOnce(&str, &str) -> Value,
    ) -> Result<u64, PublishError> {
        match self.call(url, make).await? {
            Reply::Created(id) => Ok(id),
            other => Err(PublishError::Unexpected(format!("{other:?}"))),
        }
    }
}

/// One attempt: publishes until `stop` (`Ok`) or a failure, then tears everything down.
pub(super) async fn publish_once(
    target: &mut Target,
    session: &str,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Result<(), PublishError> {
    let mut janus = Api {
        base: target.config.url.trim_end_matches('/').to_string(),
        secret: target.config.token.clone(),
        next: 0,
    };
    let base = janus.base.clone();
    let janus_session = janus.create(&base, api::create).await?;
    let session_url = format!("{base}/{janus_session}");
    let (polled_tx, polled) = mpsc::channel(32);
    let poller = tokio::spawn(long_poll(session_url.clone(), polled_tx));
    let mut peer = None;
    let ended = publish_in(
        target,
        &mut janus,
        &session_url,
        session,
        polled,
        &mut peer,
        stop,
        backoff,
    )
    .await;
    poller.abort();
    if let Some(peer) = peer {
        peer.close().await;
    }
    // Janus forgets the session by itself too (60 s without a request); after a restart it
    // has none to destroy.
    if let Err(e) = janus.call(&session_url, api::destroy).await {
        debug!(error = %e, "destroying the Janus session");
    }
    ended
}

#[allow(clippy::too_many_arguments)]
async fn publish_in(
    target: &mut Target,
    janus: &mut Api,
    session_url: &str,
    session: &str,
    mut polled: mpsc::Receiver<Result<Reply, PublishError>>,
    peer_slot: &mut Option<Peer>,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Result<(), PublishError> {
    let handle = janus.create(session_url, api::attach).await?;
    let handle_url = format!("{session_url}/{handle}");
    let (peer, offer) = target
        .factory
        .create_offer(session)
        .await
        .map_err(PublishError::Peer)?;
    let peer = peer_slot.insert(peer);
    let (room, display) = (target.config.room, target.display.clone());
    janus
        .call(&handle_url, |t, s| {
            api::join_and_publish(t, s, room, &display, &offer)
        })
        .await?;
    // The answer comes through the long poll.
    let answer = tokio::time::timeout(ANSWER_TIMEOUT, async {
        loop {
            match polled.recv().await {
                Some(Ok(Reply::Joined {
                    publisher_id,
                    answer,
                })) => {
                    debug!(publisher_id, "joined the room");
                    return Ok(answer);
                }
                Some(Ok(Reply::Error { code, reason })) => {
                    return Err(PublishError::Janus { code, reason })
                }
                Some(Ok(other)) => debug!(?other, "Janus event while joining"),
                Some(Err(e)) => return Err(e),
                None => return Err(PublishError::Unexpected("the long poll ended".into())),
            }
        }
    })
    .await
    .map_err(|_| PublishError::Unexpected(format!("no answer within {ANSWER_TIMEOUT:?}")))??;
    peer.apply_answer(answer)
        .await
        .map_err(PublishError::Peer)?;

    let mut keepalive = tokio::time::interval_at(
        tokio::time::Instant::now() + KEEPALIVE_EVERY,
        KEEPALIVE_EVERY,
    );
    let connect_deadline = tokio::time::sleep(CONNECT_TIMEOUT);
    tokio::pin!(connect_deadline);
    let mut live = false;
    loop {
        tokio::select! {
            _ = stop.changed() => {
                // Unpublish cleanly; destroying the session follows.
                if let Err(e) = janus.call(&handle_url, api::leave).await {
                    debug!(error = %e, "leaving the room");
                }
                info!(target = %target.config.describe(), "stopped publishing");
                return Ok(());
            }
            _ = &mut connect_deadline, if !live => {
                return Err(PublishError::Unexpected(format!(
                    "the media connection did not come up within {CONNECT_TIMEOUT:?}"
                )));
            }
            _ = keepalive.tick() => { janus.call(session_url, api::keepalive).await?; }
            ev = polled.recv() => match ev {
                Some(Ok(Reply::Hangup(reason))) => {
                    return Err(PublishError::Unexpected(format!("Janus hung up: {reason}")));
                }
                Some(Ok(Reply::Error { code, reason })) => {
                    return Err(PublishError::Janus { code, reason });
                }
                Some(Ok(Reply::WebrtcUp)) => debug!("Janus: webrtcup"),
                Some(Ok(other)) => debug!(?other, "Janus event"),
                Some(Err(e)) => return Err(e),
                None => return Err(PublishError::Unexpected("the long poll ended".into())),
            },
            ev = target.events.recv() => match target.peer_news(ev, session, backoff)? {
                PeerNews::Live => live = true,
                PeerNews::Stopped => return Ok(()),
                PeerNews::Candidate(_) | PeerNews::Nothing => {}
            },
        }
    }
}

/// Janus's long poll for `session_url`, forwarded as replies; ends after the first failure
/// (which it forwards: Janus restarted, or is gone).
async fn long_poll(session_url: String, out: mpsc::Sender<Result<Reply, PublishError>>) {
    let mut rid = 0u64;
    loop {
        rid += 1;
        let url = format!("{session_url}?maxev=10&rid={rid}");
        match http::get_json(&url, POLL_TIMEOUT).await {
            Ok(v) => {
                for reply in api::events(&v) {
                    if out.send(Ok(reply)).await.is_err() {
                        return;
                    }
                }
            }
            Err(e) => {
                let _ = out.send(Err(e)).await;
                return;
            }
        }
    }
}
