//! Library and item models over JSON-RPC, over real sockets: recorded over `/rest` from the
//! fake vCenter and answered to a JSON-RPC client in vAPI's typed encoding; a recorded
//! model the schema cannot take is dsvcr's own error, counted as a miss, never a hit.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::fake_vcenter::{FakeVcenter, ITEM_ID, LIBRARY_ID, LIBRARY_NAME};
use crate::jsonrpc::{error, invoke};
use crate::support::*;

const LIBRARY: &str = "com.vmware.content.library";
const ITEM: &str = "com.vmware.content.library.item";
const REST_LIBRARY: &str = "/rest/com/vmware/content/library";

/// Records, over `/rest`, the library's and the item's models, the item list and the
/// library find; the cassette folder.
pub(crate) async fn recorded_over_rest() -> tempfile::TempDir {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    let find = json!({"spec": {"name": LIBRARY_NAME}}).to_string();
    for (method, path, body) in [
        (
            "GET",
            format!("{REST_LIBRARY}/id:{LIBRARY_ID}"),
            String::new(),
        ),
        (
            "GET",
            format!("{REST_LIBRARY}/item/id:{ITEM_ID}"),
            String::new(),
        ),
        (
            "GET",
            format!("{REST_LIBRARY}/item?library_id={LIBRARY_ID}"),
            String::new(),
        ),
        ("POST", format!("{REST_LIBRARY}?~action=find"), find),
    ] {
        let response = recorder
            .request(method, &path)
            .header("vmware-api-session-id", &token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        assert_eq!(response.status, 200, "{path}: {}", response.text());
    }
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;
    folder
}

fn the_output(response: &TestResponse) -> Value {
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("x-dsvcr-synthetic"), None);
    assert_eq!(response.header("vapi-error"), None);
    let body = response.json();
    assert_eq!(
        (&body["jsonrpc"], &body["id"]),
        (&json!("2.0"), &json!("5"))
    );
    body["result"]["output"].clone()
}

#[tokio::test]
async fn models_recorded_over_rest_are_answered_typed_to_jsonrpc() {
    let folder = recorded_over_rest().await;
    let replay = TestServer::replay(folder.path()).await;
    let get_library = json!({"library_id": LIBRARY_ID});
    let library = invoke(&replay, LIBRARY, "get", get_library, Value::Null).await;
    assert_eq!(
        the_output(&library),
        json!({"STRUCTURE": {"com.vmware.content.library_model": {
            "id": {"OPTIONAL": LIBRARY_ID},
            "name": {"OPTIONAL": LIBRARY_NAME},
            "type": {"OPTIONAL": "LOCAL"},
        }}})
    );
    let get_item = json!({"library_item_id": ITEM_ID});
    let item = invoke(&replay, ITEM, "get", get_item, Value::Null).await;
    assert_eq!(
        the_output(&item),
        json!({"STRUCTURE": {"com.vmware.content.library.item_model": {
            "id": {"OPTIONAL": ITEM_ID},
            "library_id": {"OPTIONAL": LIBRARY_ID},
            "name": {"OPTIONAL": "harness-item"},
            "type": {"OPTIONAL": "iso"},
        }}})
    );
    let list = invoke(
        &replay,
        ITEM,
        "list",
        json!({"library_id": LIBRARY_ID}),
        Value::Null,
    )
    .await;
    assert_eq!(the_output(&list), json!([ITEM_ID]), "a bare array of ids");
    let spec = json!({"STRUCTURE": {"com.vmware.content.library.find_spec": {
        "name": {"OPTIONAL": LIBRARY_NAME}, "type": {"OPTIONAL": null},
        "storage_backing": {"OPTIONAL": null}}}});
    let find = invoke(&replay, LIBRARY, "find", json!({"spec": spec}), Value::Null).await;
    assert_eq!(
        the_output(&find),
        json!([LIBRARY_ID]),
        "a bare array of ids"
    );
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!((&health["hits"], &health["misses"]), (&json!(4), &json!(0)));
}

/// The recorded item model with `certificate_verification_info` but no `status`, which
/// the SDK's binding requires.
fn without_required_status(folder: &std::path::Path) {
    let calls = folder.join("calls");
    let file = std::fs::read_dir(&calls)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.to_string_lossy().contains("library.item.get-"))
        .expect("the item's call cassette");
    let mut cassette: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    cassette["responses"][0]["value"]["certificate_verification_info"] =
        json!({"cert_chain": ["PEM"]});
    std::fs::write(&file, serde_json::to_vec_pretty(&cassette).unwrap()).unwrap();
}

