//! Record's byte endpoints: a request on `/__dsvcr/files/<session>/<file>` is forwarded
//! to the endpoint an answer in this run named for that file (never to a host the client
//! chose), and a whole `200` body streams to the client while it is hashed into a blob.
//! Once the body has ended as its `Content-Length` said, the blob is made durable and the
//! session's cassette lists the download.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{
    HeaderValue, ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_LENGTH, CONTENT_TYPE, TRANSFER_ENCODING,
};
use http::{request, Method, Response, StatusCode, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Either};
use hyper::body::Incoming;
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use super::budget::{DownloadBudget, Permitted};
use super::endpoint::{Listener, Origin};
use super::self_loop::{names_listener, FETCH_MARKER};
use crate::answers::ApiError;
use crate::body::{full, Body, BoxError, Streamed};
use crate::cassette::blobs::BlobWriter;
use crate::cassette::{Download, Provenance, Recording, Store, StoreError};
use crate::secrets::Secrets;
use crate::stats::{NotRecorded, Stats};
use crate::upstream::{CloseDelimited, Upstream};
use crate::vapi::{Answer, SessionId};

/// Endpoints remembered from answers, at most this many (later ones are not learned).
const MAX_LEARNED: usize = 65_536;

/// Pieces of body in flight between the upstream and the client.
const IN_FLIGHT: usize = 4;

const OPERATION: &str = "download";

/// The endpoints answers in this run named, and the listener they are rewritten to.
#[derive(Default)]
pub(crate) struct Fetcher {
    pub(crate) listener: Listener,
    learned: Mutex<HashMap<(SessionId, String), Uri>>,
    foreign: super::credentials::Foreign,
    /// The sizes this run's file infos gave, to tell a body that ends where its
    /// connection closes whole from one cut short.
    sizes: Mutex<HashMap<(SessionId, String), u64>>,
    budget: DownloadBudget,
}

/// What a download needs to be kept: where, how it is counted, and (held until the
/// download is recorded or dropped) the guard that makes shutdown wait for it.
pub(crate) struct Keeper {
    pub(crate) store: Arc<Store>,
    pub(crate) stats: Arc<Stats>,
    pub(crate) provenance: Provenance,
    pub(crate) secrets: Secrets,
    pub(crate) _writing: tokio::sync::OwnedRwLockReadGuard<()>,
}

impl Fetcher {
    pub(crate) fn new(listener: Listener) -> Self {
        Fetcher {
            listener,
            learned: Mutex::default(),
            foreign: Default::default(),
            sizes: Mutex::default(),
            budget: DownloadBudget::default(),
        }
    }

    /// Fetches within `budget`.
    pub(crate) fn with_budget(mut self, budget: DownloadBudget) -> Self {
        self.budget = budget;
        self
    }

    /// Points the endpoints in `answer` at dsvcr and remembers where they pointed.
    pub(crate) fn rewrite(&self, answer: &mut Answer, session: &SessionId, origin: &Origin<'_>) {
        self.learn_sizes(answer, session);
        let learned = super::endpoint::rewrite(answer, session, origin);
        let mut known = self.learned.lock().expect("never poisoned");
        for (file, uri) in learned {
            let parsed = uri
                .parse::<Uri>()
                .ok()
                .filter(|uri| matches!(uri.scheme_str(), Some("http" | "https")))
                .filter(|uri| uri.authority().is_some());
            let Some(parsed) = parsed else {
                warn!(session = %session, file, uri, "the download endpoint is not an http(s) URL; its bytes cannot be fetched");
                continue;
            };
            let key = (session.clone(), file);
            if known.len() < MAX_LEARNED || known.contains_key(&key) {
                known.insert(key, parsed);
            }
        }
    }

