//! Shared HTTP plumbing: response bodies, the two REST flavours' envelopes, request parsing.

use bytes::Bytes;
use http::{header, HeaderMap, Response, StatusCode};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use super::vapi::VapiError;

pub(super) type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub(super) type Reply = Response<BoxBody<Bytes, BoxError>>;

pub(super) const JSON: &str = "application/json";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Flavor {
    /// `/rest`: `{"value": …}` envelopes, `~action`, 200 for everything.
    Rest,
    /// `/api`: bare bodies, `action`, 201 for create, 204 for void operations.
    Api,
}

pub(super) fn full(body: impl Into<Bytes>) -> BoxBody<Bytes, BoxError> {
    Full::new(body.into())
        .map_err(|never| match never {})
        .boxed()
}

pub(super) fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> Reply {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, content_type)
        .body(full(body))
        .unwrap()
}

pub(super) fn empty(status: StatusCode) -> Reply {
    Response::builder()
        .status(status)
        .body(full(Bytes::new()))
        .unwrap()
}

pub(super) fn not_found_page() -> Reply {
    respond(StatusCode::NOT_FOUND, "text/plain", "not found")
}

/// A success value in the flavour's envelope.
pub(super) fn value_body(flavor: Flavor, value: Value) -> String {
    match flavor {
        Flavor::Rest => json!({ "value": value }).to_string(),
        Flavor::Api => value.to_string(),
    }
}

pub(super) fn error_reply(flavor: Flavor, error: &VapiError) -> Reply {
    let inner = json!({"error_type": error.error_type(), "messages": error.plain_messages()});
    let body = match flavor {
        Flavor::Rest => json!({"type": error.name(), "value": inner}),
        Flavor::Api => inner,
    };
    respond(error.status(), JSON, body.to_string())
}

pub(super) fn unauthenticated(flavor: Flavor) -> Reply {
    error_reply(flavor, &VapiError::bare("unauthenticated"))
}

/// Decoded path without a trailing slash, and the query's pairs.
pub(super) fn split_uri(uri: &http::Uri) -> (String, Vec<(String, String)>) {
    let decoded = percent_encoding::percent_decode_str(uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let path = match decoded.strip_suffix('/') {
        Some(stripped) if !stripped.is_empty() => stripped.to_owned(),
        _ => decoded,
    };
    let query = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    (path, query)
}

pub(super) fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

/// A JSON request body; an empty body is `{}`.
pub(super) fn json_body(body: &[u8]) -> Result<Value, VapiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(json!({}));
    }
    serde_json::from_slice(body).map_err(|_| VapiError::invalid_argument("body"))
}
