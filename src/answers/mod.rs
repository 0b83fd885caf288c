//! Every answer dsvcr writes as an HTTP response: its own errors, each mapped in one
//! place to a vAPI error response in the caller's style and marked with the
//! `x-dsvcr-synthetic` header (here, the upstream-failure mapping included); replies
//! from timelines in the caller's style, as both modes send them ([`reply()`]); and
//! JSON-RPC's envelopes and faults ([`rpc_response`]) and SOAP faults ([`soap`]).

mod reply;
pub(crate) mod rpc_response;
pub(crate) mod soap;

pub(crate) use reply::{reply, reply_with};

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE, RETRY_AFTER};
use http::{Method, Response, StatusCode};

use crate::body::{full, Body};
use crate::protocol::{self, Header, Unencodable};
use crate::upstream::UpstreamError;
use crate::vapi::Rejection;
use crate::vapi::{ErrorKind, LocalizableMessage, Style, VapiError};

/// Every response dsvcr writes itself, rather than from a recording, carries this header;
/// its value says why.
pub(crate) const SYNTHETIC_HEADER: &str = "x-dsvcr-synthetic";

/// The header on an answer dsvcr derived from the recordings; its value names the rule (the
/// operation).
pub(crate) const DERIVED_HEADER: &str = "x-dsvcr-derived";

/// An error answer of dsvcr's own making.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) error: VapiError,
    /// The value of [`SYNTHETIC_HEADER`].
    pub(crate) reason: &'static str,
    /// The `Allow` header of a 405.
    pub(crate) allow: Option<&'static str>,
}

impl ApiError {
    fn new(
        status: StatusCode,
        kind: ErrorKind,
        reason: &'static str,
        message_id: &str,
        message: String,
    ) -> Self {
        ApiError {
            status,
            error: VapiError::new(
                kind,
                LocalizableMessage::new(message_id, message, Vec::new()),
            ),
            reason,
            allow: None,
        }
    }

    /// A route dsvcr has no recording for (replay mode).
    pub(crate) fn no_recording(method: &Method, path_and_query: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::OperationNotFound,
            "no-recording-for-route",
            "dsvcr.route.not_recorded",
            format!(
                "dsvcr has no recording for {method} {path_and_query}: no cassette covers this route"
            ),
        )
    }

    /// A JSON-RPC call of an operation no cassette covers (replay mode).
    pub(crate) fn operation_not_covered(full_name: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::OperationNotFound,
            "no-recording-for-operation",
            "dsvcr.operation.not_covered",
            format!("dsvcr has no recording of {full_name}: no cassette covers this operation"),
        )
    }

    /// A catalogued operation the session's cassette holds no recording of.
    pub(crate) fn operation_not_recorded(call: &crate::vapi::Call) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::OperationNotFound,
            "no-recording",
            "dsvcr.operation.not_recorded",
            format!(
                "dsvcr has no recording of {} for {}",
                call.op.label(),
                call.key
            ),
        )
    }

    /// A recorded answer that cannot be written in the call's protocol: a library or item
    /// model that does not fit its vAPI schema, for a JSON-RPC caller.
    pub(crate) fn unencodable(call: &crate::vapi::Call, problem: &Unencodable) -> Self {
        let name = call.op.full_name();
        let mut error = Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::InternalServerError,
            "unencodable-answer",
            "dsvcr.answer.unencodable",
            format!("dsvcr cannot write the recorded answer of {name} in vAPI's typed encoding: {problem}"),
        );
        error.error.messages[0].args = std::iter::once(name.to_owned())
            .chain(problem.field())
            .collect();
        error
    }

    /// A create for a library item no create was recorded for.
    pub(crate) fn item_not_recorded(item: &str) -> Self {
        let mut error = Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            "no-cassette",
            "dsvcr.library_item.not_found",
            format!("No library item with id {item} exists (dsvcr has no recorded create for it)."),
        );
        error.error.messages[0].args = vec![item.to_owned()];
        error
    }

    /// A recorded `not_found` or other answer for a session id nothing recorded.
    pub(crate) fn no_cassette(error: VapiError) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            error,
            reason: "no-cassette",
            allow: None,
        }
    }

    pub(crate) fn method_not_allowed(method: &Method, allow: &'static str) -> Self {
        let mut error = Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::InvalidRequest,
            "method-not-allowed",
            "dsvcr.route.method_not_allowed",
            format!("{method} is not allowed on this path (allowed: {allow})"),
        );
        error.allow = Some(allow);
        error
    }

    pub(crate) fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::InvalidArgument,
            "body-too-large",
            "dsvcr.request.body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub(crate) fn body_unreadable(problem: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidArgument,
            "body-unreadable",
            "dsvcr.request.body_unreadable",
            format!("the request body could not be read: {problem}"),
        )
    }

    /// The upstream could not be reached or broke off (record mode).
    pub(crate) fn upstream_failed(reason: &'static str, message: String) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            ErrorKind::ServiceUnavailable,
            reason,
            "dsvcr.upstream.failed",
            message,
        )
    }

    pub(crate) fn upstream_timed_out(message: String) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::TimedOut,
            "upstream-timeout",
            "dsvcr.upstream.timed_out",
            message,
        )
    }

    /// A recording could not be made durable, so the answer is withheld.
    pub(crate) fn cassette_not_written(message: String) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::InternalServerError,
            "cassette-not-written",
            "dsvcr.cassette.not_written",
            message,
        )
    }

    /// A download endpoint dsvcr did not hand out: no recorded bytes (replay), or no
    /// answer in this run named it (record).
    pub(crate) fn unknown_download(path: &str, why: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            "unknown-download",
            "dsvcr.download.unknown",
            format!("dsvcr has no download at {path}: {why}"),
        )
    }

    /// A recorded blob could not be opened.
    pub(crate) fn blob_unreadable(message: String) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::InternalServerError,
            "blob-unreadable",
            "dsvcr.download.blob_unreadable",
            message,
        )
    }

    /// No credentials, or no live session (vCenter's own wording).
    pub(crate) fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "com.vmware.vapi.endpoint.method.authentication.required",
            "Authentication required.".to_owned(),
        )
    }

    pub(crate) fn invalid_argument(message_id: &str, message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidArgument,
            "invalid-request",
            message_id,
            message,
        )
    }

    pub(crate) fn no_cassette_to_reset(id: Option<&crate::vapi::SessionId>) -> Self {
        let id = id.map_or_else(String::new, ToString::to_string);
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            "no-cassette",
            "dsvcr.admin.no_cassette",
            format!("there is no cassette for download session {id} to reset"),
        )
    }

    /// 503: the bodies being buffered already take the whole budget.
    pub(crate) fn bodies_over_budget(max: usize) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::ServiceUnavailable,
            "body-budget-exhausted",
            "dsvcr.request.body_budget_exhausted",
            format!(
                "dsvcr is already buffering request bodies up to its limit of {max} bytes (--max-buffered-body-bytes); try again"
            ),
        )
    }

    /// 431: more headers than `--max-headers`.
    pub(crate) fn too_many_headers(max: usize) -> Self {
        Self::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ErrorKind::InvalidRequest,
            "too-many-headers",
            "dsvcr.request.too_many_headers",
            format!("the request has more than {max} headers (--max-headers)"),
        )
    }

    /// 403: an admin request from a client not on loopback, without
    /// `--admin-from-anywhere`.
    pub(crate) fn admin_not_from_loopback() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            ErrorKind::Unauthorized,
            "admin-not-from-loopback",
            "dsvcr.admin.not_from_loopback",
            "dsvcr's admin endpoints answer clients on loopback only; start dsvcr with --admin-from-anywhere to allow others".to_owned(),
        )
    }

    /// The response, in the caller's flavour and representation.
    pub(crate) fn into_response(self, style: Style) -> Response<Body> {
        self.rendered(style).response()
    }

    /// The answer with its body written, to be sent as often as needed.
    pub(crate) fn rendered(self, style: Style) -> RenderedError {
        let (status, body, error_name) = protocol::error(&self.error, self.status, style);
        RenderedError {
            status,
            body,
            style,
            reason: self.reason,
            allow: self.allow,
            error_name,
        }
    }
}

