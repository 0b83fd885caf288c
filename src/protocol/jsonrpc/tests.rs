//! Recognition against the REST forms, answers written and read back, malformed input.

use bytes::Bytes;
use http::Request;
use serde_json::{json, Value};

use super::decode::{answer as decode_answer, login_token, RpcDecodeError};
use super::envelope::{enveloped, parse, Fault, RpcId, INVALID_PARAMS};
use super::recognise::{recognise, Target, STYLE};
use super::render::{output_result, result, secret};
use crate::protocol::rest::recognise::{recognise as recognise_rest, Operation};
use crate::vapi::call::{Answer, Call, CallKey};
use crate::vapi::catalog::Op;
use crate::vapi::model::{
    ChecksumInfo, DownloadSession, ErrorKind, FileInfo, FileStatus, LocalizableMessage,
    SessionState, TransferEndpoint, VapiError,
};
use crate::vapi::wire::Form;
use crate::vapi::SessionId;
use crate::vapi::SessionOp;

const SESSION: &str = "com.vmware.content.library.item.download_session";
const FILE: &str = "com.vmware.content.library.item.downloadsession.file";
const REST: &str = "/rest/com/vmware/content/library/item";
const API: &str = "/api/content/library/item/download-session";

fn invoke_body(service: &str, operation: &str, input: Value) -> Vec<u8> {
    json!({"jsonrpc": "2.0", "method": "invoke", "id": "3", "params": {
        "serviceId": service, "operationId": operation,
        "input": {"STRUCTURE": {"operation-input": input}},
        "ctx": {"appCtx": {"opId": "x"}},
    }})
    .to_string()
    .into_bytes()
}

fn rpc(service: &str, operation: &str, input: Value) -> Result<Target, Fault> {
    recognise(&parse(&invoke_body(service, operation, input)).unwrap())
}

fn rpc_call(service: &str, operation: &str, input: Value) -> Call {
    match rpc(service, operation, input) {
        Ok(Target::Call(call)) => call,
        other => panic!("{service}.{operation} is not a call: {other:?}"),
    }
}

fn rest_call(method: &str, uri: &str, body: &str) -> Call {
    let mut builder = Request::builder().method(method).uri(uri);
    if !body.is_empty() {
        builder = builder.header("content-type", "application/json");
    }
    let request = builder.body(Bytes::from(body.to_owned())).unwrap();
    match recognise_rest(&request) {
        Ok(Operation::Call(call)) => call,
        other => panic!("{method} {uri} is not a call: {other:?}"),
    }
}

