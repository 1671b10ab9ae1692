//! Publishing over WHIP (RFC 9725), the HTTP ingest that mediamtx, LiveKit Ingress,
//! Cloudflare Stream, OvenMediaEngine and Janus's WHIP server accept: an `OPTIONS` first for
//! the endpoint's ICE servers (`Link` headers, when it gives any), the offer `POST`ed as
//! `application/sdp` (redirects followed), `201 Created` with the answer and the session's
//! `Location`; late candidates `PATCH`ed as `application/trickle-ice-sdpfrag` with `If-Match`
//! while the server takes them; `DELETE` of the session on stop and before publishing again.

pub mod protocol;

use std::time::Duration;

use bytes::Bytes;
use hyper::{Method, StatusCode};
use tokio::sync::watch;
use tracing::{debug, info};
use url::Url;

use super::http::{self, excerpt, Reply};
use super::{PeerNews, PublishError, Target};
use crate::backoff::Backoff;
use crate::peer::Peer;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);
const MAX_REDIRECTS: usize = 5;

/// One attempt: publishes until `stop` (`Ok`) or a failure; the session is deleted on the
/// server either way.
pub(super) async fn publish_once(
    target: &mut Target,
    session: &str,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
) -> Result<(), PublishError> {
    let mut resource = None;
    let mut peer = None;
    let result = publish_in(target, session, stop, backoff, &mut resource, &mut peer).await;
    if let Some(peer) = peer {
        peer.close().await;
    }
    if let Some(url) = resource {
        delete(target, &url).await;
    }
    result
}

/// The headers every request carries: the bearer token, when there is one.
fn auth(target: &Target) -> Vec<(&'static str, String)> {
    if target.config.token.is_empty() {
        Vec::new()
    } else {
        vec![("authorization", format!("Bearer {}", target.config.token))]
    }
}

fn header<'a>(reply: &'a Reply, name: &str) -> Option<&'a str> {
    reply.headers.get(name).and_then(|v| v.to_str().ok())
}

fn links(reply: &Reply) -> Vec<&str> {
    reply
        .headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect()
}

/// Sends a request, following redirects (307/308 keep the method and body; 301/302/303
/// too, since a WHIP endpoint only ever moves); returns the reply and the URL that gave it.
async fn follow(
    method: Method,
    url: &Url,
    headers: &[(&str, String)],
    body: Bytes,
) -> Result<(Reply, Url), PublishError> {
    let mut url = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let reply =
            http::send(method.clone(), &url, headers, body.clone(), REQUEST_TIMEOUT).await?;
        if !reply.status.is_redirection() {
            return Ok((reply, url));
        }
        let location = header(&reply, "location").ok_or_else(|| {
            PublishError::Unexpected(format!("{url}: a redirect without Location"))
        })?;
        debug!(from = %url, to = location, "WHIP redirect");
        url = protocol::session_url(&url, location).map_err(PublishError::Unexpected)?;
    }
    Err(PublishError::Unexpected(format!(
        "more than {MAX_REDIRECTS} redirects"
    )))
}

