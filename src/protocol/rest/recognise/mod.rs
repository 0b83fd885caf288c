//! Recognition: turning an HTTP request into a protocol-neutral [`Call`].
//!
//! It runs in two steps so that a server only reads a body when the operation needs
//! one: [`route`] looks at the method and URI alone and finds the operation's catalog
//! row, and [`PendingCall::complete`] reads the key fields from the headers and body.
//! [`recognise`] runs both on a whole request (tests and fuzzing).

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method, StatusCode, Uri};
use percent_encoding::percent_decode_str;

use super::xml;
use crate::vapi::call::{Call, CallKey};
use crate::vapi::catalog::{Key, Op, Route as CatalogRoute, Row, Shape, Source, Verb, CATALOG};
use crate::vapi::id::SessionId;
use crate::vapi::model::ErrorKind;
use crate::vapi::wire::{Flavour, Form, Representation, Style};

/// What a request asks for.
#[cfg(any(test, feature = "fuzzing"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Operation {
    /// A catalogued operation.
    Call(Call),
    /// A catalogued path with a method no operation uses there.
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
pub(crate) enum SessionOp {
    /// `POST /rest/com/vmware/cis/session`, `POST /api/session`
    Login,
    /// `POST /rest/com/vmware/cis/session?~action=get`, `GET /api/session`
    Info,
    /// `DELETE /rest/com/vmware/cis/session`, `DELETE /api/session`
    Logout,
}

/// A request that is recognisably a catalogued operation but cannot be answered,
/// described well enough to answer it in the caller's own style.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub(crate) status: StatusCode,
    pub(crate) kind: ErrorKind,
    /// A stable message id, e.g. `dsvcr.request.malformed_json`.
    pub(crate) message_id: &'static str,
    pub(crate) message: String,
    pub(crate) style: Style,
}

/// Longest [`Rejection::message`], in bytes (before the `…` that marks a cut). Messages
/// quote the request (an id, an element name, a JSON value), and a body may be up to the
/// server's limit: the answer and the log line quote only its start.
pub(crate) const MAX_MESSAGE_BYTES: usize = 512;

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
fn shorten(message: String) -> String {
    shorten_to(message, MAX_MESSAGE_BYTES)
}

