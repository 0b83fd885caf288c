//! An in-process fake vCenter on 127.0.0.1, over plain HTTP or TLS with a fresh test CA.
//!
//! It serves login on `/rest` and `/api`, the ten download-session operations and the
//! content-library lookups on both flavours, the same operations over vAPI JSON-RPC
//! (`POST /api`), a small vim25 SOAP side (`POST /sdk`), and the files' bytes on download endpoints (`/cis-data/…`). All sides share
//! one state: a session created over REST is visible over JSON-RPC. The seed harness's
//! extras stay: scripted `client_progress` ids (`obj-1`) and misbehaving special ids
//! (`fail-500`, `html-page`, `truncated`, `slow`) on download_session.get. Every request is
//! recorded.

mod data;
mod get;
mod jsonrpc;
mod library;
mod login;
mod ops;
mod rest;
mod sessions;
mod soap;
mod state;
mod tls;
mod vapi;
mod wire;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request};
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub(crate) use library::{
    default_libraries, FakeFile, FakeLibrary, ITEM_ID, ITEM_NAME, LIBRARY_ID, LIBRARY_NAME,
    NOTES_NAME, NOTES_TEXT,
};
pub(crate) use soap::{DATASTORE, DATASTORE_NAME};

use state::{Shared, State};
use tls::{make_tls, TlsFiles};

pub(crate) const FAKE_USER: &str = "lab-admin@vsphere.local";
pub(crate) const FAKE_PASSWORD: &str = "Lab-Passw0rd-7e3f";

#[derive(Clone, Default)]
pub(crate) struct FakeOptions {
    /// `None` serves plain HTTP.
    pub(crate) tls: Option<FakeTls>,
    /// Gets of scripted and unknown ids need a valid token (header or cookie
    /// `vmware-api-session-id`), else 401. Every other operation always needs one.
    pub(crate) require_session: bool,
    /// Session id -> `client_progress` script: one value per get, the last repeats. Empty
    /// means one session `obj-1` with `[10, 50, 100]`.
    pub(crate) sessions: Vec<(String, Vec<i64>)>,
    /// The content libraries; empty means [`default_libraries`].
    pub(crate) libraries: Vec<FakeLibrary>,
    /// file.get polls after prepare until a file is `PREPARED`: 0 prepares at once (like
    /// govmomi's simulator); n > 0 answers prepare `PREPARE_REQUESTED`, polls 1..n-1
    /// `PREPARING` and poll n `PREPARED`.
    pub(crate) prepare_polls: u32,
    /// How the download endpoints send bodies.
    pub(crate) byte_fault: ByteFault,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum FakeTls {
    /// Leaf for `127.0.0.1` and `localhost`, signed by a fresh test CA.
    Valid,
    /// Leaf only for `other.example`, signed by a fresh test CA.
    WrongHost,
    /// A self-signed leaf for `127.0.0.1` and `localhost`, marked as a CA (as `openssl req
    /// -x509` makes one); [`FakeVcenter::ca_pem_path`] holds that leaf.
    SelfSigned,
}

/// How a download endpoint sends a `GET` body (headers, `HEAD` and `Range` are unaffected).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub(crate) enum ByteFault {
    #[default]
    None,
    /// Sends the first half of the declared `Content-Length`, then closes the connection.
    CutShort,
}

#[derive(Clone, Debug)]
pub(crate) struct SeenRequest {
    pub(crate) method: String,
    pub(crate) path_and_query: String,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl SeenRequest {
    /// The path without its query, as received (not decoded).
    pub(crate) fn path(&self) -> &str {
        let end = self.path_and_query.find('?');
        &self.path_and_query[..end.unwrap_or(self.path_and_query.len())]
    }
}

pub(crate) struct FakeVcenter {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsFiles>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl FakeVcenter {
    pub(crate) async fn start(options: FakeOptions) -> FakeVcenter {
        let (acceptor, tls) = match options.tls {
            Some(kind) => {
                let (acceptor, files) = make_tls(kind);
                (Some(acceptor), Some(files))
            }
            None => (None, None),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(shared_state(options, addr, tls.as_ref()));
        let (shutdown, signal) = oneshot::channel();
        let task = tokio::spawn(accept_loop(listener, acceptor, shared.clone(), signal));
        FakeVcenter {
            addr,
            shared,
            tls,
            shutdown: Some(shutdown),
            task: Some(task),
        }
    }

    pub(crate) async fn http() -> FakeVcenter {
        Self::start(FakeOptions::default()).await
    }

    pub(crate) async fn https() -> FakeVcenter {
        Self::start(FakeOptions {
            tls: Some(FakeTls::Valid),
            ..FakeOptions::default()
        })
        .await
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, no trailing slash.
    pub(crate) fn url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The test CA certificate (PEM) in a temporary file that lives as long as `self`.
    pub(crate) fn ca_pem_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|tls| tls.ca_pem.path())
    }

