//! Test support: dsvcr started in-process on 127.0.0.1:0, a plain HTTP client, and
//! cassette folders made on the fly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use dsvcr::cassette::{Cassette, Entry, Recorded, Recording, SUBFOLDER};
use dsvcr::replay::Replay;
use dsvcr::vapi::{DownloadSession, SessionId, SessionState};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const REST: &str = "/rest/com/vmware/content/library/item/download-session";
pub const REFERENCE: &str = "/com/vmware/content/library/item/download-session";
pub const API: &str = "/api/content/library/item/download-session";
pub const XML_INPUT: &str = include_str!("../data/get-input.xml");

/// The repository's shipped cassette folder.
pub fn shipped_cassettes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes")
}

/// A running dsvcr; stops when dropped or shut down.
pub struct TestServer {
    pub base: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl TestServer {
    pub async fn replay(folder: &Path) -> TestServer {
        let replay = Replay::load(folder).expect("cassettes load");
        Self::start(dsvcr::admin::WithAdmin(Arc::new(replay))).await
    }

    /// A replay with options, as `dsvcr replay` runs it (admin endpoints included).
    pub async fn replay_with(folder: &Path, options: dsvcr::replay::ReplayOptions) -> TestServer {
        let cassettes = dsvcr::cassette::load_folder(folder).expect("cassettes load");
        let replay = Replay::with_options(cassettes, options, dsvcr::stats::Stats::new());
        Self::start(dsvcr::admin::WithAdmin(Arc::new(replay))).await
    }

    pub async fn start<H: dsvcr::server::Handler>(handler: H) -> TestServer {
        Self::start_with(handler, dsvcr::server::ServeOptions::default()).await
    }

    /// Starts `handler` with listener options (limits, TLS).
    pub async fn start_with<H: dsvcr::server::Handler>(
        handler: H,
        options: dsvcr::server::ServeOptions,
    ) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(dsvcr::server::serve(
            listener,
            options,
            Arc::new(handler),
            async {
                let _ = signal.await;
            },
        ));
        TestServer {
            base,
            shutdown: Some(shutdown),
            task: Some(task),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    pub fn request(&self, method: &str, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            server: self,
            request: Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(format!("{}{path}", self.base)),
            body: Bytes::new(),
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path).send().await
    }

    pub async fn post(&self, path: &str, body: &str) -> TestResponse {
        self.request("POST", path)
            .body(body.to_owned())
            .send()
            .await
    }

    /// Stops accepting and waits for requests in flight.
    pub async fn shut_down(mut self) {
        self.shutdown.take().unwrap().send(()).unwrap();
        self.task.take().unwrap().await.unwrap();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub struct RequestBuilder<'a> {
    server: &'a TestServer,
    request: http::request::Builder,
    body: Bytes,
}

impl RequestBuilder<'_> {
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub async fn send(self) -> TestResponse {
        let request = self.request.body(Full::new(self.body)).unwrap();
        let response = self
            .server
            .client
            .request(request)
            .await
            .expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        TestResponse {
            status,
            headers,
            body,
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl TestResponse {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The first message of a vAPI error body, in either envelope.
    pub fn vapi_message(&self) -> String {
        let body = self.json();
        let error = if body.get("type").is_some() {
            &body["value"]
        } else {
            &body
        };
        error["messages"][0]["default_message"]
            .as_str()
            .unwrap_or_else(|| panic!("no vAPI message in {body}"))
            .to_owned()
    }

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }
}

pub fn session(id: &str, progress: i64) -> DownloadSession {
    DownloadSession {
        client_progress: Some(progress),
        error_message: None,
        expiration_time: Some("2026-11-02T10:05:00.000Z".to_owned()),
        id: Some(id.to_owned()),
        library_item_content_version: Some("3".to_owned()),
        library_item_id: "item-1".to_owned(),
        state: SessionState::Active,
    }
}

pub fn cassette(id: &str, responses: Vec<(u32, Recording)>) -> Cassette {
    let mut cassette = Cassette::new(
        SessionId::parse(id).unwrap(),
        Recorded {
            at: "2026-11-02T10:00:00Z".to_owned(),
            upstream: None,
            form: None,
        },
        responses[0].1.clone(),
    );
    cassette.responses = responses
        .into_iter()
        .map(|(repeat, response)| Entry { repeat, response })
        .collect();
    cassette
}

/// A temporary cassette folder holding `cassettes`.
pub fn folder_with(cassettes: &[Cassette]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    std::fs::create_dir(&sub).unwrap();
    for cassette in cassettes {
        let name = format!("{}.json", cassette.id.file_stem());
        std::fs::write(sub.join(name), cassette.to_file_bytes()).unwrap();
    }
    dir
}

/// How to start an in-process `dsvcr record`.
pub struct RecordSetup {
    pub upstream: String,
    pub trust: dsvcr::upstream::Trust,
    pub timeout: std::time::Duration,
    pub rerecord: dsvcr::cassette::Rerecord,
    pub new_episodes: bool,
}

impl RecordSetup {
    pub fn to(upstream: &str) -> Self {
        RecordSetup {
            upstream: upstream.to_owned(),
            trust: dsvcr::upstream::Trust::DefaultRoots,
            timeout: std::time::Duration::from_secs(10),
            rerecord: dsvcr::cassette::Rerecord::Append,
            new_episodes: false,
        }
    }

    pub fn trust(mut self, trust: dsvcr::upstream::Trust) -> Self {
        self.trust = trust;
        self
    }

    /// Starts recording into `folder` (created if needed), as `dsvcr record` does.
    pub async fn start(self, folder: &Path) -> TestServer {
        use dsvcr::cassette::{load_folder, Store};
        use dsvcr::upstream::{Upstream, UpstreamConfig};
        Store::prepare_folder(folder).unwrap();
        let cassettes = load_folder(folder).unwrap();
        let stats = dsvcr::stats::Stats::new();
        let upstream = Upstream::new(UpstreamConfig {
            url: self.upstream.parse().unwrap(),
            trust: self.trust,
            timeout: self.timeout,
            connect_timeout: self.timeout,
            connections: stats.upstream_connections.clone(),
        })
        .unwrap();
        let known = self
            .new_episodes
            .then(|| Replay::with_options(cassettes.clone(), Default::default(), stats.clone()));
        let store = Store::new(folder, self.rerecord, cassettes);
        let record = dsvcr::record::Record::new(upstream, store, known, stats);
        TestServer::start(dsvcr::admin::WithAdmin(Arc::new(record))).await
    }
}

/// The cassette files in `folder`, by file name, parsed as JSON.
pub fn cassette_files(folder: &Path) -> Vec<(String, serde_json::Value)> {
    let sub = folder.join(SUBFOLDER);
    let Ok(entries) = std::fs::read_dir(&sub) else {
        return Vec::new();
    };
    let mut files: Vec<(String, serde_json::Value)> = entries
        .map(|entry| {
            let entry = entry.unwrap();
            let bytes = std::fs::read(entry.path()).unwrap();
            let json = serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                panic!("{} is not valid JSON: {err}", entry.path().display())
            });
            (entry.file_name().into_string().unwrap(), json)
        })
        .collect();
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// The progress values of a cassette's timeline, repeats expanded.
pub fn timeline_progress(cassette: &serde_json::Value) -> Vec<i64> {
    cassette["responses"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|entry| {
            let repeat = entry.get("repeat").and_then(|r| r.as_u64()).unwrap_or(1) as usize;
            let progress = entry["session"]["client_progress"].as_i64().unwrap_or(-1);
            std::iter::repeat_n(progress, repeat)
        })
        .collect()
}

/// A client that trusts only the CA in `ca_pem` and speaks HTTP/1.1 or HTTP/2 (ALPN).
pub fn https_client(
    ca_pem: &Path,
) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>> {
    https_client_with(ca_pem, true)
}

/// Like [`https_client`]; HTTP/2 is offered only when `http2` is set.
pub fn https_client_with(
    ca_pem: &Path,
    http2: bool,
) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(dsvcr::crypto::provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1();
    let connector = if http2 {
        builder.enable_http2().build()
    } else {
        builder.build()
    };
    Client::builder(TokioExecutor::new()).build(connector)
}