#[tokio::test]
async fn a_model_that_cannot_be_typed_is_a_synthetic_error_and_a_miss() {
    let folder = recorded_over_rest().await;
    without_required_status(folder.path());
    let summary = folder.path().join("summary.json");
    let replay = TestServer::replay_with(
        folder.path(),
        &["--fail-on-miss", "--summary", summary.to_str().unwrap()],
    )
    .await;
    let get_item = json!({"library_item_id": ITEM_ID});
    let message = "dsvcr cannot write the recorded answer of com.vmware.content.library.item.get in vAPI's typed encoding: the recorded model does not fit com.vmware.content.library.item_model: a required field is missing at certificate_verification_info.status";
    for _ in 0..2 {
        let answer = invoke(&replay, ITEM, "get", get_item.clone(), Value::Null).await;
        assert_eq!(
            error(&answer),
            ("internal_server_error".to_owned(), message.to_owned())
        );
        assert_eq!(
            answer.header("x-dsvcr-synthetic"),
            Some("unencodable-answer")
        );
        let args = &answer.json()["result"]["error"]["ERROR"]
            ["com.vmware.vapi.std.errors.internal_server_error"]["messages"][0]["STRUCTURE"]
            ["com.vmware.vapi.std.localizable_message"]["args"];
        assert_eq!(
            args,
            &json!([
                "com.vmware.content.library.item.get",
                "certificate_verification_info.status"
            ])
        );
    }
    let rest = replay
        .get(&format!("{REST_LIBRARY}/item/id:{ITEM_ID}"))
        .await;
    assert_eq!(rest.status, 200, "REST carries the model as recorded");
    assert_eq!(
        rest.json()["value"]["certificate_verification_info"],
        json!({"cert_chain": ["PEM"]})
    );
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!((&health["hits"], &health["misses"]), (&json!(1), &json!(2)));
    assert_eq!(replay.shut_down().await, ExitCode::from(3));
    let summary: Value = serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    assert_eq!(
        summary["missed_ids"],
        json!([format!(
            "library.item.get {{\"library_item_id\":\"{ITEM_ID}\"}}: the recorded model does not fit com.vmware.content.library.item_model: a required field is missing at certificate_verification_info.status"
        )])
    );
    assert_eq!(summary["requests_by_operation"]["library.item.get"], 3);
}

/// The call cassettes of `folder`, by file name: operation, key and responses.
fn calls(folder: &std::path::Path) -> Vec<(String, Value)> {
    let mut calls: Vec<(String, Value)> = std::fs::read_dir(folder.join("calls"))
        .unwrap()
        .map(|entry| {
            let path = entry.unwrap().path();
            let cassette: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let kept = json!({"operation": cassette["operation"], "key": cassette["key"],
                "responses": cassette["responses"]});
            (name, kept)
        })
        .collect();
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    calls
}

#[tokio::test]
async fn typed_models_recorded_over_jsonrpc_are_stored_as_rest_stores_them() {
    let over_rest = recorded_over_rest().await;
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = crate::jsonrpc::login(&recorder).await;
    let me = json!({"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": token});
    let spec = json!({"STRUCTURE": {"com.vmware.content.library.find_spec": {
        "name": {"OPTIONAL": LIBRARY_NAME}, "type": {"OPTIONAL": null},
        "storage_backing": {"OPTIONAL": null}}}});
    for (service, operation, input) in [
        (LIBRARY, "get", json!({"library_id": LIBRARY_ID})),
        (ITEM, "get", json!({"library_item_id": ITEM_ID})),
        (ITEM, "list", json!({"library_id": LIBRARY_ID})),
        (LIBRARY, "find", json!({"spec": spec})),
    ] {
        let answer = invoke(&recorder, service, operation, input, me.clone()).await;
        the_output(&answer);
    }
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;
    assert_eq!(calls(folder.path()), calls(over_rest.path()));
    assert_eq!(calls(folder.path()).len(), 4);
}

/// Record with `--new-episodes` does not answer a JSON-RPC caller from a recorded model it
/// cannot type: vCenter is asked, and its answer is recorded after the old one.
#[tokio::test]
async fn new_episodes_ask_vcenter_for_a_model_the_recording_cannot_type() {
    let folder = recorded_over_rest().await;
    without_required_status(folder.path());
    let fake = FakeVcenter::http().await;
    let summary = folder.path().join("summary.json");
    let mut setup = RecordSetup::to(&fake.url()).flag("--summary", summary.to_str().unwrap());
    setup.new_episodes = true;
    let recorder = setup.start(folder.path()).await;
    let token = crate::jsonrpc::login(&recorder).await;
    let me = json!({"schemeId": "com.vmware.vapi.std.security.session_id", "sessionId": token});
    let get_item = json!({"library_item_id": ITEM_ID});
    let answer = invoke(&recorder, ITEM, "get", get_item, me).await;
    let fields = &the_output(&answer)["STRUCTURE"]["com.vmware.content.library.item_model"];
    assert_eq!(fields["name"], json!({"OPTIONAL": "harness-item"}));
    assert_eq!(
        fields["cached"],
        json!({"OPTIONAL": null}),
        "the fake's own answer"
    );
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;
    let summary: Value = serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    assert_eq!(
        (
            &summary["hits"],
            &summary["recordings"],
            &summary["requests_by_operation"]["library.item.get"]
        ),
        (&json!(0), &json!(1), &json!(1)),
        "{summary}"
    );
    let (_, item) = calls(folder.path())
        .into_iter()
        .find(|(name, _)| name.starts_with("library.item.get-"))
        .unwrap();
    let values: Vec<&Value> = item["responses"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| &entry["value"])
        .collect();
    assert_eq!(
        values,
        [
            &json!({"id": ITEM_ID, "library_id": LIBRARY_ID, "name": "harness-item", "type": "iso",
                "certificate_verification_info": {"cert_chain": ["PEM"]}}),
            &json!({"id": ITEM_ID, "library_id": LIBRARY_ID, "name": "harness-item", "type": "iso"}),
        ]
    );
}
