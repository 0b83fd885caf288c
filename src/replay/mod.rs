//! Replay mode: answers catalogued calls from cassette timelines held in memory, and
//! API sessions offline. A request never touches the disk or the network.

mod jsonrpc;
mod soap;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http::request::Parts;
use hyper::body::Incoming;

use crate::answers::{
    refusal, reply, reply_with, ApiError, Refusal, RenderedError, DERIVED_HEADER,
};
use crate::front::{read_body, read_call, InFlight, Kind, Mode, Request};
use crate::vapi::{Answer, Call, CallKey, Flavour, Op, SessionId, Style};
use http::Response;
use tracing::{debug, warn};

use crate::access::{self, Outcome};
use crate::admin::Observable;
use crate::body::Body;
use crate::cassette::Cassettes;
use crate::downloads::{self, Replayed};
use crate::protocol::Unencodable;
use crate::redact::Redactor;
use crate::sessions::Sessions;
use crate::stats::{Health, Stats, Summary};
use crate::timelines::{Extra, Found, Missing, Timelines};

/// How a replay behaves beyond its cassettes.
#[derive(Clone, Debug, Default)]
pub(crate) struct ReplayOptions {
    /// Answer catalogued calls only for callers holding a live session token.
    pub(crate) require_session: bool,
    /// Answer requests outside the catalog from the tape.
    pub(crate) tape: bool,
    /// Answer only from recorded exchanges: no session rebinding, no derived answers.
    pub(crate) strict: bool,
}

/// The replay service.
pub(crate) struct Replay {
    timelines: Timelines,
    sessions: Sessions,
    stats: Arc<Stats>,
    options: ReplayOptions,
    bytes: Replayed,
    redactor: Arc<Redactor>,
    missed_answers: MissedAnswers,
}

/// The answers to misses, by what missed and the style it was asked in, at most
/// [`MAX_MISSED_ANSWERS`] of them and only those with short names (a lookup's name is the
/// client's body): the others are rendered each time.
#[derive(Default)]
struct MissedAnswers(Mutex<HashMap<(String, Style), RenderedError>>);

const MAX_MISSED_ANSWERS: usize = 1024;
const MAX_KEPT_NAME_BYTES: usize = 1024;

impl MissedAnswers {
    fn get(&self, key: &(String, Style)) -> Option<RenderedError> {
        self.0.lock().expect("never poisoned").get(key).cloned()
    }

    fn keep(&self, key: (String, Style), rendered: RenderedError) {
        if key.0.len() > MAX_KEPT_NAME_BYTES {
            return;
        }
        let mut answers = self.0.lock().expect("never poisoned");
        if answers.len() < MAX_MISSED_ANSWERS {
            answers.insert(key, rendered);
        }
    }
}

impl Replay {
    pub(crate) fn new(cassettes: Cassettes, options: ReplayOptions, stats: Arc<Stats>) -> Self {
        Replay {
            timelines: if options.strict {
                Timelines::new(cassettes)
            } else {
                Timelines::new(cassettes).recorded_world()
            },
            sessions: Sessions::default(),
            stats,
            options,
            bytes: Replayed::default(),
            redactor: Arc::default(),
            missed_answers: MissedAnswers::default(),
        }
    }

    /// Serves recorded file bytes, and points answers' download endpoints at `bytes`'
    /// listener.
    pub(crate) fn with_bytes(mut self, bytes: Replayed) -> Self {
        self.bytes = bytes;
        self
    }

