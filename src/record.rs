//! Record mode: forwards every request to the lab vCenter and writes each
//! download-session get it answers into that id's cassette before answering the client.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::header::{ACCEPT_ENCODING, CONTENT_ENCODING, SET_COOKIE};
use http::{request, Request, Response, StatusCode};
use http_body_util::Either;
use hyper::body::Incoming;
use tracing::{error, info, warn};

use crate::admin::Observable;
use crate::cassette::{now_timestamp, Appended, Provenance, Recording, Store, StoreError};
use crate::error::{refusal, ApiError, Refusal};
use crate::replay::Replay;
use crate::secrets::Secrets;
use crate::server::{read_body, read_get, Body, Handler, Streamed};
use crate::stats::{Health, Stats, Summary};
use crate::upstream::{response_from, Upstream};
use crate::vapi::recognise::{route, GetRoute, Route, SessionOp};
use crate::vapi::{decode, ErrorKind, Flavour, GetRequest, SessionId, Style};

/// Secrets remembered from logins, at most this many (oldest kept; they are only used
/// to check cassette bytes).
const MAX_REMEMBERED_SECRETS: usize = 4096;

/// The record service.
pub struct Record {
    upstream: Upstream,
    store: Arc<Store>,
    /// With `--new-episodes`: the cassettes that existed at start, answered without
    /// asking the upstream.
    known: Option<Replay>,
    /// Basic credentials and session tokens seen in earlier exchanges (memory only).
    remembered: Mutex<Secrets>,
    stats: Arc<Stats>,
    /// Each recording task holds a read guard; [`Record::finish_writes`] takes the write
    /// lock, so it returns once every recording has landed and been counted.
    writes: Arc<tokio::sync::RwLock<()>>,
}

impl Record {
    /// `stats` must be the counters `known` (if any) reports to, and the upstream's
    /// connection counter.
    pub fn new(upstream: Upstream, store: Store, known: Option<Replay>, stats: Arc<Stats>) -> Self {
        Record {
            upstream,
            store: Arc::new(store),
            known,
            remembered: Mutex::new(Secrets::default()),
            stats,
            writes: Arc::default(),
        }
    }

    /// Waits for the recordings still being written (a client may have gone away while
    /// its answer was being recorded), so that the run summary counts them.
    pub async fn finish_writes(&self) {
        let _all_done = self.writes.write().await;
    }

    async fn record_get(
        &self,
        parts: request::Parts,
        body: Incoming,
        get: GetRoute,
    ) -> Result<Response<Body>, Refusal> {
        let (get, bytes) = read_get(get, &parts, body, true).await?;
        if let Some(known) = self.known.as_ref().filter(|known| known.knows(&get.id)) {
            return Ok(known.answer(&get));
        }
        self.stats.request(get.form);
        let secrets = self.secrets_of(&parts);
        let mut parts = parts;
        // Ask for an identity-encoded answer, which can be decoded and recorded.
        parts.headers.remove(ACCEPT_ENCODING);
        let (answer, answer_body) = self.upstream.exchange(parts, bytes).await.map_err(|err| {
            warn!(form = %get.form, id = %get.id, "not recorded: {err}");
            (err.to_api_error(), get.style)
        })?;
        match recording_of(&answer, &answer_body) {
            Ok(recording) => self
                .keep(&get, recording, secrets)
                .await
                .map_err(|error| (error, get.style))?,
            Err(reason) => warn!(
                form = %get.form,
                id = %get.id,
                status = answer.status.as_u16(),
                "not recorded: {reason}"
            ),
        }
        Ok(response_from(answer, answer_body))
    }

    /// Appends a recording to its cassette. Only a failed write is an error for the
    /// client: a write refused for holding a secret is logged, and the answer still goes
    /// back.
    async fn keep(
        &self,
        get: &GetRequest,
        recording: Recording,
        secrets: Secrets,
    ) -> Result<(), ApiError> {
        let provenance = Provenance {
            at: now_timestamp(),
            upstream: self.upstream.url().host().to_owned(),
            form: get.form,
        };
        let (store, stats, id) = (self.store.clone(), self.stats.clone(), get.id.clone());
        let writing = self.writes.clone().read_owned().await;
        // In its own task, so that a write that has started also updates the store's view
        // of the cassette, and is counted, when the client hangs up mid-write.
        tokio::spawn(async move {
            let appended = store.append(&id, recording, &provenance, &secrets).await;
            let outcome = report(&stats, &id, &provenance, appended);
            drop(writing);
            outcome
        })
        .await
        .expect("the recording task does not panic")
    }

    /// The secrets to keep out of cassettes: this request's, and every earlier one's.
    fn secrets_of(&self, parts: &request::Parts) -> Secrets {
        let mut secrets = Secrets::from_request(&parts.headers);
        self.remember(&secrets);
        secrets.extend(&self.remembered.lock().expect("never poisoned"));
        secrets
    }

