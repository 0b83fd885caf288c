//! Replay mode: answers catalogued calls from cassette timelines held in memory, and
//! API sessions offline. A request never touches the disk or the network.

mod jsonrpc;

use std::sync::Arc;

use http::{Request, Response};
use hyper::body::Incoming;
use tracing::{debug, warn};

use crate::admin::Observable;
use crate::body::Body;
use crate::cassette::Cassettes;
use crate::downloads::{self, Replayed};
use crate::error::{body_response, refusal, ApiError, Refusal};
use crate::server::{read_body, read_call, Handler};
use crate::sessions::Sessions;
use crate::stats::{Health, Stats, Summary};
use crate::tape::TapeKey;
use crate::timelines::{Found, Missing, Timelines};
use crate::vapi::recognise::{route, Route};
use crate::vapi::render;
use crate::vapi::{Call, CallKey, Flavour, Op, SessionId, Style};

/// How a replay behaves beyond its cassettes.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplayOptions {
    /// Answer catalogued calls only for callers holding a live session token.
    pub(crate) require_session: bool,
    /// Answer requests outside the catalog from the tape.
    pub(crate) tape: bool,
}

/// The replay service.
pub(crate) struct Replay {
    timelines: Timelines,
    sessions: Sessions,
    stats: Arc<Stats>,
    options: ReplayOptions,
    bytes: Replayed,
}

impl Replay {
    pub(crate) fn new(cassettes: Cassettes, options: ReplayOptions, stats: Arc<Stats>) -> Self {
        Replay {
            timelines: Timelines::new(cassettes),
            sessions: Sessions::default(),
            stats,
            options,
            bytes: Replayed::default(),
        }
    }

    /// Serves recorded file bytes, and points answers' download endpoints at `bytes`'
    /// listener.
    pub(crate) fn with_bytes(mut self, bytes: Replayed) -> Self {
        self.bytes = bytes;
        self
    }

    /// The next recorded answer for `call`, or vCenter's answer to a call nothing
    /// recorded.
    fn answer(&self, call: &Call, parts: &http::request::Parts) -> Response<Body> {
        self.stats.request(call);
        match self.timelines.answer(call) {
            Ok(found) => {
                self.stats.hit();
                debug!(operation = call.op.label(), key = %call.key, "hit");
                // Only an answer that names a download endpoint needs the request's origin.
                let found = downloads::through_dsvcr(found, call, |answer, session| {
                    downloads::rewrite(answer, session, &self.bytes.listener.origin(parts))
                });
                reply(found, call.style)
            }
            Err(missing) => self.missed(call, missing),
        }
    }

    fn missed(&self, call: &Call, missing: Missing) -> Response<Body> {
        let what = match (&call.key, call.op) {
            (CallKey::Session(id), Op::Get) => id.to_string(),
            (key, op) => format!("{} {key}", op.label()),
        };
        let first_time = self.stats.miss(what);
        let error = match (missing, &call.key) {
            (Missing::Session, key) => {
                let id = key.session().expect("session calls carry an id");
                ApiError::no_cassette(self.timelines.not_found(id))
            }
            (Missing::Item, CallKey::Create { item, .. }) => ApiError::item_not_recorded(item),
            _ => ApiError::operation_not_recorded(call),
        };
        if first_time {
            warn!(operation = call.op.label(), key = %call.key, "miss: {}", error.error.messages[0].default_message);
        } else {
            debug!(operation = call.op.label(), key = %call.key, "miss again");
        }
        error.into_response(call.style)
    }

    /// The taped answer to a request outside the catalog, if the tape has one.
    fn taped(&self, parts: &http::request::Parts, body: Option<&[u8]>) -> Option<Response<Body>> {
        if !self.options.tape {
            return None;
        }
        let key = TapeKey::of(&parts.method, &parts.uri, body?);
        let answer = self.timelines.taped(&key)?;
        self.stats.hit();
        debug!(request = %key, "taped");
        Some(answer.response())
    }

    fn unrecorded(&self, parts: &http::request::Parts) -> Refusal {
        let path = parts.uri.path();
        if self.stats.unrecorded_route(&parts.method, path) {
            warn!(method = %parts.method, path, "no cassette covers this route");
        }
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        let error = ApiError::no_recording(&parts.method, target);
        (error, Style::json(Flavour::of_path(path)))
    }

