//! Replay mode: answers download-session gets from cassette timelines held in memory,
//! and API sessions offline. A request never touches the disk or the network.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use tracing::{debug, warn};

use crate::admin::Observable;
use crate::cassette::{load_folder, Cassette, LoadError, Recording};
use crate::error::{
    body_response, refusal, vapi_error_response, ApiError, Refusal, SYNTHETIC_HEADER,
};
use crate::server::{read_get, Body, Handler};
use crate::sessions::Sessions;
use crate::stats::{Health, Stats, Summary};
use crate::vapi::recognise::{route, Route};
use crate::vapi::wire::Encoding;
use crate::vapi::{
    render, ErrorKind, Flavour, GetRequest, LocalizableMessage, SessionId, Style, VapiError,
};

/// How a replay behaves beyond its cassettes.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// Answer download-session gets only for callers holding a live session token.
    pub require_session: bool,
}

/// The replay service.
pub struct Replay {
    timelines: HashMap<SessionId, Timeline>,
    not_found: NotFoundTemplate,
    sessions: Sessions,
    stats: Arc<Stats>,
    options: ReplayOptions,
}

impl Replay {
    /// A replay of `cassettes` with default options and its own counters.
    pub fn new(cassettes: Vec<Cassette>) -> Self {
        Self::with_options(cassettes, ReplayOptions::default(), Stats::new())
    }

    pub fn with_options(
        cassettes: Vec<Cassette>,
        options: ReplayOptions,
        stats: Arc<Stats>,
    ) -> Self {
        let not_found = NotFoundTemplate::from_recordings(&cassettes);
        let timelines = cassettes
            .into_iter()
            .map(|cassette| (cassette.id.clone(), Timeline::new(cassette)))
            .collect();
        Replay {
            timelines,
            not_found,
            sessions: Sessions::default(),
            stats,
            options,
        }
    }

    /// Loads and validates every cassette in `folder`.
    pub fn load(folder: &Path) -> Result<Self, LoadError> {
        Ok(Self::new(load_folder(folder)?))
    }

    pub fn cassette_count(&self) -> usize {
        self.timelines.len()
    }

    /// Whether `id` has a cassette.
    pub fn knows(&self, id: &SessionId) -> bool {
        self.timelines.contains_key(id.as_str())
    }

    /// Rewinds one timeline, or every one, to its first response. `None` if `id` has no
    /// cassette.
    pub fn rewind(&self, id: Option<&SessionId>) -> Option<usize> {
        match id {
            Some(id) => {
                self.timelines.get(id.as_str())?.rewind();
                Some(1)
            }
            None => {
                self.timelines.values().for_each(Timeline::rewind);
                Some(self.timelines.len())
            }
        }
    }

    /// The ids no request was answered from, sorted.
    pub fn unused(&self) -> Vec<String> {
        let mut unused: Vec<String> = self
            .timelines
            .iter()
            .filter(|(_, timeline)| !timeline.used.load(Ordering::Relaxed))
            .map(|(id, _)| id.to_string())
            .collect();
        unused.sort();
        unused
    }

    /// The next recorded answer for `get`, or a synthetic vAPI 404 for an unknown id.
    pub fn answer(&self, get: &GetRequest) -> Response<Body> {
        self.stats.request(get.form);
        let Some(timeline) = self.timelines.get(get.id.as_str()) else {
            warn!(id = %get.id, form = %get.form, "miss: no cassette for this download session");
            self.stats.miss(&get.id);
            return self.missing(get);
        };
        self.stats.hit();
        let played = timeline.next();
        debug!(id = %get.id, form = %get.form, status = played.status.as_u16(), "hit");
        body_response(played.status, played.body(get.style.encoding()), get.style)
    }

    fn missing(&self, get: &GetRequest) -> Response<Body> {
        let error = self.not_found.for_id(&get.id);
        let mut response = vapi_error_response(StatusCode::NOT_FOUND, &error, get.style);
        response.headers_mut().insert(
            SYNTHETIC_HEADER,
            http::HeaderValue::from_static("no-cassette"),
        );
        response
    }

    async fn respond(&self, request: Request<Incoming>) -> Result<Response<Body>, Refusal> {
        let (parts, body) = request.into_parts();
        let route = route(&parts.method, &parts.uri).map_err(refusal)?;
        let get = match route {
            Route::Get(get) => get,
            Route::Session { op, flavour } => {
                return Ok(self.sessions.handle(op, flavour, &parts.headers));
            }
            Route::MethodNotAllowed { allow, flavour } => {
                let error = ApiError::method_not_allowed(&parts.method, allow);
                return Err((error, Style::json(flavour)));
            }
            Route::Other => {
                let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
                let error = ApiError::no_recording(&parts.method, target);
                return Err((error, Style::json(Flavour::of_path(parts.uri.path()))));
            }
        };
        let (get, _) = read_get(get, &parts, body, false).await?;
        if self.options.require_session && !self.sessions.is_live(&parts.headers) {
            return Err((ApiError::unauthenticated(), get.style));
        }
        Ok(self.answer(&get))
    }
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
        self.stats.health("replay", self.cassette_count())
    }

    fn rewind(&self, id: Option<&SessionId>) -> Option<usize> {
        Replay::rewind(self, id)
    }

    fn summary(&self) -> Summary {
        self.stats.summary(self.health(), self.unused())
    }
}

