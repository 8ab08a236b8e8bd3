//! The accept loop: hyper's HTTP/1 server with timers, a connection cap and
//! graceful shutdown.
//!
//! `axum::serve` runs hyper without a timer, so a client that connects and
//! never finishes a request holds its socket (and a file descriptor)
//! forever; a thousand of them took the server off the air. Here:
//!
//! - hyper's header-read timeout closes a connection whose request headers
//!   do not arrive in time (slowloris), counted from when the server starts
//!   waiting: a fresh connection, or a kept-alive one after its response;
//! - an idle watchdog closes a connection with no request in progress for
//!   the idle timeout, or whose request body has made no progress for that
//!   long (a slow-body client). A request is in progress until its response
//!   body is finished, so an open SSE stream is never idle; a WebSocket
//!   leaves hyper at the upgrade and is not watched at all;
//! - a semaphore caps open connections (kept below the open-file limit, so
//!   `accept` itself never fails for lack of descriptors). A connection over
//!   the cap gets an immediate 503 and is closed: it is refused in
//!   microseconds instead of starving everyone. The permit travels with the
//!   socket, through a WebSocket upgrade too, and is released when the
//!   socket closes.
//!
//! Every connection gets TCP_NODELAY (realtime streams write many small
//! messages, which Nagle's algorithm would hold back) and axum's
//! `ConnectInfo<SocketAddr>`; every request's path is repaired before
//! routing (`paths`).

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;

/// Descriptors kept free for the database, logs and outbound connections.
const RESERVED_FDS: u64 = 64;

