//! The listener: accepts connections (plain or TLS), serves HTTP/1.1 and HTTP/2 with
//! hyper, hands every request to a [`Handler`], and shuts down gracefully.

pub(crate) mod fds;
mod limits;
pub(crate) mod tls;

pub(crate) use limits::{
    BodyLimit, DownloadLimits, IdleTimeout, InFlight, Limits, Tracked, HYPER_MAX_HEADERS,
};

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::FutureExt;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;
use tracing::{debug, info, warn};

use crate::access;
use crate::body::Body;

/// How long shutdown waits for requests in flight before cutting their connections: with
/// the cut and the last writes, a signal ends the process within 10 seconds.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// How long shutdown waits for cut connections to be dropped.
const CUT_GRACE: Duration = Duration::from_millis(500);

/// Something that answers requests, told which client sent each. The answer's future
/// owns what it uses (the handler's `Arc` included), so the listener hands it to hyper
/// as it is: an `async` block around it would keep another copy of the request, and
/// hyper copies the whole future of every request once.
pub(crate) trait Handler: Send + Sync + 'static {
    fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
        client: SocketAddr,
    ) -> impl Future<Output = Response<Body>> + Send + 'static;
}

pub(crate) async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// How the listener serves: TLS or not, and its limits.
#[derive(Clone, Default)]
pub(crate) struct ServeOptions {
    pub(crate) tls: Option<TlsAcceptor>,
    pub(crate) limits: Limits,
}

/// Serves connections from `listener` until `shutdown` completes, then stops accepting
/// and waits for the requests in flight.
pub(crate) async fn serve<H: Handler>(
    listener: TcpListener,
    options: ServeOptions,
    handler: Arc<H>,
    shutdown: impl Future<Output = ()>,
) {
    let graceful = GracefulShutdown::new();
    let builder = http_builder(&options.limits);
    let body_limit = BodyLimit::of(&options.limits);
    let slots = Arc::new(Semaphore::new(options.limits.max_connections));
    // Kept so that shutdown can cut the connections still open after the grace period
    // (a slow client would otherwise hold its answer, and what it holds, for ever).
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        // At the connection limit, stop accepting: new clients wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let connection = Connection {
                        builder: builder.clone(),
                        watcher: graceful.watcher(),
                        handler: handler.clone(),
                        limits: options.limits,
                        body_limit: body_limit.clone(),
                        peer,
                        _slot: slot,
                    };
                    connections.spawn(connection.run(stream, options.tls.clone()));
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
            warn!("requests still in flight after {SHUTDOWN_GRACE:?}; cutting their connections");
        }
    }
    connections.abort_all();
    let cut = async { while connections.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(CUT_GRACE, cut).await;
}

/// hyper's smallest read buffer, which bounds a request head.
const MIN_HEAD_BUFFER: usize = 8192;

fn http_builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    let mut http1 = builder.http1();
    http1
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEAD_BUFFER));
    // Over HTTP/1.1 the parser itself refuses more than max_headers (a bare 431). A parse
    // limit above the service's, so that the service could answer with a vAPI body, made
    // hyper allocate and fill a header array of that size on the heap for every request
    // (about an eighth of a replayed hit's instructions); at hyper's own limit the array
    // stays on the stack.
    if limits.max_headers != HYPER_MAX_HEADERS {
        http1.max_headers(limits.max_headers);
    }
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        .max_send_buf_size(limits.send_buffer_bytes);
    builder
}

/// How long a client may take to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// One accepted connection, served until it closes or shutdown ends it.
struct Connection<H> {
    builder: auto::Builder<TokioExecutor>,
    watcher: Watcher,
    handler: Arc<H>,
    limits: Limits,
    body_limit: Option<BodyLimit>,
    peer: SocketAddr,
    /// Held for as long as the connection lives.
    _slot: OwnedSemaphorePermit,
}

impl<H: Handler> Connection<H> {
    async fn run(self, stream: TcpStream, tls: Option<TlsAcceptor>) {
        let in_flight = InFlight::new();
        let stream = IdleTimeout::new(stream, self.limits.idle_timeout, in_flight.clone());
        match tls {
            None => self.serve(TokioIo::new(stream), in_flight).await,
            // Boxed: a TLS connection's state (the handshake, then rustls' connection
            // inside hyper's) would otherwise make every plain connection's task as large.
            Some(acceptor) => Box::pin(self.serve_tls(acceptor, stream, in_flight)).await,
        }
    }

    async fn serve_tls(
        self,
        acceptor: TlsAcceptor,
        stream: IdleTimeout<TcpStream>,
        in_flight: Arc<InFlight>,
    ) {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Ok(Ok(stream)) => self.serve(TokioIo::new(stream), in_flight).await,
            Ok(Err(err)) => debug!(peer = %self.peer, "TLS handshake failed: {err}"),
            Err(_) => {
                debug!(peer = %self.peer, "TLS handshake took longer than {HANDSHAKE_TIMEOUT:?}")
            }
        }
    }

    async fn serve<I>(self, io: I, in_flight: Arc<InFlight>)
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let handler = self.handler;
        let body_limit = self.body_limit;
        let peer = self.peer;
        let service = service_fn(move |mut request: Request<Incoming>| {
            let handler = handler.clone();
            // Counted until the answer's body is done, so the idle timeout spares it.
            let guard = in_flight.start();
            // read_body assumes the default limits when none is set, which spares the
            // common case an allocation per request.
            if let Some(body_limit) = &body_limit {
                request.extensions_mut().insert(body_limit.clone());
            }
            access::logged(request, move |request| handler.handle(request, peer)).map(
                move |response| Ok::<_, Infallible>(response.map(|body| Tracked::new(body, guard))),
            )
        });
        let connection = self.builder.serve_connection(io, service);
        if let Err(err) = self.watcher.watch(connection).await {
            debug!(peer = %self.peer, "connection ended with an error: {err}");
        }
    }
}

/// A future that completes on SIGINT, SIGTERM or SIGHUP (a closed terminal or a
/// supervisor's stop must still write the summary). The handlers are installed when this
/// is called, so a signal that arrives before the future is first polled is not lost
/// (and does not kill the process).
#[cfg(unix)]
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => info!("SIGINT received"),
            _ = terminate.recv() => info!("SIGTERM received"),
            _ = hangup.recv() => info!("SIGHUP received"),
        }
    })
}

#[cfg(not(unix))]
pub(crate) fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}
