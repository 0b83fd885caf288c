//! Resource limits for the listener, and the connection wrapper that enforces the idle
//! timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use crate::body::BodyBudget;

/// Limits on what one client can make dsvcr hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Limits {
    /// Largest request body read (413 beyond).
    pub(crate) max_body_bytes: usize,
    /// Bytes buffered for request bodies across all connections at once (503 beyond).
    pub(crate) max_buffered_body_bytes: usize,
    /// Largest request head: request line plus headers (431 beyond).
    pub(crate) max_header_bytes: usize,
    /// Most headers in one request (431 beyond).
    pub(crate) max_headers: usize,
    /// Time a client has to send a whole request head, from when dsvcr starts waiting
    /// for it (HTTP/1.1). hyper starts waiting as soon as the previous answer is sent, so
    /// this also bounds how long a kept-alive HTTP/1.1 connection may sit idle.
    pub(crate) header_read_timeout: Duration,
    /// A connection with no request in flight for this long is closed, whatever control
    /// frames it sends; so is one with no traffic either way for this long.
    pub(crate) idle_timeout: Duration,
    /// Connections served at once; more wait in the listen backlog until one closes.
    pub(crate) max_connections: usize,
    /// Bytes an HTTP/2 stream may queue for sending (`--download-buffer-bytes`).
    pub(crate) send_buffer_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 1024 * 1024,
            max_buffered_body_bytes: 32 * 1024 * 1024,
            max_header_bytes: 16 * 1024,
            max_headers: HYPER_MAX_HEADERS,
            header_read_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(120),
            max_connections: 1024,
            send_buffer_bytes: DownloadLimits::default().buffer_bytes,
        }
    }
}

/// hyper's own header-count limit. Keeping it as the default matters: any other value
/// makes hyper allocate its header array on the heap for every request.
pub(crate) const HYPER_MAX_HEADERS: usize = 100;

/// The body limits, as a request extension the handlers read.
#[derive(Clone, Debug)]
pub(crate) struct BodyLimit {
    pub(crate) max_body_bytes: usize,
    pub(crate) budget: BodyBudget,
}

impl BodyLimit {
    /// The limits of a listener with `limits`, or `None` for the defaults (which
    /// [`BodyLimit::default_limits`] gives without a request extension).
    pub(crate) fn of(limits: &Limits) -> Option<Self> {
        let default = Limits::default();
        let is_default = limits.max_body_bytes == default.max_body_bytes
            && limits.max_buffered_body_bytes == default.max_buffered_body_bytes;
        (!is_default).then(|| BodyLimit {
            max_body_bytes: limits.max_body_bytes,
            budget: BodyBudget::new(limits.max_buffered_body_bytes),
        })
    }

    /// The default limits, with the budget every default listener in the process shares.
    pub(crate) fn default_limits() -> (usize, &'static BodyBudget) {
        let default = Limits::default();
        let budget = BodyBudget::shared_default(default.max_buffered_body_bytes);
        (default.max_body_bytes, budget)
    }
}

/// The requests a connection has in flight, and since when it has had none.
#[derive(Debug)]
pub(crate) struct InFlight {
    count: AtomicUsize,
    /// When the count last dropped to 0 (or the connection opened).
    quiet_since: std::sync::Mutex<Instant>,
}

impl InFlight {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(InFlight {
            count: AtomicUsize::new(0),
            quiet_since: std::sync::Mutex::new(Instant::now()),
        })
    }

    /// Counts a request as in flight until the guard (kept with its answer's body) drops.
    pub(crate) fn start(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::AcqRel);
        InFlightGuard(self.clone())
    }

    /// Since when the connection has had no request in flight, if it has none.
    fn quiet_since(&self) -> Option<Instant> {
        let since = *self.quiet_since.lock().expect("never poisoned");
        (self.count.load(Ordering::Acquire) == 0).then_some(since)
    }
}

/// Held while a request is in flight, up to the end of its answer's body.
#[derive(Debug)]
pub(crate) struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        let mut quiet_since = self.0.quiet_since.lock().expect("never poisoned");
        if self.0.count.fetch_sub(1, Ordering::AcqRel) == 1 {
            *quiet_since = Instant::now();
        }
    }
}

/// A connection that fails with `TimedOut` once it has had no request in flight for
/// `idle` (whatever control frames, such as HTTP/2 PINGs, it carries), or once nothing has
/// been read or written for `idle` even with a request in flight.
pub(crate) struct IdleTimeout<T> {
    inner: T,
    idle: Duration,
    in_flight: Arc<InFlight>,
    /// The last read or write that moved bytes. Traffic only records the time; the timer
    /// is moved when it fires early, so a busy connection does not touch the timer wheel
    /// on every read and write.
    last_traffic: Instant,
    deadline: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    pub(crate) fn new(inner: T, idle: Duration, in_flight: Arc<InFlight>) -> Self {
        IdleTimeout {
            inner,
            idle,
            in_flight,
            last_traffic: Instant::now(),
            deadline: Box::pin(tokio::time::sleep(idle)),
        }
    }

    fn touch(&mut self) {
        self.last_traffic = Instant::now();
    }

    /// Deadlines only ever move later, so a timer that fires early is simply re-armed.
    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        loop {
            if self.deadline.as_mut().poll(cx).is_pending() {
                return false;
            }
            let silent = self.last_traffic + self.idle;
            let due = match self.in_flight.quiet_since() {
                Some(quiet_since) => silent.min(quiet_since + self.idle),
                None => silent,
            };
            if due <= Instant::now() {
                return true;
            }
            self.deadline.as_mut().reset(due);
        }
    }

    fn timed_out(&self) -> io::Error {
        io::Error::new(
            io::ErrorKind::TimedOut,
            format!("idle for {:?}; connection closed", self.idle),
        )
    }
}

impl<T> IdleTimeout<T> {
    /// Counts a write that moved bytes as traffic, and ends a blocked one once idle.
    fn after_write(
        &mut self,
        cx: &mut Context<'_>,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        match written {
            Poll::Ready(Ok(written)) => {
                if written > 0 {
                    self.touch();
                }
                Poll::Ready(Ok(written))
            }
            Poll::Pending if self.expired(cx) => Poll::Ready(Err(self.timed_out())),
            other => other,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending if this.expired(cx) => Poll::Ready(Err(this.timed_out())),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write(cx, data);
        self.after_write(cx, written)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let written = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.after_write(cx, written)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// An answer's body, with the guard that counts its request as in flight until the body
/// is done or dropped.
pub(crate) struct Tracked<B> {
    body: B,
    _guard: InFlightGuard,
}

impl<B> Tracked<B> {
    pub(crate) fn new(body: B, guard: InFlightGuard) -> Self {
        Tracked {
            body,
            _guard: guard,
        }
    }
}

impl<B: http_body::Body + Unpin> http_body::Body for Tracked<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, B::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// The download budgets (`--max-downloads`, `--max-open-blobs`, `--download-buffer-bytes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DownloadLimits {
    /// Downloads served at once.
    pub(crate) max_downloads: usize,
    /// Blob files open at once.
    pub(crate) max_open_blobs: usize,
    /// Bytes of file one download holds in memory (replay reads half of it ahead).
    pub(crate) buffer_bytes: usize,
}

impl Default for DownloadLimits {
    fn default() -> Self {
        DownloadLimits {
            max_downloads: 64,
            max_open_blobs: 128,
            buffer_bytes: 256 * 1024,
        }
    }
}
