//! The tape: exact-match exchanges for every request that is not a catalogued
//! operation, a login or logout, or dsvcr's own (a version check, a datastore lookup).
//!
//! A request is keyed by its method, its path, its query parameters in canonical order
//! and its body: canonical JSON when it is JSON, a vim25 SOAP call's canonical form
//! ([`SoapKey`]: operation, `_this`, arguments, without session keys or secrets),
//! otherwise its SHA-256. The answer keeps its status, its content type and its body.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_SECURITY_POLICY, CONTENT_TYPE, X_CONTENT_TYPE_OPTIONS};
use http::{Method, Response, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::body::{full, Body};

/// Largest answer the tape keeps, in bytes; larger answers pass through untaped.
pub(crate) const MAX_TAPED_ANSWER_BYTES: usize = 1024 * 1024;

/// What identifies a taped request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TapeKey {
    pub(crate) method: String,
    pub(crate) path: String,
    /// The query parameters, decoded and sorted by name, then value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) query: Vec<(String, String)>,
    /// A JSON body, canonical (sorted keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body: Option<serde_json::Value>,
    /// The SHA-256 of a body that is not JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) body_sha256: Option<String>,
    /// A vim25 SOAP call, in canonical form (its body is keyed by nothing else).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) soap: Option<SoapKey>,
}

/// The canonical form of a SOAP request, as a tape keeps it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SoapKey {
    pub(crate) operation: String,
    /// `_this`, as `Type:id` (a session-scoped id without its session key).
    pub(crate) this: String,
    /// The arguments after `_this`, in order, each as `{"name": value}`: a value is its
    /// text, or a list of its children when it has any; attributes are `@type` and
    /// `@xsi:type` entries, text beside them `#text`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) arguments: Vec<Value>,
}

/// An emptied session-scoped id's prefix, as the tape keeps it.
pub(crate) const SESSION_SCOPED_EMPTY: &str = "session[]";

/// `text` with every `session[…]` prefix emptied: `session[KEY]UUID` → `session[]UUID`.
pub(crate) fn without_session_keys(text: &str) -> String {
    rewrite_session_keys(text, "")
}

/// `text` with every `session[…]` prefix holding `key`.
pub(crate) fn with_session_key(text: &str, key: &str) -> String {
    rewrite_session_keys(text, key)
}

const SESSION_OPEN: &str = "session[";

fn rewrite_session_keys(text: &str, key: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(SESSION_OPEN) {
        let (before, after) = rest.split_at(at + SESSION_OPEN.len());
        out.push_str(before);
        match after.find(']') {
            // A session key never holds markup or spaces; anything else is not one.
            Some(end) if is_session_key(&after[..end]) => {
                out.push_str(key);
                rest = &after[end..];
            }
            _ => rest = after,
        }
    }
    out.push_str(rest);
    out
}

fn is_session_key(text: &str) -> bool {
    text.len() <= 128
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

impl TapeKey {
    pub(crate) fn of(method: &Method, uri: &Uri, body: &[u8]) -> Self {
        let raw_path = uri.path();
        let path = match raw_path.strip_suffix('/') {
            Some(trimmed) if !trimmed.is_empty() => trimmed,
            _ => raw_path,
        };
        let mut query: Vec<(String, String)> =
            form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
        query.sort();
        let (body, body_sha256) = if body.iter().all(u8::is_ascii_whitespace) {
            (None, None)
        } else {
            // A body with no canonical form that stands for it alone (`null`, a repeated
            // member, a number that does not read back as written) is keyed by its bytes.
            match crate::canonical_json::canonical(body) {
                Some(json) => (Some(json), None),
                None => (None, Some(sha256_hex(body))),
            }
        };
        TapeKey {
            method: method.as_str().to_owned(),
            path: path.to_owned(),
            query,
            body,
            body_sha256,
            soap: None,
        }
    }

    /// The key of a SOAP call to `uri`: its path, query and canonical form.
    pub(crate) fn of_soap(method: &Method, uri: &Uri, soap: SoapKey) -> Self {
        TapeKey {
            soap: Some(soap),
            ..TapeKey::of(method, uri, b"")
        }
    }

    /// The key as one canonical string (JSON objects keep their keys sorted).
    pub(crate) fn canonical(&self) -> String {
        serde_json::to_string(self).expect("keys serialise")
    }

    /// A short, safe, case-distinct file name for this key. The method leads it when it is
    /// a plain word of letters (any token is a method: `.x` would make a hidden file the
    /// loader skips, a long one a name too long to create); other methods are `other`.
    pub(crate) fn file_name(&self) -> String {
        let hash = sha256_hex(self.canonical().as_bytes());
        let method = &self.method;
        let plain = (1..=MAX_METHOD_IN_NAME).contains(&method.len())
            && method.bytes().all(|byte| byte.is_ascii_alphabetic());
        let lead = match &self.soap {
            Some(soap) if is_plain_word(&soap.operation, MAX_OPERATION_IN_NAME) => {
                format!("soap-{}", soap.operation.to_ascii_lowercase())
            }
            Some(_) => "soap".to_owned(),
            None if plain => method.to_ascii_lowercase(),
            None => "other".to_owned(),
        };
        format!("{lead}-{}.json", &hash[..16])
    }
}

/// Longest method spelled in a tape's file name.
const MAX_METHOD_IN_NAME: usize = 16;

/// Longest SOAP operation spelled in a tape's file name (vim25's longest is about 50).
const MAX_OPERATION_IN_NAME: usize = 64;

fn is_plain_word(word: &str, max: usize) -> bool {
    (1..=max).contains(&word.len())
        && word
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

impl std::fmt::Display for TapeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)?;
        match &self.soap {
            Some(soap) => write!(f, " {}", soap.operation),
            None => Ok(()),
        }
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A taped answer: status, content type and body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TapeAnswer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
    pub(crate) body: TapeBody,
}

