//! The crate's errors: answers dsvcr makes itself (each mapped, in one place, to a vAPI
//! error response in the caller's style) and the errors that stop a command.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CONTENT_TYPE};
use http::{Method, Response, StatusCode};

use crate::cassette::LoadError;
use crate::server::{full, Body};
use crate::upstream::TrustError;
use crate::vapi::recognise::Rejection;
use crate::vapi::{render, ErrorKind, LocalizableMessage, Style, VapiError};

/// Every response dsvcr writes itself, rather than from a recording, carries this header;
/// its value says why.
pub const SYNTHETIC_HEADER: &str = "x-dsvcr-synthetic";

/// An error answer of dsvcr's own making.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: VapiError,
    /// The value of [`SYNTHETIC_HEADER`].
    pub reason: &'static str,
    /// The `Allow` header of a 405.
    pub allow: Option<&'static str>,
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
    pub fn no_recording(method: &Method, path_and_query: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::OperationNotFound,
            "no-recording-for-route",
            "dsvcr.route.not_recorded",
            format!(
                "dsvcr has no recording for {method} {path_and_query}: it replays only content library download-session get requests"
            ),
        )
    }

    pub fn method_not_allowed(method: &Method, allow: &'static str) -> Self {
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

    pub fn body_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::InvalidArgument,
            "body-too-large",
            "dsvcr.request.body_too_large",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    pub fn body_unreadable(problem: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidArgument,
            "body-unreadable",
            "dsvcr.request.body_unreadable",
            format!("the request body could not be read: {problem}"),
        )
    }

    /// The upstream could not be reached or broke off (record mode).
    pub fn upstream_failed(reason: &'static str, message: String) -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            ErrorKind::ServiceUnavailable,
            reason,
            "dsvcr.upstream.failed",
            message,
        )
    }

    pub fn upstream_timed_out(message: String) -> Self {
        Self::new(
            StatusCode::GATEWAY_TIMEOUT,
            ErrorKind::TimedOut,
            "upstream-timeout",
            "dsvcr.upstream.timed_out",
            message,
        )
    }

    /// A recording could not be made durable, so the answer is withheld.
    pub fn cassette_not_written(message: String) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::InternalServerError,
            "cassette-not-written",
            "dsvcr.cassette.not_written",
            message,
        )
    }

    /// No credentials, or no live session (vCenter's own wording).
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorKind::Unauthenticated,
            "unauthenticated",
            "com.vmware.vapi.endpoint.method.authentication.required",
            "Authentication required.".to_owned(),
        )
    }

    pub fn invalid_argument(message_id: &str, message: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::InvalidArgument,
            "invalid-request",
            message_id,
            message,
        )
    }

    pub fn no_cassette_to_reset(id: Option<&crate::vapi::SessionId>) -> Self {
        let id = id.map_or_else(String::new, ToString::to_string);
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorKind::NotFound,
            "no-cassette",
            "dsvcr.admin.no_cassette",
            format!("there is no cassette for download session {id} to reset"),
        )
    }

    /// The response, in the caller's flavour and representation.
    pub fn into_response(self, style: Style) -> Response<Body> {
        let mut response = vapi_error_response(self.status, &self.error, style);
        let headers = response.headers_mut();
        headers.insert(SYNTHETIC_HEADER, HeaderValue::from_static(self.reason));
        if let Some(allow) = self.allow {
            headers.insert(ALLOW, HeaderValue::from_static(allow));
        }
        response
    }
}

/// An error answer and the style to write it in.
pub type Refusal = (ApiError, Style);

/// The answer to a request recognition refused.
pub fn refusal(rejection: Rejection) -> Refusal {
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

/// A vAPI error body with its status, in `style`.
pub fn vapi_error_response(status: StatusCode, error: &VapiError, style: Style) -> Response<Body> {
    let encoding = style.encoding();
    body_response(status, render::error(error, encoding), style)
}

/// A response with `bytes` labelled with the style's media type.
pub fn body_response(status: StatusCode, bytes: Bytes, style: Style) -> Response<Body> {
    let mut response = Response::new(full(bytes));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(style.representation.content_type()),
    );
    response
}

/// Errors that stop a command; each names the file, flag or address at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Cassettes(#[from] LoadError),
    #[error("cannot create cassette folder {} (--cassettes): {source}", path.display())]
    CassetteFolder { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Trust(#[from] TrustError),
    #[error(transparent)]
    ListenerTls(#[from] crate::server::tls::ListenerTlsError),
    #[error("--shift-times: cassette {id}: {reason}")]
    ShiftTimes { id: String, reason: String },
    #[error("cannot write the run summary to {} (--summary): {source}", path.display())]
    Summary { path: PathBuf, source: io::Error },
    #[error("cannot listen on {addr} (--listen): {source}")]
    Listen { addr: SocketAddr, source: io::Error },
    #[error("cannot install the SIGINT/SIGTERM handlers: {0}")]
    Signals(io::Error),
    #[error("cannot start the async runtime: {0}")]
    Runtime(io::Error),
}