async fn publish_in(
    target: &mut Target,
    session: &str,
    stop: &mut watch::Receiver<bool>,
    backoff: &mut Backoff,
    resource: &mut Option<Url>,
    peer_slot: &mut Option<Peer>,
) -> Result<(), PublishError> {
    let endpoint = Url::parse(&target.config.url).map_err(|e| PublishError::Http(e.to_string()))?;
    let headers = auth(target);
    // The endpoint's ICE servers, if it names any (an endpoint without OPTIONS is fine).
    let ice = match follow(Method::OPTIONS, &endpoint, &headers, Bytes::new()).await {
        Ok((reply, _)) => protocol::ice_servers(&links(&reply)),
        Err(e) => {
            debug!(error = %e, "WHIP OPTIONS");
            Vec::new()
        }
    };
    if !ice.is_empty() {
        info!(servers = ice.len(), "the WHIP endpoint named ICE servers");
    }
    let (peer, offer) = target
        .factory
        .create_offer_with(session, &ice)
        .await
        .map_err(PublishError::Peer)?;
    let peer = peer_slot.insert(peer);
    let mut post_headers = headers.clone();
    post_headers.push(("content-type", "application/sdp".into()));
    let (reply, posted_to) =
        follow(Method::POST, &endpoint, &post_headers, offer.clone().into()).await?;
    if reply.status != StatusCode::CREATED {
        return Err(PublishError::Status(
            reply.status.as_u16(),
            excerpt(&reply.body),
        ));
    }
    let location = header(&reply, "location")
        .ok_or_else(|| PublishError::Unexpected("201 Created without a Location".into()))?;
    let session_url =
        protocol::session_url(&posted_to, location).map_err(PublishError::Unexpected)?;
    *resource = Some(session_url.clone());
    let mut etag = header(&reply, "etag").map(str::to_string);
    let later_ice = protocol::ice_servers(&links(&reply));
    if !later_ice.is_empty() && ice.is_empty() {
        debug!(
            servers = later_ice.len(),
            "ICE servers in the 201 (used from the next publish on)"
        );
    }
    let answer = String::from_utf8(reply.body.to_vec())
        .map_err(|_| PublishError::Unexpected("the answer is not UTF-8".into()))?;
    peer.apply_answer(answer)
        .await
        .map_err(PublishError::Peer)?;
    info!(target = %target.config.describe(), session = %session_url, "WHIP session created");

    let connect_deadline = tokio::time::sleep(CONNECT_TIMEOUT);
    tokio::pin!(connect_deadline);
    let (mut live, mut trickle) = (false, true);
    loop {
        tokio::select! {
            _ = stop.changed() => {
                info!(target = %target.config.describe(), "stopped publishing");
                return Ok(());
            }
            _ = &mut connect_deadline, if !live => {
                return Err(PublishError::Unexpected(format!(
                    "the media connection did not come up within {CONNECT_TIMEOUT:?}"
                )));
            }
            ev = target.events.recv() => match target.peer_news(ev, session, backoff)? {
                PeerNews::Live => live = true,
                PeerNews::Stopped => return Ok(()),
                // Candidates already in the offer need no PATCH.
                PeerNews::Candidate(Some(c)) if offer.contains(c.as_str()) => {}
                PeerNews::Candidate(candidate) if trickle => {
                    trickle = patch(target, &session_url, &offer, candidate, &mut etag).await?;
                }
                PeerNews::Candidate(_) | PeerNews::Nothing => {}
            },
        }
    }
}

/// PATCHes one late candidate (`None`: gathering ended); `Ok(false)` when the server does
/// not take trickled candidates (then nothing more is sent).
async fn patch(
    target: &Target,
    session_url: &Url,
    offer: &str,
    candidate: Option<String>,
    etag: &mut Option<String>,
) -> Result<bool, PublishError> {
    let list: Vec<String> = candidate.into_iter().collect();
    let end = list.is_empty();
    let Some(frag) = protocol::sdpfrag(offer, &list, end) else {
        return Ok(false);
    };
    let mut headers = auth(target);
    headers.push(("content-type", "application/trickle-ice-sdpfrag".into()));
    if let Some(tag) = etag.as_ref() {
        headers.push(("if-match", tag.clone()));
    }
    let reply = http::send(
        Method::PATCH,
        session_url,
        &headers,
        frag.into(),
        REQUEST_TIMEOUT,
    )
    .await?;
    match reply.status {
        s if s.is_success() => {
            if let Some(tag) = header(&reply, "etag") {
                *etag = Some(tag.to_string());
            }
            debug!(end, "candidate trickled");
            Ok(true)
        }
        StatusCode::METHOD_NOT_ALLOWED
        | StatusCode::NOT_IMPLEMENTED
        | StatusCode::UNSUPPORTED_MEDIA_TYPE => {
            info!(
                status = reply.status.as_u16(),
                "the WHIP server takes no trickled candidates"
            );
            Ok(false)
        }
        // The session is gone (404), or another ICE session replaced ours (412).
        s => Err(PublishError::Status(s.as_u16(), excerpt(&reply.body))),
    }
}

/// Ends the session on the server (best effort: it may be gone already).
async fn delete(target: &Target, url: &Url) {
    match http::send(
        Method::DELETE,
        url,
        &auth(target),
        Bytes::new(),
        REQUEST_TIMEOUT,
    )
    .await
    {
        Ok(reply) => debug!(status = reply.status.as_u16(), %url, "WHIP session deleted"),
        Err(e) => debug!(error = %e, %url, "deleting the WHIP session"),
    }
}
