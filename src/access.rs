//! The access log: one `info` line per request, written in one place (the listener) once
//! the answer's head is ready, with the outcome the mode marked while answering.
//!
//! The outcome travels in a task-local cell the listener opens around each request, so
//! marking it costs no allocation and no change to the handlers' signatures; with the
//! access log off (`--quiet`, RUST_LOG above info) the cell is not even opened.

use std::cell::Cell;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use futures_util::future::{Either, FutureExt};
use http::{Request, Response};
use tracing::{info, Level};

/// The target of access-log events (`RUST_LOG=dsvcr::access=off` silences them alone).
pub(crate) const TARGET: &str = "dsvcr::access";

/// How a request was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// From a cassette's recording.
    Hit,
    /// Nothing recorded: vCenter's not-found answer, made here.
    Miss,
    /// Derived from the recordings (nobody recorded this call).
    Derived,
    /// From the tape (the exchanges recorded outside the catalog).
    Taped,
    /// By the upstream vCenter (record mode).
    Forwarded,
    /// Refused by dsvcr itself: a malformed or oversized request, a missing session, an
    /// upstream that could not be reached.
    Refused,
    /// Replay's offline API sessions (login, logout, session info).
    Session,
    /// dsvcr's own endpoints under `/__dsvcr/`.
    Admin,
}

impl Outcome {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Derived => "derived",
            Outcome::Taped => "taped",
            Outcome::Forwarded => "forwarded",
            Outcome::Refused => "refused",
            Outcome::Session => "session",
            Outcome::Admin => "admin",
        }
    }
}

/// Whether events go out as JSON (`--log-format json`): the access log then gives its
/// fields, not a sentence.
static JSON: AtomicBool = AtomicBool::new(false);

/// Makes the access log give its fields, for a JSON logger.
pub(crate) fn log_as_json() {
    JSON.store(true, Ordering::Relaxed);
}

tokio::task_local! {
    static OUTCOME: Cell<Option<Outcome>>;
}

/// Marks the request being answered (the last mark wins); a no-op with the log off.
pub(crate) fn mark(outcome: Outcome) {
    let _ = OUTCOME.try_with(|cell| cell.set(Some(outcome)));
}

/// Marks the request unless something more precise already did.
pub(crate) fn mark_unless_marked(outcome: Outcome) {
    let _ = OUTCOME.try_with(|cell| {
        if cell.get().is_none() {
            cell.set(Some(outcome));
        }
    });
}

/// Answers `request` with `answer` and logs its line when the access log is on. With
/// the log off, the answer's own future is the whole of it.
pub(crate) fn logged<R, B, F>(
    request: Request<R>,
    answer: impl FnOnce(Request<R>) -> F,
) -> impl Future<Output = Response<B>>
where
    F: Future<Output = Response<B>>,
{
    if !tracing::enabled!(target: TARGET, Level::INFO) {
        return Either::Left(answer(request));
    }
    // Cheap copies: the method is inline, the URI's parts are reference-counted.
    let (method, uri) = (request.method().clone(), request.uri().clone());
    let started = Instant::now();
    // The answer is made and polled in the cell's scope, and its mark read there.
    let answered = async move {
        let response = answer(request).await;
        (response, OUTCOME.with(Cell::get))
    };
    let logged = OUTCOME
        .scope(Cell::new(None), answered)
        .map(move |(response, outcome)| {
            log(&method, &uri, started, response.status(), outcome);
            response
        });
    Either::Right(logged)
}

fn log(
    method: &http::Method,
    uri: &http::Uri,
    started: Instant,
    status: http::StatusCode,
    outcome: Option<Outcome>,
) {
    let micros = started.elapsed().as_micros();
    let path = uri.path_and_query().map_or("/", |path| path.as_str());
    let status = status.as_u16();
    let outcome = outcome.map_or("-", Outcome::as_str);
    if JSON.load(Ordering::Relaxed) {
        info!(target: TARGET, method = %method, path, status, outcome, duration_us = micros as u64, "request");
    } else {
        info!(target: TARGET, "{method} {path} {status} {outcome} {}.{:03} ms", micros / 1000, micros % 1000);
    }
}