    fn remember(&self, secrets: &Secrets) {
        let mut remembered = self.remembered.lock().expect("never poisoned");
        if remembered.len() < MAX_REMEMBERED_SECRETS {
            remembered.extend(secrets);
        }
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
        self.remember(&Secrets::from_request(&parts.headers));
        let (answer, answer_body) = self.upstream.exchange(parts, bytes).await.map_err(|err| {
            warn!("forwarding a login failed: {err}");
            (err.to_api_error(), style)
        })?;
        self.remember(&login_secrets(&answer, &answer_body));
        Ok(response_from(answer, answer_body))
    }

    /// Forwards anything else untouched, streaming both bodies.
    async fn forward(&self, parts: request::Parts, body: Incoming) -> Response<Body> {
        let style = Style::json(Flavour::of_path(parts.uri.path()));
        self.remember(&Secrets::from_request(&parts.headers));
        let idle = self.upstream.timeout();
        match self
            .upstream
            .send(parts, Either::Right(Streamed::new(body, idle)))
            .await
        {
            Ok(answer) => answer.map(|body| Either::Right(Streamed::new(body, idle))),
            Err(err) => {
                warn!("forwarding failed: {err}");
                err.to_api_error().into_response(style)
            }
        }
    }
}

impl Handler for Record {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        let outcome = match route(&parts.method, &parts.uri) {
            Err(rejection) => Err(refusal(rejection)),
            Ok(Route::Get(get)) => self.record_get(parts, body, get).await,
            Ok(Route::Session {
                op: SessionOp::Login,
                flavour,
            }) => self.forward_login(parts, body, flavour).await,
            Ok(_) => Ok(self.forward(parts, body).await),
        };
        outcome.unwrap_or_else(|(error, style)| error.into_response(style))
    }
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
        let unused = self.known.as_ref().map(Replay::unused).unwrap_or_default();
        self.stats.summary(self.health(), unused)
    }
}

/// Logs and counts the outcome of a recording; only a failed write is the client's error.
fn report(
    stats: &Stats,
    id: &SessionId,
    provenance: &Provenance,
    appended: Result<Appended, StoreError>,
) -> Result<(), ApiError> {
    let form = provenance.form;
    match appended {
        Ok(appended) => {
            stats.recorded(id);
            info!(
                form = %form,
                id = %id,
                status = appended.status,
                timeline = appended.responses,
                entries = appended.entries,
                file = %appended.path.display(),
                "recorded"
            );
            Ok(())
        }
        Err(err @ StoreError::Secret { .. }) => {
            error!(form = %form, id = %id, "not recorded: {err}");
            Ok(())
        }
        Err(err @ StoreError::Write { .. }) => {
            error!(form = %form, id = %id, "not recorded: {err}");
            Err(ApiError::cassette_not_written(err.to_string()))
        }
    }
}

/// What of an upstream answer to a get is worth recording: 200 sessions and 404
/// `not_found` errors.
fn recording_of(answer: &http::response::Parts, body: &Bytes) -> Result<Recording, String> {
    if let Some(encoding) = answer
        .headers
        .get(CONTENT_ENCODING)
        .and_then(|value| value.to_str().ok())
        .filter(|encoding| !encoding.eq_ignore_ascii_case("identity"))
    {
        return Err(format!("the answer is {encoding}-encoded"));
    }
    let status = answer.status;
    match status {
        StatusCode::OK => decode::session(body)
            .map(Recording::Session)
            .map_err(|err| format!("cannot decode the 200 answer as a download session: {err}")),
        StatusCode::NOT_FOUND => match decode::error(body) {
            Ok(error) if error.kind == ErrorKind::NotFound => Ok(Recording::Error {
                status: status.as_u16(),
                error,
            }),
            Ok(error) => Err(format!(
                "the 404 answer is a {} error, not not_found",
                error.kind.name()
            )),
            Err(err) => Err(format!(
                "cannot decode the 404 answer as a vAPI error: {err}"
            )),
        },
        _ => Err(format!(
            "upstream answered {status}; only 200 sessions and 404 not_found answers are recorded"
        )),
    }
}

/// The token a login answer hands out, as a bare JSON string (`/api`), in
/// `{"value": …}` (`/rest`), or in a `Set-Cookie`.
fn login_secrets(answer: &http::response::Parts, body: &[u8]) -> Secrets {
    let mut secrets = Secrets::default();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(token)) => secrets.add(&token, "session token"),
        Ok(value) => {
            if let Some(token) = value.get("value").and_then(|v| v.as_str()) {
                secrets.add(token, "session token");
            }
        }
        Err(_) => {}
    }
    for cookie in answer.headers.get_all(SET_COOKIE) {
        let Ok(cookie) = cookie.to_str() else {
            continue;
        };
        let pair = cookie.split(';').next().unwrap_or("");
        if let Some((_, value)) = pair.split_once('=') {
            secrets.add(value.trim(), "session token");
        }
    }
    secrets
}
