//! Reading an upstream JSON-RPC answer into an [`Answer`] (record mode), and the token a
//! login answer hands out. Results and vAPI errors both arrive in a 200.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::models;
use super::schema::{DOWNLOAD_SESSION, FILE_INFO, LOCALIZABLE_MESSAGE};
use super::typed::{decode, untyped, Type, TypedError};
use crate::vapi::call::Answer;
use crate::vapi::catalog::{Op, Output};
use crate::vapi::id::SessionId;
use crate::vapi::model::{ErrorKind, LocalizableMessage, VapiError};

/// Why an upstream JSON-RPC answer gives no [`Answer`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RpcDecodeError {
    #[error("not a JSON-RPC answer: {0}")]
    NotAnAnswer(String),
    /// A transport error (`"error": {"code", "message"}`): the call never reached the
    /// operation.
    #[error("a JSON-RPC error {code}: {message}")]
    Fault { code: i64, message: String },
    #[error("not {expected}: {problem}")]
    NotTheOutput {
        expected: &'static str,
        problem: String,
    },
    #[error("not a vAPI error: {0}")]
    NotAnError(String),
}

/// The answer of `op`: its `result.output` (a library or item model as the plain model a
/// REST recording stores), or its `result.error` with the HTTP status vCenter's REST API
/// gives that error.
pub(crate) fn answer(op: Op, body: &[u8]) -> Result<Answer, RpcDecodeError> {
    let reply: Value = serde_json::from_slice(body)
        .map_err(|err| RpcDecodeError::NotAnAnswer(format!("malformed JSON: {err}")))?;
    if let Some(fault) = reply.get("error") {
        return Err(RpcDecodeError::Fault {
            code: fault.get("code").and_then(Value::as_i64).unwrap_or(0),
            message: fault
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        });
    }
    let result = reply
        .get("result")
        .and_then(Value::as_object)
        .ok_or_else(|| RpcDecodeError::NotAnAnswer("no result object".to_owned()))?;
    match (result.get("output"), result.get("error")) {
        (Some(value), None) => decode_output(op, value),
        (None, Some(error)) => {
            let error = decode_error(error)?;
            Ok(Answer::Error {
                status: error.kind.http_status(),
                error,
            })
        }
        _ => Err(RpcDecodeError::NotAnAnswer(
            "the result must hold exactly one of output and error".to_owned(),
        )),
    }
}

fn decode_output(op: Op, value: &Value) -> Result<Answer, RpcDecodeError> {
    const SESSION: Type = Type::Struct(&DOWNLOAD_SESSION);
    const FILE: Type = Type::Struct(&FILE_INFO);
    Ok(match op.output() {
        Output::Session => Answer::Session(typed(&SESSION, value, "a download session")?),
        Output::Id => {
            let raw: String = typed(&Type::Plain, value, "a session id")?;
            Answer::Id(
                SessionId::parse(&raw).map_err(|err| RpcDecodeError::NotTheOutput {
                    expected: "a session id",
                    problem: err.to_string(),
                })?,
            )
        }
        Output::Ids => Answer::Ids(typed(
            &Type::List(&Type::Plain),
            value,
            "a list of session ids",
        )?),
        Output::File => Answer::File(typed(&FILE, value, "a file info")?),
        Output::Files => Answer::Files(typed(&Type::List(&FILE), value, "a list of file infos")?),
        Output::Value => {
            Answer::Value(
                models::plain(op, value).map_err(|err| RpcDecodeError::NotTheOutput {
                    expected: "a library or item model",
                    problem: err.to_string(),
                })?,
            )
        }
        Output::Void if value.is_null() => Answer::Void,
        Output::Void => {
            return Err(RpcDecodeError::NotTheOutput {
                expected: "nothing",
                problem: format!("the output is {value}"),
            })
        }
    })
}

fn typed<T: DeserializeOwned>(
    ty: &Type,
    value: &Value,
    expected: &'static str,
) -> Result<T, RpcDecodeError> {
    let not = |problem: String| RpcDecodeError::NotTheOutput { expected, problem };
    let plain = decode(ty, value).map_err(|err| not(err.to_string()))?;
    serde_json::from_value(plain).map_err(|err| not(err.to_string()))
}

/// `{"ERROR": {"com.vmware.vapi.std.errors.<name>": {"messages": […], …}}}`.
fn decode_error(error: &Value) -> Result<VapiError, RpcDecodeError> {
    let not = |problem: String| RpcDecodeError::NotAnError(problem);
    let (type_name, fields) = error
        .get("ERROR")
        .and_then(Value::as_object)
        .filter(|named| named.len() == 1)
        .and_then(|named| named.iter().next())
        .ok_or_else(|| not("expected {\"ERROR\":{\"<error type>\":{…}}}".to_owned()))?;
    let kind = ErrorKind::from_type_name(type_name)
        .ok_or_else(|| not(format!("unknown error type {type_name:?}")))?;
    const MESSAGES: Type = Type::List(&Type::Struct(&LOCALIZABLE_MESSAGE));
    let messages = fields
        .get("messages")
        .map(|messages| decode(&MESSAGES, messages))
        .transpose()
        .and_then(|plain| {
            let plain = plain.unwrap_or(Value::Array(Vec::new()));
            serde_json::from_value::<Vec<LocalizableMessage>>(plain)
                .map_err(|err| TypedError::new(err.to_string()))
        })
        .map_err(|err| not(format!("its messages: {err}")))?;
    Ok(VapiError { kind, messages })
}

/// The session token a login answer hands out (`result.output` as `{"SECRET": …}` or a
/// plain string).
pub(crate) fn login_token(body: &[u8]) -> Option<String> {
    let mut reply: Value = serde_json::from_slice(body).ok()?;
    match untyped(reply.get_mut("result")?.get_mut("output")?.take()) {
        Value::String(token) => Some(token),
        _ => None,
    }
}
