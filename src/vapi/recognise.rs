//! Recognition: turning an HTTP request into a typed [`Operation`].
//!
//! It runs in two steps so that a server only reads a body when the operation needs
//! one: [`route`] looks at the method and URI alone, and [`GetRoute::complete`] adds the
//! headers and body. [`recognise`] runs both on a whole request (tests and fuzzing).

use std::borrow::Cow;

use bytes::Bytes;
use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method, Request, StatusCode, Uri};
use percent_encoding::percent_decode_str;

use super::id::SessionId;
use super::model::ErrorKind;
use super::wire::{Flavour, Form, Representation, Style};
use super::xml;

/// What a request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operation {
    /// `com.vmware.content.library.item.download_session.get`, in any form.
    DownloadSessionGet(GetRequest),
    /// A download-session path with a method that dsvcr cannot replay there.
    MethodNotAllowed {
        allow: &'static str,
        flavour: Flavour,
    },
    /// Logging in, asking about or ending an API session (`cis/session`, `/api/session`).
    Session { op: SessionOp, flavour: Flavour },
    /// Anything else: another operation or another API.
    Other,
}

/// The API session operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOp {
    /// `POST /rest/com/vmware/cis/session`, `POST /api/session`
    Login,
    /// `POST /rest/com/vmware/cis/session?~action=get`, `GET /api/session`
    Info,
    /// `DELETE /rest/com/vmware/cis/session`, `DELETE /api/session`
    Logout,
}

/// A recognised download-session get.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetRequest {
    pub id: SessionId,
    pub form: Form,
    /// How the answer must be written.
    pub style: Style,
}

/// A request that is recognisably a download-session get but cannot be answered,
/// described well enough to answer it in the caller's own style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub status: StatusCode,
    pub kind: ErrorKind,
    /// A stable message id, e.g. `dsvcr.request.malformed_json`.
    pub message_id: &'static str,
    pub message: String,
    pub style: Style,
}

/// Longest [`Rejection::message`], in bytes (before the `…` that marks a cut). Messages
/// quote the request (an id, an element name, a JSON value), and a body may be up to the
/// server's limit: the answer and the log line quote only its start.
pub const MAX_MESSAGE_BYTES: usize = 512;

impl Rejection {
    fn invalid_argument(message_id: &'static str, message: String, style: Style) -> Self {
        Rejection {
            status: StatusCode::BAD_REQUEST,
            kind: ErrorKind::InvalidArgument,
            message_id,
            message: shorten(message),
            style,
        }
    }
}

/// `message` cut to [`MAX_MESSAGE_BYTES`] at a character boundary, with `…` when cut.
fn shorten(mut message: String) -> String {
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// The outcome of [`route`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    Get(GetRoute),
    MethodNotAllowed {
        allow: &'static str,
        flavour: Flavour,
    },
    Session {
        op: SessionOp,
        flavour: Flavour,
    },
    Other,
}

/// A download-session get recognised from its method and URI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetRoute {
    flavour: Flavour,
    target: Target,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    /// Forms A, B and D: the id is in the path.
    Path { id: SessionId, form: Form },
    /// Form C: the id is in the body or the query.
    Collection { query_id: Option<String> },
}

const REST_PREFIX: &[&str] = &["rest", "com", "vmware", "content", "library", "item"];
const REFERENCE_PREFIX: &[&str] = &["com", "vmware", "content", "library", "item"];
const API_PREFIX: &[&str] = &["api", "content", "library", "item"];
const RESOURCE: &str = "download-session";
const ID_PARAMETER: &str = "download_session_id";

/// Which download-session resource a path names.
enum Resource {
    Collection,
    /// The decoded rest of the path after the collection (for `/rest`, after `id:`).
    Item(String),
}