/// The answer to a connection over the cap.
const OVERLOADED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\n\
content-type: application/json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: 78\r\n\r\n\
{\"data\":{},\"message\":\"The server has too many open connections.\",\"status\":503}";

/// Connection limits (`config.toml`: `http_*`). A zero timeout disables it.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

impl Limits {
    /// The cap actually applied: the configured one, kept `RESERVED_FDS`
    /// below the soft open-file limit.
    pub fn effective_cap(&self) -> usize {
        let fds = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .map(|(soft, _)| soft)
            .unwrap_or(u64::MAX);
        let room = if fds > 2 * RESERVED_FDS {
            fds - RESERVED_FDS
        } else {
            fds / 2
        };
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        self.max_connections.min(room).max(1)
    }
}

/// Serves `router` on `listener` until `shutdown` resolves, then lets open
/// connections finish (like `axum::serve(..).with_graceful_shutdown`).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let cap = limits.effective_cap();
    tracing::debug!(cap, "connection cap");
    let permits = Arc::new(Semaphore::new(cap));
    let (stop_tx, stop_rx) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Per-connection errors (reset before accept) and
                    // descriptor exhaustion: back off briefly, keep going.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(permit) = Arc::clone(&permits).try_acquire_owned() else {
            // Best effort: the buffer of a new socket takes these bytes at
            // once; the socket closes when dropped.
            let _ = tcp.try_write(OVERLOADED);
            continue;
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "TCP_NODELAY not set");
        }
        let io = TokioIo::new(Held {
            tcp,
            _permit: permit,
        });
        tokio::spawn(connection(
            io,
            peer,
            router.clone(),
            limits,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    drop(stop_rx);
    // Every connection task holds a receiver: wait until all are gone.
    stop_tx.send_replace(());
    stop_tx.closed().await;
    Ok(())
}

/// Serves one connection until it closes, idles out or the server stops.
async fn connection(
    io: TokioIo<Held>,
    peer: SocketAddr,
    router: Router,
    limits: Limits,
    mut stop: watch::Receiver<()>,
) {
    let activity = Arc::new(Activity::new());
    let tracked = Arc::clone(&activity);
    let service = tower::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        super::paths::repair(&mut req);
        let busy = Busy::start(&tracked);
        let router = router.clone();
        async move {
            let req = req.map(|inner| Body::new(Upload::new(inner, &busy.0)));
            let res = router.oneshot(req).await?;
            Ok::<_, Infallible>(res.map(|b| {
                Body::new(Tracked {
                    inner: b,
                    _busy: busy,
                })
            }))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).keep_alive(true);
    // hyper applies 30 s when given a timer and no value: say "none".
    http.header_read_timeout((!limits.header_timeout.is_zero()).then_some(limits.header_timeout));
    let conn = http
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades();
    let mut conn = std::pin::pin!(conn);
    let idle = activity.idle_for(limits.idle_timeout);
    let mut idle = std::pin::pin!(idle);
    let mut stopping = false;
    loop {
        tokio::select! {
            res = conn.as_mut() => {
                if let Err(e) = res {
                    tracing::trace!(error = %e, "connection ended");
                }
                break;
            }
            // No request in progress: closing loses nothing.
            () = idle.as_mut() => break,
            changed = stop.changed(), if !stopping => {
                let _ = changed;
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// A socket plus its place under the connection cap.
struct Held {
    tcp: TcpStream,
    _permit: OwnedSemaphorePermit,
}

impl AsyncRead for Held {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Held {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }
    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }
}

/// Requests in progress on one connection, when the last one ended, and
/// when a request body being received last made progress.
struct Activity {
    busy: AtomicUsize,
    since: Mutex<Instant>,
    uploading: Mutex<Option<Instant>>,
}

impl Activity {
    fn new() -> Self {
        Self {
            busy: AtomicUsize::new(0),
            since: Mutex::new(Instant::now()),
            uploading: Mutex::new(None),
        }
    }

    fn set_uploading(&self, at: Option<Instant>) {
        if let Ok(mut g) = self.uploading.lock() {
            *g = at;
        }
    }

    /// Resolves once no request has been in progress for `limit`, or a
    /// request body has made no progress for `limit` (never, for a zero
    /// limit). A response in progress (an SSE stream) keeps it waiting.
    async fn idle_for(&self, limit: Duration) {
        if limit.is_zero() {
            return std::future::pending().await;
        }
        loop {
            let now = Instant::now();
            let since = self.since.lock().map(|g| *g).unwrap_or(now);
            let uploading = self.uploading.lock().ok().and_then(|g| *g);
            let deadline = match (self.busy.load(Ordering::Acquire), uploading) {
                (0, _) => Some(since + limit),
                (_, Some(progress)) => Some(progress + limit),
                _ => None,
            };
            match deadline {
                Some(d) if d <= now => return,
                Some(d) => tokio::time::sleep_until(d).await,
                None => tokio::time::sleep(limit).await,
            }
        }
    }
}

/// One request in progress, from its head until its response body is done.
struct Busy(Arc<Activity>);

impl Busy {
    fn start(a: &Arc<Activity>) -> Self {
        a.busy.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(a))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        if let Ok(mut g) = self.0.since.lock() {
            *g = Instant::now();
        }
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A request body that records its progress: a client that stops sending
/// a body it announced is a stalled connection, not a busy one.
struct Upload {
    inner: Incoming,
    activity: Arc<Activity>,
}

impl Upload {
    fn new(inner: Incoming, activity: &Arc<Activity>) -> Self {
        use http_body::Body as _;
        if !inner.is_end_stream() {
            activity.set_uploading(Some(Instant::now()));
        }
        Upload {
            inner,
            activity: Arc::clone(activity),
        }
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        self.activity.set_uploading(None);
    }
}

impl http_body::Body for Upload {
    type Data = axum::body::Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => self.activity.set_uploading(Some(Instant::now())),
            Poll::Ready(_) => self.activity.set_uploading(None),
            Poll::Pending => {}
        }
        polled
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its request counted until it is dropped.
struct Tracked {
    inner: Body,
    _busy: Busy,
}

impl http_body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }
    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }
    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overload_answer_is_well_formed() {
        let text = std::str::from_utf8(OVERLOADED).expect("utf-8");
        let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
        assert!(head.contains(&format!("content-length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).expect("json");
        assert_eq!(v["status"], 503);
    }

    #[test]
    fn the_cap_stays_below_the_open_file_limit() {
        let limits = Limits {
            header_timeout: Duration::ZERO,
            idle_timeout: Duration::ZERO,
            max_connections: usize::MAX,
        };
        let (soft, _) = rlimit::getrlimit(rlimit::Resource::NOFILE).expect("limit");
        assert!((limits.effective_cap() as u64) < soft);
        let few = Limits {
            max_connections: 3,
            ..limits
        };
        assert_eq!(few.effective_cap(), 3);
    }
}
