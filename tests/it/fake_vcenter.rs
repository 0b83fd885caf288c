//! An in-process fake vCenter on 127.0.0.1: session login on `/rest` and `/api`, and the
//! content-library download-session `get` in every form (A, B, C on `/rest`, D on `/api`),
//! over plain HTTP or TLS with a freshly generated test CA. Each session id answers from a
//! scripted `client_progress` sequence; every request is recorded.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use http::{header, HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

pub const FAKE_USER: &str = "lab-admin@vsphere.local";
pub const FAKE_PASSWORD: &str = "Lab-Passw0rd-7e3f";

const REST_DS: &str = "/rest/com/vmware/content/library/item/download-session";
const API_DS: &str = "/api/content/library/item/download-session";
const REST_SESSION: &str = "/rest/com/vmware/cis/session";
const API_SESSION: &str = "/api/session";
const SESSION_HEADER: &str = "vmware-api-session-id";
const EXPIRATION: &str = "2026-11-29T10:05:00.000Z";
const SLOW_DELAY: Duration = Duration::from_secs(30);
const JSON: &str = "application/json";

#[derive(Clone, Default)]
pub struct FakeOptions {
    /// `None` serves plain HTTP.
    pub tls: Option<FakeTls>,
    /// Download-session gets need a valid token (header or cookie `vmware-api-session-id`),
    /// else 401.
    pub require_session: bool,
    /// Session id -> `client_progress` script: one value per get, the last repeats. Empty
    /// means one session `obj-1` with `[10, 50, 100]`.
    pub sessions: Vec<(String, Vec<i64>)>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FakeTls {
    /// Leaf for `127.0.0.1` and `localhost`, signed by a fresh test CA.
    Valid,
    /// Leaf only for `other.example`, signed by a fresh test CA.
    WrongHost,
}

#[derive(Clone, Debug)]
pub struct SeenRequest {
    pub method: String,
    pub path_and_query: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

pub struct FakeVcenter {
    addr: SocketAddr,
    shared: Arc<Shared>,
    tls: Option<TlsFiles>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

struct TlsFiles {
    ca_pem: tempfile::NamedTempFile,
    leaf_sha256: String,
}

struct Shared {
    require_session: bool,
    scripts: HashMap<String, Vec<i64>>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    requests: Vec<SeenRequest>,
    /// Every download-session get received, per id, whatever its outcome.
    gets: HashMap<String, usize>,
    /// Gets answered from the progress script, per id.
    steps: HashMap<String, usize>,
    /// Every token issued, in order.
    issued: Vec<String>,
    /// Live tokens -> created time.
    live: HashMap<String, String>,
}

impl FakeVcenter {
    pub async fn start(options: FakeOptions) -> FakeVcenter {
        let mut scripts: HashMap<String, Vec<i64>> = options.sessions.into_iter().collect();
        if scripts.is_empty() {
            scripts.insert("obj-1".to_owned(), vec![10, 50, 100]);
        }
        let shared = Arc::new(Shared {
            require_session: options.require_session,
            scripts,
            state: Mutex::new(State::default()),
        });
        let (acceptor, tls) = match options.tls {
            Some(kind) => {
                let (acceptor, files) = make_tls(kind);
                (Some(acceptor), Some(files))
            }
            None => (None, None),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
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

    pub async fn http() -> FakeVcenter {
        Self::start(FakeOptions::default()).await
    }

    pub async fn https() -> FakeVcenter {
        Self::start(FakeOptions {
            tls: Some(FakeTls::Valid),
            ..FakeOptions::default()
        })
        .await
    }

    /// `http://127.0.0.1:PORT` or `https://127.0.0.1:PORT`, no trailing slash.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The test CA certificate (PEM) in a temporary file that lives as long as `self`.
    pub fn ca_pem_path(&self) -> Option<&Path> {
        self.tls.as_ref().map(|tls| tls.ca_pem.path())
    }

    /// SHA-256 of the leaf certificate's DER, lowercase hex without separators.
    pub fn leaf_sha256(&self) -> Option<String> {
        self.tls.as_ref().map(|tls| tls.leaf_sha256.clone())
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<SeenRequest> {
        self.shared.state.lock().unwrap().requests.clone()
    }

    /// How many download-session gets (any form, any outcome) were received for `id`.
    pub fn gets_for(&self, id: &str) -> usize {
        let state = self.shared.state.lock().unwrap();
        state.gets.get(id).copied().unwrap_or(0)
    }

    /// Every session token issued so far, in order (including logged-out ones).
    pub fn tokens(&self) -> Vec<String> {
        self.shared.state.lock().unwrap().issued.clone()
    }

    /// Stops listening and closes every open connection (including requests in flight).
    pub async fn stop(mut self) {
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

fn make_tls(kind: FakeTls) -> (TlsAcceptor, TlsFiles) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "dsvcr fake vCenter test CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).unwrap();

    let names: Vec<String> = match kind {
        FakeTls::Valid => vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
        FakeTls::WrongHost => vec!["other.example".to_owned()],
    };
    let common_name = names[0].clone();
    let mut leaf_params = CertificateParams::new(names).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, common_name);
    leaf_params.use_authority_key_identifier_extension = true;
    leaf_params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &ca, &ca_key).unwrap();

    let mut ca_pem = tempfile::Builder::new()
        .prefix("fake-vcenter-ca-")
        .suffix(".pem")
        .tempfile()
        .unwrap();
    ca_pem.write_all(ca.pem().as_bytes()).unwrap();
    ca_pem.flush().unwrap();

    let leaf_sha256 = hex(ring::digest::digest(&ring::digest::SHA256, leaf.der()).as_ref());

    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().clone()],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    )
    .unwrap();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];