/// Recognises a request from its method and URI. Only form C needs the body next.
pub fn route(method: &Method, uri: &Uri) -> Result<Route, Rejection> {
    let Some((flavour, resource)) = resource_of(uri.path()) else {
        return Ok(session_route(method, uri).unwrap_or(Route::Other));
    };
    let query = QueryView::parse(uri.query());
    let style = Style::json(flavour);
    let target = match (flavour, resource, method) {
        (Flavour::Api, Resource::Item(raw), &Method::GET) => Target::Path {
            id: parse_id(&raw, style)?,
            form: Form::Api,
        },
        (Flavour::Api, Resource::Item(_), _) => return Ok(not_allowed("GET", flavour)),
        (Flavour::Api, Resource::Collection, &Method::GET | &Method::POST) => {
            return Ok(Route::Other)
        }
        (Flavour::Api, Resource::Collection, _) => return Ok(not_allowed("GET, POST", flavour)),
        (_, Resource::Item(raw), &Method::GET) => Target::Path {
            id: parse_id(&raw, style)?,
            form: Form::GetById,
        },
        (_, Resource::Item(raw), &Method::POST) if query.asks_for_get() => Target::Path {
            id: parse_id(&raw, style)?,
            form: Form::PostById,
        },
        (_, Resource::Item(_), &Method::POST) => return Ok(Route::Other),
        (_, Resource::Item(_), _) => return Ok(not_allowed("GET, POST", flavour)),
        (_, Resource::Collection, &Method::POST) if query.asks_for_get() => Target::Collection {
            query_id: query.session_id(style)?,
        },
        (_, Resource::Collection, &Method::POST | &Method::GET) => return Ok(Route::Other),
        (_, Resource::Collection, _) => return Ok(not_allowed("POST", flavour)),
    };
    Ok(Route::Get(GetRoute { flavour, target }))
}

const REST_SESSION: &str = "/rest/com/vmware/cis/session";
const API_SESSION: &str = "/api/session";

fn session_route(method: &Method, uri: &Uri) -> Option<Route> {
    let path = uri.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    let asks_for_get = || QueryView::parse(uri.query()).asks_for_get();
    let (op, flavour) = match (path, method) {
        (REST_SESSION, &Method::POST) if asks_for_get() => (SessionOp::Info, Flavour::Rest),
        (REST_SESSION, &Method::POST) => (SessionOp::Login, Flavour::Rest),
        (REST_SESSION, &Method::DELETE) => (SessionOp::Logout, Flavour::Rest),
        (API_SESSION, &Method::POST) => (SessionOp::Login, Flavour::Api),
        (API_SESSION, &Method::GET) => (SessionOp::Info, Flavour::Api),
        (API_SESSION, &Method::DELETE) => (SessionOp::Logout, Flavour::Api),
        _ => return None,
    };
    Some(Route::Session { op, flavour })
}

fn not_allowed(allow: &'static str, flavour: Flavour) -> Route {
    Route::MethodNotAllowed { allow, flavour }
}

/// Recognises a whole request.
pub fn recognise(request: &Request<Bytes>) -> Result<Operation, Rejection> {
    Ok(match route(request.method(), request.uri())? {
        Route::Get(get) => {
            Operation::DownloadSessionGet(get.complete(request.headers(), request.body())?)
        }
        Route::MethodNotAllowed { allow, flavour } => {
            Operation::MethodNotAllowed { allow, flavour }
        }
        Route::Session { op, flavour } => Operation::Session { op, flavour },
        Route::Other => Operation::Other,
    })
}

impl GetRoute {
    /// Whether [`Self::complete`] needs the request body.
    pub fn needs_body(&self) -> bool {
        matches!(self.target, Target::Collection { .. })
    }

    /// The style to answer in before the body has been read (e.g. a body that is too large).
    pub fn provisional_style(&self, headers: &HeaderMap) -> Style {
        Style {
            flavour: self.flavour,
            representation: representation(headers, body_kind(headers, &[])),
        }
    }

    /// Finishes recognition with the headers and the (possibly empty) body.
    pub fn complete(self, headers: &HeaderMap, body: &[u8]) -> Result<GetRequest, Rejection> {
        let kind = match self.target {
            Target::Path { .. } => BodyKind::None,
            Target::Collection { .. } => body_kind(headers, body),
        };
        let style = Style {
            flavour: self.flavour,
            representation: representation(headers, kind),
        };
        let (id, form) = match self.target {
            Target::Path { id, form } => (id, form),
            Target::Collection { query_id } => collection_id(kind, body, query_id, style)?,
        };
        Ok(GetRequest { id, form, style })
    }
}

