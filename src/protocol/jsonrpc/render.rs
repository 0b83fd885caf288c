//! Answers as the `result` member of a JSON-RPC answer: `{"output": …}` in the typed
//! encoding, or `{"error": {"ERROR": …}}`. The envelope around it carries the request's
//! id ([`super::envelope::enveloped`]).

use bytes::Bytes;
use serde::Serialize;
use serde_json::{json, Map, Value};

use super::models::{self, Unencodable};
use super::schema::{DOWNLOAD_SESSION, FILE_INFO, LOCALIZABLE_MESSAGE, SESSION_INFO};
use super::typed::{encode, Struct, Type};
use crate::vapi::call::Answer;
use crate::vapi::catalog::Op;
use crate::vapi::model::VapiError;

/// The `result` of `op`'s answer. A library or item model is typed by the schema of the
/// model `op` answers, which it may not fit.
pub(crate) fn result(op: Op, answer: &Answer) -> Result<Bytes, Unencodable> {
    Ok(match answer {
        Answer::Error { error, .. } => error_result(error),
        Answer::Session(model) => output_result(&structure(&DOWNLOAD_SESSION, model)),
        Answer::Id(id) => output_result(&Value::String(id.as_str().to_owned())),
        Answer::Ids(ids) => output_result(&json!(ids)),
        Answer::File(file) => output_result(&structure(&FILE_INFO, file)),
        Answer::Files(files) => output_result(&Value::Array(
            files
                .iter()
                .map(|file| structure(&FILE_INFO, file))
                .collect(),
        )),
        Answer::Void => output_result(&Value::Null),
        Answer::Value(model) => output_result(&models::typed(op, model)?),
    })
}

/// `{"output": OUTPUT}`.
pub(crate) fn output_result(output: &Value) -> Bytes {
    Bytes::from(json!({ "output": output }).to_string())
}

/// `{"error": {"ERROR": {"<type name>": {messages, data, error_type}}}}`.
pub(crate) fn error_result(error: &VapiError) -> Bytes {
    let messages = error
        .messages
        .iter()
        .map(|message| structure(&LOCALIZABLE_MESSAGE, message))
        .collect();
    let mut fields = Map::with_capacity(3);
    fields.insert("messages".to_owned(), Value::Array(messages));
    fields.insert("data".to_owned(), json!({ "OPTIONAL": null }));
    fields.insert(
        "error_type".to_owned(),
        json!({ "OPTIONAL": error.kind.error_type() }),
    );
    let mut named = Map::with_capacity(1);
    named.insert(error.kind.type_name(), Value::Object(fields));
    Bytes::from(json!({ "error": { "ERROR": named } }).to_string())
}

/// A login's output: the token as a secret.
pub(crate) fn secret(token: &str) -> Value {
    json!({ "SECRET": token })
}

/// `com.vmware.cis.session.info` from a value with its fields.
pub(crate) fn session_info<T: Serialize>(info: &T) -> Value {
    structure(&SESSION_INFO, info)
}

fn structure<T: Serialize>(schema: &'static Struct, model: &T) -> Value {
    let plain = serde_json::to_value(model).expect("models serialise to JSON");
    encode(&Type::Struct(schema), &plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vapi::model::{DownloadSession, ErrorKind, LocalizableMessage};

    fn reference_session() -> DownloadSession {
        let page: Value =
            serde_json::from_str(include_str!("../../../tests/data/get-result.json")).unwrap();
        serde_json::from_value(page["value"].clone()).unwrap()
    }

    #[test]
    fn a_session_is_a_structure_of_optionals_with_zoned_times() {
        let body = result(Op::Get, &Answer::Session(reference_session())).unwrap();
        assert_eq!(
            std::str::from_utf8(&body).unwrap(),
            r#"{"output":{"STRUCTURE":{"com.vmware.content.library.item.download_session_model":{"client_progress":{"OPTIONAL":10},"error_message":{"OPTIONAL":{"STRUCTURE":{"com.vmware.vapi.std.localizable_message":{"args":["string","string"],"default_message":"string","id":"string","localized":{"OPTIONAL":null},"params":{"OPTIONAL":null}}}}},"expiration_time":{"OPTIONAL":"2013-06-06T22:13:05.000Z"},"id":{"OPTIONAL":"obj-103"},"library_item_content_version":{"OPTIONAL":"string"},"library_item_id":{"OPTIONAL":"obj-103"},"state":{"OPTIONAL":"ACTIVE"}}}}}"#
        );
    }

    #[test]
    fn errors_ids_and_void() {
        let not_found = VapiError::new(
            ErrorKind::NotFound,
            LocalizableMessage::new("m.id", "No obj-9.".to_owned(), vec!["obj-9".to_owned()]),
        );
        assert_eq!(
            result(
                Op::Get,
                &Answer::Error {
                    status: 404,
                    error: not_found
                }
            )
            .unwrap(),
            r#"{"error":{"ERROR":{"com.vmware.vapi.std.errors.not_found":{"data":{"OPTIONAL":null},"error_type":{"OPTIONAL":"NOT_FOUND"},"messages":[{"STRUCTURE":{"com.vmware.vapi.std.localizable_message":{"args":["obj-9"],"default_message":"No obj-9.","id":"m.id","localized":{"OPTIONAL":null},"params":{"OPTIONAL":null}}}}]}}}}"#
        );
        let id = crate::vapi::SessionId::parse("obj-7").unwrap();
        assert_eq!(
            result(Op::Create, &Answer::Id(id)).unwrap(),
            r#"{"output":"obj-7"}"#
        );
        assert_eq!(
            result(Op::List, &Answer::Ids(vec!["a".to_owned()])).unwrap(),
            r#"{"output":["a"]}"#
        );
        assert_eq!(
            result(Op::Delete, &Answer::Void).unwrap(),
            r#"{"output":null}"#
        );
    }
}
