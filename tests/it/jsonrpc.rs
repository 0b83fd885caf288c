//! vAPI JSON-RPC on `POST /api` over real sockets: sessions move between the protocols
//! (recorded over `/rest`, replayed to JSON-RPC; recorded over JSON-RPC from the fake
//! vCenter, replayed over `/rest` and `/api`), offline logins, and malformed calls.

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use crate::fake_vcenter::{FakeVcenter, FAKE_PASSWORD, FAKE_USER, ITEM_ID};
use crate::support::*;

const SESSION: &str = "com.vmware.content.library.item.download_session";
const FILE: &str = "com.vmware.content.library.item.downloadsession.file";
const CIS: &str = "com.vmware.cis.session";
const REST_FILES: &str = "/rest/com/vmware/content/library/item/downloadsession/file";

/// An `invoke` as the Python SDK sends it, with a string id.
fn invoke_body(id: &str, service: &str, operation: &str, input: Value, security: Value) -> String {
    let mut ctx = json!({"appCtx": {"opId": "op-1"}});
    if !security.is_null() {
        ctx["securityCtx"] = security;
    }
    json!({"jsonrpc": "2.0", "method": "invoke", "id": id, "params": {
        "serviceId": service, "operationId": operation,
        "input": {"STRUCTURE": {"operation-input": input}}, "ctx": ctx,
    }})
    .to_string()
}

fn with_token(token: &str) -> Value {
    json!({"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": token})
}

pub(crate) async fn invoke(
    server: &TestServer,
    service: &str,
    operation: &str,
    input: Value,
    security: Value,
) -> TestResponse {
    server
        .request("POST", "/api")
        .header("content-type", "application/json")
        .header("vapi-service", service)
        .body(invoke_body("5", service, operation, input, security))
        .send()
        .await
}

/// Logs in over JSON-RPC; returns the token.
pub(crate) async fn login(server: &TestServer) -> String {
    let security = json!({"schemeId": "com.vmware.vapi.std.security.user_pass",
        "userName": FAKE_USER, "password": FAKE_PASSWORD});
    let response = invoke(server, CIS, "create", json!({}), security).await;
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["id"], "5", "the id keeps its type: {body}");
    body["result"]["output"]["SECRET"]
        .as_str()
        .unwrap_or_else(|| panic!("no SECRET in {body}"))
        .to_owned()
}

/// The plain value of a typed one: wrappers removed, null optionals left out.
fn untyped(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.iter().next().unwrap();
            match key.as_str() {
                "STRUCTURE" | "ERROR" => {
                    untyped(inner.as_object().unwrap().values().next().unwrap())
                }
                "OPTIONAL" | "SECRET" => untyped(inner),
                _ => untyped_fields(map),
            }
        }
        Value::Object(map) => untyped_fields(map),
        Value::Array(items) => Value::Array(items.iter().map(untyped).collect()),
        other => other.clone(),
    }
}

fn untyped_fields(map: &Map<String, Value>) -> Value {
    Value::Object(
        map.iter()
            .map(|(key, value)| (key.clone(), untyped(value)))
            .filter(|(_, value)| !value.is_null())
            .collect(),
    )
}

/// A success: HTTP 200, the request's id, the plain output.
fn output(response: &TestResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    assert_eq!(body["jsonrpc"], "2.0");
    assert_eq!(body["id"], "5");
    assert!(response.header("vapi-error").is_none(), "{body}");
    untyped(&body["result"]["output"])
}

