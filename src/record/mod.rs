//! Record mode: forwards every request to the lab vCenter and writes each catalogued
//! call's answer into its cassette before answering the client.

mod jsonrpc;
mod outcomes;
mod redaction;
mod soap;

use std::sync::Arc;

use crate::answers::{refusal, reply, upstream_failure, ApiError, Refusal};
use crate::front::{body_limit, declared_length, read_body, Kind, Mode, Request};
use crate::protocol::rest::recognise::PendingCall;
use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING};
use http::{request, Response, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;
use tracing::{debug, error, info, warn};

use crate::access::{self, Outcome};
use crate::admin::Observable;
use crate::body::{full, read_up_to, Body, Streamed};
use crate::cassette::{
    now_timestamp, Appended, CallCassette, Provenance, Recording, Store, StoreError,
};
use crate::downloads::{self, Fetcher, Keeper};
use crate::exchange::{sandboxed, TapeKey, MAX_TAPED_ANSWER_BYTES};
use crate::protocol::rest::decode;
use crate::redact::Redactor;
use crate::secrets::{login_secrets, Remembered, Secrets};
use crate::stats::{Health, NotRecorded, Stats, Summary};
use crate::timelines::{Extra, Timelines};
use crate::upstream::{response_from, Upstream};
use crate::vapi::SessionOp;
use crate::vapi::{Answer, Call, CallKey, ErrorKind, Flavour, SessionId, Style};
use outcomes::untapeable;

/// The record service.
pub(crate) struct Record {
    upstream: Upstream,
    store: Arc<Store>,
    /// With `--new-episodes`: the cassettes that existed at start, answered without
    /// asking the upstream.
    known: Option<Timelines>,
    /// Basic credentials and session tokens seen in earlier exchanges (memory only).
    remembered: Remembered,
    stats: Arc<Stats>,
    /// Whether requests outside the catalog are taped (`--no-tape` turns it off).
    tape: bool,
    /// Each recording task holds a read guard; [`Record::finish_writes`] takes the write
    /// lock, so it returns once every recording has landed and been counted.
    writes: Arc<tokio::sync::RwLock<()>>,
    bytes: Fetcher,
    /// Makes tape keys and answers from redacted requests and answers.
    redactor: Arc<Redactor>,
}

/// Why an upstream answer is not recorded, and whether that is by design (an answer
/// dsvcr never records) or a problem someone must see.
struct NotRecordable {
    reason: String,
    by_design: bool,
}

impl NotRecordable {
    fn problem(reason: String) -> Self {
        NotRecordable {
            reason,
            by_design: false,
        }
    }

    fn by_design(reason: String) -> Self {
        NotRecordable {
            reason,
            by_design: true,
        }
    }
}

impl Record {
    /// `stats` must be the upstream's connection counter's owner.
    pub(crate) fn new(
        upstream: Upstream,
        store: Store,
        known: Option<Timelines>,
        stats: Arc<Stats>,
        tape: bool,
    ) -> Self {
        Record {
            upstream,
            store: Arc::new(store),
            known,
            remembered: Remembered::default(),
            stats,
            tape,
            writes: Arc::default(),
            bytes: Fetcher::default(),
            redactor: Arc::default(),
        }
    }

    /// Forwards and records file bytes, and points answers' download endpoints at
    /// `bytes`' listener.
    pub(crate) fn with_bytes(mut self, bytes: Fetcher) -> Self {
        self.bytes = bytes;
        self
    }

    /// Waits for the recordings still being written (a client may have gone away while
    /// its answer was being recorded), so that the run summary counts them.
    pub(crate) async fn finish_writes(&self) {
        let _all_done = self.writes.write().await;
    }

    /// Folds the journals of this run into their cassettes, until `deadline`; returns
    /// how many were folded and how many are left (loading applies those).
    pub(crate) async fn fold_journals(&self, deadline: tokio::time::Instant) -> (usize, usize) {
        self.store.clone().fold_journals(deadline).await
    }

    /// Answers not recorded for a reason other than "not recordable by design".
    pub(crate) fn refused(&self) -> u64 {
        self.stats.refused()
    }

    async fn record_call(
        &self,
        parts: request::Parts,
        body: Incoming,
        pending: PendingCall,
    ) -> Result<Response<Body>, Refusal> {
        let bytes = read_body(body, &parts)
            .await
            .map_err(|error| (error, pending.provisional_style(&parts.headers)))?;
        let call = match pending.complete(parts.uri.query(), &parts.headers, &bytes) {
            Ok(call) => call,
            Err(rejection) => {
                // vCenter is the authority on what it accepts: ask it, record nothing.
                debug!("forwarded unrecorded: {}", rejection.message);
                return self
                    .exchange_unrecorded(parts, bytes, rejection.style)
                    .await;
            }
        };
        if let Some(known) = self.known.as_ref().filter(|known| known.covers(&call)) {
            self.stats.request(&call);
            if let Ok(found) = known.answer(&call, &Extra::default) {
                // Endpoints replayed from known cassettes are learned too: vCenter named them.
                let found = downloads::through_dsvcr(found, &call, |answer, session| {
                    let origin = self.bytes.listener.origin(&parts);
                    self.bytes.rewrite(answer, session, &origin)
                });
                // REST carries every recorded answer.
                if let Ok(response) = reply(found, &call) {
                    self.stats.hit();
                    return Ok(response);
                }
            }
        }
        self.stats.request(&call);
        let secrets = self.secrets_of(&parts);
        let origin = self.bytes.listener.origin(&parts);
        let request_headers = parts.headers.clone();
        let mut parts = parts;
        // Ask for an identity-encoded answer, which can be decoded and recorded.
        parts.headers.remove(ACCEPT_ENCODING);
        let (answer, answer_body) = self.upstream.exchange(parts, bytes).await.map_err(|err| {
            warn!(operation = call.op.label(), key = %call.key, "not recorded: {err}");
            (upstream_failure(&err), call.style)
        })?;
        self.remember_if_accepted(&request_headers, answer.status);
        match recording_of(&call, &answer, &answer_body) {
            Ok(recording) => {
                let rewritten = self.rewritten(&call, &recording, &origin);
                self.keep(&call, recording, secrets)
                    .await
                    .map_err(|error| (error, call.style))?;
                if let Some(body) = rewritten {
                    return Ok(response_from(answer, body));
                }
            }
            Err(not) => self.not_recorded(&call, not),
        }
        Ok(response_from(answer, answer_body))
    }

    /// The answer rendered for the client with its download endpoints pointed at dsvcr,
    /// when it names any; the cassette keeps what vCenter sent.
    fn rewritten(
        &self,
        call: &Call,
        recording: &Recording,
        origin: &downloads::Origin<'_>,
    ) -> Option<Bytes> {
        let (Recording::Session { answer, .. }, Some(session)) = (recording, call.key.session())
        else {
            return None;
        };
        if !downloads::names_endpoint(answer) {
            return None;
        }
        let mut answer = answer.clone();
        self.bytes.rewrite(&mut answer, session, origin);
        crate::protocol::answer(call.op, &answer, call.style.encoding()).ok()
    }

    /// Forwards a request for a file's bytes to its learned endpoint, recording a whole
    /// body.
    async fn download(
        &self,
        parts: request::Parts,
        file: Result<(SessionId, String), String>,
    ) -> Result<Response<Body>, Refusal> {
        let style = Style::REST_JSON;
        let file =
            file.map_err(|reason| (ApiError::unknown_download(parts.uri.path(), &reason), style))?;
        let keeper = Keeper {
            store: self.store.clone(),
            stats: self.stats.clone(),
            provenance: Provenance {
                at: now_timestamp(),
                upstream: self.upstream.url().host().to_owned(),
                form: None,
            },
            secrets: self.secrets_of(&parts),
            _writing: self.writes.clone().read_owned().await,
        };
        self.bytes
            .fetch(&self.upstream, parts, file, keeper)
            .await
            .map_err(|error| (error, style))
    }

    async fn exchange_unrecorded(
        &self,
        parts: request::Parts,
        bytes: Bytes,
        style: Style,
    ) -> Result<Response<Body>, Refusal> {
        let (answer, answer_body) = self
            .upstream
            .exchange(parts, bytes)
            .await
            .map_err(|err| (upstream_failure(&err), style))?;
        Ok(response_from(answer, answer_body))
    }

    fn not_recorded(&self, call: &Call, not: NotRecordable) {
        if not.by_design {
            info!(operation = call.op.label(), key = %call.key, "not recorded: {}", not.reason);
        } else {
            error!(operation = call.op.label(), key = %call.key, "not recorded: {}", not.reason);
        }
        self.stats.not_recorded(
            NotRecorded {
                operation: call.op.label(),
                id: call.key.to_string(),
                reason: not.reason,
            },
            not.by_design,
        );
    }

    /// Adds a recording to its cassette. A write the store refuses (a secret in it, a
    /// file the loader would refuse) or cannot make durable withholds the answer: the
    /// client gets 500 naming the file and why.
    async fn keep(
        &self,
        call: &Call,
        recording: Recording,
        secrets: Secrets,
    ) -> Result<(), ApiError> {
        self.write(
            call.op.label(),
            call.key.to_string(),
            call.form,
            recording,
            secrets,
        )
        .await
    }

    /// Writes a recording in a task of its own, so that a write that has started also
    /// updates the store's view of the cassette, and is counted, when the client hangs up
    /// mid-write; `operation` and `what` name it in logs and the summary.
    async fn write(
        &self,
        operation: &'static str,
        what: String,
        form: Option<crate::vapi::Form>,
        recording: Recording,
        secrets: Secrets,
    ) -> Result<(), ApiError> {
        let provenance = Provenance {
            at: now_timestamp(),
            upstream: self.upstream.url().host().to_owned(),
            form,
        };
        let (store, stats) = (self.store.clone(), self.stats.clone());
        let writing = self.writes.clone().read_owned().await;
        tokio::spawn(async move {
            let recorded = store.record(recording, &provenance, &secrets).await;
            let outcome = report(&stats, operation, &what, recorded);
            drop(writing);
            outcome
        })
        .await
        .expect("the recording task does not panic")
    }

    /// The secrets to keep out of cassettes: this request's, and every earlier one's.
    fn secrets_of(&self, parts: &request::Parts) -> Secrets {
        self.remembered.with_request(&parts.headers)
    }

    fn remember_if_accepted(&self, headers: &http::HeaderMap, status: StatusCode) {
        self.remembered.remember_if_accepted(headers, status);
    }

    fn remember(&self, secrets: &Secrets) {
        self.remembered.remember(secrets);
    }

    /// Forwards a login, reading its answer whole to remember the token it hands out.
    async fn forward_login(
        &self,
        parts: request::Parts,
        body: Incoming,
        flavour: Flavour,
    ) -> Result<Response<Body>, Refusal> {
        let style = Style::json(flavour);
        let bytes = read_body(body, &parts)
            .await
            .map_err(|error| (error, style))?;
        let request_headers = parts.headers.clone();
        let (answer, answer_body) = self.upstream.exchange(parts, bytes).await.map_err(|err| {
            warn!("forwarding a login failed: {err}");
            (upstream_failure(&err), style)
        })?;
        self.remember_if_accepted(&request_headers, answer.status);
        self.remember(&login_secrets(&answer.headers, &answer_body));
        Ok(response_from(answer, answer_body))
    }

    /// Forwards a request outside the catalog and tapes the exchange: the request is read
    /// whole (up to `--max-body-bytes`), the answer streams back to the client and is
    /// kept when it is at most [`MAX_TAPED_ANSWER_BYTES`] and not content-encoded.
    async fn tape_exchange(
        &self,
        parts: request::Parts,
        body: Incoming,
    ) -> Result<Response<Body>, Refusal> {
        let style = Style::json(Flavour::of_path(parts.uri.path()));
        let idle = self.upstream.timeout();
        let limit = body_limit(&parts);
        if declared_length(&parts.headers).is_some_and(|length| length > limit as u64) {
            // A body declared larger than the limit streams through to vCenter untaped,
            // never buffered.
            info!(
                path = parts.uri.path(),
                "not taped: the request body is over {limit} bytes"
            );
            let streamed = Either::Right(Streamed::new(body, idle));
            return Ok(self.forward_body(parts, streamed, style).await);
        }
        // Read like every whole body: within the limit and the process-wide body budget.
        let bytes = read_body(body, &parts)
            .await
            .map_err(|error| (error, style))?;
        let (key, key_redactions) = self.tape_key(&parts, &bytes, style)?;
        self.forward_and_tape(parts, bytes, (key, key_redactions), style, Taping::Plain)
            .await
    }

    /// Forwards a request read whole and tapes its answer under `key` (made with
    /// `key_redactions` values redacted): the answer streams back to the client and is
    /// kept, redacted, when it is at most [`MAX_TAPED_ANSWER_BYTES`], not content-encoded,
    /// and one `taping` keeps.
    async fn forward_and_tape(
        &self,
        mut parts: request::Parts,
        bytes: Bytes,
        (key, key_redactions): (TapeKey, usize),
        style: Style,
        taping: Taping<'_>,
    ) -> Result<Response<Body>, Refusal> {
        let idle = self.upstream.timeout();
        if let Some(answer) = self.known.as_ref().and_then(|known| known.taped(&key)) {
            self.stats.hit();
            access::mark(Outcome::Taped);
            return Ok(match taping {
                Taping::Plain => answer.response(),
                Taping::Soap { caller } => answer.soap_response(caller),
            });
        }
        let secrets = self.secrets_of(&parts);
        parts.headers.remove(ACCEPT_ENCODING);
        let answer = self
            .upstream
            .send(parts, full(bytes))
            .await
            .map_err(|err| (upstream_failure(&err), style))?;
        let (head, incoming) = answer.into_parts();
        if let Some(reason) = untapeable(&head) {
            info!(request = %key, "not taped: {reason}");
            return Ok(Response::from_parts(
                head,
                Either::Right(Streamed::new(incoming, idle)),
            ));
        }
        let (read, whole) = read_up_to(incoming, MAX_TAPED_ANSWER_BYTES)
            .await
            .map_err(|err| (upstream_failure(&self.upstream.broken(err)), style))?;
        let Some(incoming) = whole else {
            match taping.kept(&head, &read) {
                Some(kept) => {
                    let answer = self.tape_answer(&key, &head, &kept, style)?;
                    let recording = Recording::Tape {
                        key: key.clone(),
                        answer: answer.value,
                    };
                    self.write("tape", key.to_string(), None, recording, secrets)
                        .await
                        .map_err(|error| (error, style))?;
                    self.stats.redacted(key_redactions + answer.count);
                }
                None => {
                    info!(request = %key, status = head.status.as_u16(), "not taped: an answer the tape never keeps")
                }
            }
            return Ok(response_from(head, read));
        };
        info!(request = %key, "not taped: the answer is over {MAX_TAPED_ANSWER_BYTES} bytes");
        Ok(Response::from_parts(
            head,
            Either::Right(Streamed::after(read, incoming, idle)),
        ))
    }

    /// Forwards anything else untouched, streaming both bodies.
    async fn forward(&self, parts: request::Parts, body: Incoming) -> Response<Body> {
        let style = Style::json(Flavour::of_path(parts.uri.path()));
        let idle = self.upstream.timeout();
        let body = Either::Right(Streamed::new(body, idle));
        self.forward_body(parts, body, style).await
    }

    /// Forwards a request with `body`, streaming the answer back.
    async fn forward_body(
        &self,
        parts: request::Parts,
        body: Body,
        style: Style,
    ) -> Response<Body> {
        let idle = self.upstream.timeout();
        match self.upstream.send(parts, body).await {
            Ok(answer) => answer.map(|body| Either::Right(Streamed::new(body, idle))),
            Err(err) => {
                warn!("forwarding failed: {err}");
                upstream_failure(&err).into_response(style)
            }
        }
    }
}

impl Mode for Record {
    async fn answer(self: Arc<Self>, request: Request) -> Response<Body> {
        let Request {
            parts,
            body,
            kind,
            in_flight: _in_flight,
            ..
        } = request;
        let outcome = match kind {
            Kind::Download(file) => self.download(parts, file).await,
            Kind::JsonRpc => Ok(self.jsonrpc(parts, body).await),
            Kind::Soap => Ok(self.soap(parts, body).await),
            Kind::Call(pending) => self.record_call(parts, body, pending).await,
            Kind::Session {
                op: SessionOp::Login,
                flavour,
            } => self.forward_login(parts, body, flavour).await,
            // A path id dsvcr refuses is still vCenter's to answer; nothing is recorded.
            Kind::Rejected(rejection) => {
                debug!(
                    "forwarded unrecorded: {}",
                    refusal(rejection).0.error.messages[0].default_message
                );
                Ok(self.forward(parts, body).await)
            }
            Kind::Other | Kind::NotAllowed { .. } if self.tape => {
                self.tape_exchange(parts, body).await.map(sandboxed)
            }
            Kind::Session { .. } | Kind::Other | Kind::NotAllowed { .. } => {
                Ok(self.forward(parts, body).await)
            }
        };
        let response = outcome.unwrap_or_else(refused);
        // What was not answered from the cassettes and not refused, the upstream answered.
        access::mark_unless_marked(Outcome::Forwarded);
        response
    }
}

/// The answer to a request dsvcr refused, marked as such for the access log.
fn refused((error, style): Refusal) -> Response<Body> {
    access::mark(Outcome::Refused);
    error.into_response(style)
}

impl Observable for Record {
    fn health(&self) -> Health {
        self.stats.health("record", self.store.cassette_count())
    }

    /// Rewinds the timelines replayed with `--new-episodes`; recording has none.
    fn rewind(&self, id: Option<&SessionId>) -> Option<usize> {
        match (&self.known, id) {
            (Some(known), id) => known.rewind(id),
            (None, None) => Some(0),
            (None, Some(_)) => None,
        }
    }

    fn summary(&self) -> Summary {
        let unused = self
            .known
            .as_ref()
            .map(Timelines::unused)
            .unwrap_or_default();
        self.stats.summary(self.health(), unused)
    }
}

/// Logs and counts the outcome of a recording; a refused or failed write is the
/// client's error (500).
fn report(
    stats: &Stats,
    operation: &'static str,
    key: &dyn std::fmt::Display,
    recorded: Result<Appended, StoreError>,
) -> Result<(), ApiError> {
    match recorded {
        Ok(appended) => {
            let file = appended
                .path
                .file_stem()
                .map_or_else(String::new, |stem| stem.to_string_lossy().into_owned());
            stats.recorded(file);
            stats.redacted(appended.redacted);
            info!(
                operation,
                key = %key,
                timeline = appended.responses,
                entries = appended.entries,
                file = %appended.path.display(),
                "recorded"
            );
            Ok(())
        }
        Err(err @ StoreError::Kept { .. }) => {
            outcomes::kept(stats, operation, key, &err);
            Ok(())
        }
        Err(err) => {
            error!(operation, key = %key, "not recorded: {err}");
            stats.not_recorded(
                NotRecorded {
                    operation,
                    id: key.to_string(),
                    reason: err.to_string(),
                },
                false,
            );
            Err(ApiError::cassette_not_written(err.to_string()))
        }
    }
}

/// How an exchange is taped: as it is, or as a SOAP call.
#[derive(Clone, Copy)]
enum Taping<'a> {
    Plain,
    /// A SOAP call: session-scoped ids are kept without their session key (`caller`'s,
    /// given back in an answer replayed from known cassettes), and only a success or a
    /// fault that is not about the session is kept.
    Soap {
        caller: Option<&'a str>,
    },
}