fn collection_id(
    kind: BodyKind,
    body: &[u8],
    query_id: Option<String>,
    style: Style,
) -> Result<(SessionId, Form), Rejection> {
    let from_body = match kind {
        BodyKind::None => None,
        BodyKind::Json => Some((json_body_id(body, style)?, Form::CollectionJsonBody)),
        BodyKind::Xml => Some((xml_body_id(body, style)?, Form::CollectionXmlBody)),
    };
    let (raw, form) = match (from_body, query_id) {
        (Some((body_id, _)), Some(query_id)) if body_id != query_id => {
            return Err(Rejection::invalid_argument(
                "dsvcr.request.conflicting_ids",
                format!(
                    "the body asks for download_session_id {body_id:?} but the query asks for {query_id:?}"
                ),
                style,
            ))
        }
        (Some(from_body), _) => from_body,
        (None, Some(query_id)) => (query_id, Form::CollectionQuery),
        (None, None) => {
            return Err(Rejection::invalid_argument(
                "dsvcr.request.missing_id",
                "no download_session_id: send it in a JSON body, an XML Get-Input body or the query"
                    .to_owned(),
                style,
            ))
        }
    };
    Ok((parse_id(&raw, style)?, form))
}

fn json_body_id(body: &[u8], style: Style) -> Result<String, Rejection> {
    let malformed = |problem: String| {
        Rejection::invalid_argument("dsvcr.request.malformed_json", problem, style)
    };
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| malformed(format!("malformed JSON body: {err}")))?;
    match value.get(ID_PARAMETER) {
        Some(serde_json::Value::String(id)) => Ok(id.clone()),
        Some(other) => Err(malformed(format!(
            "download_session_id in the JSON body must be a string, not {other}"
        ))),
        None if value.is_object() => Err(malformed(
            "the JSON body has no download_session_id".to_owned(),
        )),
        None => Err(malformed(
            "the JSON body must be an object with a download_session_id".to_owned(),
        )),
    }
}

fn xml_body_id(body: &[u8], style: Style) -> Result<String, Rejection> {
    xml::parse_get_input(body).map_err(|err| {
        Rejection::invalid_argument("dsvcr.request.malformed_xml", format!("{err}"), style)
    })
}

fn parse_id(raw: &str, style: Style) -> Result<SessionId, Rejection> {
    SessionId::parse(raw).map_err(|err| {
        Rejection::invalid_argument("dsvcr.request.invalid_id", err.to_string(), style)
    })
}

/// Finds the download-session resource a path names, ignoring one trailing slash and
/// percent-encoding in any segment.
fn resource_of(path: &str) -> Option<(Flavour, Resource)> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let flavour = Flavour::of_path(path);
    let prefix = match flavour {
        Flavour::Rest => REST_PREFIX,
        Flavour::Reference => REFERENCE_PREFIX,
        Flavour::Api => API_PREFIX,
    };
    // What follows the segments matched so far; `None` once the path has ended.
    let mut rest = Some(path.strip_prefix('/')?);
    for expected in prefix.iter().chain(std::iter::once(&RESOURCE)) {
        let (segment, after) = match rest?.split_once('/') {
            Some((segment, after)) => (segment, Some(after)),
            None => (rest?, None),
        };
        if decode(segment).as_deref() != Some(*expected) {
            return None;
        }
        rest = after;
    }
    let Some(rest) = rest else {
        return Some((flavour, Resource::Collection));
    };
    // An id is one segment; more segments are kept so that the id check names the '/'.
    let joined = if rest.contains('/') {
        Cow::Owned(
            rest.split('/')
                .map(|segment| decode(segment).unwrap_or(Cow::Borrowed(segment)))
                .collect::<Vec<_>>()
                .join("/"),
        )
    } else {
        decode(rest).unwrap_or(Cow::Borrowed(rest))
    };
    let id = match flavour {
        Flavour::Api => joined.into_owned(),
        Flavour::Rest | Flavour::Reference => joined.strip_prefix("id:")?.to_owned(),
    };
    Some((flavour, Resource::Item(id)))
}