    /// SHA-256 of the leaf certificate's DER, lowercase hex without separators.
    pub(crate) fn leaf_sha256(&self) -> Option<String> {
        self.tls.as_ref().map(|tls| tls.leaf_sha256.clone())
    }

    /// The `ssl_certificate_thumbprint` download endpoints carry under TLS: SHA-1 of the
    /// leaf's DER, uppercase hex pairs joined by `:`.
    pub(crate) fn leaf_thumbprint(&self) -> Option<String> {
        self.shared.thumbprint.clone()
    }

    /// Every request received, in order.
    pub(crate) fn requests(&self) -> Vec<SeenRequest> {
        self.shared.lock().requests.clone()
    }

    /// How many requests had this method and path (without the query, as received).
    pub(crate) fn count(&self, method: &str, path: &str) -> usize {
        let state = self.shared.lock();
        let matches = |seen: &&SeenRequest| seen.method == method && seen.path() == path;
        state.requests.iter().filter(matches).count()
    }

    /// How many download-session gets (any form, either protocol, any outcome) named `id`.
    pub(crate) fn gets_for(&self, id: &str) -> usize {
        self.shared.lock().gets.get(id).copied().unwrap_or(0)
    }

    /// Every session token issued so far, in order (including logged-out ones).
    pub(crate) fn tokens(&self) -> Vec<String> {
        self.shared.lock().issued.clone()
    }

    /// Every download session created so far, in order (including deleted ones).
    pub(crate) fn created_sessions(&self) -> Vec<String> {
        self.shared.lock().created.clone()
    }

    /// A created session's model as `/api` would answer get; `None` once deleted.
    pub(crate) fn session_model(&self, id: &str) -> Option<serde_json::Value> {
        let state = self.shared.lock();
        let session = state.sessions.get(id)?;
        Some(sessions::model(id, session).plain())
    }

    /// Stops listening and closes every open connection (including requests in flight).
    pub(crate) async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for FakeVcenter {
    fn drop(&mut self) {
        // Aborting the accept loop drops its JoinSet, which aborts every connection task.
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

fn shared_state(options: FakeOptions, addr: SocketAddr, tls: Option<&TlsFiles>) -> Shared {
    let mut scripts: HashMap<String, Vec<i64>> = options.sessions.into_iter().collect();
    if scripts.is_empty() {
        scripts.insert("obj-1".to_owned(), vec![10, 50, 100]);
    }
    let libraries = if options.libraries.is_empty() {
        default_libraries()
    } else {
        options.libraries
    };
    let scheme = if tls.is_some() { "https" } else { "http" };
    Shared {
        require_session: options.require_session,
        scripts,
        libraries,
        prepare_polls: options.prepare_polls,
        base_url: format!("{scheme}://{addr}"),
        thumbprint: tls.map(|tls| tls.leaf_sha1.clone()),
        state: Mutex::new(State {
            byte_fault: options.byte_fault,
            ..State::default()
        }),
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    shared: Arc<Shared>,
    mut shutdown: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(_) => {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                        continue;
                    }
                };
                while connections.try_join_next().is_some() {}
                let shared = shared.clone();
                let acceptor = acceptor.clone();
                connections.spawn(async move {
                    match acceptor {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve_connection(stream, shared).await;
                            }
                        }
                        None => serve_connection(stream, shared).await,
                    }
                });
            }
        }
    }
    drop(listener);
    connections.shutdown().await;
}

async fn serve_connection<IO>(io: IO, shared: Arc<Shared>)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(handle(&shared, request).await) }
    });
    let builder = auto::Builder::new(TokioExecutor::new());
    let _ = builder.serve_connection(TokioIo::new(io), service).await;
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> wire::Reply {
    let (parts, body) = request.into_parts();
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => Bytes::new(),
    };
    let path_and_query = parts
        .uri
        .path_and_query()
        .map(|pq| pq.as_str().to_owned())
        .unwrap_or_else(|| parts.uri.path().to_owned());
    shared.lock().requests.push(SeenRequest {
        method: parts.method.to_string(),
        path_and_query,
        headers: parts.headers.clone(),
        body: body.clone(),
    });

    let (path, _) = wire::split_uri(&parts.uri);
    if path.starts_with(data::DATA_PREFIX) {
        return data::serve(shared, &parts.method, &path, &parts.headers);
    }
    if path == "/api" && parts.method == Method::POST {
        return jsonrpc::handle(shared, &body);
    }
    if path == "/sdk" && parts.method == Method::POST {
        return soap::handle(shared, &parts.headers, &body);
    }
    rest::handle(shared, &parts.method, &parts.uri, &parts.headers, &body).await
}
