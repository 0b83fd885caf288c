//! Test support: dsvcr started in-process on 127.0.0.1:0 through the same wiring as
//! `main` (`dsvcr::run_with` with a parsed command line), a plain HTTP client, and
//! cassette folders written as the files users write.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bytes::Bytes;
use clap::Parser;
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub(crate) const REST: &str = "/rest/com/vmware/content/library/item/download-session";
pub(crate) const REFERENCE: &str = "/com/vmware/content/library/item/download-session";
pub(crate) const API: &str = "/api/content/library/item/download-session";

pub(crate) const XML_INPUT: &str = include_str!("../data/get-input.xml");
pub(crate) const SUBFOLDER: &str = "download-session";

/// The repository's shipped cassette folder.
pub(crate) fn shipped_cassettes() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cassettes")
}

/// A running dsvcr; stops when dropped or shut down.
pub(crate) struct TestServer {
    pub(crate) base: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<ExitCode, dsvcr::Error>>>,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl TestServer {
    /// `dsvcr ARGS` in-process, listening on a free port of 127.0.0.1, with the same
    /// wiring `main` uses. Args are what a user types after `dsvcr`.
    pub(crate) async fn run(args: &[&str]) -> TestServer {
        let cli = dsvcr::Cli::try_parse_from(std::iter::once("dsvcr").chain(args.iter().copied()))
            .unwrap_or_else(|err| panic!("dsvcr {args:?}: {err}"));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let tls = args.iter().any(|arg| arg.starts_with("--tls"));
        let scheme = if tls { "https" } else { "http" };
        let base = format!("{scheme}://{}", listener.local_addr().unwrap());
        let (shutdown, signal) = oneshot::channel::<()>();
        let (ready, serving) = oneshot::channel::<()>();
        let ready = move |_: &str| {
            let _ = ready.send(());
        };
        let mut task = tokio::spawn(dsvcr::run_with(cli, Some(listener), ready, async {
            let _ = signal.await;
        }));
        tokio::select! {
            Ok(()) = serving => {}
            ended = &mut task => panic!("dsvcr {args:?} ended before serving: {ended:?}"),
        }
        TestServer {
            base,
            shutdown: Some(shutdown),
            task: Some(task),
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// `dsvcr replay --cassettes FOLDER`.
    pub(crate) async fn replay(folder: &Path) -> TestServer {
        Self::replay_with(folder, &[]).await
    }

    /// `dsvcr replay --cassettes FOLDER FLAGS…`.
    pub(crate) async fn replay_with(folder: &Path, flags: &[&str]) -> TestServer {
        let mut args = vec!["replay", "--cassettes", folder.to_str().unwrap()];
        args.extend_from_slice(flags);
        Self::run(&args).await
    }

    pub(crate) fn request(&self, method: &str, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            server: self,
            request: Request::builder()
                .method(Method::from_bytes(method.as_bytes()).unwrap())
                .uri(format!("{}{path}", self.base)),
            body: Bytes::new(),
        }
    }

    pub(crate) async fn get(&self, path: &str) -> TestResponse {
        self.request("GET", path).send().await
    }

    pub(crate) async fn post(&self, path: &str, body: &str) -> TestResponse {
        self.request("POST", path)
            .body(body.to_owned())
            .send()
            .await
    }

    /// Waits (at most 5 s) until `GET /__dsvcr/health` shows `count` requests in flight:
    /// the readiness signal for tests that act on a request the server is answering.
    pub(crate) async fn wait_in_flight(&self, count: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let health = self.get("/__dsvcr/health").await.json();
            if health["in_flight"] == count {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{count} requests in flight: {health}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Stops accepting, waits for requests in flight, and returns the exit code the
    /// command ended with (after writing its summary).
    pub(crate) async fn shut_down(mut self) -> ExitCode {
        self.shutdown.take().unwrap().send(()).unwrap();
        self.task
            .take()
            .unwrap()
            .await
            .unwrap()
            .expect("the command ran to its end")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

pub(crate) struct RequestBuilder<'a> {
    server: &'a TestServer,
    request: http::request::Builder,
    body: Bytes,
}

impl RequestBuilder<'_> {
    pub(crate) fn header(mut self, name: &str, value: &str) -> Self {
        self.request = self.request.header(name, value);
        self
    }

    pub(crate) fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    pub(crate) async fn send(self) -> TestResponse {
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
pub(crate) struct TestResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl TestResponse {
    pub(crate) fn text(&self) -> &str {
        std::str::from_utf8(&self.body).expect("UTF-8 body")
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|err| panic!("body is not JSON ({err}): {}", self.text()))
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|value| value.to_str().unwrap())
    }

    /// The first message of a vAPI error body, in either envelope.
    pub(crate) fn vapi_message(&self) -> String {
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

    pub(crate) fn content_type(&self) -> &str {
        self.header("content-type").unwrap_or("")
    }
}

/// A download session model as the API writes it.
pub(crate) fn session(id: &str, progress: i64) -> Value {
    json!({
        "client_progress": progress,
        "expiration_time": "2026-11-02T10:05:00.000Z",
        "id": id,
        "library_item_content_version": "3",
        "library_item_id": "item-1",
        "state": "ACTIVE"
    })
}

/// A timeline entry answering `session`.
pub(crate) fn ok(session: Value) -> Value {
    json!({ "status": 200, "session": session })
}

/// A timeline entry answering a vAPI error.
pub(crate) fn err(status: u16, kind: &str, message: (&str, &str, &[&str])) -> Value {
    let (id, default_message, args) = message;
    json!({
        "status": status,
        "error": {
            "type": format!("com.vmware.vapi.std.errors.{kind}"),
            "messages": [{ "args": args, "default_message": default_message, "id": id }]
        }
    })
}

/// A format 2 cassette for `id` with one `get` timeline of `(repeat, entry)`.
pub(crate) fn cassette(id: &str, responses: Vec<(u32, Value)>) -> Value {
    let responses: Vec<Value> = responses
        .into_iter()
        .map(|(repeat, mut entry)| {
            if repeat != 1 {
                entry["repeat"] = repeat.into();
            }
            entry
        })
        .collect();
    json!({
        "format": 2,
        "id": id,
        "recorded": { "at": "2026-11-02T10:00:00Z" },
        "timelines": [{
            "operation": "com.vmware.content.library.item.download_session.get",
            "responses": responses
        }]
    })
}

/// A temporary cassette folder holding `cassettes` (session cassettes, named by id).
pub(crate) fn folder_with(cassettes: &[Value]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    std::fs::create_dir(&sub).unwrap();
    for cassette in cassettes {
        let id = cassette["id"].as_str().expect("a cassette has an id");
        let name = format!("{}.json", id.replace(':', "%3A"));
        let bytes = serde_json::to_vec_pretty(cassette).unwrap();
        std::fs::write(sub.join(name), bytes).unwrap();
    }
    dir
}

/// How the recorder trusts the upstream.
pub(crate) enum Trust {
    DefaultRoots,
    CaFile(PathBuf),
    Thumbprint(String),
    Insecure,
}

/// What a later recording does to an existing cassette.
pub(crate) enum Rerecord {
    /// No flag: replace (append with `--new-episodes`).
    Default,
    Append,
    Replace,
    Keep,
}

/// How to start an in-process `dsvcr record`.
pub(crate) struct RecordSetup {
    pub(crate) upstream: String,
    pub(crate) trust: Trust,
    pub(crate) timeout: std::time::Duration,
    pub(crate) connect_timeout: Option<std::time::Duration>,
    pub(crate) rerecord: Rerecord,
    pub(crate) new_episodes: bool,
    pub(crate) flags: Vec<String>,
}

impl RecordSetup {
    pub(crate) fn to(upstream: &str) -> Self {
        RecordSetup {
            upstream: upstream.to_owned(),
            trust: Trust::DefaultRoots,
            timeout: std::time::Duration::from_secs(10),
            connect_timeout: None,
            rerecord: Rerecord::Default,
            new_episodes: false,
            flags: Vec::new(),
        }
    }

    /// One more flag and its value, as typed after `dsvcr record`.
    pub(crate) fn flag(mut self, name: &str, value: &str) -> Self {
        self.flags.extend([name.to_owned(), value.to_owned()]);
        self
    }

    pub(crate) fn trust(mut self, trust: Trust) -> Self {
        self.trust = trust;
        self
    }

    /// The command line: `record --upstream URL --cassettes FOLDER …`.
    pub(crate) fn args(&self, folder: &Path) -> Vec<String> {
        let timeout = self.timeout.as_secs_f64().to_string();
        let connect_timeout = self
            .connect_timeout
            .unwrap_or(self.timeout)
            .as_secs_f64()
            .to_string();
        let mut args: Vec<String> = [
            "record",
            "--upstream",
            &self.upstream,
            "--cassettes",
            folder.to_str().unwrap(),
            "--upstream-timeout",
            &timeout,
            "--upstream-connect-timeout",
            &connect_timeout,
        ]
        .map(str::to_owned)
        .to_vec();
        match &self.trust {
            Trust::DefaultRoots => {}
            Trust::CaFile(path) => {
                args.extend(["--ca-cert".to_owned(), path.display().to_string()])
            }
            Trust::Thumbprint(pin) => {
                args.extend(["--upstream-thumbprint".to_owned(), pin.clone()])
            }
            Trust::Insecure => args.push("--insecure".to_owned()),
        }
        match self.rerecord {
            Rerecord::Default => {}
            Rerecord::Replace => args.push("--replace".to_owned()),
            Rerecord::Append => args.extend(["--rerecord".to_owned(), "append".to_owned()]),
            Rerecord::Keep => args.extend(["--rerecord".to_owned(), "keep".to_owned()]),
        }
        if self.new_episodes {
            args.push("--new-episodes".to_owned());
        }
        args.extend(self.flags.iter().cloned());
        args
    }

    /// Starts recording into `folder` (created if needed), as `dsvcr record` does.
    pub(crate) async fn start(self, folder: &Path) -> TestServer {
        let args = self.args(folder);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        TestServer::run(&args).await
    }
}

/// The cassette files in `folder`, by file name, parsed as JSON.
pub(crate) fn cassette_files(folder: &Path) -> Vec<(String, serde_json::Value)> {
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

/// The timeline of `operation` (a short label such as `download_session.get`) for
/// `file`, if the cassette has one.
pub(crate) fn timeline<'a>(
    cassette: &'a Value,
    operation: &str,
    file: Option<&str>,
) -> Option<&'a Value> {
    let full = format!("com.vmware.content.library.item.{operation}");
    cassette["timelines"]
        .as_array()?
        .iter()
        .find(|track| track["operation"] == full.as_str() && track["file_name"].as_str() == file)
}

/// The progress values of a cassette's `get` timeline, repeats expanded.
pub(crate) fn timeline_progress(cassette: &Value) -> Vec<i64> {
    timeline(cassette, "download_session.get", None).expect("a get timeline")["responses"]
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
pub(crate) fn https_client(
    ca_pem: &Path,
) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>> {
    https_client_with(ca_pem, true)
}

/// A TLS client configuration that trusts only the CA(s) in `ca_pem`.
pub(crate) fn tls_trusting(ca_pem: &Path) -> rustls::ClientConfig {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth()
}

/// Like [`https_client`]; HTTP/2 is offered only when `http2` is set.
pub(crate) fn https_client_with(
    ca_pem: &Path,
    http2: bool,
) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>> {
    let builder = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls_trusting(ca_pem))
        .https_only()
        .enable_http1();
    let connector = if http2 {
        builder.enable_http2().build()
    } else {
        builder.build()
    };
    Client::builder(TokioExecutor::new()).build(connector)
}

/// An upstream that answers every request with `answer` (a whole HTTP/1.1 response) and
/// closes the connection.
pub(crate) async fn canned_upstream(answer: String) -> String {
    scripted_upstream(move |_, _| answer.clone()).await
}

/// An upstream that answers each request with what `answer` makes of its head and the
/// upstream's own URL (a whole HTTP/1.1 response), then closes the connection.
pub(crate) async fn scripted_upstream(
    answer: impl Fn(&[u8], &str) -> String + Send + Sync + 'static,
) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = std::sync::Arc::new(answer);
    let own = url.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let (answer, own) = (answer.clone(), own.clone());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let _ = socket.write_all(answer(&head, &own).as_bytes()).await;
            });
        }
    });
    url
}

