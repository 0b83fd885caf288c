//! vAPI JSON-RPC on `POST /api`: login in the body, every answer a 200, values in the typed
//! encoding (`STRUCTURE`, `OPTIONAL`, `SECRET`, `ERROR`).

use http::StatusCode;
use serde_json::{json, Map, Value};

use super::get::count_get;
use super::login::credentials_ok;
use super::ops::{self, Operation, Output};
use super::sessions::{FileInfo, Prepared, SessionModel, EXPIRATION};
use super::state::{now_text, Shared};
use super::vapi::{Message, VapiError};
use super::wire::{respond, Reply, JSON};
use super::FAKE_USER;

pub(super) const SESSION_SERVICE: &str = "com.vmware.cis.session";

pub(super) fn handle(shared: &Shared, body: &[u8]) -> Reply {
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return transport_error(Value::Null, -32700, "Parse error");
    };
    let id = request.get("id").cloned().unwrap_or(Value::Null);
    if !request.is_object() || request["jsonrpc"] != "2.0" {
        return transport_error(id, -32600, "Invalid Request");
    }
    if request["method"] != "invoke" {
        return transport_error(id, -32601, "Method not found");
    }
    let params = &request["params"];
    let (Some(service), Some(operation)) =
        (params["serviceId"].as_str(), params["operationId"].as_str())
    else {
        return transport_error(id, -32602, "Invalid params");
    };
    let security = &params["ctx"]["securityCtx"];
    match invoke(shared, service, operation, &params["input"], security) {
        Ok(output) => answer(id, json!({ "output": output }), None),
        Err(error) => answer(id, json!({ "error": typed_error(&error) }), Some(&error)),
    }
}

fn answer(id: Value, result: Value, error: Option<&VapiError>) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": id, "result": result});
    let mut reply = respond(StatusCode::OK, JSON, body.to_string());
    if let Some(error) = error {
        let name = error.name().parse().unwrap();
        reply.headers_mut().insert("vapi-error", name);
    }
    reply
}

fn transport_error(id: Value, code: i64, message: &str) -> Reply {
    let body = json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}});
    respond(StatusCode::OK, JSON, body.to_string())
}

fn invoke(
    shared: &Shared,
    service: &str,
    operation: &str,
    input: &Value,
    security: &Value,
) -> Result<Value, VapiError> {
    if (service, operation) == (SESSION_SERVICE, "create") {
        return login(shared, security);
    }
    let (token, created) = security["sessionId"]
        .as_str()
        .and_then(|token| shared.live_token(token))
        .ok_or_else(|| VapiError::bare("unauthenticated"))?;
    match (service, operation) {
        (SESSION_SERVICE, "get") => Ok(session_info(&created)),
        (SESSION_SERVICE, "delete") => {
            shared.lock().live.remove(&token);
            Ok(Value::Null)
        }
        _ => {
            let operation = ops::parse(service, operation, &untyped(input))?;
            if let Operation::Get(id) = &operation {
                count_get(shared, id);
            }
            ops::invoke(shared, operation).map(|output| typed(&output))
        }
    }
}

fn login(shared: &Shared, security: &Value) -> Result<Value, VapiError> {
    let user = security["userName"].as_str().unwrap_or_default();
    let password = security["password"].as_str().unwrap_or_default();
    if !credentials_ok(user, password) {
        return Err(VapiError::bare("unauthenticated"));
    }
    Ok(json!({ "SECRET": shared.issue_token() }))
}

fn session_info(created: &str) -> Value {
    structure(
        "com.vmware.cis.session.info",
        json!({"user": FAKE_USER, "created_time": created, "last_accessed_time": now_text()}),
    )
}

/// The input's plain values: `STRUCTURE` and `OPTIONAL` unwrapped, `SECRET`s revealed.
fn untyped(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().unwrap();
            match (key.as_str(), inner) {
                ("STRUCTURE", Value::Object(named)) if named.len() == 1 => {
                    untyped(named.values().next().unwrap())
                }
                ("OPTIONAL" | "SECRET", inner) => untyped(inner),
                _ => Value::Object(untyped_fields(map)),
            }
        }
        Value::Object(map) => Value::Object(untyped_fields(map)),
        Value::Array(items) => Value::Array(items.iter().map(untyped).collect()),
        other => other.clone(),
    }
}

