//! Recognition: turning an HTTP request into a protocol-neutral [`Call`].
//!
//! It runs in two steps so that a server only reads a body when the operation needs
//! one: [`route`] looks at the method and URI alone and finds the operation's catalog
//! row, and [`PendingCall::complete`] reads the key fields from the headers and body.
//! [`recognise`] runs both on a whole request (tests and fuzzing).

use std::borrow::Cow;
use std::collections::BTreeMap;

use http::header::{ACCEPT, CONTENT_TYPE};
use http::{HeaderMap, Method, Uri};
use percent_encoding::percent_decode_str;

mod fields;
mod media;
mod path;

use fields::*;
use media::*;
use path::*;

use super::xml;
use crate::vapi::call::{Call, CallKey, SessionOp};
use crate::vapi::catalog::{Key, Op, Route as CatalogRoute, Row, Shape, Source, Verb, CATALOG};
use crate::vapi::id::SessionId;
use crate::vapi::rejection::{check_name, parse_id, Rejection};
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
            Key::Lookup => self.lookup_key(&request)?,
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
    fn lookup_key(&self, request: &Fields<'_>) -> Result<CallKey, Rejection> {
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
        Ok(CallKey::lookup(
            key.iter().map(|(name, value)| (*name, value.as_ref())),
        ))
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

#[cfg(test)]
mod tests;