/// A vAPI error: HTTP 200, the error's name (also in `vapi-error`) and first message.
pub(crate) fn error(response: &TestResponse) -> (String, String) {
    assert_eq!(response.status, 200, "{}", response.text());
    let body = response.json();
    let named = body["result"]["error"]["ERROR"]
        .as_object()
        .unwrap_or_else(|| panic!("{body}"));
    let (type_name, fields) = named.iter().next().unwrap();
    let name = type_name
        .strip_prefix("com.vmware.vapi.std.errors.")
        .unwrap()
        .to_owned();
    assert_eq!(response.header("vapi-error"), Some(type_name.as_str()));
    assert_eq!(fields["error_type"]["OPTIONAL"], name.to_uppercase());
    let message = untyped(&fields["messages"][0]);
    (
        name,
        message["default_message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn rest(
    server: &TestServer,
    token: &str,
    method: &str,
    path: &str,
    body: &str,
) -> TestResponse {
    server
        .request(method, path)
        .header("vmware-api-session-id", token)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
}

#[tokio::test]
async fn a_session_recorded_over_rest_replays_to_jsonrpc() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = crate::support::login(&recorder).await;
    let create = json!({"create_spec": {"library_item_id": ITEM_ID}}).to_string();
    let created = rest(&recorder, &token, "POST", REST, &create).await.json()["value"].clone();
    let id = created.as_str().unwrap().to_owned();
    let got = rest(&recorder, &token, "GET", &format!("{REST}/id:{id}"), "")
        .await
        .json()["value"]
        .clone();
    let files_path = format!("{REST_FILES}?download_session_id={id}");
    let files = rest(&recorder, &token, "GET", &files_path, "").await.json()["value"].clone();
    let prepare_path = format!("{REST_FILES}/id:{id}?~action=prepare");
    let prepared = rest(
        &recorder,
        &token,
        "POST",
        &prepare_path,
        r#"{"file_name":"disk.iso"}"#,
    )
    .await
    .json()["value"]
        .clone();
    let recorded_base = recorder.base.clone();
    let deleted = rest(&recorder, &token, "DELETE", &format!("{REST}/id:{id}"), "").await;
    assert_eq!(deleted.status, 200);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;

    let replay = TestServer::replay_with(folder.path(), &["--require-session"]).await;
    let get = json!({"download_session_id": id});
    let anonymous = invoke(&replay, SESSION, "get", get.clone(), Value::Null).await;
    assert_eq!(
        error(&anonymous),
        (
            "unauthenticated".to_owned(),
            "Authentication required.".to_owned()
        )
    );
    let token = login(&replay).await;
    let me = with_token(&token);
    let spec = json!({"create_spec": {"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {"library_item_id": {"OPTIONAL": ITEM_ID}}}}});
    assert_eq!(
        output(&invoke(&replay, SESSION, "create", spec, me.clone()).await),
        created
    );
    assert_eq!(
        output(&invoke(&replay, SESSION, "get", get.clone(), me.clone()).await),
        got
    );
    assert_eq!(
        on_dsvcr(
            &output(&invoke(&replay, FILE, "list", get.clone(), me.clone()).await),
            &replay.base
        ),
        on_dsvcr(&files, &recorded_base)
    );
    let prepare = json!({"download_session_id": id, "file_name": "disk.iso", "endpoint_type": {"OPTIONAL": null}});
    assert_eq!(
        on_dsvcr(
            &output(&invoke(&replay, FILE, "prepare", prepare, me.clone()).await),
            &replay.base
        ),
        on_dsvcr(&prepared, &recorded_base)
    );
    assert_eq!(
        output(&invoke(&replay, SESSION, "delete", get.clone(), me.clone()).await),
        Value::Null
    );
    let (kind, message) = error(&invoke(&replay, SESSION, "get", get, me.clone()).await);
    assert_eq!(kind, "not_found", "a replayed delete ends the session");
    assert!(message.contains(&id), "{message}");

    let unknown = json!({"download_session_id": "obj-unknown-9"});
    let (kind, message) = error(&invoke(&replay, SESSION, "get", unknown, me.clone()).await);
    assert_eq!(kind, "not_found");
    assert!(message.contains("obj-unknown-9"), "{message}");
    let (kind, message) = error(
        &invoke(
            &replay,
            "com.vmware.vcenter.vm",
            "list",
            json!({}),
            me.clone(),
        )
        .await,
    );
    assert_eq!(kind, "operation_not_found");
    assert_eq!(
        message,
        "dsvcr has no recording of com.vmware.vcenter.vm.list: no cassette covers this operation"
    );

    let info = output(&invoke(&replay, CIS, "get", json!({}), me.clone()).await);
    assert_eq!(info["user"], FAKE_USER);
    assert!(
        info["created_time"].as_str().unwrap().ends_with('Z'),
        "{info}"
    );
    assert_eq!(
        output(&invoke(&replay, CIS, "delete", json!({}), me.clone()).await),
        Value::Null
    );
    let after = invoke(
        &replay,
        FILE,
        "list",
        json!({"download_session_id": id}),
        me,
    )
    .await;
    assert_eq!(
        error(&after).0,
        "unauthenticated",
        "the logout ended the session"
    );

    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(health["misses"], 1, "{health}");
    assert_eq!(health["unrecorded"], 1, "{health}");
}

#[tokio::test]
async fn a_session_recorded_over_jsonrpc_replays_over_rest_and_api() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    let me = with_token(&token);
    let spec = json!({"client_token": {"OPTIONAL": null}, "create_spec": {"STRUCTURE": {"com.vmware.content.library.item.download_session_model": {"library_item_id": {"OPTIONAL": ITEM_ID}}}}});
    let id = output(&invoke(&recorder, SESSION, "create", spec, me.clone()).await);
    let id = id.as_str().unwrap().to_owned();
    let get = json!({"download_session_id": id});
    let got = output(&invoke(&recorder, SESSION, "get", get.clone(), me.clone()).await);
    assert_eq!(Some(&got), fake.session_model(&id).as_ref());
    let prepare = json!({"download_session_id": id, "file_name": "disk.iso"});
    let prepared = output(&invoke(&recorder, FILE, "prepare", prepare, me.clone()).await);
    let prepared = on_dsvcr(&prepared, &recorder.base);
    let missing = json!({"download_session_id": "obj-missing-1"});
    let (kind, _) = error(&invoke(&recorder, SESSION, "get", missing, me.clone()).await);
    assert_eq!(kind, "not_found");
    let (kind, _) = error(&invoke(&recorder, SESSION, "get", get.clone(), Value::Null).await);
    assert_eq!(kind, "unauthenticated", "forwarded, never recorded");
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;

    let files = cassette_files(folder.path());
    let session_file = files.iter().find(|(_, c)| c["id"] == id.as_str()).unwrap();
    assert_eq!(
        session_file.1["create"],
        json!({"library_item_id": ITEM_ID, "order": 0})
    );
    let get_track = timeline(&session_file.1, "download_session.get", None).unwrap();
    assert_eq!(
        get_track["responses"].as_array().unwrap().len(),
        1,
        "the unauthenticated get is not recorded"
    );
    for (name, cassette) in &files {
        let text = cassette.to_string();
        assert!(
            !text.contains(FAKE_PASSWORD) && !text.contains(&token),
            "{name} holds a secret"
        );
    }

    let replay = TestServer::replay(folder.path()).await;
    let rest_get = replay.get(&format!("{REST}/id:{id}")).await;
    assert_eq!(rest_get.json()["value"], got);
    let api_get = replay.get(&format!("{API}/{id}")).await;
    assert_eq!(api_get.json(), got);
    let api_prepare = replay
        .post(
            &format!("{API}/{id}/file?action=prepare"),
            r#"{"file_name":"disk.iso"}"#,
        )
        .await;
    assert_eq!(on_dsvcr(&api_prepare.json(), &replay.base), prepared);
    let missing = replay.get(&format!("{API}/obj-missing-1")).await;
    assert_eq!(
        missing.status,
        404,
        "the recorded not_found: {}",
        missing.text()
    );
    assert_eq!(missing.json()["error_type"], "NOT_FOUND");
}

#[tokio::test]
async fn malformed_calls_get_jsonrpc_errors() {
    let folder = folder_with(&[cassette("obj-103", vec![(1, ok(session("obj-103", 10)))])]);
    let replay = TestServer::replay(folder.path()).await;
    let cases = [
        (
            "{\"jsonrpc\":",
            json!({"code": -32700, "message": "the body is not JSON: EOF while parsing a value at line 1 column 11"}),
            Value::Null,
        ),
        (
            "[]",
            json!({"code": -32600, "message": "not a JSON-RPC 2.0 invoke request: the request must be a JSON object"}),
            Value::Null,
        ),
        (
            r#"{"jsonrpc":"2.0","id":4,"method":"invoke","params":{}}"#,
            json!({"code": -32600, "message": "not a JSON-RPC 2.0 invoke request: params must name the serviceId and operationId as strings"}),
            json!(4),
        ),
        (
            r#"{"jsonrpc":"2.0","id":"a","method":"list"}"#,
            json!({"code": -32601, "message": "unknown method \"list\": vAPI calls use \"invoke\""}),
            json!("a"),
        ),
    ];
    for (body, fault, id) in cases {
        let response = replay.post("/api", body).await;
        assert_eq!(response.status, 200, "{body}");
        assert_eq!(
            response.json(),
            json!({"jsonrpc": "2.0", "id": id, "error": fault}),
            "{body}"
        );
        assert_eq!(
            response.header("x-dsvcr-synthetic"),
            Some("invalid-jsonrpc")
        );
    }
    let no_id = invoke(
        &replay,
        SESSION,
        "get",
        json!({"download_session_id": {"OPTIONAL": null}}),
        Value::Null,
    )
    .await;
    assert_eq!(
        no_id.json(),
        json!({"jsonrpc": "2.0", "id": "5", "error": {"code": -32602, "message": "the operation input has no download_session_id"}})
    );
    let hit = invoke(
        &replay,
        SESSION,
        "get",
        json!({"download_session_id": "obj-103"}),
        Value::Null,
    )
    .await;
    assert_eq!(
        output(&hit),
        session("obj-103", 10),
        "the server still answers"
    );
    let too_large = replay.post("/api", &" ".repeat(2 << 20)).await;
    assert_eq!(too_large.status, 413);
    assert_eq!(too_large.json()["error"]["code"], -32600);
    assert_eq!(
        too_large.json()["error"]["message"],
        "the request body is larger than 1048576 bytes"
    );
}

/// `value` with the base URL of the dsvcr that answered it spelled `DSVCR`: each dsvcr
/// points file endpoints at itself.
fn on_dsvcr(value: &Value, base: &str) -> Value {
    serde_json::from_str(&value.to_string().replace(base, "DSVCR")).unwrap()
}

/// A password a JSON-RPC login carried is kept out of every later cassette of the run, as
/// a REST login's is: the fake's 404 names the requested id, here the password.
#[tokio::test]
async fn a_jsonrpc_login_password_is_kept_out_of_later_cassettes() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    let response = recorder
        .request("GET", &format!("{API}/{FAKE_PASSWORD}"))
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(
        response.status,
        500,
        "the answer holding the password is withheld: {}",
        response.text()
    );
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    assert!(
        response
            .vapi_message()
            .ends_with("it would contain a JSON-RPC password seen in this run"),
        "{}",
        response.vapi_message()
    );
    assert!(cassette_files(folder.path()).is_empty(), "nothing written");
    fake.stop().await;
}

/// An `invoke` whose id is written as `id` (JSON text), byte for byte.
fn invoke_with_raw_id(id: &str, operation: &str, input: Value, security: Value) -> String {
    let body = invoke_body("@ID@", SESSION, operation, input, security);
    assert!(body.contains(r#""id":"@ID@""#), "{body}");
    body.replace(r#""id":"@ID@""#, &format!(r#""id":{id}"#))
}

/// Found by a hostile review: a request id was read as a JSON value and written back, so
/// `1E2` came back `100.0`. Replay echoes each id as sent; so does record, in the
/// upstream's answer it passes on (the fake vCenter, like any JSON reader, would echo
/// `1E2` as `100.0`, a big integer rounded, `"a\u0041"` as `"aA"`).
#[tokio::test]
async fn ids_come_back_exactly_as_sent_in_replay_and_record() {
    let ids = [
        "1E2",
        "-0",
        "1.50",
        "12345678901234567890123",
        r#""a\u0041""#,
        "null",
    ];
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let me = with_token(&login(&recorder).await);
    let replay = TestServer::replay(&shipped_cassettes()).await;
    for id in ids {
        let echoed = format!(r#""id":{id},"#);
        for (server, session, security) in [
            (&recorder, "obj-1", me.clone()),
            (&replay, "obj-103", Value::Null),
        ] {
            let get = json!({"download_session_id": session});
            let response = server
                .request("POST", "/api")
                .header("content-type", "application/json")
                .body(invoke_with_raw_id(id, "get", get, security))
                .send()
                .await;
            assert_eq!(response.status, 200, "{}", response.text());
            assert!(
                response.text().contains(&echoed),
                "{id} on {}: {}",
                server.base,
                response.text()
            );
            assert!(response.json()["result"]["output"]["STRUCTURE"].is_object());
        }
    }
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
}
