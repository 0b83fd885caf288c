//! The listener: accepts connections (plain or TLS), serves HTTP/1.1 and HTTP/2 with
//! hyper, hands every request to a [`Handler`], and shuts down gracefully.

mod streamed;
pub mod tls;

pub use streamed::{Stalled, Streamed};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, Either, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::error::{ApiError, Error};

/// A body: bytes dsvcr made, or a body streamed through from the other side.
pub type Body = Either<Full<Bytes>, Streamed>;

pub fn full(bytes: Bytes) -> Body {
    Either::Left(Full::new(bytes))
}

/// The largest request body dsvcr reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// How long shutdown waits for requests in flight before giving up on them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Something that answers requests: a replay or a record service.
pub trait Handler: Send + Sync + 'static {
    fn handle(&self, request: Request<Incoming>) -> impl Future<Output = Response<Body>> + Send;
}

pub async fn bind(addr: SocketAddr) -> Result<TcpListener, Error> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| Error::Listen { addr, source })
}

/// Serves connections from `listener` (over TLS when `tls` is given) until `shutdown`
/// completes, then stops accepting and waits for the requests in flight.
pub async fn serve<H: Handler>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let connection = Connection {
                        builder: builder.clone(),
                        watcher: graceful.watcher(),
                        handler: handler.clone(),
                        peer,
                    };
                    tokio::spawn(connection.run(stream, tls.clone()));
                }
                Err(err) => {
                    // Out of file descriptors and similar: back off rather than spin.
                    warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    info!("shutting down: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => info!("shut down"),
        () = tokio::time::sleep(SHUTDOWN_GRACE) => {
            warn!("requests still in flight after {SHUTDOWN_GRACE:?}; stopping anyway");
        }
    }
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One accepted connection, served until it closes or shutdown ends it.
struct Connection<H> {
    builder: auto::Builder<TokioExecutor>,
    watcher: Watcher,
    handler: Arc<H>,
    peer: SocketAddr,
}

impl<H: Handler> Connection<H> {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let Some(acceptor) = tls else {
            return self.serve(TokioIo::new(stream)).await;
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => self.serve(TokioIo::new(stream)).await,
            Ok(Err(err)) => debug!(peer = %self.peer, "TLS handshake failed: {err}"),
            Err(_) => {
                debug!(peer = %self.peer, "TLS handshake took longer than {HANDSHAKE_TIMEOUT:?}")
            }
        }
    }

    async fn serve<I>(self, io: I)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let handler = self.handler;
        let service = service_fn(move |request| {
            let handler = handler.clone();
            async move { Ok::<_, Infallible>(handler.handle(request).await) }
        });
        let connection = self.builder.serve_connection(io, service);
        if let Err(err) = self.watcher.watch(connection).await {
            debug!(peer = %self.peer, "connection ended with an error: {err}");
        }
    }
}

/// A future that completes on SIGINT or SIGTERM. The handlers are installed when this
/// is called, so a signal that arrives before the future is first polled is not lost
/// (and does not kill the process).
#[cfg(unix)]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => info!("SIGINT received"),
            _ = terminate.recv() => info!("SIGTERM received"),
        }
    })
}

#[cfg(not(unix))]
pub fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Reads a whole request body of at most `limit` bytes.
pub async fn read_body(
    body: Incoming,
    headers: &HeaderMap,
    limit: usize,
) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::body_too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(err) if err.is::<LengthLimitError>() => Err(ApiError::body_too_large(limit)),
        Err(err) => Err(ApiError::body_unreadable(&err.to_string())),
    }
}
