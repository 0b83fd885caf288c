//! A request refused before it becomes a call, described in the vocabulary's terms (a
//! vAPI error kind and message) well enough for any protocol to answer it in the
//! caller's own style; and the checks every protocol applies to the names and ids a
//! call carries.

use http::StatusCode;

use super::id::SessionId;
use super::model::ErrorKind;
use super::wire::Style;
use crate::text::shorten_to;

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
    pub(crate) fn invalid_argument(
        message_id: &'static str,
        message: String,
        style: Style,
    ) -> Self {
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