impl Taping<'_> {
    /// The body the tape keeps of an answer (before redaction), if it keeps it.
    fn kept(self, head: &http::response::Parts, body: &Bytes) -> Option<Bytes> {
        match self {
            Taping::Plain => Some(body.clone()),
            Taping::Soap { .. } => soap::kept(head, body),
        }
    }
}

/// What of an upstream answer to `call` is worth recording: a decodable result, or a
/// vAPI error that belongs to the call (not 401/403 or a server error).
fn recording_of(
    call: &Call,
    answer: &http::response::Parts,
    body: &Bytes,
) -> Result<Recording, NotRecordable> {
    identity_encoded(answer)?;
    let status = answer.status;
    let answer = if status.is_success() {
        decode::output(call.op.output(), body).map_err(|err| {
            NotRecordable::problem(format!(
                "cannot decode the {status} answer as what {} answers: {err}",
                call.op.label()
            ))
        })?
    } else {
        recordable_error(status, body)?
    };
    Ok(place(call, answer))
}

/// Only identity-encoded answers can be decoded.
fn identity_encoded(answer: &http::response::Parts) -> Result<(), NotRecordable> {
    match answer
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .filter(|encoding| !encoding.eq_ignore_ascii_case("identity"))
    {
        Some(encoding) => Err(NotRecordable::problem(format!(
            "the answer is {encoding}-encoded"
        ))),
        None => Ok(()),
    }
}