    /// Forwards a request for `file` of `session` to its learned endpoint.
    pub(crate) async fn fetch(
        &self,
        upstream: &Upstream,
        mut parts: request::Parts,
        (session, file): (SessionId, String),
        keeper: Keeper,
    ) -> Result<Response<Body>, ApiError> {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return Err(ApiError::method_not_allowed(&parts.method, "GET, HEAD"));
        }
        let target = self
            .learned
            .lock()
            .expect("never poisoned")
            .get(&(session.clone(), file.clone()))
            .cloned()
            .ok_or_else(|| {
                ApiError::unknown_download(
                    parts.uri.path(),
                    "no answer in this recording run named this file's endpoint",
                )
            })?;
        self.refuse_self_loop(upstream, &target, &parts)?;
        let head = parts.method == Method::HEAD;
        let permits = self.budget.download()?;
        // A GET's bytes go to a blob file while they stream.
        let permits = if head {
            permits
        } else {
            permits.and(self.budget.open_blob()?)
        };
        // A download asks for bytes and sends none: a body the client sent is not
        // forwarded, nor are the headers that would make the endpoint wait for it.
        for name in [
            CONTENT_LENGTH,
            TRANSFER_ENCODING,
            CONTENT_TYPE,
            CONTENT_ENCODING,
        ] {
            parts.headers.remove(name);
        }
        // Only an identity-encoded body is the file's bytes.
        parts
            .headers
            .insert(ACCEPT_ENCODING, HeaderValue::from_static("identity"));
        self.foreign
            .strip_unless_same_origin(upstream.url(), &target, &mut parts.headers);
        parts
            .headers
            .insert(FETCH_MARKER, HeaderValue::from_static("1"));
        let answer = upstream
            .send_to(target, parts, full(Bytes::new()))
            .await
            .map_err(|err| {
                warn!(session = %session, file, "download not recorded: {err}");
                crate::answers::upstream_failure(&err)
            })?;
        let idle = upstream.timeout();
        let size_from_info = self.size_of(&session, &file);
        let close_delimited = answer.extensions().get::<CloseDelimited>().is_some();
        let download = Pending {
            session,
            file,
            keeper,
            size_from_info,
        };
        let unsure = (close_delimited && size_from_info.is_none()).then(|| {
            ("the body ends only where its connection closes and no file info in this run gave its size: a cut body could not be told from a whole one".to_owned(), false)
        });
        let response = match why_not_recorded(&answer, head).or(unsure) {
            Some((reason, by_design)) => {
                download.not_recorded(reason, by_design);
                answer.map(|body| Either::Right(Streamed::new(body, idle)))
            }
            None => download.tee(answer, idle).await,
        };
        Ok(response.map(|body| Either::Right(Streamed::local(Permitted::new(body, permits)))))
    }
}

impl Fetcher {
    fn learn_sizes(&self, answer: &Answer, session: &SessionId) {
        let files = match answer {
            Answer::File(info) => std::slice::from_ref(info),
            Answer::Files(files) => files.as_slice(),
            _ => return,
        };
        let mut sizes = self.sizes.lock().expect("never poisoned");
        for info in files {
            let Some(size) = info.size.and_then(|size| u64::try_from(size).ok()) else {
                continue;
            };
            let key = (session.clone(), info.name.clone());
            if sizes.len() < MAX_LEARNED || sizes.contains_key(&key) {
                sizes.insert(key, size);
            }
        }
    }

    fn size_of(&self, session: &SessionId, file: &str) -> Option<u64> {
        let sizes = self.sizes.lock().expect("never poisoned");
        sizes.get(&(session.clone(), file.to_owned())).copied()
    }

