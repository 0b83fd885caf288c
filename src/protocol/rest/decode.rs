//! Reading vCenter's answers to a download-session get, in either representation, so
//! that record mode can store the decoded model instead of raw bytes.

use serde::Deserialize;
use serde_json::Value;

use super::xml;
use crate::vapi::call::Answer;
use crate::vapi::catalog::Output;
use crate::vapi::id::SessionId;
use crate::vapi::model::{DownloadSession, ErrorKind, LocalizableMessage, VapiError};

/// Why an upstream answer cannot be recorded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("the body is empty")]
    Empty,
    #[error("the body is neither JSON nor XML (it starts with {0:?})")]
    NotJsonOrXml(String),
    #[error("malformed JSON: {0}")]
    Json(String),
    #[error("{0}")]
    Xml(#[from] xml::XmlError),
    #[error("not a download session: {0}")]
    NotASession(String),
    #[error("not a vAPI error: {0}")]
    NotAnError(String),
    #[error("not {expected}: {problem}")]
    NotTheOutput {
        expected: &'static str,
        problem: String,
    },
    #[error("a void operation answered with a body")]
    NotVoid,
}

/// Decodes a successful answer of an operation whose output is `output`, in either
/// envelope (`{"value": X}` or bare `X`).
pub(crate) fn output(output: Output, body: &[u8]) -> Result<Answer, DecodeError> {
    match output {
        Output::Session => session(body).map(Answer::Session),
        Output::Void => void(body),
        Output::Id => typed(body, "a session id").and_then(|raw: String| {
            SessionId::parse(&raw)
                .map(Answer::Id)
                .map_err(|err| DecodeError::NotTheOutput {
                    expected: "a session id",
                    problem: err.to_string(),
                })
        }),
        Output::Ids => typed(body, "a list of session ids").map(Answer::Ids),
        Output::File => typed(body, "a file info").map(Answer::File),
        Output::Files => typed(body, "a list of file infos").map(Answer::Files),
        Output::Value => typed(body, "a JSON model").map(Answer::Value),
    }
}

/// `/rest` answers a void operation with an empty body (or `{"value":null}`), `/api`
/// with 204.
fn void(body: &[u8]) -> Result<Answer, DecodeError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Answer::Void);
    }
    match serde_json::from_slice::<Value>(body).map(unwrap_value) {
        Ok(Value::Null) => Ok(Answer::Void),
        _ => Err(DecodeError::NotVoid),
    }
}

fn typed<T: serde::de::DeserializeOwned>(
    body: &[u8],
    expected: &'static str,
) -> Result<T, DecodeError> {
    first_char(body)?;
    let value: Value =
        serde_json::from_slice(body).map_err(|err| DecodeError::Json(err.to_string()))?;
    serde_json::from_value(unwrap_value(value)).map_err(|err| DecodeError::NotTheOutput {
        expected,
        problem: err.to_string(),
    })
}

/// Decodes a 200 answer: `{"value": MODEL}`, a bare `MODEL`, or an XML `Get-Result`.
/// The body is judged by its first character, not its `Content-Type` (govmomi's
/// simulator labels JSON `text/plain`).
pub(crate) fn session(body: &[u8]) -> Result<DownloadSession, DecodeError> {
    match first_char(body)? {
        b'<' => Ok(xml::parse_get_result(body)?),
        b'{' => {
            let value = unwrap_value(json_object(body)?);
            serde_json::from_value(value).map_err(|err| DecodeError::NotASession(err.to_string()))
        }
        _ => Err(not_json_or_xml(body)),
    }
}

/// Decodes a JSON vAPI error in either envelope: `/rest`'s
/// `{"type": …, "value": {"error_type"?: …, "messages": […]}}` or `/api`'s
/// `{"error_type": …, "messages": […]}`. Message fields dsvcr does not know are dropped:
/// an error's wording is what replay needs.
pub(crate) fn error(body: &[u8]) -> Result<VapiError, DecodeError> {
    if first_char(body)? != b'{' {
        return Err(not_json_or_xml(body));
    }
    let object = json_object(body)?;
    let (kind, inner) = match object.get("type").and_then(Value::as_str) {
        Some(type_name) => {
            let kind = ErrorKind::from_type_name(type_name).ok_or_else(|| {
                DecodeError::NotAnError(format!("unknown error type {type_name:?}"))
            })?;
            (kind, object.get("value").cloned().unwrap_or(Value::Null))
        }
        None => {
            let error_type = object
                .get("error_type")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    DecodeError::NotAnError("no \"type\" or \"error_type\"".to_owned())
                })?;
            let kind = ErrorKind::from_error_type(error_type).ok_or_else(|| {
                DecodeError::NotAnError(format!("unknown error_type {error_type:?}"))
            })?;
            (kind, object)
        }
    };
    let messages = ErrorMessages::deserialize(inner)
        .map_err(|err| DecodeError::NotAnError(err.to_string()))?
        .messages;
    Ok(VapiError {
        kind,
        messages: messages.into_iter().map(Into::into).collect(),
    })
}