/// A body as the tape keeps it: JSON as JSON, other UTF-8 text as text, anything else in
/// base64.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum TapeBody {
    Json(serde_json::Value),
    Text(String),
    Base64(String),
    Empty,
}

/// One answer in a tape's timeline, served `repeat` times in a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTapeEntry", into = "RawTapeEntry")]
pub(crate) struct TapeEntry {
    pub(crate) repeat: u32,
    pub(crate) answer: TapeAnswer,
}

/// The entry as spelled in a tape file: at most one of `json`, `text` and `base64`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTapeEntry {
    status: u16,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    json: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base64: Option<String>,
}

fn one() -> u32 {
    1
}

fn is_one(repeat: &u32) -> bool {
    *repeat == 1
}

impl TryFrom<RawTapeEntry> for TapeEntry {
    type Error = String;

    fn try_from(raw: RawTapeEntry) -> Result<Self, String> {
        if raw.repeat == 0 {
            return Err("repeat must be at least 1".to_owned());
        }
        let body = match (raw.json, raw.text, raw.base64) {
            (None, None, None) => TapeBody::Empty,
            (Some(json), None, None) => TapeBody::Json(json),
            (None, Some(text), None) => TapeBody::Text(text),
            (None, None, Some(base64)) => TapeBody::Base64(base64),
            _ => return Err("an answer holds at most one of json, text and base64".to_owned()),
        };
        let answer = TapeAnswer {
            status: raw.status,
            content_type: raw.content_type,
            body,
        };
        answer.check()?;
        Ok(TapeEntry {
            repeat: raw.repeat,
            answer,
        })
    }
}

impl From<TapeEntry> for RawTapeEntry {
    fn from(entry: TapeEntry) -> Self {
        let answer = entry.answer;
        let mut raw = RawTapeEntry {
            status: answer.status,
            repeat: entry.repeat,
            content_type: answer.content_type,
            json: None,
            text: None,
            base64: None,
        };
        match answer.body {
            TapeBody::Json(json) => raw.json = Some(json),
            TapeBody::Text(text) => raw.text = Some(text),
            TapeBody::Base64(base64) => raw.base64 = Some(base64),
            TapeBody::Empty => {}
        }
        raw
    }
}

impl TapeAnswer {
    pub(crate) fn of(answer: &http::response::Parts, body: &[u8]) -> Self {
        let content_type = answer
            .headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        TapeAnswer {
            status: answer.status.as_u16(),
            content_type,
            body: TapeBody::of(body),
        }
    }

    /// Why the tape refuses this answer, if it does.
    pub(crate) fn check(&self) -> Result<(), String> {
        // A 1xx is not a final answer: sent as one, it breaks the connection.
        if !(200..=599).contains(&self.status) {
            return Err(format!(
                "status {} is not the status of a final answer (200 to 599)",
                self.status
            ));
        }
        if matches!(self.status, 204 | 205 | 304) && !matches!(self.body, TapeBody::Empty) {
            return Err(format!("a {} answer has no body", self.status));
        }
        if let TapeBody::Base64(text) = &self.body {
            STANDARD
                .decode(text)
                .map_err(|err| format!("base64 body: {err}"))?;
        }
        if let Some(kind) = &self.content_type {
            HeaderValue::from_str(kind).map_err(|err| format!("content_type: {err}"))?;
        }
        Ok(())
    }