fn untyped_fields(map: &Map<String, Value>) -> Map<String, Value> {
    map.iter()
        .map(|(key, value)| (key.clone(), untyped(value)))
        .collect()
}

fn structure(name: &str, fields: Value) -> Value {
    json!({ "STRUCTURE": { name: fields } })
}

fn optional(value: Option<Value>) -> Value {
    json!({ "OPTIONAL": value })
}

/// Every field of a plain model, each `OPTIONAL`, and the `unset` ones as
/// `{"OPTIONAL": null}`, as the vAPI runtime's own server writes them.
fn all_optional(name: &str, plain: &Value, unset: &[&str]) -> Value {
    let mut fields: Map<String, Value> = unset
        .iter()
        .map(|field| ((*field).to_owned(), optional(None)))
        .collect();
    fields.extend(
        plain
            .as_object()
            .into_iter()
            .flatten()
            .map(|(key, value)| (key.clone(), optional(Some(value.clone())))),
    );
    structure(name, Value::Object(fields))
}

const UNSET_LIBRARY_FIELDS: &[&str] = &["description", "last_sync_time", "version"];
const UNSET_ITEM_FIELDS: &[&str] = &["cached", "description", "size", "version"];

fn typed(output: &Output) -> Value {
    match output {
        Output::Created(id) => json!(id),
        Output::Ids(ids) => json!(ids),
        Output::Session(model) => typed_session(model),
        Output::File(info) => typed_file(info),
        Output::Files(infos) => Value::Array(infos.iter().map(typed_file).collect()),
        Output::Library(model) => all_optional(
            "com.vmware.content.library_model",
            model,
            UNSET_LIBRARY_FIELDS,
        ),
        Output::Item(model) => all_optional(
            "com.vmware.content.library.item_model",
            model,
            UNSET_ITEM_FIELDS,
        ),
        Output::Void => Value::Null,
    }
}

fn typed_session(model: &SessionModel) -> Value {
    structure(
        "com.vmware.content.library.item.download_session_model",
        json!({
            "id": optional(Some(json!(model.id))),
            "library_item_id": optional(Some(json!(model.library_item_id))),
            "library_item_content_version": optional(Some(json!(model.content_version))),
            "error_message": optional(model.error_message.as_ref().map(typed_message)),
            "client_progress": optional(Some(json!(model.client_progress))),
            "state": optional(Some(json!(model.state))),
            "expiration_time": optional(Some(json!(EXPIRATION))),
        }),
    )
}

fn typed_file(info: &FileInfo) -> Value {
    let prepared = info.prepared.as_ref();
    structure(
        "com.vmware.content.library.item.downloadsession.file.info",
        json!({
            "name": info.name,
            "size": optional(prepared.map(|p| json!(p.size))),
            "bytes_transferred": info.bytes_transferred,
            "status": info.status,
            "download_endpoint": optional(prepared.map(typed_endpoint)),
            "checksum_info": optional(prepared.map(typed_checksum)),
            "error_message": optional(None),
        }),
    )
}

fn typed_endpoint(prepared: &Prepared) -> Value {
    structure(
        "com.vmware.content.library.item.transfer_endpoint",
        json!({
            "uri": prepared.uri,
            "ssl_certificate_thumbprint": optional(prepared.thumbprint.as_ref().map(|t| json!(t))),
        }),
    )
}

fn typed_checksum(prepared: &Prepared) -> Value {
    structure(
        "com.vmware.content.library.item.file.checksum_info",
        json!({"algorithm": optional(Some(json!("SHA256"))), "checksum": prepared.sha256}),
    )
}

fn typed_message(message: &Message) -> Value {
    structure(
        "com.vmware.vapi.std.localizable_message",
        json!({"args": message.args, "default_message": message.default_message, "id": message.id}),
    )
}

fn typed_error(error: &VapiError) -> Value {
    let messages: Vec<Value> = error.messages.iter().map(typed_message).collect();
    json!({"ERROR": {error.name(): {
        "messages": messages,
        "data": optional(None),
        "error_type": optional(Some(json!(error.error_type()))),
    }}})
}
