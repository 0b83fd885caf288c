//! vAPI JSON-RPC on `POST /api`, sharing sessions and download sessions with REST.

use http::StatusCode;
use serde_json::json;

use super::*;
use crate::fake_vcenter::rest::API_DS;
use crate::fake_vcenter::state::SESSION_HEADER;
use crate::fake_vcenter::{FakeVcenter, ITEM_ID, NOTES_TEXT};

const DS: &str = "com.vmware.content.library.item.download_session";
const FILE: &str = "com.vmware.content.library.item.downloadsession.file";

/// One invoke; the answer's `vapi-error` header and body.
async fn invoke(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
    id: Value,
    (service, operation): (&str, &str),
    input: Value,
    security: Value,
) -> (String, Value) {
    let request = json!({"jsonrpc": "2.0", "method": "invoke", "id": id, "params": {
        "serviceId": service,
        "operationId": operation,
        "input": {"STRUCTURE": {"operation-input": input}},
        "ctx": {"appCtx": {"opId": "op-1"}, "securityCtx": security},
    }});
    let (status, headers, body) = send(
        client,
        "POST",
        &format!("{url}/api"),
        &[("content-type", "application/json")],
        &request.to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(content_type(&headers), "application/json");
    let error = headers
        .get("vapi-error")
        .map(|v| v.to_str().unwrap().to_owned());
    (error.unwrap_or_default(), json(&body))
}

fn session_ctx(token: &str) -> Value {
    json!({"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": token})
}

fn output(value: Value, id: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"output": value}})
}

fn error(kind: &str, messages: Value, id: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": {"error": {"ERROR": {
        format!("com.vmware.vapi.std.errors.{kind}"): {
            "messages": messages,
            "data": {"OPTIONAL": null},
            "error_type": {"OPTIONAL": kind.to_ascii_uppercase()},
        }
    }}}})
}

fn message(key: &str, text: &str, args: &[&str]) -> Value {
    json!({"STRUCTURE": {"com.vmware.vapi.std.localizable_message": {
        "args": args, "default_message": text, "id": key,
    }}})
}