    /// The answer ready to be sent any number of times (already checked when its
    /// cassette loaded): its body decoded and its content type parsed once.
    pub(crate) fn prepared(&self) -> PreparedTapeAnswer {
        PreparedTapeAnswer {
            status: StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            content_type: self
                .content_type
                .as_deref()
                .and_then(|kind| HeaderValue::from_str(kind).ok()),
            body: self.body.bytes(),
            session_scoped: matches!(&self.body, TapeBody::Text(text) if text.contains(SESSION_SCOPED_EMPTY)),
        }
    }
}

impl PreparedTapeAnswer {
    /// The answer for a SOAP caller whose session key is `key`: the session-scoped ids
    /// recorded without a key (`session[]…`) get the caller's.
    pub(crate) fn soap_response(&self, key: Option<&str>) -> Response<Body> {
        let mut response = self.response();
        let (Some(key), true) = (key, self.session_scoped) else {
            return response;
        };
        if let Ok(text) = std::str::from_utf8(&self.body) {
            *response.body_mut() = full(Bytes::from(with_session_key(text, key)));
        }
        response
    }
}

/// A taped answer as replay sends it.
#[derive(Clone, Debug)]
pub(crate) struct PreparedTapeAnswer {
    status: StatusCode,
    content_type: Option<HeaderValue>,
    body: Bytes,
    /// Whether the body holds session-scoped ids kept without their key (`session[]…`),
    /// found once when the cassette loads rather than on every answer.
    session_scoped: bool,
}

impl PreparedTapeAnswer {
    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = Response::new(full(self.body.clone()));
        *response.status_mut() = self.status;
        if let Some(value) = &self.content_type {
            response.headers_mut().insert(CONTENT_TYPE, value.clone());
        }
        sandboxed(response)
    }
}

impl TapeBody {
    fn of(body: &[u8]) -> Self {
        if body.is_empty() {
            return TapeBody::Empty;
        }
        if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
            // Kept as JSON only when it reads back to the same bytes (otherwise the
            // spacing would change), and never `null`, which the file cannot tell from
            // no body: that is kept as text.
            if !json.is_null() && serde_json::to_vec(&json).is_ok_and(|written| written == body) {
                return TapeBody::Json(json);
            }
        }
        match std::str::from_utf8(body) {
            Ok(text) => TapeBody::Text(text.to_owned()),
            Err(_) => TapeBody::Base64(STANDARD.encode(body)),
        }
    }

    fn bytes(&self) -> Bytes {
        match self {
            TapeBody::Json(json) => Bytes::from(serde_json::to_vec(json).expect("JSON serialises")),
            TapeBody::Text(text) => Bytes::from(text.clone()),
            TapeBody::Base64(text) => Bytes::from(STANDARD.decode(text).unwrap_or_default()),
            TapeBody::Empty => Bytes::new(),
        }
    }
}

/// What taped answers are sent with: never sniffed, and sandboxed if rendered (no
/// script, no same-origin access, nothing loaded).
const SANDBOX: &str = "sandbox; default-src 'none'";