    /// Keys taped requests by their form redacted with `redactor`'s names.
    pub(crate) fn with_redactor(mut self, redactor: Arc<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// The next recorded answer for `call`, or vCenter's answer to a call nothing
    /// recorded.
    fn answer(
        &self,
        call: &Call,
        parts: &http::request::Parts,
        extra: &dyn Fn() -> Extra,
    ) -> Response<Body> {
        self.stats.request(call);
        match self.timelines.answer(call, extra) {
            Ok(Found::Derived(answer)) => self.derived(call, answer),
            // An answer the call's protocol cannot carry is not a hit.
            Ok(found) => match self.reply(call, parts, found) {
                Ok(response) => {
                    self.stats.hit();
                    debug!(operation = call.op.label(), key = %call.key, "hit");
                    response
                }
                Err(unencodable) => self.unencodable(call, &unencodable),
            },
            Err(missing) => self.missed(call, missing),
        }
    }

    /// The response to `call` from what it found, its download endpoints pointed at dsvcr
    /// (naming the session whose recording holds the bytes).
    fn reply(
        &self,
        call: &Call,
        parts: &http::request::Parts,
        found: Found<'_>,
    ) -> Result<Response<Body>, Unencodable> {
        if let Found::Played(played) = &found {
            if let (Some(owner), true) = (&played.owner, downloads::names_endpoint(&played.answer))
            {
                let origin = self.bytes.listener.origin(parts);
                let encoding = call.style.encoding();
                let body = played.body_pointed(call.op, origin.authority(), encoding, || {
                    let mut answer = played.answer.clone();
                    downloads::rewrite(&mut answer, owner, &origin);
                    answer
                })?;
                return Ok(reply_with(&played.answer, body, call.style));
            }
        }
        // Answers made here (an id, a not_found, a model) never name an endpoint.
        reply(found, call)
    }

    /// An answer derived from the recordings: marked, counted by rule (the operation).
    fn derived(&self, call: &Call, answer: Answer) -> Response<Body> {
        let rule = call.op.label();
        match reply(Found::Derived(answer), call) {
            Ok(mut response) => {
                self.stats.derived(call.op);
                access::mark(Outcome::Derived);
                debug!(operation = rule, key = %call.key, "derived");
                response
                    .headers_mut()
                    .insert(DERIVED_HEADER, http::HeaderValue::from_static(rule));
                response
            }
            Err(unencodable) => self.unencodable(call, &unencodable),
        }
    }

    fn missed(&self, call: &Call, missing: Missing) -> Response<Body> {
        let what = match (&call.key, call.op) {
            (CallKey::Session(id), Op::Get) => id.as_str().to_owned(),
            (key, op) => format!("{} {key}", op.label()),
        };
        // A miss answers the same whenever it repeats (the cassettes do not change): it is
        // rendered once.
        let key = (what, call.style);
        if let Some(rendered) = self.missed_answers.get(&key) {
            self.stats.miss(key.0);
            debug!(operation = call.op.label(), key = %call.key, "miss again");
            return rendered.response();
        }
        let first_time = self.stats.miss(key.0.clone());
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
        let rendered = error.rendered(call.style);
        let response = rendered.response();
        self.missed_answers.keep(key, rendered);
        response
    }

    /// The taped answer to a request outside the catalog, if the tape has one.
    fn taped(&self, parts: &http::request::Parts, body: Option<&[u8]>) -> Option<Response<Body>> {
        if !self.options.tape {
            return None;
        }
        // Keyed as record keyed it: by the redacted request.
        let key = self
            .redactor
            .tape_key(&parts.method, &parts.uri, &parts.headers, body?)
            .ok()?
            .value;
        let answer = self.timelines.taped(&key)?;
        self.stats.hit();
        access::mark(Outcome::Taped);
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
    ///
    /// The request comes in parts, kept once in this future: an `async fn` would copy its
    /// arguments into locals beside them (the whole request twice in every request's
    /// future; callgrind: 115 instructions more per form A hit, 480 per JSON-RPC call).
    #[allow(clippy::manual_async_fn)]
    fn respond(
        self: Arc<Self>,
        parts: Parts,
        body: Incoming,
        kind: Kind,
        client: SocketAddr,
        in_flight: InFlight,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        async move {
            // Counted until the answer is made.
            let _in_flight = in_flight;
            let replay: &Replay = &self;
            // A labelled block rather than `?`: the refusal is rendered here, in this
            // future, not by a layer around it.
            let answered: Result<Response<Body>, Refusal> = 'answered: {
                match kind {
                    Kind::Download(file) => replay.download(&parts, file).await,
                    Kind::JsonRpc => Ok(replay.jsonrpc(&parts, body).await),
                    Kind::Soap => Ok(replay.soap(&parts, body, client).await),
                    Kind::Call(pending) => {
                        let (call, body) = match read_call(pending, &parts, body, true).await {
                            Ok(read) => read,
                            Err(refused) => break 'answered Err(refused),
                        };
                        if replay.options.require_session
                            && !replay.sessions.is_live(&parts.headers)
                        {
                            break 'answered Err((ApiError::unauthenticated(), call.style));
                        }
                        Ok(replay.answer(&call, &parts, &|| Extra::of_json_body(&body)))
                    }
                    Kind::Session { op, flavour } => {
                        if let Err(error) = read_body(body, &parts).await {
                            break 'answered Err((error, Style::json(flavour)));
                        }
                        access::mark(Outcome::Session);
                        Ok(replay.sessions.handle(op, flavour, &parts.headers))
                    }
                    Kind::NotAllowed { allow, flavour } => {
                        let bytes = read_body(body, &parts).await;
                        match replay.taped(&parts, bytes.as_deref().ok()) {
                            Some(taped) => Ok(taped),
                            None => Err((
                                ApiError::method_not_allowed(&parts.method, allow),
                                Style::json(flavour),
                            )),
                        }
                    }
                    Kind::Other => {
                        let bytes = read_body(body, &parts).await;
                        match replay.taped(&parts, bytes.as_deref().ok()) {
                            Some(taped) => Ok(taped),
                            None => Err(replay.unrecorded(&parts)),
                        }
                    }
                    Kind::Rejected(rejection) => {
                        let _ = read_body(body, &parts).await;
                        Err(refusal(rejection))
                    }
                }
            };
            rendered(answered)
        }
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

impl Mode for Replay {
    /// Not an `async fn`: the answer is `respond`'s future, without a layer holding
    /// another copy of the request.
    fn answer(
        self: Arc<Self>,
        request: Request,
    ) -> impl Future<Output = Response<Body>> + Send + 'static {
        let Request {
            parts,
            body,
            kind,
            client,
            in_flight,
        } = request;
        self.respond(parts, body, kind, client, in_flight)
    }
}

/// The answer, a refusal rendered.
fn rendered(answered: Result<Response<Body>, Refusal>) -> Response<Body> {
    // What was not answered from a recording, a miss or a session, dsvcr refused.
    access::mark_unless_marked(Outcome::Refused);
    match answered {
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