fn recordable_error(status: StatusCode, body: &Bytes) -> Result<Answer, NotRecordable> {
    let never = status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || status.is_server_error()
        || !status.is_client_error();
    if never {
        return Err(NotRecordable::by_design(format!(
            "upstream answered {status}, which is never recorded"
        )));
    }
    match decode::error(body) {
        Ok(error) if error.kind != ErrorKind::Unauthenticated => Ok(Answer::Error {
            status: status.as_u16(),
            error,
        }),
        Ok(error) => Err(NotRecordable::by_design(format!(
            "upstream answered {}, which is never recorded",
            error.kind.name()
        ))),
        Err(err) => Err(NotRecordable::by_design(format!(
            "the {status} answer is not a vAPI error: {err}"
        ))),
    }
}

/// Where an answer goes: a create's id starts its session's cassette, a list or a
/// failed create goes to a call cassette, everything else to its session's timeline.
fn place(call: &Call, answer: Answer) -> Recording {
    match (&call.key, answer) {
        (CallKey::Create { item, token }, Answer::Id(id)) => Recording::Created {
            id,
            item: item.clone(),
            token: token.clone(),
        },
        (key @ (CallKey::Create { .. } | CallKey::Items(_) | CallKey::Lookup(_)), answer) => {
            Recording::Call {
                op: call.op,
                key: CallCassette::key_of(call.op, key).expect("lists and creates have call keys"),
                answer,
            }
        }
        (CallKey::Session(id), answer) => Recording::Session {
            id: id.clone(),
            op: call.op,
            file: None,
            answer,
        },
        (CallKey::File(id, file), answer) => Recording::Session {
            id: id.clone(),
            op: call.op,
            file: Some(file.clone()),
            answer,
        },
    }
}