pub(crate) fn http_answer(status: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The fake vCenter's Basic credentials.
pub(crate) fn basic() -> String {
    use base64::Engine;
    let credentials = format!(
        "{}:{}",
        crate::fake_vcenter::FAKE_USER,
        crate::fake_vcenter::FAKE_PASSWORD
    );
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

/// Logs in on `/rest` the way govmomi does (Basic, header authentication); returns the
/// token.
pub(crate) async fn login(server: &TestServer) -> String {
    let response = server
        .request("POST", "/rest/com/vmware/cis/session")
        .header("authorization", &basic())
        .header("vmware-use-header-authn", "true")
        .send()
        .await;
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()["value"].as_str().unwrap().to_owned()
}

/// The SHA-1 thumbprint (`AB:CD:…`) of the leaf certificate the TLS server at `addr`
/// presents, trusting `ca`.
pub(crate) async fn served_thumbprint(addr: &str, ca: &Path) -> String {
    let config = tls_trusting(ca);
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    thumbprint_of(&tls.get_ref().1.peer_certificates().unwrap()[0])
}

/// [`served_thumbprint`] from outside a runtime, for a server in another process.
pub(crate) fn served_thumbprint_blocking(addr: &str, ca: &Path) -> String {
    use std::io::Write as _;
    let config = std::sync::Arc::new(tls_trusting(ca));
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut connection = rustls::ClientConnection::new(config, name).unwrap();
    let mut tcp = std::net::TcpStream::connect(addr).unwrap();
    let mut tls = rustls::Stream::new(&mut connection, &mut tcp);
    tls.flush().unwrap();
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(tls.sock).unwrap();
    }
    thumbprint_of(&connection.peer_certificates().unwrap()[0])
}

fn thumbprint_of(leaf: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, leaf);
    let pairs: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
    pairs.join(":")
}