/// `message` cut to `max` bytes at a character boundary, with `…` when cut.
pub(crate) fn shorten_to(mut message: String, max: usize) -> String {
    if message.len() > max {
        let mut end = max;
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
pub(crate) enum Route {
    Call(PendingCall),
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

/// A catalogued operation recognised from its method and URI; the key fields that live
/// in the headers or body are read by [`Self::complete`].
#[derive(Clone, Debug)]
pub(crate) struct PendingCall {
    row: &'static Row,
    route: &'static CatalogRoute,
    flavour: Flavour,
    /// The session id in the path, already validated.
    path_id: Option<SessionId>,
    /// Any other id in the path (a library or item), as sent.
    path_name: Option<String>,
}

impl PartialEq for PendingCall {
    fn eq(&self, other: &Self) -> bool {
        self.row.op == other.row.op
            && std::ptr::eq(self.route, other.route)
            && self.flavour == other.flavour
            && self.path_id == other.path_id
            && self.path_name == other.path_name
    }
}

impl Eq for PendingCall {}

const REST_PREFIX: &[&str] = &["rest", "com", "vmware", "content", "library"];
const REFERENCE_PREFIX: &[&str] = &["com", "vmware", "content", "library"];
const API_PREFIX: &[&str] = &["api", "content", "library"];
const REST_LITERAL: &str = "rest/com/vmware/content/library";
const REFERENCE_LITERAL: &str = "com/vmware/content/library";
const API_LITERAL: &str = "api/content/library";
const ITEMS_SESSIONS: &str = "item/download-session";
const ITEMS: &str = "item";
const SESSIONS: &str = "download-session";
const REST_FILES: &[&str] = &["downloadsession", "file"];
const API_FILES: &str = "file";
const ID_PARAMETER: &str = "download_session_id";

/// Which catalogued resource a path names, with the decoded id in it (for `/rest`,
/// after `id:`), borrowed from the path unless it had to be decoded.
#[derive(Debug, PartialEq, Eq)]
struct Resource<'a> {
    shape: Shape,
    id: Option<Cow<'a, str>>,
}

/// Recognises a request from its method and URI. Only some routes need the body next.
pub(crate) fn route(method: &Method, uri: &Uri) -> Result<Route, Rejection> {
    let Some((flavour, resource)) = resource_of(uri.path()) else {
        return Ok(session_route(method, uri).unwrap_or(Route::Other));
    };
    let style = Style::json(flavour);
    let action = action_of(flavour, uri.query());
    let Some((row, found)) = find_route(flavour, &resource, method, action.as_deref(), uri.query())
    else {
        return Ok(match allowed_methods(resource.shape) {
            Some(allow) if !method_used_on(flavour, resource.shape, method) => {
                Route::MethodNotAllowed { allow, flavour }
            }
            _ => Route::Other,
        });
    };
    let path_id = match (&resource.id, found.inputs.session) {
        (Some(raw), Some(Source::Path)) => Some(parse_id(raw, style)?),
        _ => None,
    };
    let path_name = resource
        .id
        .filter(|_| path_id.is_none())
        .map(Cow::into_owned);
    Ok(Route::Call(PendingCall {
        row,
        route: found,
        flavour,
        path_id,
        path_name,
    }))
}

fn family_routes(row: &'static Row, flavour: Flavour) -> &'static [CatalogRoute] {
    match flavour {
        Flavour::Api | Flavour::JsonRpc => row.api,
        Flavour::Rest | Flavour::Reference => row.rest,
    }
}

fn find_route(
    flavour: Flavour,
    resource: &Resource<'_>,
    method: &Method,
    action: Option<&str>,
    query: Option<&str>,
) -> Option<(&'static Row, &'static CatalogRoute)> {
    CATALOG.iter().find_map(|row| {
        family_routes(row, flavour)
            .iter()
            .find(|route| route_matches(route, resource, method, action, query))
            .map(|route| (row, route))
    })
}

fn route_matches(
    route: &CatalogRoute,
    resource: &Resource<'_>,
    method: &Method,
    action: Option<&str>,
    query: Option<&str>,
) -> bool {
    route.shape == resource.shape
        && route.method.is(method)
        && (route.method == Verb::Get || route.action == action)
        && route.requires.is_none_or(|name| has_parameter(query, name))
        && route.forbids.is_none_or(|name| !has_parameter(query, name))
}

fn method_used_on(flavour: Flavour, shape: Shape, method: &Method) -> bool {
    CATALOG
        .iter()
        .flat_map(|row| family_routes(row, flavour))
        .any(|route| route.shape == shape && route.method.is(method))
}

/// The `Allow` header of a 405 on a download-session path: the methods its routes use.
/// Library and item paths have none: the library API has many operations the catalog
/// leaves out (create, update, delete, copy…), which go to the tape or are unrecorded
/// routes, as on any other path.
fn allowed_methods(shape: Shape) -> Option<&'static str> {
    match shape {
        Shape::Sessions => Some("GET, POST"),
        Shape::Session => Some("GET, POST, DELETE"),
        Shape::Files => Some("GET"),
        Shape::File => Some("POST"),
        Shape::SessionFiles => Some("GET, POST"),
        Shape::Libraries | Shape::Library | Shape::Items | Shape::Item => None,
    }
}

/// The one action the query asks for: `~action` on `/rest` and reference paths,
/// `action` on `/api`. Several different actions ask for none.
fn action_of(flavour: Flavour, query: Option<&str>) -> Option<String> {
    let name = match flavour {
        Flavour::Api | Flavour::JsonRpc => "action",
        Flavour::Rest | Flavour::Reference => "~action",
    };
    let mut actions = parameter(query, name);
    let first = actions.next()?;
    actions
        .all(|other| other == first)
        .then(|| first.into_owned())
}

fn parameter<'a>(query: Option<&'a str>, name: &'a str) -> impl Iterator<Item = Cow<'a, str>> + 'a {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value)
}

fn has_parameter(query: Option<&str>, name: &str) -> bool {
    parameter(query, name).next().is_some()
}

const REST_SESSION: &str = "/rest/com/vmware/cis/session";
const API_SESSION: &str = "/api/session";

fn session_route(method: &Method, uri: &Uri) -> Option<Route> {
    let path = uri.path();
    let path = path.strip_suffix('/').unwrap_or(path);
    let asks_for_get = || action_of(Flavour::Rest, uri.query()).as_deref() == Some("get");
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

/// Recognises a whole request.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn recognise(request: &http::Request<bytes::Bytes>) -> Result<Operation, Rejection> {
    Ok(match route(request.method(), request.uri())? {
        Route::Call(pending) => Operation::Call(pending.complete(
            request.uri().query(),
            request.headers(),
            request.body(),
        )?),
        Route::MethodNotAllowed { allow, flavour } => {
            Operation::MethodNotAllowed { allow, flavour }
        }
        Route::Session { op, flavour } => Operation::Session { op, flavour },
        Route::Other => Operation::Other,
    })
}

impl PendingCall {
    /// Whether [`Self::complete`] needs the request body.
    pub(crate) fn needs_body(&self) -> bool {
        let inputs = &self.route.inputs;
        [inputs.session, inputs.file, inputs.item]
            .into_iter()
            .flatten()
            .chain(inputs.token.iter().copied())
            .chain(inputs.lookup.iter().map(|(_, source)| *source))
            .any(|source| {
                matches!(
                    source,
                    Source::Body(_) | Source::WholeBody | Source::GetInput
                )
            })
    }

    /// The style to answer in before the body has been read (e.g. a body that is too large).
    pub(crate) fn provisional_style(&self, headers: &HeaderMap) -> Style {
        self.style(headers, BodyKind::None)
    }

    fn style(&self, headers: &HeaderMap, body: BodyKind) -> Style {
        // XML is published for get only; every other operation answers JSON.
        let representation = match self.row.op {
            Op::Get => representation(headers, body),
            _ => Representation::Json,
        };
        Style {
            flavour: self.flavour,
            representation,
        }
    }

    /// Finishes recognition with the request's query, headers and (possibly empty) body.
    pub(crate) fn complete(
        mut self,
        query: Option<&str>,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<Call, Rejection> {
        let kind = if self.needs_body() {
            body_kind(headers, body)
        } else {
            BodyKind::None
        };
        let style = self.style(headers, kind);
        let request = Fields {
            query,
            headers,
            body: BodyView::new(kind, body, style),
            style,
        };
        let inputs = &self.route.inputs;
        let mut form = None;
        let key = match self.row.key {
            Key::Session => {
                let (id, how) = self.session_id(&request)?;
                form = Some(how);
                CallKey::Session(id)
            }
            Key::SessionFile => {
                let (id, _) = self.session_id(&request)?;
                let file = request.required("file_name", inputs.file)?;
                CallKey::File(id, check_name("file_name", file, style)?)
            }
            Key::Create => {
                let item = request.required("library_item_id", inputs.item)?;
                let token = request.first_of(inputs.token)?;
                CallKey::Create {
                    item: check_name("library_item_id", item, style)?,
                    token: token
                        .map(|token| check_name("client_token", token, style))
                        .transpose()?,
                }
            }
            Key::ItemFilter => {
                let item = request.optional(inputs.item)?;
                CallKey::Items(
                    item.map(|item| check_name("library_item_id", item, style))
                        .transpose()?,
                )
            }
            Key::Lookup => CallKey::Lookup(self.lookup_key(&request)?),
        };
        let form = match self.row.op {
            Op::Get => form.map(|how| self.get_form(how, kind)),
            _ => None,
        };
        Ok(Call {
            op: self.row.op,
            key,
            style,
            form,
        })
    }

    /// The session id and where it came from.
    fn session_id(&mut self, request: &Fields<'_>) -> Result<(SessionId, IdFrom), Rejection> {
        let style = request.style;
        match self.route.inputs.session {
            Some(Source::Path) => Ok((
                self.path_id
                    .take()
                    .expect("path routes carry a validated id, read once"),
                IdFrom::Path,
            )),
            Some(Source::GetInput) => get_input_id(request),
            source => {
                let raw = request.required(ID_PARAMETER, source)?;
                Ok((parse_id(&raw, style)?, IdFrom::Query))
            }
        }
    }

    /// A lookup's named inputs as canonical JSON: sorted keys, no whitespace, so that
    /// key order and spacing in the request do not matter.
    fn lookup_key(&self, request: &Fields<'_>) -> Result<String, Rejection> {
        // Sorted by name like a JSON object (serde_json's map is sorted too), with the
        // body's values borrowed rather than copied.
        let mut key: BTreeMap<&str, Cow<'_, serde_json::Value>> = BTreeMap::new();
        for (name, source) in self.route.inputs.lookup {
            let value = match source {
                Source::Path => {
                    let raw = self.path_name.clone().unwrap_or_default();
                    Some(text_value(check_name(name, raw, request.style)?))
                }
                Source::Query(_) => request
                    .read(*source)?
                    .map(|value| check_name(name, value, request.style))
                    .transpose()?
                    .map(text_value),
                Source::Body(path) => Some(Cow::Borrowed(
                    request.body.value_at(path)?.ok_or_else(|| {
                        Rejection::invalid_argument(
                            "dsvcr.request.missing_input",
                            format!("no {} in the JSON body", path.join(".")),
                            request.style,
                        )
                    })?,
                )),
                Source::WholeBody => Some(Cow::Borrowed(request.body.object()?)),
                Source::Header(_) | Source::GetInput => request.read(*source)?.map(text_value),
            };
            if let Some(value) = value {
                key.insert(name, value);
            }
        }
        Ok(serde_json::to_string(&key).expect("JSON values serialise"))
    }

    fn get_form(&self, from: IdFrom, kind: BodyKind) -> Form {
        match (self.flavour, self.route.method == Verb::Get, from) {
            (Flavour::Api, _, _) => Form::Api,
            (_, true, _) => Form::GetById,
            (_, false, IdFrom::Path) => Form::PostById,
            (_, false, IdFrom::Query) => Form::CollectionQuery,
            (_, false, IdFrom::Body) if kind == BodyKind::Xml => Form::CollectionXmlBody,
            (_, false, IdFrom::Body) => Form::CollectionJsonBody,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IdFrom {
    Path,
    Query,
    Body,
}

/// A request's query, headers and body, for reading input fields.
struct Fields<'a> {
    query: Option<&'a str>,
    headers: &'a HeaderMap,
    body: BodyView<'a>,
    style: Style,
}

/// A body as input fields are read from it: parsed once, on first use.
struct BodyView<'a> {
    kind: BodyKind,
    raw: &'a [u8],
    json: std::cell::OnceCell<Result<serde_json::Value, Rejection>>,
    style: Style,
}

impl<'a> BodyView<'a> {
    fn new(kind: BodyKind, raw: &'a [u8], style: Style) -> Self {
        BodyView {
            kind,
            raw,
            json: std::cell::OnceCell::new(),
            style,
        }
    }

    /// The body as a JSON object; an empty body is an empty object.
    fn object(&self) -> Result<&serde_json::Value, Rejection> {
        self.json
            .get_or_init(|| match self.kind {
                BodyKind::None => Ok(serde_json::Value::Object(Default::default())),
                BodyKind::Xml => Err(Rejection::invalid_argument(
                    "dsvcr.request.xml_not_supported",
                    "this operation takes a JSON body; XML is published for download_session.get only"
                        .to_owned(),
                    self.style,
                )),
                BodyKind::Json => parse_json_object(self.raw, self.style),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The JSON value at `path`, if there is one.
    fn value_at(&self, path: &[&str]) -> Result<Option<&serde_json::Value>, Rejection> {
        let mut value = self.object()?;
        for name in path {
            match value.get(name) {
                Some(inner) => value = inner,
                None => return Ok(None),
            }
        }
        Ok(Some(value))
    }

    fn string_at(&self, path: &[&str]) -> Result<Option<String>, Rejection> {
        let mut value = self.object()?;
        for (depth, name) in path.iter().enumerate() {
            match value.get(name) {
                Some(inner) => value = inner,
                None if value.is_object() || depth == 0 => return Ok(None),
                None => {
                    return Err(malformed(
                        format!(
                            "{} in the JSON body must be an object",
                            path[..depth].join(".")
                        ),
                        self.style,
                    ))
                }
            }
        }
        match value {
            serde_json::Value::String(text) => Ok(Some(text.clone())),
            serde_json::Value::Null => Ok(None),
            other => Err(malformed(
                format!(
                    "{} in the JSON body must be a string, not {other}",
                    path.join(".")
                ),
                self.style,
            )),
        }
    }
}

fn text_value<'a>(text: String) -> Cow<'a, serde_json::Value> {
    Cow::Owned(serde_json::Value::String(text))
}

fn malformed(message: String, style: Style) -> Rejection {
    Rejection::invalid_argument("dsvcr.request.malformed_json", message, style)
}

fn parse_json_object(body: &[u8], style: Style) -> Result<serde_json::Value, Rejection> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| malformed(format!("malformed JSON body: {err}"), style))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(malformed(
            "the JSON body must be an object".to_owned(),
            style,
        ))
    }
}

impl Fields<'_> {
    fn read(&self, source: Source) -> Result<Option<String>, Rejection> {
        match source {
            Source::Query(name) => single_parameter(self.query, name, self.style),
            Source::Header(name) => Ok(self
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)),
            Source::Body(path) => self.body.string_at(path),
            Source::Path | Source::GetInput | Source::WholeBody => Ok(None),
        }
    }

    fn first_of(&self, sources: &[Source]) -> Result<Option<String>, Rejection> {
        for source in sources {
            if let Some(value) = self.read(*source)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    fn optional(&self, source: Option<Source>) -> Result<Option<String>, Rejection> {
        source.map_or(Ok(None), |source| self.read(source))
    }

    fn required(&self, name: &str, source: Option<Source>) -> Result<String, Rejection> {
        self.optional(source)?.ok_or_else(|| {
            let place = match source {
                Some(Source::Query(_)) => "the query",
                Some(Source::Header(_)) => "the headers",
                _ => "the JSON body",
            };
            Rejection::invalid_argument(
                "dsvcr.request.missing_input",
                format!("no {name} in {place}"),
                self.style,
            )
        })
    }
}

/// A query parameter given once, or several times with one value.
fn single_parameter(
    query: Option<&str>,
    name: &str,
    style: Style,
) -> Result<Option<String>, Rejection> {
    let mut values = parameter(query, name);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.all(|other| other == first) {
        Ok(Some(first.into_owned()))
    } else {
        Err(Rejection::invalid_argument(
            "dsvcr.request.conflicting_ids",
            format!("the query gives {name} more than once, with different values"),
            style,
        ))
    }
}

/// Form C's id: in a JSON body, an XML `Get-Input` body or the query; body and query
/// must agree.
fn get_input_id(request: &Fields<'_>) -> Result<(SessionId, IdFrom), Rejection> {
    let style = request.style;
    let query_id = single_parameter(request.query, ID_PARAMETER, style)?;
    let from_body = match request.body.kind {
        BodyKind::None => None,
        BodyKind::Json => Some(json_body_id(request.body.raw, style)?),
        BodyKind::Xml => Some(xml_body_id(request.body.raw, style)?),
    };
    let (raw, from) = match (from_body, query_id) {
        (Some(body_id), Some(query_id)) if body_id != query_id => {
            return Err(Rejection::invalid_argument(
                "dsvcr.request.conflicting_ids",
                format!(
                    "the body asks for download_session_id {body_id:?} but the query asks for {query_id:?}"
                ),
                style,
            ))
        }
        (Some(body_id), _) => (body_id, IdFrom::Body),
        (None, Some(query_id)) => (query_id, IdFrom::Query),
        (None, None) => {
            return Err(Rejection::invalid_argument(
                "dsvcr.request.missing_id",
                "no download_session_id: send it in a JSON body, an XML Get-Input body or the query"
                    .to_owned(),
                style,
            ))
        }
    };
    Ok((parse_id(&raw, style)?, from))
}

fn json_body_id(body: &[u8], style: Style) -> Result<String, Rejection> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| malformed(format!("malformed JSON body: {err}"), style))?;
    match value.get(ID_PARAMETER) {
        Some(serde_json::Value::String(id)) => Ok(id.clone()),
        Some(other) => Err(malformed(
            format!("download_session_id in the JSON body must be a string, not {other}"),
            style,
        )),
        None if value.is_object() => Err(malformed(
            "the JSON body has no download_session_id".to_owned(),
            style,
        )),
        None => Err(malformed(
            "the JSON body must be an object with a download_session_id".to_owned(),
            style,
        )),
    }
}

fn xml_body_id(body: &[u8], style: Style) -> Result<String, Rejection> {
    xml::parse_get_input(body).map_err(|err| {
        Rejection::invalid_argument("dsvcr.request.malformed_xml", format!("{err}"), style)
    })
}

pub(crate) fn parse_id(raw: &str, style: Style) -> Result<SessionId, Rejection> {
    SessionId::parse(raw).map_err(|err| {
        Rejection::invalid_argument("dsvcr.request.invalid_id", err.to_string(), style)
    })
}

/// Longest file name, library item id or client token accepted, in bytes.
pub(crate) const MAX_NAME_BYTES: usize = 1024;

/// A file name, library item id or client token: non-empty, bounded, no control
/// characters. They are stored inside cassettes, never used as file names.
pub(crate) fn check_name(field: &str, value: String, style: Style) -> Result<String, Rejection> {
    let problem = if value.is_empty() {
        Some(format!("{field} is empty"))
    } else if value.len() > MAX_NAME_BYTES {
        Some(format!(
            "{field} is {} bytes long; the limit is {MAX_NAME_BYTES}",
            value.len()
        ))
    } else if value.chars().any(char::is_control) {
        Some(format!("{field} {value:?} contains a control character"))
    } else {
        None
    };
    match problem {
        Some(problem) => Err(Rejection::invalid_argument(
            "dsvcr.request.invalid_input",
            problem,
            style,
        )),
        None => Ok(value),
    }
}

/// Finds the catalogued resource a path names, ignoring one trailing slash and
/// percent-encoding in any segment.
fn resource_of(path: &str) -> Option<(Flavour, Resource<'_>)> {
    let path = path.strip_suffix('/').unwrap_or(path);
    let flavour = Flavour::of_path(path);
    let (prefix, literal) = match flavour {
        Flavour::Rest => (REST_PREFIX, REST_LITERAL),
        Flavour::Reference => (REFERENCE_PREFIX, REFERENCE_LITERAL),
        Flavour::Api | Flavour::JsonRpc => (API_PREFIX, API_LITERAL),
    };
    let rest = path.strip_prefix('/')?;
    // Nearly every path spells its prefix literally: one comparison instead of one per segment.
    let rest = match strip_literal(rest, literal) {
        Some(rest) => rest,
        None => prefix
            .iter()
            .try_fold(rest, |rest, expected| strip_segment(rest, expected))?,
    };
    let rest_flavour = flavour != Flavour::Api;
    if let Some(sessions) = strip_literal(rest, ITEMS_SESSIONS) {
        return sessions_resource(flavour, sessions);
    }
    let Some(under_items) = strip_segment(rest, ITEMS) else {
        // A library: `…/library` or `…/library/id:L` (`/rest`), `…/library/L` (`/api`).
        return one_item(rest, rest_flavour, Shape::Libraries, Shape::Library)
            .map(|r| (flavour, r));
    };
    if rest_flavour {
        if let Some(after) = REST_FILES
            .iter()
            .try_fold(under_items, |rest, expected| strip_segment(rest, expected))
        {
            return rest_item(after, Shape::Files, Shape::File).map(|r| (flavour, r));
        }
    }
    let Some(sessions) = strip_segment(under_items, SESSIONS) else {
        return one_item(under_items, rest_flavour, Shape::Items, Shape::Item)
            .map(|r| (flavour, r));
    };
    sessions_resource(flavour, sessions)
}

/// The download-session resource named by what follows `…/item/download-session`.
fn sessions_resource(flavour: Flavour, sessions: &str) -> Option<(Flavour, Resource<'_>)> {
    let resource = match flavour {
        Flavour::Api | Flavour::JsonRpc => api_item(sessions),
        Flavour::Rest | Flavour::Reference => rest_item(sessions, Shape::Sessions, Shape::Session)?,
    };
    Some((flavour, resource))
}

/// A collection or one member of it named by a single segment (`id:X` on `/rest`).
fn one_item(
    rest: &str,
    rest_flavour: bool,
    collection: Shape,
    item: Shape,
) -> Option<Resource<'_>> {
    if rest.contains('/') {
        return None;
    }
    if rest_flavour {
        return rest_item(rest, collection, item);
    }
    let id = (!rest.is_empty()).then(|| decode_joined(rest));
    Some(Resource {
        shape: if id.is_some() { item } else { collection },
        id,
    })
}