/// `response` with the headers that keep a browser from running it as dsvcr's page.
pub(crate) fn sandboxed(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keys_are_emptied_and_filled_in() {
        let text = "<returnval type=\"PropertyCollector\">session[9df7-a]c3</returnval> session[not a key]x";
        let emptied = without_session_keys(text);
        assert_eq!(
            emptied,
            "<returnval type=\"PropertyCollector\">session[]c3</returnval> session[not a key]x"
        );
        assert_eq!(
            with_session_key(&emptied, "K2"),
            "<returnval type=\"PropertyCollector\">session[K2]c3</returnval> session[not a key]x"
        );
    }

    fn key(method: &str, uri: &str, body: &str) -> TapeKey {
        TapeKey::of(
            &method.parse().unwrap(),
            &uri.parse().unwrap(),
            body.as_bytes(),
        )
    }

    #[test]
    fn a_tape_file_is_named_by_a_plain_method_or_other_never_hidden_or_long() {
        let name = |method: &str| key(method, "/rest/vcenter/vm", "").file_name();
        assert!(name("GET").starts_with("get-"), "{}", name("GET"));
        assert!(name("PROPFIND").starts_with("propfind-"));
        for odd in [".x", "A.B", &"X".repeat(300), "M-SEARCH"] {
            let file = name(odd);
            assert!(file.starts_with("other-"), "{odd}: {file}");
            assert_eq!(file.len(), "other-".len() + 16 + ".json".len());
        }
        assert_ne!(name(".x"), name("A.B"), "the hash still tells them apart");
    }

    #[test]
    fn keys_see_through_query_order_and_json_spacing() {
        let a = key("POST", "/rest/vcenter/vm?b=2&a=1", r#"{"x":1,"y":[1,2]}"#);
        let b = key(
            "POST",
            "/rest/vcenter/vm/?a=1&b=2",
            "{ \"y\": [1, 2],\n \"x\": 1 }",
        );
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.file_name(), b.file_name());
        assert_ne!(
            a,
            key("POST", "/rest/vcenter/vm?a=1&b=3", r#"{"x":1,"y":[1,2]}"#)
        );
        assert_ne!(
            a,
            key("GET", "/rest/vcenter/vm?a=1&b=2", r#"{"x":1,"y":[1,2]}"#)
        );
        let text = key("PUT", "/x", "not json");
        assert_eq!(text.body, None);
        assert_eq!(
            text.body_sha256.as_deref(),
            Some(&sha256_hex(b"not json")[..])
        );
        let repeated = key("POST", "/x", r#"{"a":1,"a":2}"#);
        assert_eq!(repeated.body, None);
        assert_ne!(repeated, key("POST", "/x", r#"{"a":2}"#));
        assert_ne!(
            key("POST", "/x", r#"{"n":1E2}"#),
            key("POST", "/x", r#"{"n":100.0}"#)
        );
        assert_eq!(
            key("GET", "/rest/appliance/system/version", "").canonical(),
            r#"{"method":"GET","path":"/rest/appliance/system/version"}"#
        );
    }

    #[test]
    fn bodies_read_back_as_they_were_sent() {
        for body in [
            &b"{\"value\":[1,2]}"[..],
            b"{ \"spaced\": true }",
            b"plain text",
            &[0xff, 0x00, 0x7f],
            b"",
        ] {
            let answer = TapeBody::of(body);
            assert_eq!(answer.bytes(), Bytes::copy_from_slice(body), "{answer:?}");
        }
        assert!(matches!(TapeBody::of(b"{\"a\":1}"), TapeBody::Json(_)));
        assert!(matches!(TapeBody::of(b"{ \"a\": 1 }"), TapeBody::Text(_)));
        assert!(matches!(TapeBody::of(&[0xff]), TapeBody::Base64(_)));
    }

    /// Found by a newcomer: a `null` body could not be taped (500, exit 4). It is kept as
    /// text and reads back as `null`; a `null` request body is keyed by its bytes.
    #[test]
    fn a_null_body_is_taped_and_keyed() {
        let entry = TapeEntry {
            repeat: 1,
            answer: TapeAnswer {
                status: 200,
                content_type: Some("application/json".to_owned()),
                body: TapeBody::of(b"null"),
            },
        };
        let written = serde_json::to_string(&entry).unwrap();
        let read: TapeEntry = serde_json::from_str(&written).unwrap();
        assert_eq!(read, entry, "{written}");
        assert_eq!(read.answer.body.bytes(), Bytes::from_static(b"null"));
        let keyed = key("POST", "/x", "null");
        assert_eq!(keyed.body, None);
        assert_eq!(keyed.body_sha256, Some(sha256_hex(b"null")));
        let canonical = keyed.canonical();
        let back: TapeKey = serde_json::from_str(&canonical).unwrap();
        assert_eq!(back, keyed);
    }

    /// Hand-written tapes: a 1xx breaks the connection, and 204, 205 and 304 carry no
    /// body, so such answers are refused when the tape loads.
    #[test]
    fn only_final_statuses_and_no_body_where_http_has_none() {
        let answer = |status, body| TapeAnswer {
            status,
            content_type: None,
            body,
        };
        assert_eq!(
            answer(101, TapeBody::Empty).check(),
            Err("status 101 is not the status of a final answer (200 to 599)".to_owned())
        );
        assert!(answer(199, TapeBody::Empty).check().is_err());
        for status in [204, 205, 304] {
            assert_eq!(
                answer(status, TapeBody::Text("x".to_owned())).check(),
                Err(format!("a {status} answer has no body"))
            );
            assert_eq!(answer(status, TapeBody::Empty).check(), Ok(()));
        }
        assert_eq!(answer(200, TapeBody::Text("x".to_owned())).check(), Ok(()));
        assert_eq!(answer(599, TapeBody::Empty).check(), Ok(()));
    }
}
