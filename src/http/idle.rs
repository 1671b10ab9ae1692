//! A connection that notices when it stops moving: every byte read or written stamps the time,
//! and [`Progress::stalled_for`] says how long nothing moved. A client that requests a file
//! and never reads it stalls the writes; a client that connects and says nothing stalls the
//! reads; either way the server closes the connection after the idle timeout.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// When a connection last moved a byte, shared between the stream and its watcher.
#[derive(Debug, Clone)]
pub(super) struct Progress {
    start: Instant,
    /// Milliseconds since `start` of the last byte moved.
    last_ms: Arc<AtomicU64>,
}

impl Progress {
    pub(super) fn new() -> Self {
        Self {
            start: Instant::now(),
            last_ms: Arc::new(AtomicU64::new(0)),
        }
    }

    fn touch(&self) {
        let ms = self.start.elapsed().as_millis() as u64;
        self.last_ms.store(ms, Ordering::Relaxed);
    }

    /// How long ago the last byte moved.
    pub(super) fn stalled_for(&self) -> Duration {
        let now = self.start.elapsed();
        now.saturating_sub(Duration::from_millis(self.last_ms.load(Ordering::Relaxed)))
    }
}

/// A stream whose reads and writes stamp [`Progress`].
#[derive(Debug)]
pub(super) struct Tracked<S> {
    inner: S,
    progress: Progress,
}

impl<S> Tracked<S> {
    pub(super) fn new(inner: S, progress: Progress) -> Self {
        Self { inner, progress }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Tracked<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(r, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.progress.touch();
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Tracked<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.touch();
        }
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(r, Poll::Ready(Ok(n)) if n > 0) {
            self.progress.touch();
        }
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_and_writes_reset_the_stall_clock() {
        let (a, mut b) = tokio::io::duplex(64);
        let progress = Progress::new();
        let mut tracked = Tracked::new(a, progress.clone());
        tokio::time::sleep(Duration::from_millis(30)).await;
        assert!(progress.stalled_for() >= Duration::from_millis(30));
        tracked.write_all(b"hi").await.unwrap();
        assert!(progress.stalled_for() < Duration::from_millis(30));
        tokio::time::sleep(Duration::from_millis(30)).await;
        b.write_all(b"yo").await.unwrap();
        let mut buf = [0u8; 2];
        tracked.read_exact(&mut buf).await.unwrap();
        assert!(progress.stalled_for() < Duration::from_millis(30));
    }
}