#[tokio::test]
async fn fake_vcenter_speaks_vapi_json_rpc() {
    let fake = FakeVcenter::http().await;
    let client = plain_client();
    let url = fake.url();
    let login = ("com.vmware.cis.session", "create");
    let user_pass = |password: &str| json!({"schemeId": "com.vmware.vapi.std.security.user_pass", "userName": FAKE_USER, "password": password});

    let (header, body) = invoke(
        &client,
        &url,
        json!("0"),
        login,
        json!({}),
        user_pass("wrong"),
    )
    .await;
    assert_eq!(header, "com.vmware.vapi.std.errors.unauthenticated");
    assert_eq!(body, error("unauthenticated", json!([]), json!("0")));
    let (header, body) = invoke(
        &client,
        &url,
        json!("1"),
        login,
        json!({}),
        user_pass(FAKE_PASSWORD),
    )
    .await;
    let token = fake.tokens()[0].clone();
    assert_eq!(
        (header.as_str(), body),
        ("", output(json!({"SECRET": token}), json!("1")))
    );

    // create over JSON-RPC (typed input, numeric id echoed as a number), visible over REST.
    let create_input = json!({
        "client_token": {"OPTIONAL": "rpc-token"},
        "create_spec": {"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {
            "library_item_id": {"OPTIONAL": ITEM_ID}
        }}},
    });
    let (_, body) = invoke(
        &client,
        &url,
        json!(7),
        (DS, "create"),
        create_input.clone(),
        session_ctx(&token),
    )
    .await;
    let first = fake.created_sessions()[0].clone();
    assert_eq!(body, output(json!(first), json!(7)));
    let (_, again) = invoke(
        &client,
        &url,
        json!(8),
        (DS, "create"),
        create_input,
        session_ctx(&token),
    )
    .await;
    assert_eq!(again, output(json!(first), json!(8)));
    let auth = [(SESSION_HEADER, token.as_str())];
    let (status, _, answer) =
        send(&client, "GET", &format!("{url}{API_DS}/{first}"), &auth, "").await;
    assert_eq!(
        (status, json(&answer)["state"].clone()),
        (StatusCode::OK, json!("ACTIVE"))
    );

    // A session created over REST, seen and changed over JSON-RPC.
    let spec = format!(r#"{{"library_item_id":"{ITEM_ID}"}}"#);
    let (_, _, answer) = send(&client, "POST", &format!("{url}{API_DS}"), &auth, &spec).await;
    let second = json(&answer).as_str().unwrap().to_owned();
    let (_, body) = invoke(
        &client,
        &url,
        json!("2"),
        (DS, "list"),
        json!({"library_item_id": {"OPTIONAL": ITEM_ID}}),
        session_ctx(&token),
    )
    .await;
    assert_eq!(body, output(json!([first, second]), json!("2")));
    let by_id = |id: &str| json!({"download_session_id": id});
    let progress = json!({"download_session_id": second, "progress": {"OPTIONAL": 55}});
    let (_, body) = invoke(
        &client,
        &url,
        json!("3"),
        (DS, "keep_alive"),
        progress,
        session_ctx(&token),
    )
    .await;
    assert_eq!(body, output(Value::Null, json!("3")));
    let failure = json!({"download_session_id": second, "client_error_message": "no space"});
    invoke(
        &client,
        &url,
        json!("4"),
        (DS, "fail"),
        failure,
        session_ctx(&token),
    )
    .await;
    let (_, body) = invoke(
        &client,
        &url,
        json!("5"),
        (DS, "get"),
        by_id(&second),
        session_ctx(&token),
    )
    .await;
    let model = json!({"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {
        "id": {"OPTIONAL": second},
        "library_item_id": {"OPTIONAL": ITEM_ID},
        "library_item_content_version": {"OPTIONAL": "1"},
        "error_message": {"OPTIONAL": message("com.vmware.vdcs.cls-main.client_error", "no space", &[])},
        "client_progress": {"OPTIONAL": 55},
        "state": {"OPTIONAL": "ERROR"},
        "expiration_time": {"OPTIONAL": "2026-11-29T10:05:00.000Z"},
    }}});
    assert_eq!(body, output(model, json!("5")));
    assert_eq!(fake.gets_for(&second), 1);

    // Files: list, prepare.
    let (_, body) = invoke(
        &client,
        &url,
        json!("6"),
        (FILE, "list"),
        by_id(&first),
        session_ctx(&token),
    )
    .await;
    let unprepared = |name: &str| {
        json!({"STRUCTURE": {"com.vmware.content.library.item.downloadsession.file.info": {
            "name": name, "size": {"OPTIONAL": null}, "bytes_transferred": 0, "status": "UNPREPARED",
            "download_endpoint": {"OPTIONAL": null}, "checksum_info": {"OPTIONAL": null}, "error_message": {"OPTIONAL": null},
        }}})
    };
    assert_eq!(
        body,
        output(
            json!([unprepared("disk.iso"), unprepared("notes.txt")]),
            json!("6")
        )
    );
    let notes = json!({"download_session_id": first, "file_name": "notes.txt", "endpoint_type": {"OPTIONAL": "HTTPS"}});
    let (_, body) = invoke(
        &client,
        &url,
        json!("9"),
        (FILE, "prepare"),
        notes,
        session_ctx(&token),
    )
    .await;
    let prepared = json!({"STRUCTURE": {"com.vmware.content.library.item.downloadsession.file.info": {
        "name": "notes.txt",
        "size": {"OPTIONAL": NOTES_TEXT.len()},
        "bytes_transferred": 0,
        "status": "PREPARED",
        "download_endpoint": {"OPTIONAL": {"STRUCTURE": {"com.vmware.content.library.item.transfer_endpoint": {
            "uri": fake.download_uri(&first, "notes.txt"),
            "ssl_certificate_thumbprint": {"OPTIONAL": null},
        }}}},
        "checksum_info": {"OPTIONAL": {"STRUCTURE": {"com.vmware.content.library.item.file.checksum_info": {
            "algorithm": {"OPTIONAL": "SHA256"}, "checksum": sha256_hex(NOTES_TEXT.as_bytes()),
        }}}},
        "error_message": {"OPTIONAL": null},
    }}});
    assert_eq!(body, output(prepared, json!("9")));

    // Errors travel inside a 200.
    let (header, body) = invoke(
        &client,
        &url,
        json!("10"),
        (DS, "get"),
        by_id("obj-404"),
        session_ctx(&token),
    )
    .await;
    assert_eq!(header, "com.vmware.vapi.std.errors.not_found");
    let missing = message(
        "com.vmware.vdcs.cls-main.download_session_not_found",
        "Download session obj-404 does not exist.",
        &["obj-404"],
    );
    assert_eq!(body, error("not_found", json!([missing]), json!("10")));
    let (header, _) = invoke(
        &client,
        &url,
        json!("11"),
        (DS, "get"),
        by_id(&first),
        json!({}),
    )
    .await;
    assert_eq!(header, "com.vmware.vapi.std.errors.unauthenticated");
    let (header, _) = invoke(
        &client,
        &url,
        json!("12"),
        (DS, "rename"),
        json!({}),
        session_ctx(&token),
    )
    .await;
    assert_eq!(header, "com.vmware.vapi.std.errors.operation_not_found");

    // Session info, logout, then the token is dead on both sides.
    let session = "com.vmware.cis.session";
    let (_, body) = invoke(
        &client,
        &url,
        json!("13"),
        (session, "get"),
        json!({}),
        session_ctx(&token),
    )
    .await;
    assert_eq!(
        body["result"]["output"]["STRUCTURE"]["com.vmware.cis.session.info"]["user"],
        FAKE_USER
    );
    let (_, body) = invoke(
        &client,
        &url,
        json!("14"),
        (session, "delete"),
        json!({}),
        session_ctx(&token),
    )
    .await;
    assert_eq!(body, output(Value::Null, json!("14")));
    let (header, _) = invoke(
        &client,
        &url,
        json!("15"),
        (session, "get"),
        json!({}),
        session_ctx(&token),
    )
    .await;
    assert_eq!(header, "com.vmware.vapi.std.errors.unauthenticated");
    let (status, _, _) = send(&client, "GET", &format!("{url}{API_DS}"), &auth, "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Transport errors.
    let api = format!("{url}/api");
    let (_, _, body) = send(&client, "POST", &api, &[], "{not json").await;
    assert_eq!(
        body,
        r#"{"error":{"code":-32700,"message":"Parse error"},"id":null,"jsonrpc":"2.0"}"#
    );
    let (_, _, body) = send(
        &client,
        "POST",
        &api,
        &[],
        r#"{"jsonrpc":"2.0","method":"call","id":3}"#,
    )
    .await;
    assert_eq!(
        body,
        r#"{"error":{"code":-32601,"message":"Method not found"},"id":3,"jsonrpc":"2.0"}"#
    );
    assert_eq!(fake.count("POST", "/api"), 18);
    fake.stop().await;
}
