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
        Self::start(replay).await
    }

    pub async fn start<H: dsvcr::server::Handler>(handler: H) -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(dsvcr::server::serve(listener, Arc::new(handler), async {
            let _ = signal.await;
        }));
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

    pub fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }
}

pub fn session(id: &str, progress: i64) -> DownloadSession {
    DownloadSession {
        client_progress: progress,
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