/// One cassette's responses with a cursor: the n-th request gets the n-th response
/// (counting repeats), and every request after the last gets the last.
struct Timeline {
    entries: Vec<Played>,
    /// `ends[i]` is the number of requests answered once entry `i` is used up.
    ends: Vec<u64>,
    served: AtomicU64,
    used: AtomicBool,
}

impl Timeline {
    fn new(cassette: Cassette) -> Self {
        let mut end = 0;
        let mut ends = Vec::with_capacity(cassette.responses.len());
        let mut entries = Vec::with_capacity(cassette.responses.len());
        for entry in cassette.responses {
            end += u64::from(entry.repeat);
            ends.push(end);
            entries.push(Played::new(entry.response));
        }
        Timeline {
            entries,
            ends,
            served: AtomicU64::new(0),
            used: AtomicBool::new(false),
        }
    }

    fn rewind(&self) {
        self.served.store(0, Ordering::Relaxed);
    }

    fn next(&self) -> &Played {
        self.used.store(true, Ordering::Relaxed);
        let turn = self.served.fetch_add(1, Ordering::Relaxed);
        let index = self.ends.partition_point(|&end| end <= turn);
        &self.entries[index.min(self.entries.len() - 1)]
    }
}

/// A recorded response, rendered once per encoding on first use.
struct Played {
    status: StatusCode,
    recording: Recording,
    rendered: [OnceLock<Bytes>; Encoding::COUNT],
}

impl Played {
    fn new(recording: Recording) -> Self {
        Played {
            status: StatusCode::from_u16(recording.status()).expect("cassette statuses are valid"),
            recording,
            rendered: Default::default(),
        }
    }

    fn body(&self, encoding: Encoding) -> Bytes {
        self.rendered[encoding.index()]
            .get_or_init(|| match &self.recording {
                Recording::Session(session) => render::session(session, encoding),
                Recording::Error { error, .. } => render::error(error, encoding),
            })
            .clone()
    }
}

fn names(message: &LocalizableMessage, id: &str) -> bool {
    message.default_message.contains(id) || message.args.iter().any(|arg| arg == id)
}

/// The wording of synthetic 404s: vCenter's own, taken from the first recorded
/// `not_found` answer (in id order), or dsvcr's when none was recorded.
struct NotFoundTemplate {
    /// The id the recorded message was about, to be replaced by the missing id.
    recorded_id: Option<String>,
    message: LocalizableMessage,
}

const DEFAULT_NOT_FOUND_ID: &str = "dsvcr.download_session.not_found";

impl NotFoundTemplate {
    /// Takes the first recorded `not_found` whose message names its own id, so that the
    /// id can be swapped for the missing one.
    fn from_recordings(cassettes: &[Cassette]) -> Self {
        let recorded = cassettes.iter().find_map(|cassette| {
            let id = cassette.id.as_str();
            cassette
                .responses
                .iter()
                .find_map(|entry| match &entry.response {
                    Recording::Error { error, .. } if error.kind == ErrorKind::NotFound => error
                        .messages
                        .first()
                        .filter(|message| names(message, id))
                        .map(|message| (id.to_owned(), message.clone())),
                    _ => None,
                })
        });
        match recorded {
            Some((recorded_id, message)) => NotFoundTemplate {
                recorded_id: Some(recorded_id),
                message,
            },
            None => NotFoundTemplate {
                recorded_id: None,
                message: LocalizableMessage::new(DEFAULT_NOT_FOUND_ID, String::new(), Vec::new()),
            },
        }
    }

    fn for_id(&self, id: &SessionId) -> VapiError {
        let id = id.as_str();
        let message = match &self.recorded_id {
            Some(recorded_id) => {
                let substitute = |text: &str| text.replace(recorded_id.as_str(), id);
                LocalizableMessage {
                    args: self
                        .message
                        .args
                        .iter()
                        .map(|arg| substitute(arg))
                        .collect(),
                    default_message: substitute(&self.message.default_message),
                    id: self.message.id.clone(),
                    localized: self.message.localized.as_deref().map(substitute),
                    params: self.message.params.clone(),
                }
            }
            None => LocalizableMessage::new(
                DEFAULT_NOT_FOUND_ID,
                format!("No download session with id {id} exists (dsvcr has no cassette for it)."),
                vec![id.to_owned()],
            ),
        };
        VapiError::new(ErrorKind::NotFound, message)
    }
}