#[derive(Deserialize)]
struct ErrorMessages {
    #[serde(default)]
    messages: Vec<LenientMessage>,
}

#[derive(Deserialize)]
struct LenientMessage {
    #[serde(default)]
    args: Vec<String>,
    #[serde(default)]
    default_message: String,
    id: String,
    #[serde(default)]
    localized: Option<String>,
    #[serde(default)]
    params: Option<serde_json::Map<String, Value>>,
}

impl From<LenientMessage> for LocalizableMessage {
    fn from(message: LenientMessage) -> Self {
        LocalizableMessage {
            args: message.args,
            default_message: message.default_message,
            id: message.id,
            localized: message.localized,
            params: message.params,
        }
    }
}

fn first_char(body: &[u8]) -> Result<u8, DecodeError> {
    body.iter()
        .copied()
        .find(|byte| !byte.is_ascii_whitespace())
        .ok_or(DecodeError::Empty)
}

fn not_json_or_xml(body: &[u8]) -> DecodeError {
    let start = String::from_utf8_lossy(&body[..body.len().min(40)]).into_owned();
    DecodeError::NotJsonOrXml(start)
}

fn json_object(body: &[u8]) -> Result<Value, DecodeError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|err| DecodeError::Json(err.to_string()))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(DecodeError::Json(
            "the body is not a JSON object".to_owned(),
        ))
    }
}

/// `{"value": X}` → `X`; anything else is taken as already bare.
fn unwrap_value(mut value: Value) -> Value {
    match value.as_object_mut() {
        Some(object) if object.len() == 1 && object.contains_key("value") => {
            object.remove("value").expect("checked above")
        }
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vapi::model::SessionState;

    #[test]
    fn sessions_in_every_envelope_and_representation() {
        let wrapped = include_bytes!("../../../tests/data/get-result.json");
        let from_json = session(wrapped).unwrap();
        assert_eq!(from_json.id.as_deref(), Some("obj-103"));
        let bare = serde_json::to_vec(&from_json).unwrap();
        assert_eq!(session(&bare).unwrap(), from_json);
        let from_xml = session(include_bytes!("../../../tests/data/get-result.xml")).unwrap();
        assert_eq!(from_xml, from_json);
        let simulator_style =
            b"{\"value\":{\"client_progress\":0,\"library_item_id\":\"i\",\"state\":\"ACTIVE\"}}\n";
        assert_eq!(
            session(simulator_style).unwrap().state,
            SessionState::Active
        );
    }

    #[test]
    fn undecodable_sessions_say_why() {
        assert_eq!(session(b""), Err(DecodeError::Empty));
        assert_eq!(
            session(b"404 page not found\n"),
            Err(DecodeError::NotJsonOrXml("404 page not found\n".to_owned()))
        );
        assert!(matches!(
            session(b"{\"value\":{\"client_progress\":"),
            Err(DecodeError::Json(_))
        ));
        assert!(matches!(
            session(b"<html><body/></html>"),
            Err(DecodeError::Xml(_))
        ));
        let extra = b"{\"value\":{\"client_progress\":0,\"library_item_id\":\"i\",\"state\":\"ACTIVE\",\"new_field\":1}}";
        let err = session(extra).unwrap_err().to_string();
        assert!(err.contains("unknown field `new_field`"), "{err}");
    }

    #[test]
    fn errors_in_both_envelopes() {
        let rest = br#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"error_type":"NOT_FOUND","messages":[{"args":["x"],"default_message":"No x.","id":"m","colour":"red"}]}}"#;
        let api = br#"{"error_type":"NOT_FOUND","messages":[{"args":["x"],"default_message":"No x.","id":"m"}]}"#;
        let old = br#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"messages":[{"args":["x"],"default_message":"No x.","id":"m"}]}}"#;
        let expected = VapiError::new(
            ErrorKind::NotFound,
            LocalizableMessage::new("m", "No x.".to_owned(), vec!["x".to_owned()]),
        );
        for body in [&rest[..], &api[..], &old[..]] {
            assert_eq!(error(body).unwrap(), expected);
        }
        assert!(matches!(
            error(b"404 page not found"),
            Err(DecodeError::NotJsonOrXml(_))
        ));
        assert!(matches!(
            error(b"{\"error\":1}"),
            Err(DecodeError::NotAnError(_))
        ));
    }
}