    /// Every request's body is read to its end before it is answered, even where the
    /// answer does not depend on it: hyper closes a connection whose request body was
    /// not read to its end when the answer went out, and a client that reuses the
    /// connection for its next request gets EOF. govmomi's login (and its bodiless POSTs)
    /// send an empty chunked body whose last chunk may arrive after the head.
    async fn respond(&self, request: Request<Incoming>) -> Result<Response<Body>, Refusal> {
        let (parts, body) = request.into_parts();
        if let Some(file) = downloads::file_of(parts.uri.path()) {
            return self.download(&parts, file).await;
        }
        if crate::vapi::jsonrpc::is_call(&parts.method, parts.uri.path()) {
            return Ok(self.jsonrpc(parts, body).await);
        }
        let pending = match route(&parts.method, &parts.uri) {
            Ok(Route::Call(pending)) => pending,
            Ok(Route::Session { op, flavour }) => {
                read_body(body, &parts)
                    .await
                    .map_err(|error| (error, Style::json(flavour)))?;
                return Ok(self.sessions.handle(op, flavour, &parts.headers));
            }
            Ok(Route::MethodNotAllowed { allow, flavour }) => {
                let bytes = read_body(body, &parts).await;
                if let Some(taped) = self.taped(&parts, bytes.as_deref().ok()) {
                    return Ok(taped);
                }
                let error = ApiError::method_not_allowed(&parts.method, allow);
                return Err((error, Style::json(flavour)));
            }
            Ok(Route::Other) => {
                let bytes = read_body(body, &parts).await;
                if let Some(taped) = self.taped(&parts, bytes.as_deref().ok()) {
                    return Ok(taped);
                }
                return Err(self.unrecorded(&parts));
            }
            Err(rejection) => {
                let _ = read_body(body, &parts).await;
                return Err(refusal(rejection));
            }
        };
        let (call, _) = read_call(pending, &parts, body, true).await?;
        if self.options.require_session && !self.sessions.is_live(&parts.headers) {
            return Err((ApiError::unauthenticated(), call.style));
        }
        Ok(self.answer(&call, &parts))
    }

    /// A file's recorded bytes.
    async fn download(
        &self,
        parts: &http::request::Parts,
        file: Result<(SessionId, String), String>,
    ) -> Result<Response<Body>, Refusal> {
        let style = Style::REST_JSON;
        let (session, file) =
            file.map_err(|reason| (ApiError::unknown_download(parts.uri.path(), &reason), style))?;
        if self.options.require_session && !self.sessions.is_live(&parts.headers) {
            return Err((ApiError::unauthenticated(), style));
        }
        let what = format!("download {session} file {file:?}");
        match self.bytes.answer(parts, session, file).await {
            Ok(response) => {
                self.stats.hit();
                Ok(response)
            }
            Err(error) => {
                if error.status == http::StatusCode::NOT_FOUND && self.stats.miss(what.clone()) {
                    warn!("miss: {what}");
                }
                Err((error, style))
            }
        }
    }
}

/// A found answer as a response in the caller's style.
pub(crate) fn reply(found: Found<'_>, style: Style) -> Response<Body> {
    let encoding = style.encoding();
    let (mut response, answer) = match &found {
        Found::Played(played) => (
            body_response(
                played.answer.status(style.flavour),
                played.body(encoding),
                style,
            ),
            &played.answer,
        ),
        Found::Made(answer) => (
            body_response(
                answer.status(style.flavour),
                render::answer(answer, encoding),
                style,
            ),
            answer,
        ),
    };
    if style.flavour == Flavour::JsonRpc {
        crate::rpc::name_answer_error(&mut response, answer);
    }
    response
}

impl Handler for Replay {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        match self.respond(request).await {
            Ok(response) => response,
            Err((error, style)) => {
                debug!(
                    status = error.status.as_u16(),
                    reason = error.reason,
                    "refused"
                );
                error.into_response(style)
            }
        }
    }
}

impl Observable for Replay {
    fn health(&self) -> Health {
        self.stats.health("replay", self.timelines.session_count())
    }

    fn rewind(&self, id: Option<&SessionId>) -> Option<usize> {
        self.timelines.rewind(id)
    }

    fn summary(&self) -> Summary {
        self.stats.summary(self.health(), self.timelines.unused())
    }
}