/// A segment percent-decoded, borrowed when it holds no `%`; `None` if not UTF-8.
fn decode(segment: &str) -> Option<Cow<'_, str>> {
    if !segment.contains('%') {
        return Some(Cow::Borrowed(segment));
    }
    percent_decode_str(segment).decode_utf8().ok()
}

/// The query parameters dsvcr looks at; every other parameter is ignored.
struct QueryView {
    actions: Vec<String>,
    ids: Vec<String>,
}

impl QueryView {
    fn parse(query: Option<&str>) -> Self {
        let mut view = QueryView {
            actions: Vec::new(),
            ids: Vec::new(),
        };
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match key.as_ref() {
                "~action" => view.actions.push(value.into_owned()),
                ID_PARAMETER => view.ids.push(value.into_owned()),
                _ => {}
            }
        }
        view
    }

    fn asks_for_get(&self) -> bool {
        self.actions.len() == 1 && self.actions[0] == "get"
    }

    fn session_id(&self, style: Style) -> Result<Option<String>, Rejection> {
        match self.ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            [first, rest @ ..] if rest.iter().all(|id| id == first) => Ok(Some(first.clone())),
            _ => Err(Rejection::invalid_argument(
                "dsvcr.request.conflicting_ids",
                "the query gives download_session_id more than once, with different values"
                    .to_owned(),
                style,
            )),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BodyKind {
    None,
    Json,
    Xml,
}

/// What a body holds: judged by its first character, or by `Content-Type` when that
/// character is neither `{` nor `<`.
fn body_kind(headers: &HeaderMap, body: &[u8]) -> BodyKind {
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        None => BodyKind::None,
        Some(b'<') => BodyKind::Xml,
        Some(b'{') => BodyKind::Json,
        Some(_) if content_type_is_xml(headers) => BodyKind::Xml,
        Some(_) => BodyKind::Json,
    }
}

fn content_type_is_xml(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| media_kind(value.split(';').next().unwrap_or("")) == MediaKind::Xml)
        .unwrap_or(false)
}

/// XML when `Accept` prefers an XML type over JSON, or when `Accept` names neither and
/// the request body was XML; JSON otherwise.
fn representation(headers: &HeaderMap, body: BodyKind) -> Representation {
    let mut best_json = 0.0_f32;
    let mut best_xml = 0.0_f32;
    for value in headers.get_all(ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for range in value.split(',') {
            let mut parts = range.split(';');
            let kind = media_kind(parts.next().unwrap_or(""));
            let quality = parts
                .filter_map(|param| param.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match kind {
                MediaKind::Json => best_json = best_json.max(quality),
                MediaKind::Xml => best_xml = best_xml.max(quality),
                MediaKind::Other => {}
            }
        }
    }
    if best_xml > best_json {
        Representation::Xml
    } else if best_json > 0.0 || body != BodyKind::Xml {
        Representation::Json
    } else {
        Representation::Xml
    }
}

#[derive(PartialEq, Eq)]
enum MediaKind {
    Json,
    Xml,
    Other,
}

fn media_kind(media_type: &str) -> MediaKind {
    let media_type = media_type.trim();
    let is = |name: &str| media_type.eq_ignore_ascii_case(name);
    let ends_with = |suffix: &str| {
        media_type.len() >= suffix.len()
            && media_type.as_bytes()[media_type.len() - suffix.len()..]
                .eq_ignore_ascii_case(suffix.as_bytes())
    };
    if is("application/json") || ends_with("+json") {
        MediaKind::Json
    } else if is("application/xml") || is("text/xml") || ends_with("+xml") {
        MediaKind::Xml
    } else {
        MediaKind::Other
    }
}

#[cfg(test)]
mod tests;