    /// 502 at once, before any connection, for a link to dsvcr itself, or for a fetch
    /// that reached dsvcr (it carries the marker every fetch carries).
    fn refuse_self_loop(
        &self,
        upstream: &Upstream,
        target: &Uri,
        parts: &request::Parts,
    ) -> Result<(), ApiError> {
        let listener = self.listener.bound_addr();
        let client = parts.uri.authority().map(|a| a.as_str()).or_else(|| {
            let host = parts.headers.get(http::header::HOST)?;
            host.to_str().ok()
        });
        let looped =
            parts.headers.contains_key(FETCH_MARKER) || names_listener(target, listener, client);
        if !looped {
            return Ok(());
        }
        let named = listener.map_or_else(|| "its listener".to_owned(), |addr| addr.to_string());
        let err = upstream.self_loop(target, named);
        error!("download not fetched: {err}");
        Err(ApiError::upstream_failed(
            "download-self-loop",
            err.to_string(),
        ))
    }
}

/// Why an answer's body is passed on without being recorded, and whether by design.
fn why_not_recorded(answer: &Response<Incoming>, head: bool) -> Option<(String, bool)> {
    if head {
        return Some(("a HEAD has no bytes to record".to_owned(), true));
    }
    if answer.status() != StatusCode::OK {
        let reason = format!(
            "upstream answered {}; only a whole body (200) is recorded",
            answer.status()
        );
        return Some((reason, true));
    }
    let encoding = answer
        .headers()
        .get(CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .filter(|encoding| !encoding.eq_ignore_ascii_case("identity"))?;
    Some((format!("the body is {encoding}-encoded"), false))
}

/// A download on its way to being recorded.
struct Pending {
    session: SessionId,
    file: String,
    keeper: Keeper,
    /// The file's size as this session's file info gave it, if it did.
    size_from_info: Option<u64>,
}

impl Pending {
    /// The response the client gets: the upstream's headers, and its body as a pump task
    /// copies it into a blob.
    async fn tee(self, answer: Response<Incoming>, idle: std::time::Duration) -> Response<Body> {
        let (parts, body) = answer.into_parts();
        let blob = match BlobWriter::create(self.keeper.store.folder()).await {
            Ok(blob) => blob,
            Err(err) => {
                self.not_recorded(format!("cannot start a blob: {err}"), false);
                let body = Streamed::new(body, idle);
                return Response::from_parts(parts, Either::Right(body));
            }
        };
        let declared = parts
            .headers
            .get(CONTENT_LENGTH)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.parse::<u64>().ok());
        let content_type = parts
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        let (sender, receiver) = mpsc::channel(IN_FLIGHT);
        let expected = match (declared, self.size_from_info) {
            (Some(length), _) => Some((length, "its Content-Length said")),
            (None, Some(size)) => Some((size, "this session's file info said")),
            (None, None) => None,
        };
        let pump = Pump {
            upstream: Streamed::new(body, idle),
            client: sender,
            blob: Some(blob),
            expected,
        };
        tokio::spawn(async move {
            let outcome = pump.run().await;
            self.finish(outcome, content_type).await;
        });
        let body = Channel {
            receiver,
            left: declared,
        };
        Response::from_parts(parts, Either::Right(Streamed::local(body)))
    }

    async fn finish(self, outcome: Result<Pumped, Broken>, content_type: Option<String>) {
        let pumped = match outcome {
            Ok(pumped) => pumped,
            Err(Broken { reason, by_design }) => return self.not_recorded(reason, by_design),
        };
        let blob = match pumped.blob.finish().await {
            Ok(blob) => blob,
            Err(err) => return self.not_recorded(format!("cannot write the blob: {err}"), false),
        };
        let recording = Recording::Download {
            id: self.session.clone(),
            download: Download {
                file_name: self.file.clone(),
                status: 200,
                size: blob.size,
                sha256: blob.sha256.clone(),
                content_type,
            },
        };
        let keeper = &self.keeper;
        match keeper
            .store
            .record(recording, &keeper.provenance, &keeper.secrets)
            .await
        {
            Ok(appended) => {
                let stem = appended
                    .path
                    .file_stem()
                    .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
                keeper.stats.recorded(stem);
                info!(session = %self.session, file = self.file, size = blob.size, sha256 = blob.sha256, cassette = %appended.path.display(), "recorded download");
            }
            Err(err) => {
                let by_design = matches!(err, StoreError::Kept { .. });
                self.not_recorded(err.to_string(), by_design);
            }
        }
        // The client's body ends once the recording has landed (or failed).
        drop(pumped.client);
    }

    fn not_recorded(&self, reason: String, by_design: bool) {
        if by_design {
            info!(session = %self.session, file = self.file, "download not recorded: {reason}");
        } else {
            error!(session = %self.session, file = self.file, "download not recorded: {reason}");
        }
        let entry = NotRecorded {
            operation: OPERATION,
            id: format!("{} file {:?}", self.session, self.file),
            reason,
        };
        self.keeper.stats.not_recorded(entry, by_design);
    }
}

