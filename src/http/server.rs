//! The accept loop: hyper's HTTP/1.1 connections with a cap on how many are open, a deadline
//! for the request head, an idle timeout for connections that stop moving, a lifetime for all
//! of them, and a graceful end when the daemon stops.
//!
//! At the cap the **oldest** connection is closed to make room: a page load takes a fraction
//! of a second, so whatever has been open longest is almost always a client that stalls on
//! purpose, and a real viewer's request is never turned away by a crowd of those.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tower::ServiceExt;
use tracing::{debug, warn};

use super::idle::{Progress, Tracked};
use super::Limits;

/// Longest any connection stays open, moving or not.
const LIFETIME: Duration = Duration::from_secs(300);
/// Time in-flight replies get to finish when the daemon stops.
const DRAIN: Duration = Duration::from_secs(1);
/// At most one "connection limit reached" warning per this long.
const WARN_EVERY: Duration = Duration::from_secs(10);

/// The open connections, oldest first, each with the switch that closes it.
#[derive(Default)]
struct Open {
    next_id: u64,
    conns: BTreeMap<u64, oneshot::Sender<()>>,
    evicted: u64,
    warned_at: Option<Instant>,
}

/// Removes its connection from [`Open`] however the connection task ends.
struct Slot {
    id: u64,
    open: Arc<Mutex<Open>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.open.lock() {
            open.conns.remove(&self.id);
        }
    }
}

/// Takes a slot for a new connection, closing the oldest one when all are in use.
fn admit(open: &Arc<Mutex<Open>>, max: usize) -> (Slot, oneshot::Receiver<()>) {
    let (tx, rx) = oneshot::channel();
    let mut o = open.lock().unwrap_or_else(|p| p.into_inner());
    while o.conns.len() >= max.max(1) {
        let Some((_, close)) = o.conns.pop_first() else {
            break;
        };
        let _ = close.send(());
        o.evicted += 1;
        if o.warned_at.map_or(true, |t| t.elapsed() >= WARN_EVERY) {
            warn!(
                max_connections = max,
                closed_so_far = o.evicted,
                "viewer page server: connection limit reached, closing the oldest connection \
                 (http.max_connections)"
            );
            o.warned_at = Some(Instant::now());
        }
    }
    let id = o.next_id;
    o.next_id += 1;
    o.conns.insert(id, tx);
    drop(o);
    (
        Slot {
            id,
            open: open.clone(),
        },
        rx,
    )
}

/// Serves `router` on `listener` until `stop` turns true.
pub(super) async fn accept_loop(
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    mut stop: watch::Receiver<bool>,
) {
    let open = Arc::new(Mutex::new(Open::default()));
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let (slot, evict) = admit(&open, limits.max_connections);
                    let router = router.clone();
                    let stop = stop.clone();
                    tokio::spawn(async move {
                        connection(stream, router, limits, evict, stop).await;
                        debug!(%peer, "HTTP connection closed");
                        drop(slot);
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a little, keep serving.
                    warn!(cause = %e, "accepting an HTTP connection failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
        }
    }
}

/// One client connection, until it ends, stalls, is evicted, outlives [`LIFETIME`] or the
/// daemon stops (then in-flight replies get [`DRAIN`] to finish).
async fn connection(
    stream: TcpStream,
    router: axum::Router,
    limits: Limits,
    mut evict: oneshot::Receiver<()>,
    mut stop: watch::Receiver<bool>,
) {
    let progress = Progress::new();
    let io = TokioIo::new(Tracked::new(stream, progress.clone()));
    let service = hyper::service::service_fn(move |req| router.clone().oneshot(req));
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout)
        .max_buf_size(64 * 1024);
    let conn = builder.serve_connection(io, service);
    tokio::pin!(conn);
    let check = (limits.idle_timeout / 4).clamp(Duration::from_millis(10), Duration::from_secs(1));
    let deadline = tokio::time::Instant::now() + LIFETIME;
    loop {
        tokio::select! {
            r = conn.as_mut() => {
                if let Err(e) = r {
                    debug!(cause = %e, "HTTP connection ended with an error");
                }
                return;
            }
            _ = &mut evict => return,
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tokio::time::sleep(check) => {
                if progress.stalled_for() >= limits.idle_timeout {
                    debug!("HTTP connection idle; closing it");
                    return;
                }
            }
            changed = stop.changed() => {
                if changed.is_err() || *stop.borrow() {
                    conn.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(DRAIN, conn.as_mut()).await;
                    return;
                }
            }
        }
    }
}