#[test]
fn every_operation_is_the_call_its_rest_forms_give() {
    let id = json!("obj-103");
    let cases: Vec<(&str, &str, Value, Vec<Call>)> = vec![
        (
            SESSION,
            "create",
            json!({"client_token": {"OPTIONAL": "tok-1"}, "create_spec": {"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {"library_item_id": {"OPTIONAL": "item-1"}}}}}),
            vec![
                rest_call(
                    "POST",
                    &format!("{REST}/download-session"),
                    r#"{"client_token":"tok-1","create_spec":{"library_item_id":"item-1"}}"#,
                ),
                rest_call(
                    "POST",
                    &format!("{API}?client_token=tok-1"),
                    r#"{"library_item_id":"item-1"}"#,
                ),
            ],
        ),
        (
            SESSION,
            "get",
            json!({"download_session_id": id}),
            vec![
                rest_call("GET", &format!("{REST}/download-session/id:obj-103"), ""),
                rest_call("GET", &format!("{API}/obj-103"), ""),
            ],
        ),
        (
            SESSION,
            "list",
            json!({"library_item_id": {"OPTIONAL": "item-1"}}),
            vec![
                rest_call(
                    "GET",
                    &format!("{REST}/download-session?library_item_id=item-1"),
                    "",
                ),
                rest_call("GET", &format!("{API}?library_item_id=item-1"), ""),
            ],
        ),
        (
            SESSION,
            "keep_alive",
            json!({"download_session_id": id, "progress": {"OPTIONAL": 50}}),
            vec![
                rest_call(
                    "POST",
                    &format!("{REST}/download-session/id:obj-103?~action=keep-alive"),
                    "",
                ),
                rest_call("POST", &format!("{API}/obj-103?action=keep-alive"), ""),
            ],
        ),
        (
            SESSION,
            "cancel",
            json!({"download_session_id": id}),
            vec![
                rest_call(
                    "POST",
                    &format!("{REST}/download-session/id:obj-103?~action=cancel"),
                    "",
                ),
                rest_call("POST", &format!("{API}/obj-103?action=cancel"), ""),
            ],
        ),
        (
            SESSION,
            "delete",
            json!({"download_session_id": id}),
            vec![
                rest_call("DELETE", &format!("{REST}/download-session/id:obj-103"), ""),
                rest_call("DELETE", &format!("{API}/obj-103"), ""),
            ],
        ),
        (
            SESSION,
            "fail",
            json!({"download_session_id": id, "client_error_message": "disk full"}),
            vec![
                rest_call(
                    "POST",
                    &format!("{REST}/download-session/id:obj-103?~action=fail"),
                    "",
                ),
                rest_call("POST", &format!("{API}/obj-103?action=fail"), ""),
            ],
        ),
        (
            FILE,
            "list",
            json!({"download_session_id": id}),
            vec![
                rest_call(
                    "GET",
                    &format!("{REST}/downloadsession/file?download_session_id=obj-103"),
                    "",
                ),
                rest_call("GET", &format!("{API}/obj-103/file"), ""),
            ],
        ),
        (
            FILE,
            "get",
            json!({"download_session_id": id, "file_name": "a.ova"}),
            vec![
                rest_call(
                    "POST",
                    &format!("{REST}/downloadsession/file/id:obj-103?~action=get"),
                    r#"{"file_name":"a.ova"}"#,
                ),
                rest_call("GET", &format!("{API}/obj-103/file?file_name=a.ova"), ""),
            ],
        ),
        (
            FILE,
            "prepare",
            json!({"download_session_id": id, "file_name": "a.ova", "endpoint_type": {"OPTIONAL": null}}),
            vec![
                rest_call(
                    "POST",
                    &format!("{REST}/downloadsession/file/id:obj-103?~action=prepare"),
                    r#"{"file_name":"a.ova"}"#,
                ),
                rest_call(
                    "POST",
                    &format!("{API}/obj-103/file?action=prepare"),
                    r#"{"file_name":"a.ova"}"#,
                ),
            ],
        ),
        (
            "com.vmware.content.library",
            "get",
            json!({"library_id": "L-1"}),
            vec![
                rest_call("GET", "/rest/com/vmware/content/library/id:L-1", ""),
                rest_call("GET", "/api/content/library/L-1", ""),
            ],
        ),
        (
            "com.vmware.content.library",
            "list",
            json!({}),
            vec![rest_call("GET", "/api/content/library", "")],
        ),
        (
            "com.vmware.content.library",
            "find",
            json!({"spec": {"STRUCTURE": {"com.vmware.content.library.find_spec": {"name": {"OPTIONAL": "lib"}, "type": {"OPTIONAL": null}}}}}),
            vec![
                rest_call(
                    "POST",
                    "/rest/com/vmware/content/library?~action=find",
                    r#"{"spec":{"name":"lib"}}"#,
                ),
                rest_call(
                    "POST",
                    "/api/content/library?action=find",
                    r#"{"name":"lib"}"#,
                ),
            ],
        ),
        (
            "com.vmware.content.library.item",
            "get",
            json!({"library_item_id": "I-1"}),
            vec![rest_call("GET", "/api/content/library/item/I-1", "")],
        ),
        (
            "com.vmware.content.library.item",
            "list",
            json!({"library_id": "L-1"}),
            vec![rest_call(
                "GET",
                "/api/content/library/item?library_id=L-1",
                "",
            )],
        ),
        (
            "com.vmware.content.library.item",
            "find",
            json!({"spec": {"STRUCTURE": {"com.vmware.content.library.item.find_spec": {"library_id": {"OPTIONAL": "L-1"}, "name": {"OPTIONAL": "item"}}}}}),
            vec![rest_call(
                "POST",
                "/api/content/library/item?action=find",
                r#"{"name":"item","library_id":"L-1"}"#,
            )],
        ),
    ];
    let covered: Vec<Op> = cases
        .iter()
        .map(|(service, operation, _, _)| super::recognise::op_named(service, operation).unwrap())
        .collect();
    assert_eq!(
        covered,
        Op::ALL,
        "every catalogued operation, in catalog order"
    );
    for (service, operation, input, rest_forms) in cases {
        let call = rpc_call(service, operation, input);
        assert_eq!(call.style, STYLE);
        assert_eq!(call.form, (call.op == Op::Get).then_some(Form::JsonRpc));
        for rest in rest_forms {
            assert_eq!(
                (call.op, &call.key),
                (rest.op, &rest.key),
                "{service}.{operation}"
            );
        }
    }
}

/// A lookup's key is canonical JSON without unset fields, at any depth, whatever order and
/// wrappers the input was written with.
#[test]
fn lookup_keys_leave_out_unset_fields() {
    let find = |spec: Value| {
        rpc_call(
            "com.vmware.content.library.item",
            "find",
            json!({"spec": {"STRUCTURE": {"com.vmware.content.library.item.find_spec": spec}}}),
        )
        .key
    };
    let key = CallKey::Lookup(r#"{"spec":{"library_id":"L-1","name":"item"}}"#.to_owned());
    assert_eq!(find(json!({"name": "item", "library_id": "L-1"})), key);
    assert_eq!(
        find(
            json!({"type": {"OPTIONAL": null}, "name": {"OPTIONAL": "item"}, "library_id": "L-1", "cached": null})
        ),
        key
    );
    assert_eq!(
        find(json!({"name": "item", "nested": {"a": null, "b": {"c": null}}})),
        CallKey::Lookup(r#"{"spec":{"name":"item","nested":{"b":{}}}}"#.to_owned())
    );
    let get = rpc_call(
        "com.vmware.content.library.item",
        "get",
        json!({"library_item_id": "item-\"1"}),
    );
    assert_eq!(
        get.key,
        CallKey::Lookup(r#"{"library_item_id":"item-\"1"}"#.to_owned())
    );
}

#[test]
fn optional_inputs_may_be_left_out_or_null() {
    let all = rpc_call(
        SESSION,
        "list",
        json!({"library_item_id": {"OPTIONAL": null}}),
    );
    assert_eq!(all.key, CallKey::Items(None));
    let no_input = recognise(
        &parse(br#"{"jsonrpc":"2.0","method":"invoke","id":1,"params":{"serviceId":"com.vmware.content.library.item.download_session","operationId":"list"}}"#).unwrap(),
    )
    .unwrap();
    assert!(matches!(
        no_input,
        Target::Call(Call {
            key: CallKey::Items(None),
            ..
        })
    ));
    let create = rpc_call(
        SESSION,
        "create",
        json!({"create_spec": {"STRUCTURE": {"m": {"library_item_id": "item-1"}}}}),
    );
    assert_eq!(
        create.key,
        CallKey::Create {
            item: "item-1".to_owned(),
            token: None
        }
    );
}

#[test]
fn sessions_and_other_operations() {
    let session = "com.vmware.cis.session";
    for (operation, op) in [
        ("create", SessionOp::Login),
        ("get", SessionOp::Info),
        ("delete", SessionOp::Logout),
    ] {
        assert_eq!(rpc(session, operation, json!({})), Ok(Target::Session(op)));
    }
    assert_eq!(rpc(session, "list", json!({})), Ok(Target::Unknown));
    assert_eq!(
        rpc("com.vmware.vcenter.vm", "list", json!({})),
        Ok(Target::Unknown)
    );
    assert_eq!(rpc(SESSION, "update", json!({})), Ok(Target::Unknown));
}

#[test]
fn inputs_without_the_key_fields_are_invalid_params() {
    let cases = [
        (
            SESSION,
            "get",
            json!({}),
            "the operation input has no download_session_id",
        ),
        (
            SESSION,
            "get",
            json!({"download_session_id": 7}),
            "download_session_id in the operation input must be a string, not 7",
        ),
        (
            SESSION,
            "get",
            json!({"download_session_id": "a/b"}),
            "download_session_id \"a/b\" contains a path separator",
        ),
        (
            FILE,
            "get",
            json!({"download_session_id": "obj-1"}),
            "the operation input has no file_name",
        ),
        (
            FILE,
            "get",
            json!({"download_session_id": "obj-1", "file_name": ""}),
            "file_name is empty",
        ),
        (
            SESSION,
            "create",
            json!({"client_token": "t"}),
            "the operation input has no create_spec.library_item_id",
        ),
        (
            SESSION,
            "create",
            json!({"create_spec": "item"}),
            "create_spec in the operation input must be a structure, not \"item\"",
        ),
    ];
    let id = parse(&invoke_body("s", "o", json!({}))).unwrap().id;
    for (service, operation, input, message) in cases {
        assert_eq!(
            rpc(service, operation, input.clone()),
            Err(Fault::new(id.clone(), INVALID_PARAMS, message)),
            "{input}"
        );
    }
    let not_a_structure = br#"{"jsonrpc":"2.0","method":"invoke","id":"3","params":{"serviceId":"com.vmware.content.library.item.download_session","operationId":"get","input":["obj-1"]}}"#;
    let fault = recognise(&parse(not_a_structure).unwrap()).unwrap_err();
    assert_eq!(fault.code, INVALID_PARAMS);
    assert_eq!(
        fault.message,
        "the input must be {\"STRUCTURE\":{\"operation-input\":{…}}}: expected a STRUCTURE with one named object, not a list"
    );
}

fn message(id: &str) -> LocalizableMessage {
    let mut message = LocalizableMessage::new(
        "com.vmware.vdcs.cls-main.file_read_error",
        format!("Cannot read {id}."),
        vec!["photon.ova".to_owned(), id.to_owned()],
    );
    message.params = Some(
        json!({"file": {"s": "photon.ova"}, "when": {"dt": "2026-11-02T09:35:00.000Z"}})
            .as_object()
            .unwrap()
            .clone(),
    );
    message
}

fn file(name: &str) -> FileInfo {
    FileInfo {
        bytes_transferred: Some(0),
        checksum_info: Some(ChecksumInfo {
            algorithm: Some("SHA256".to_owned()),
            checksum: "ab".repeat(32),
        }),
        download_endpoint: Some(TransferEndpoint {
            ssl_certificate: None,
            ssl_certificate_thumbprint: Some("AA:BB".to_owned()),
            uri: format!("https://vc/cis-data/{name}"),
        }),
        error_message: None,
        name: name.to_owned(),
        size: Some(1024),
        status: FileStatus::Prepared,
    }
}

#[test]
fn every_answer_reads_back_as_written() {
    let session = DownloadSession {
        client_progress: Some(35),
        error_message: Some(message("obj-104")),
        expiration_time: Some("2026-11-02T09:35:00.000Z".to_owned()),
        id: Some("obj-104".to_owned()),
        library_item_content_version: Some("2".to_owned()),
        library_item_id: "8f6a1c2e".to_owned(),
        state: SessionState::Error,
    };
    let not_found = VapiError::new(ErrorKind::NotFound, message("obj-404"));
    let answers = [
        (Op::Get, Answer::Session(session)),
        (Op::Create, Answer::Id(SessionId::parse("obj-9").unwrap())),
        (
            Op::List,
            Answer::Ids(vec!["obj-1".to_owned(), "obj-2".to_owned()]),
        ),
        (Op::FileGet, Answer::File(file("a.ova"))),
        (
            Op::FileList,
            Answer::Files(vec![file("a.ova"), file("b.mf")]),
        ),
        (Op::Delete, Answer::Void),
        (
            Op::ItemGet,
            Answer::Value(json!({"id": "item-1", "name": "n", "size": 3, "type": "iso"})),
        ),
        (
            Op::Get,
            Answer::Error {
                status: 404,
                error: not_found,
            },
        ),
    ];
    for (op, answer) in answers {
        let body = enveloped(&RpcId::default(), &result(op, &answer).unwrap());
        assert_eq!(decode_answer(op, &body), Ok(answer.clone()), "{op:?}");
    }
}

#[test]
fn the_reference_session_gets_a_zone_and_keeps_it() {
    let page: Value =
        serde_json::from_str(include_str!("../../../tests/data/get-result.json")).unwrap();
    let session: DownloadSession = serde_json::from_value(page["value"].clone()).unwrap();
    let body = enveloped(
        &RpcId::default(),
        &result(Op::Get, &Answer::Session(session.clone())).unwrap(),
    );
    let Ok(Answer::Session(read)) = decode_answer(Op::Get, &body) else {
        panic!("not a session")
    };
    assert_eq!(
        read.expiration_time.as_deref(),
        Some("2013-06-06T22:13:05.000Z")
    );
    assert_eq!(
        read,
        DownloadSession {
            expiration_time: read.expiration_time.clone(),
            ..session
        }
    );
}

#[test]
fn upstream_answers_that_are_not_outputs_say_why() {
    let output = Op::Get;
    assert_eq!(
        decode_answer(
            output,
            br#"{"jsonrpc":"2.0","id":"1","error":{"code":-32602,"message":"Invalid params"}}"#
        ),
        Err(RpcDecodeError::Fault {
            code: -32602,
            message: "Invalid params".to_owned()
        })
    );
    assert_eq!(
        decode_answer(
            output,
            br#"{"jsonrpc":"2.0","id":"1","result":{"output":"obj-1"}}"#
        )
        .unwrap_err()
        .to_string(),
        "not a download session: expected a STRUCTURE with one named object, not a string"
    );
    assert_eq!(
        decode_answer(output, br#"{"jsonrpc":"2.0","id":"1","result":{"error":{"ERROR":{"com.vmware.vapi.std.errors.nope":{}}}}}"#)
            .unwrap_err()
            .to_string(),
        "not a vAPI error: unknown error type \"com.vmware.vapi.std.errors.nope\""
    );
    assert_eq!(
        decode_answer(
            Op::Delete,
            br#"{"jsonrpc":"2.0","id":"1","result":{"output":1}}"#
        )
        .unwrap_err()
        .to_string(),
        "not nothing: the output is 1"
    );
    assert!(matches!(
        decode_answer(output, b"<html>"),
        Err(RpcDecodeError::NotAnAnswer(_))
    ));
}

#[test]
fn a_login_answer_hands_out_its_secret() {
    let body = enveloped(
        &RpcId::default(),
        &output_result(&secret("0123456789abcdef")),
    );
    assert_eq!(login_token(&body).as_deref(), Some("0123456789abcdef"));
    assert_eq!(login_token(br#"{"result":{"output":null}}"#), None);
}