/// Copies the upstream body to the client and into a blob.
struct Pump {
    upstream: Streamed,
    client: mpsc::Sender<Result<Bytes, BoxError>>,
    blob: Option<BlobWriter>,
    /// The size the body must have, and who said so.
    expected: Option<(u64, &'static str)>,
}

/// Why a body was not copied whole, and whether that is the client's choice.
struct Broken {
    reason: String,
    by_design: bool,
}

impl Broken {
    fn problem(reason: String) -> Self {
        Broken {
            reason,
            by_design: false,
        }
    }
}

/// A body copied whole.
struct Pumped {
    blob: BlobWriter,
    client: mpsc::Sender<Result<Bytes, BoxError>>,
}

impl Pump {
    /// Runs to the body's end; `Err` says why the bytes are not recorded (the client's
    /// body has then been broken off too, unless the client went away).
    async fn run(mut self) -> Result<Pumped, Broken> {
        let mut disk_error = None;
        loop {
            // A client cut off (shutdown, a hang-up) ends the copy even while the
            // upstream is silent.
            let frame = tokio::select! {
                frame = self.upstream.frame() => frame,
                () = self.client.closed() => return Err(Broken {
                    reason: "the client went away before the body ended".to_owned(),
                    by_design: true,
                }),
            };
            let Some(frame) = frame else { break };
            let data = match frame.map(Frame::into_data) {
                Ok(Ok(data)) => data,
                Ok(Err(_trailers)) => continue,
                Err(err) => {
                    let reason = format!("the upstream broke off: {err}");
                    let _ = self.client.send(Err(err)).await;
                    return Err(Broken::problem(reason));
                }
            };
            if let Some(blob) = self.blob.as_mut() {
                if let Err(err) = blob.write(data.clone()).await {
                    disk_error = Some(format!("cannot write the blob: {err}"));
                    self.blob = None;
                }
            }
            if self.client.send(Ok(data)).await.is_err() {
                return Err(Broken {
                    reason: "the client went away before the body ended".to_owned(),
                    by_design: true,
                });
            }
        }
        let blob = self
            .blob
            .take()
            .ok_or_else(|| Broken::problem(disk_error.unwrap_or_default()))?;
        if let Some((size, said)) = self.expected.filter(|(size, _)| *size != blob.size()) {
            let reason = format!("the body held {} bytes, {said} {size}", blob.size());
            let _ = self.client.send(Err(reason.clone().into())).await;
            return Err(Broken::problem(reason));
        }
        Ok(Pumped {
            blob,
            client: self.client,
        })
    }
}

/// The client's side of a pumped body.
struct Channel {
    receiver: mpsc::Receiver<Result<Bytes, BoxError>>,
    left: Option<u64>,
}

impl HttpBody for Channel {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        self.receiver.poll_recv(cx).map(|piece| {
            piece.map(|piece| {
                piece.map(|data| {
                    if let Some(left) = self.left.as_mut() {
                        *left = left.saturating_sub(data.len() as u64);
                    }
                    Frame::data(data)
                })
            })
        })
    }

    fn size_hint(&self) -> SizeHint {
        self.left
            .map_or_else(SizeHint::default, SizeHint::with_exact)
    }
}