/// The answer for the client when the upstream could not be asked: 504 for a timeout,
/// 502 otherwise.
pub(crate) fn upstream_failure(err: &UpstreamError) -> ApiError {
    crate::access::mark(crate::access::Outcome::Refused);
    match err {
        UpstreamError::TimedOut { .. } | UpstreamError::ConnectTimedOut { .. } => {
            ApiError::upstream_timed_out(err.to_string())
        }
        UpstreamError::Tls { .. } | UpstreamError::HandshakeEnded { .. } => {
            ApiError::upstream_failed("upstream-tls", err.to_string())
        }
        _ => ApiError::upstream_failed("upstream-unreachable", err.to_string()),
    }
}

/// An error answer whose body is already written: a miss that repeats is answered from
/// it instead of rendering the same error again.
#[derive(Clone, Debug)]
pub(crate) struct RenderedError {
    status: StatusCode,
    body: Bytes,
    style: Style,
    reason: &'static str,
    allow: Option<&'static str>,
    /// The header naming the error, in protocols that have one (JSON-RPC's `vapi-error`).
    error_name: Option<Header>,
}

impl RenderedError {
    pub(crate) fn response(&self) -> Response<Body> {
        let mut response = body_response(self.status, self.body.clone(), self.style);
        let headers = response.headers_mut();
        if let Some((name, value)) = &self.error_name {
            headers.insert(*name, value.clone());
        }
        headers.insert(SYNTHETIC_HEADER, HeaderValue::from_static(self.reason));
        if let Some(allow) = self.allow {
            headers.insert(ALLOW, HeaderValue::from_static(allow));
        }
        if self.status == StatusCode::SERVICE_UNAVAILABLE {
            // dsvcr's 503s are budgets momentarily full.
            headers.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        response
    }
}

/// An error answer and the style to write it in.
pub(crate) type Refusal = (ApiError, Style);

/// The answer to a request recognition refused.
pub(crate) fn refusal(rejection: Rejection) -> Refusal {
    let style = rejection.style;
    (ApiError::from(rejection), style)
}

impl From<Rejection> for ApiError {
    fn from(rejection: Rejection) -> Self {
        Self::new(
            rejection.status,
            rejection.kind,
            "invalid-request",
            rejection.message_id,
            rejection.message,
        )
    }
}

/// A response with `bytes` labelled with the style's media type (no label when there
/// are no bytes).
pub(crate) fn body_response(status: StatusCode, bytes: Bytes, style: Style) -> Response<Body> {
    let empty = bytes.is_empty();
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    if !empty {
        response.headers_mut().insert(
            CONTENT_TYPE,
            HeaderValue::from_static(style.representation.content_type()),
        );
    }
    response
}