/// What follows a matched segment: `""` when the path ends there, the rest after its
/// `/` otherwise; `None` if the next segment is not `expected`.
fn strip_segment<'a>(rest: &'a str, expected: &str) -> Option<&'a str> {
    if let Some(after) = strip_literal(rest, expected) {
        return Some(after);
    }
    let (segment, after) = rest.split_once('/').unwrap_or((rest, ""));
    if !segment.contains('%') || decode(segment).as_deref() != Some(expected) {
        return None;
    }
    Some(after)
}

/// What follows `literal` (segments spelt exactly, joined by `/`) when `rest` starts
/// with it and a segment ends there.
fn strip_literal<'a>(rest: &'a str, literal: &str) -> Option<&'a str> {
    let after = rest.strip_prefix(literal)?;
    match after.as_bytes().first() {
        None => Some(""),
        Some(b'/') => Some(&after[1..]),
        Some(_) => None,
    }
}

/// A `/rest` collection or `id:ID` item. An id is one segment; more segments are kept
/// so that the id check names the '/'.
fn rest_item(rest: &str, collection: Shape, item: Shape) -> Option<Resource<'_>> {
    if rest.is_empty() {
        return Some(Resource {
            shape: collection,
            id: None,
        });
    }
    let id = match decode_joined(rest) {
        Cow::Borrowed(id) => Cow::Borrowed(id.strip_prefix("id:")?),
        Cow::Owned(id) => Cow::Owned(id.strip_prefix("id:")?.to_owned()),
    };
    Some(Resource {
        shape: item,
        id: Some(id),
    })
}