    (
        TlsAcceptor::from(Arc::new(config)),
        TlsFiles {
            ca_pem,
            leaf_sha256,
        },
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Rest,
    Api,
}

enum Route {
    RestLogin,
    RestSessionInfo,
    RestLogout,
    ApiLogin,
    ApiSessionInfo,
    ApiLogout,
    /// A download-session get; `None` when form C carried no id.
    Get(Flavor, Option<String>),
    NotFound,
}

async fn handle(shared: &Shared, request: Request<Incoming>) -> Response<Full<Bytes>> {
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
    shared.state.lock().unwrap().requests.push(SeenRequest {
        method: parts.method.to_string(),
        path_and_query,
        headers: parts.headers.clone(),
        body: body.clone(),
    });

    let headers = &parts.headers;
    match route(&parts.method, &parts.uri, &body) {
        Route::RestLogin => login(shared, Flavor::Rest, headers),
        Route::ApiLogin => login(shared, Flavor::Api, headers),
        Route::RestSessionInfo => session_info(shared, Flavor::Rest, headers),
        Route::ApiSessionInfo => session_info(shared, Flavor::Api, headers),
        Route::RestLogout => logout(shared, Flavor::Rest, headers),
        Route::ApiLogout => logout(shared, Flavor::Api, headers),
        Route::Get(flavor, Some(id)) => download_session_get(shared, flavor, id, headers).await,
        Route::Get(flavor, None) => respond(
            StatusCode::BAD_REQUEST,
            JSON,
            error_body(flavor, "invalid_argument", "INVALID_ARGUMENT", ""),
        ),
        Route::NotFound => respond(StatusCode::NOT_FOUND, "text/plain", "not found"),
    }
}

fn route(method: &Method, uri: &http::Uri, body: &[u8]) -> Route {
    let decoded = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let path = match decoded.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped,
        _ => decoded.as_str(),
    };
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    let param = |name: &str| {
        query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    let action = param("~action");

    if path == REST_SESSION {
        return match (method, action) {
            (&Method::POST, None) => Route::RestLogin,
            (&Method::POST, Some("get")) => Route::RestSessionInfo,
            (&Method::DELETE, None) => Route::RestLogout,
            _ => Route::NotFound,
        };
    }
    if path == API_SESSION {
        return match *method {
            Method::POST => Route::ApiLogin,
            Method::GET => Route::ApiSessionInfo,
            Method::DELETE => Route::ApiLogout,
            _ => Route::NotFound,
        };
    }
    if let Some(rest) = path.strip_prefix(REST_DS) {
        if rest.is_empty() {
            // Form C: the id is in the query, a JSON body or an XML Get-Input body.
            if method == Method::POST && action == Some("get") {
                let id = param("download_session_id")
                    .map(str::to_owned)
                    .or_else(|| id_from_body(body));
                return Route::Get(Flavor::Rest, id);
            }
        } else if let Some(id) = rest.strip_prefix("/id:") {
            if !id.is_empty() && !id.contains('/') {
                let get = match *method {
                    Method::GET => matches!(action, None | Some("get")),
                    Method::POST => action == Some("get"),
                    _ => false,
                };
                if get {
                    return Route::Get(Flavor::Rest, Some(id.to_owned()));
                }
            }
        }
        return Route::NotFound;
    }
    if let Some(id) = path.strip_prefix(API_DS).and_then(|r| r.strip_prefix('/')) {
        if method == Method::GET && !id.is_empty() && !id.contains('/') {
            return Route::Get(Flavor::Api, Some(id.to_owned()));
        }
    }
    Route::NotFound
}

/// The id from a form-C body: JSON `{"download_session_id":"S"}` or XML
/// `<download_session_id>S</download_session_id>` (any namespace prefix).
fn id_from_body(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        return value
            .get("download_session_id")
            .and_then(|id| id.as_str())
            .map(str::to_owned);
    }
    let text = std::str::from_utf8(body).ok()?;
    let pattern = regex::Regex::new(
        r"<(?:[A-Za-z_][\w.-]*:)?download_session_id(?:\s[^>]*)?>\s*([^<]*?)\s*</",
    )
    .unwrap();
    let id = pattern.captures(text)?.get(1)?.as_str();
    Some(
        id.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(Full::new(body.into()))
        .unwrap()
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap()
}

/// An error body in the flavour's envelope; `messages` is the inside of the JSON array.
fn error_body(flavor: Flavor, kind: &str, error_type: &str, messages: &str) -> String {
    match flavor {
        Flavor::Rest => format!(
            r#"{{"type":"com.vmware.vapi.std.errors.{kind}","value":{{"error_type":"{error_type}","messages":[{messages}]}}}}"#
        ),
        Flavor::Api => format!(r#"{{"error_type":"{error_type}","messages":[{messages}]}}"#),
    }
}

fn unauthenticated(flavor: Flavor) -> Response<Full<Bytes>> {
    respond(
        StatusCode::UNAUTHORIZED,
        JSON,
        error_body(flavor, "unauthenticated", "UNAUTHENTICATED", ""),
    )
}

fn now_text() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

fn basic_ok(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .map(|decoded| decoded == format!("{FAKE_USER}:{FAKE_PASSWORD}").as_bytes())
        .unwrap_or(false)
}

/// The token a request presents: header `vmware-api-session-id`, else the cookie.
fn presented_token(headers: &HeaderMap) -> Option<String> {
    if let Some(token) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(token.trim().to_owned());
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            pair.trim()
                .strip_prefix("vmware-api-session-id=")
                .map(|token| token.trim_matches('"').to_owned())
        })
}

/// The live token the request presents, with its created time.
fn valid_session(shared: &Shared, headers: &HeaderMap) -> Option<(String, String)> {
    let token = presented_token(headers)?;
    let state = shared.state.lock().unwrap();
    state
        .live
        .get(&token)
        .map(|created| (token.clone(), created.clone()))
}

fn new_token(shared: &Shared) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let seed = format!("{count}:{nanos}:{:p}", shared);
    let digest = ring::digest::digest(&ring::digest::SHA256, seed.as_bytes());
    hex(&digest.as_ref()[..16])
}

fn login(shared: &Shared, flavor: Flavor, headers: &HeaderMap) -> Response<Full<Bytes>> {
    if !basic_ok(headers) {
        return unauthenticated(flavor);
    }
    let token = new_token(shared);
    {
        let mut state = shared.state.lock().unwrap();
        state.issued.push(token.clone());
        state.live.insert(token.clone(), now_text());
    }
    match flavor {
        Flavor::Rest => {
            let header_authn = headers
                .get("vmware-use-header-authn")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            let mut response = respond(StatusCode::OK, JSON, format!(r#"{{"value":"{token}"}}"#));
            if !header_authn {
                response.headers_mut().insert(
                    header::SET_COOKIE,
                    format!("vmware-api-session-id={token};Path=/rest")
                        .parse()
                        .unwrap(),
                );
            }
            response
        }
        Flavor::Api => respond(StatusCode::CREATED, JSON, format!(r#""{token}""#)),
    }
}

fn session_info(shared: &Shared, flavor: Flavor, headers: &HeaderMap) -> Response<Full<Bytes>> {
    let Some((_, created)) = valid_session(shared, headers) else {
        return unauthenticated(flavor);
    };
    let info = format!(
        r#"{{"user":{},"created_time":"{created}","last_accessed_time":"{}"}}"#,
        json_string(FAKE_USER),
        now_text()
    );
    let body = match flavor {
        Flavor::Rest => format!(r#"{{"value":{info}}}"#),
        Flavor::Api => info,
    };
    respond(StatusCode::OK, JSON, body)
}

fn logout(shared: &Shared, flavor: Flavor, headers: &HeaderMap) -> Response<Full<Bytes>> {
    let Some((token, _)) = valid_session(shared, headers) else {
        return unauthenticated(flavor);
    };
    shared.state.lock().unwrap().live.remove(&token);
    let status = match flavor {
        Flavor::Rest => StatusCode::OK,
        Flavor::Api => StatusCode::NO_CONTENT,
    };
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::new()))
        .unwrap()
}

async fn download_session_get(
    shared: &Shared,
    flavor: Flavor,
    id: String,
    headers: &HeaderMap,
) -> Response<Full<Bytes>> {
    *shared
        .state
        .lock()
        .unwrap()
        .gets
        .entry(id.clone())
        .or_insert(0) += 1;

    // Special ids behave the same whatever the options.
    match id.as_str() {
        "fail-500" => {
            return respond(
                StatusCode::INTERNAL_SERVER_ERROR,
                JSON,
                error_body(flavor, "internal_server_error", "INTERNAL_SERVER_ERROR", ""),
            )
        }
        "html-page" => {
            return respond(
                StatusCode::OK,
                "text/html",
                "<html><body>Service unavailable</body></html>",
            )
        }
        "truncated" => {
            let body = match flavor {
                Flavor::Rest => r#"{"value":{"client_progress":"#,
                Flavor::Api => r#"{"client_progress":"#,
            };
            return respond(StatusCode::OK, JSON, body);
        }
        "slow" => tokio::time::sleep(SLOW_DELAY).await,
        _ => {}
    }

    if shared.require_session && valid_session(shared, headers).is_none() {
        return unauthenticated(flavor);
    }

    let script = match shared.scripts.get(&id) {
        Some(script) => script.clone(),
        None if id == "slow" => vec![10, 50, 100],
        None => {
            let message = format!(
                r#"{{"args":[{0}],"default_message":{1},"id":"com.vmware.vdcs.cls-main.download_session_not_found"}}"#,
                json_string(&id),
                json_string(&format!("Download session {id} does not exist.")),
            );
            return respond(
                StatusCode::NOT_FOUND,
                JSON,
                error_body(flavor, "not_found", "NOT_FOUND", &message),
            );
        }
    };
    let progress = {
        let mut state = shared.state.lock().unwrap();
        let step = state.steps.entry(id.clone()).or_insert(0);
        let progress = script.get(*step).or(script.last()).copied().unwrap_or(0);
        *step += 1;
        progress
    };

    let wants_xml = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("xml"));
    if wants_xml && flavor == Flavor::Rest {
        let id = xml_escape(&id);
        let body = format!(
            "<?xml version=\"1.0\" ?>\n<ns0:Get-Result xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><value><id>{id}</id><library_item_id>item-{id}</library_item_id><client_progress>{progress}</client_progress><state>ACTIVE</state><expiration_time>{EXPIRATION}</expiration_time><library_item_content_version>2</library_item_content_version></value></ns0:Get-Result>"
        );
        return respond(StatusCode::OK, "application/xml", body);
    }

    let model = format!(
        r#"{{"client_progress":{progress},"expiration_time":"{EXPIRATION}","id":{},"library_item_content_version":"2","library_item_id":{},"state":"ACTIVE"}}"#,
        json_string(&id),
        json_string(&format!("item-{id}")),
    );
    let body = match flavor {
        Flavor::Rest => format!(r#"{{"value":{model}}}"#),
        Flavor::Api => model,
    };
    respond(StatusCode::OK, JSON, body)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

// ---------------------------------------------------------------------------------------
// Self-tests

use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::client::legacy::Client;

type Reply = (StatusCode, HeaderMap, String);

fn plain_client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

fn https_client(ca_pem: &Path) -> Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;

    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .build();
    Client::builder(TokioExecutor::new()).build(connector)
}

async fn try_send<C>(
    client: &Client<C, Full<Bytes>>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Result<Reply, hyper_util::client::legacy::Error>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request
        .body(Full::new(Bytes::from(body.to_owned())))
        .unwrap();
    let response = client.request(request).await?;
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((status, headers, String::from_utf8(body.to_vec()).unwrap()))
}

async fn send<C>(
    client: &Client<C, Full<Bytes>>,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Reply
where
    C: Connect + Clone + Send + Sync + 'static,
{
    try_send(client, method, url, headers, body)
        .await
        .expect("request sent")
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap())
        .unwrap_or("")
}

fn basic_header() -> String {
    let credentials = format!("{FAKE_USER}:{FAKE_PASSWORD}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(credentials)
    )
}

fn rest_body(id: &str, progress: i64) -> String {
    format!(
        r#"{{"value":{{"client_progress":{progress},"expiration_time":"2026-11-29T10:05:00.000Z","id":"{id}","library_item_content_version":"2","library_item_id":"item-{id}","state":"ACTIVE"}}}}"#
    )
}

fn is_token(token: &str) -> bool {
    token.len() == 32
        && token
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// govmomi's login shape: no body, `Transfer-Encoding: chunked`, header authn.
async fn raw_chunked_login(fake: &FakeVcenter) -> (String, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let mut stream = tokio::net::TcpStream::connect(fake.addr).await.unwrap();
    let request = format!(
        "POST {REST_SESSION} HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
         vmware-use-header-authn: true\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n0\r\n\r\n",
        fake.addr,
        basic_header()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.to_owned(), body.to_owned())
}

#[tokio::test]
async fn fake_vcenter_login_and_form_a_progress() {
    let fake = FakeVcenter::start(FakeOptions {
        require_session: true,
        ..FakeOptions::default()
    })
    .await;
    let client = plain_client();
    let url = fake.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(fake.ca_pem_path().is_none() && fake.leaf_sha256().is_none());

    // Wrong credentials.
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_SESSION}"),
        &[("authorization", "Basic Zm9vOmJhcg==")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"error_type":"UNAUTHENTICATED","messages":[]}}"#
    );

    // govmomi-style login: chunked empty body, header authn, so no cookie.
    let (head, body) = raw_chunked_login(&fake).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let token = fake.tokens()[0].clone();
    assert!(is_token(&token), "{token}");
    assert_eq!(body, format!(r#"{{"value":"{token}"}}"#));

    // Cookie login.
    let (status, headers, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_SESSION}"),
        &[("authorization", &basic_header())],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cookie_token = fake.tokens()[1].clone();
    assert_ne!(cookie_token, token);
    assert!(is_token(&cookie_token));
    assert_eq!(body, format!(r#"{{"value":"{cookie_token}"}}"#));
    assert_eq!(
        headers.get(header::SET_COOKIE).unwrap(),
        &format!("vmware-api-session-id={cookie_token};Path=/rest")
    );

    // Without a token: 401 and no progress step.
    let get_url = format!("{url}{REST_DS}/id:obj-1");
    let (status, _, _) = send(&client, "GET", &get_url, &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Form A with the header token: 10, 50, 100, 100 (one via the cookie).
    for (progress, auth) in [
        (10, (SESSION_HEADER, token.clone())),
        (50, (SESSION_HEADER, token.clone())),
        (
            100,
            (
                "cookie",
                format!("a=b; vmware-api-session-id={cookie_token}"),
            ),
        ),
        (100, (SESSION_HEADER, token.clone())),
    ] {
        let (status, headers, body) = send(
            &client,
            "GET",
            &get_url,
            &[(auth.0, &auth.1), ("accept", "application/json")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type(&headers), "application/json");
        assert_eq!(body, rest_body("obj-1", progress));
    }
    assert_eq!(fake.gets_for("obj-1"), 5);
    assert_eq!(fake.gets_for("obj-2"), 0);

    // Session info, then logout makes the token stop working.
    let info_url = format!("{url}{REST_SESSION}?~action=get");
    let (status, _, body) = send(&client, "POST", &info_url, &[(SESSION_HEADER, &token)], "").await;
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["value"]["user"], FAKE_USER);
    let session_url = format!("{url}{REST_SESSION}");
    let (status, _, body) = send(
        &client,
        "DELETE",
        &session_url,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, _, _) = send(&client, "POST", &info_url, &[(SESSION_HEADER, &token)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(&client, "GET", &get_url, &[(SESSION_HEADER, &token)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let requests = fake.requests();
    assert_eq!(requests.len(), 12);
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path_and_query, REST_SESSION);
    assert_eq!(
        requests[1].headers.get("transfer-encoding").unwrap(),
        "chunked"
    );
    assert!(requests[1].body.is_empty());
    assert_eq!(
        requests[8].path_and_query,
        format!("{REST_SESSION}?~action=get")
    );
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_form_c_and_b_share_the_script() {
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-103".to_owned(), vec![5, 60, 99])],
        ..FakeOptions::default()
    })
    .await;
    let client = plain_client();
    let url = fake.url();
    let xml_input = "<?xml version=\"1.0\" ?>\n<ns0:Get-Input xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n <download_session_id>obj-103</download_session_id>\n</ns0:Get-Input>";

    // Form C, XML in and out.
    let (status, headers, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}?~action=get"),
        &[
            ("content-type", "application/xml"),
            ("accept", "application/xml"),
        ],
        xml_input,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/xml");
    assert_eq!(
        body,
        "<?xml version=\"1.0\" ?>\n<ns0:Get-Result xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><value><id>obj-103</id><library_item_id>item-obj-103</library_item_id><client_progress>5</client_progress><state>ACTIVE</state><expiration_time>2026-11-29T10:05:00.000Z</expiration_time><library_item_content_version>2</library_item_content_version></value></ns0:Get-Result>"
    );

    // Form C, JSON body; form B percent-encoded; form C by query; form D.
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}?~action=get"),
        &[("content-type", "application/json")],
        r#"{ "download_session_id" : "obj-103" }"#,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-103", 60)));
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}/id%3Aobj-103?%7Eaction=get"),
        &[],
        "",
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-103", 99)));
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}?x=1&download_session_id=obj-103&~action=get"),
        &[],
        "",
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-103", 99)));
    let (status, _, body) = send(&client, "GET", &format!("{url}{API_DS}/obj-103"), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"client_progress":99,"expiration_time":"2026-11-29T10:05:00.000Z","id":"obj-103","library_item_content_version":"2","library_item_id":"item-obj-103","state":"ACTIVE"}"#
        )
    );
    assert_eq!(fake.gets_for("obj-103"), 5);
    assert_eq!(
        fake.gets_for("obj-1"),
        0,
        "custom sessions replace the default"
    );

    let requests = fake.requests();
    assert_eq!(requests[0].body, Bytes::from(xml_input));
    assert_eq!(
        requests[2].path_and_query,
        format!("{REST_DS}/id%3Aobj-103?%7Eaction=get")
    );

    // Anything else.
    let (status, headers, body) =
        send(&client, "GET", &format!("{url}/rest/whatever"), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "not found")
    );
    assert_eq!(content_type(&headers), "text/plain");
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_errors_and_special_ids() {
    let fake = FakeVcenter::http().await;
    let client = plain_client();
    let url = fake.url();

    let (status, headers, body) =
        send(&client, "GET", &format!("{url}{API_DS}/obj-404"), &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(
        body,
        r#"{"error_type":"NOT_FOUND","messages":[{"args":["obj-404"],"default_message":"Download session obj-404 does not exist.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}"#
    );
    let (status, _, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:obj-404"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"error_type":"NOT_FOUND","messages":[{"args":["obj-404"],"default_message":"Download session obj-404 does not exist.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}}"#
    );
    assert_eq!(fake.gets_for("obj-404"), 2);

    let (status, _, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:fail-500"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.internal_server_error","value":{"error_type":"INTERNAL_SERVER_ERROR","messages":[]}}"#
    );
    let (status, headers, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:html-page"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/html");
    assert_eq!(body, "<html><body>Service unavailable</body></html>");
    let (status, headers, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:truncated"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(body, r#"{"value":{"client_progress":"#);

    // /api login and logout.
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{API_SESSION}"),
        &[("authorization", &basic_header())],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = fake.tokens()[0].clone();
    assert_eq!(body, format!(r#""{token}""#));
    let api_session = format!("{url}{API_SESSION}");
    let (status, _, body) = send(
        &client,
        "GET",
        &api_session,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["user"], FAKE_USER);
    let (status, _, body) = send(
        &client,
        "DELETE",
        &api_session,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    let (status, _, body) = send(
        &client,
        "GET",
        &api_session,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, r#"{"error_type":"UNAUTHENTICATED","messages":[]}"#);
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_https_then_stop_closes_everything() {
    let fake = FakeVcenter::https().await;
    let url = fake.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let sha = fake.leaf_sha256().unwrap();
    assert!(
        sha.len() == 64
            && sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let client = https_client(fake.ca_pem_path().unwrap());

    let (status, _, body) =
        send(&client, "GET", &format!("{url}{REST_DS}/id:obj-1"), &[], "").await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-1", 10)));

    // A request in flight when the fake stops must die with it.
    let slow_client = client.clone();
    let slow_url = format!("{url}{REST_DS}/id:slow");
    let slow = tokio::spawn(async move { try_send(&slow_client, "GET", &slow_url, &[], "").await });
    for _ in 0..100 {
        if fake.gets_for("slow") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.gets_for("slow"), 1);

    let addr = fake.addr;
    tokio::time::timeout(Duration::from_secs(5), fake.stop())
        .await
        .expect("stop is prompt");
    let slow = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("in-flight request ends")
        .unwrap();
    assert!(slow.is_err(), "in-flight request should fail: {slow:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let after = try_send(&client, "GET", &format!("{url}{REST_DS}/id:obj-1"), &[], "").await;
    assert!(after.is_err(), "request after stop should fail: {after:?}");
}

#[tokio::test]
async fn fake_vcenter_wrong_host_certificate_is_rejected() {
    let fake = FakeVcenter::start(FakeOptions {
        tls: Some(FakeTls::WrongHost),
        ..FakeOptions::default()
    })
    .await;
    let client = https_client(fake.ca_pem_path().unwrap());
    let result = try_send(
        &client,
        "GET",
        &format!("{}{REST_DS}/id:obj-1", fake.url()),
        &[],
        "",
    )
    .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(fake.gets_for("obj-1"), 0);
    assert!(fake.requests().is_empty());
    fake.stop().await;
}