/// An `/api` collection, `ID` or `ID/file`.
fn api_item(rest: &str) -> Resource<'_> {
    if rest.is_empty() {
        return Resource {
            shape: Shape::Sessions,
            id: None,
        };
    }
    if let Some((id, files)) = rest.split_once('/') {
        if !id.is_empty() && decode(files).as_deref() == Some(API_FILES) {
            return Resource {
                shape: Shape::SessionFiles,
                id: Some(decode_joined(id)),
            };
        }
    }
    Resource {
        shape: Shape::Session,
        id: Some(decode_joined(rest)),
    }
}

/// Every segment of `rest` percent-decoded (a segment that is not UTF-8 is kept as
/// sent), borrowed when nothing needed decoding.
fn decode_joined(rest: &str) -> Cow<'_, str> {
    if !rest.contains('%') {
        return Cow::Borrowed(rest);
    }
    Cow::Owned(
        rest.split('/')
            .map(|segment| decode(segment).unwrap_or(Cow::Borrowed(segment)))
            .collect::<Vec<_>>()
            .join("/"),
    )
}

/// A segment percent-decoded, borrowed when it holds no `%`; `None` if not UTF-8.
fn decode(segment: &str) -> Option<Cow<'_, str>> {
    if !segment.contains('%') {
        return Some(Cow::Borrowed(segment));
    }
    percent_decode_str(segment).decode_utf8().ok()
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
