//! Replaying the recorded world: a session id stands for every recorded session of its item,
//! in any order and any number of times, and what the recordings settle but nobody recorded
//! is derived (`x-dsvcr-derived`), unless `--strict`.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::fake_vcenter::{FakeVcenter, ITEM_ID, LIBRARY_ID, LIBRARY_NAME};
use crate::support::*;

const REST_FILES: &str = "/rest/com/vmware/content/library/item/downloadsession/file";
const LIBRARY: &str = "/rest/com/vmware/content/library";
const ITEMS: &str = "/rest/com/vmware/content/library/item";
const DERIVED: &str = "x-dsvcr-derived";

/// A client of one dsvcr: status, body (JSON, or null when empty) and the derived rule.
struct Client<'a> {
    server: &'a TestServer,
    token: String,
}

#[derive(Debug, PartialEq)]
struct Seen {
    status: u16,
    body: Value,
    derived: Option<String>,
}

impl<'a> Client<'a> {
    fn of(server: &'a TestServer, token: &str) -> Self {
        Client {
            server,
            token: token.to_owned(),
        }
    }

    async fn send(&self, method: &str, path: &str, body: Value) -> Seen {
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let response = self
            .server
            .request(method, path)
            .header("vmware-api-session-id", &self.token)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        Seen {
            status: response.status.as_u16(),
            body: if response.body.is_empty() {
                Value::Null
            } else {
                response.json()
            },
            derived: response.header(DERIVED).map(str::to_owned),
        }
    }

    async fn value(&self, method: &str, path: &str, body: Value) -> Value {
        let seen = self.send(method, path, body).await;
        assert_eq!(seen.status, 200, "{method} {path}: {:?}", seen.body);
        seen.body["value"].clone()
    }

    async fn create(&self) -> String {
        let spec = json!({"create_spec": {"library_item_id": ITEM_ID}});
        let id = self.value("POST", REST, spec).await;
        id.as_str().unwrap().to_owned()
    }

    async fn file(&self, action: &str, id: &str, file: &str) -> Value {
        let path = format!("{REST_FILES}/id:{id}?~action={action}");
        self.value("POST", &path, json!({ "file_name": file }))
            .await
    }

    /// The bytes behind a prepared file's endpoint on this dsvcr.
    async fn bytes(&self, info: &Value) -> Vec<u8> {
        let uri = info["download_endpoint"]["uri"].as_str().unwrap();
        let path = uri.strip_prefix(&self.server.base).unwrap();
        let response = self
            .server
            .request("GET", path)
            .header("vmware-api-session-id", &self.token)
            .send()
            .await;
        assert_eq!(response.status, 200, "{uri}");
        response.body.to_vec()
    }

    /// govc's whole-item export: list the files, prepare each, poll it, fetch its bytes.
    async fn export_item(&self) -> Vec<(String, Vec<u8>)> {
        let id = self.create().await;
        let path = format!("{REST_FILES}?download_session_id={id}");
        let files = self.value("GET", &path, Value::Null).await;
        let mut names: Vec<String> = files
            .as_array()
            .unwrap()
            .iter()
            .map(|file| file["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        let mut fetched = Vec::new();
        for name in names {
            self.file("prepare", &id, &name).await;
            let info = self.file("get", &id, &name).await;
            assert_eq!(info["status"], "PREPARED", "{name}");
            fetched.push((name, self.bytes(&info).await));
        }
        fetched
    }

    /// govc's single-file export of `disk.iso`: no file list.
    async fn export_iso(&self) -> Vec<u8> {
        let id = self.create().await;
        self.file("prepare", &id, "disk.iso").await;
        let info = self.file("get", &id, "disk.iso").await;
        assert_eq!(info["status"], "PREPARED");
        self.bytes(&info).await
    }
}

/// Records the whole-item export, then the single-file export, from the fake vCenter.
async fn record_two_exports(folder: &std::path::Path) -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let fake = FakeVcenter::http().await;
    let recorder = RecordSetup::to(&fake.url()).start(folder).await;
    let token = login(&recorder).await;
    let client = Client::of(&recorder, &token);
    let whole = client.export_item().await;
    let iso = client.export_iso().await;
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    (whole, iso)
}

#[tokio::test]
async fn exports_replay_in_either_order_and_more_times_than_recorded_without_a_reset() {
    let folder = tempfile::tempdir().unwrap();
    let (whole, iso) = record_two_exports(folder.path()).await;

    let replay = TestServer::replay_with(folder.path(), &["--fail-on-miss"]).await;
    let client = Client::of(&replay, "any");
    // The single file first: the first create hands out the whole-item session's id.
    assert_eq!(client.export_iso().await, iso);
    // The whole item second: its id is the single-file session's, which never listed
    // its files; the whole-item session's recording answers for it.
    assert_eq!(client.export_item().await, whole);
    // A third and a fourth export, without a reset.
    assert_eq!(client.export_item().await, whole);
    assert_eq!(client.export_iso().await, iso);
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(health["misses"], 0);
    assert_eq!(health["derived"], json!({"by_rule": {}, "count": 0}));
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn strict_keeps_the_session_a_create_chose_and_misses() {
    let folder = tempfile::tempdir().unwrap();
    record_two_exports(folder.path()).await;

    let replay = TestServer::replay_with(folder.path(), &["--strict"]).await;
    let client = Client::of(&replay, "any");
    client.export_iso().await;
    let id = client.create().await;
    let path = format!("{REST_FILES}?download_session_id={id}");
    let listed = client.send("GET", &path, Value::Null).await;
    assert_eq!(listed.status, 404, "{:?}", listed.body);
    assert_eq!(
        listed.body["value"]["messages"][0]["default_message"],
        format!("dsvcr has no recording of downloadsession.file.list for {id}")
    );
    assert_eq!(listed.derived, None);
    let session = format!("{REST}/id:{id}");
    assert_eq!(
        client.send("DELETE", &session, Value::Null).await.status,
        404
    );
    replay.shut_down().await;
}

/// Records one create and one prepare of `disk.iso`: no get, no session ends.
async fn record_bare_session(folder: &std::path::Path) -> String {
    let fake = FakeVcenter::http().await;
    let recorder = RecordSetup::to(&fake.url()).start(folder).await;
    let token = login(&recorder).await;
    let client = Client::of(&recorder, &token);
    let id = client.create().await;
    client.file("prepare", &id, "disk.iso").await;
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    id
}

fn derived(status: u16, body: Value, rule: &str) -> Seen {
    Seen {
        status,
        body,
        derived: Some(rule.to_owned()),
    }
}

#[tokio::test]
async fn session_operations_nobody_recorded_are_derived_with_their_effects() {
    let folder = tempfile::tempdir().unwrap();
    let recorded = record_bare_session(folder.path()).await;
    let replay = TestServer::replay(folder.path()).await;
    let client = Client::of(&replay, "any");
    let id = client.create().await;
    assert_eq!(id, recorded);
    let session = format!("{REST}/id:{id}");
    let action = |name: &str| format!("{session}?~action={name}");
    let model = |state: &str, progress: i64| json!({"value": {"client_progress": progress, "id": id, "library_item_id": ITEM_ID, "state": state}});

    let get = client.send("GET", &session, Value::Null).await;
    assert_eq!(
        get,
        derived(200, model("ACTIVE", 0), "download_session.get")
    );
    let listed = client.send("GET", REST, Value::Null).await;
    assert_eq!(
        listed,
        derived(200, json!({"value": [id]}), "download_session.list")
    );
    let kept = client
        .send("POST", &action("keep-alive"), json!({"progress": 42}))
        .await;
    assert_eq!(
        kept,
        derived(200, Value::Null, "download_session.keep_alive")
    );
    let get = client.send("GET", &session, Value::Null).await;
    assert_eq!(
        get,
        derived(200, model("ACTIVE", 42), "download_session.get")
    );

    let failed = client
        .send(
            "POST",
            &action("fail"),
            json!({"client_error_message": "disk full"}),
        )
        .await;
    assert_eq!(failed, derived(200, Value::Null, "download_session.fail"));
    let mut errored = model("ERROR", 42);
    errored["value"]["error_message"] = json!({
        "args": ["disk full"],
        "default_message": "disk full",
        "id": "dsvcr.download_session.client_failed"
    });
    let get = client.send("GET", &session, Value::Null).await;
    assert_eq!(get, derived(200, errored, "download_session.get"));
    let canceled = client.send("POST", &action("cancel"), Value::Null).await;
    assert_eq!(canceled.status, 400);
    assert_eq!(
        canceled.body["value"]["messages"][0]["default_message"],
        format!(
            "Download session {id} is in state ERROR and cannot be canceled: only an ACTIVE session can."
        )
    );
    assert_eq!(
        canceled.body["type"],
        "com.vmware.vapi.std.errors.not_allowed_in_current_state"
    );

    let deleted = client.send("DELETE", &session, Value::Null).await;
    assert_eq!(
        deleted,
        derived(200, Value::Null, "download_session.delete")
    );
    for (method, path, body) in [
        ("DELETE", session.clone(), Value::Null),
        ("POST", action("keep-alive"), Value::Null),
        (
            "POST",
            format!("{REST_FILES}/id:{id}?~action=prepare"),
            json!({"file_name": "disk.iso"}),
        ),
    ] {
        let gone = client.send(method, &path, body).await;
        assert_eq!(gone.status, 404, "{method} {path}");
        assert_eq!(
            gone.body["type"], "com.vmware.vapi.std.errors.not_found",
            "{method} {path}"
        );
    }
    let listed = client.send("GET", REST, Value::Null).await;
    assert_eq!(
        listed,
        derived(200, json!({"value": []}), "download_session.list")
    );
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(
        health["derived"],
        json!({"count": 9, "by_rule": {
            "download_session.cancel": 1,
            "download_session.delete": 1,
            "download_session.fail": 1,
            "download_session.get": 3,
            "download_session.keep_alive": 1,
            "download_session.list": 2,
        }})
    );
    replay.shut_down().await;
}

#[tokio::test]
async fn a_cancel_shows_in_later_gets_and_a_second_cancel_is_refused() {
    let folder = tempfile::tempdir().unwrap();
    record_bare_session(folder.path()).await;
    let replay = TestServer::replay(folder.path()).await;
    let client = Client::of(&replay, "any");
    let id = client.create().await;
    let session = format!("{REST}/id:{id}");
    let cancel = format!("{session}?~action=cancel");
    let canceled = client.send("POST", &cancel, Value::Null).await;
    assert_eq!(
        canceled,
        derived(200, Value::Null, "download_session.cancel")
    );
    let get = client.send("GET", &session, Value::Null).await;
    assert_eq!(get.body["value"]["state"], "CANCELED");
    assert_eq!(client.send("POST", &cancel, Value::Null).await.status, 400);
    // A session nobody created in this replay derives nothing.
    let other = client
        .send("GET", &format!("{REST}/id:obj-999"), Value::Null)
        .await;
    assert_eq!((other.status, other.derived), (404, None));
    replay.shut_down().await;
}

/// Records govc's lookups: the library found by name and got, the item found by library and
/// name and got.
async fn record_lookups(folder: &std::path::Path) {
    let fake = FakeVcenter::http().await;
    let recorder = RecordSetup::to(&fake.url()).start(folder).await;
    let token = login(&recorder).await;
    let client = Client::of(&recorder, &token);
    let find = json!({"spec": {"name": LIBRARY_NAME}});
    let libraries = client
        .value("POST", &format!("{LIBRARY}?~action=find"), find)
        .await;
    assert_eq!(libraries, json!([LIBRARY_ID]));
    client
        .value("GET", &format!("{LIBRARY}/id:{LIBRARY_ID}"), Value::Null)
        .await;
    let find = json!({"spec": {"library_id": LIBRARY_ID, "name": "harness-item"}});
    let items = client
        .value("POST", &format!("{ITEMS}?~action=find"), find)
        .await;
    assert_eq!(items, json!([ITEM_ID]));
    client
        .value("GET", &format!("{ITEMS}/id:{ITEM_ID}"), Value::Null)
        .await;
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn lookups_nobody_recorded_are_derived_from_the_recorded_models() {
    let folder = tempfile::tempdir().unwrap();
    record_lookups(folder.path()).await;
    let replay = TestServer::replay(folder.path()).await;
    let client = Client::of(&replay, "any");
    let find_item = |spec: Value| {
        let client = &client;
        async move {
            client
                .send(
                    "POST",
                    &format!("{ITEMS}?~action=find"),
                    json!({ "spec": spec }),
                )
                .await
        }
    };
    // VMware's sample finds the item by name alone.
    assert_eq!(
        find_item(json!({"name": "HARNESS-item"})).await,
        derived(200, json!({"value": [ITEM_ID]}), "library.item.find")
    );
    assert_eq!(
        find_item(json!({"type": "ovf"})).await,
        derived(200, json!({"value": []}), "library.item.find")
    );
    assert_eq!(
        client.send("GET", LIBRARY, Value::Null).await,
        derived(200, json!({"value": [LIBRARY_ID]}), "library.list")
    );
    assert_eq!(
        client
            .send(
                "GET",
                &format!("{ITEMS}?library_id={LIBRARY_ID}"),
                Value::Null
            )
            .await,
        derived(200, json!({"value": [ITEM_ID]}), "library.item.list")
    );
    let by_type = json!({"spec": {"type": "LOCAL"}});
    assert_eq!(
        client
            .send("POST", &format!("{LIBRARY}?~action=find"), by_type)
            .await,
        derived(200, json!({"value": [LIBRARY_ID]}), "library.find")
    );
    // The recorded find still answers as recorded.
    let recorded = find_item(json!({"library_id": LIBRARY_ID, "name": "harness-item"})).await;
    assert_eq!((recorded.status, recorded.derived), (200, None));

    // A field no recorded model carries settles nothing: a miss, as before.
    let cached = find_item(json!({"cached": true})).await;
    assert_eq!((cached.status, cached.derived), (404, None));
    // A library nobody recorded.
    let unknown = client
        .send(
            "GET",
            &format!("{ITEMS}?library_id=lib-nobody"),
            Value::Null,
        )
        .await;
    assert_eq!((unknown.status, unknown.derived), (404, None));
    // A field the find spec does not have.
    let colour = find_item(json!({"colour": "red"})).await;
    assert_eq!(colour.status, 400);
    assert_eq!(
        colour.body["value"]["messages"][0]["default_message"],
        "a library item find spec has no field \"colour\" (its fields: name, library_id, source_id, type, cached)"
    );
    replay.shut_down().await;

    let strict = TestServer::replay_with(folder.path(), &["--strict"]).await;
    let client = Client::of(&strict, "any");
    let by_name = client
        .send(
            "POST",
            &format!("{ITEMS}?~action=find"),
            json!({"spec": {"name": "harness-item"}}),
        )
        .await;
    assert_eq!((by_name.status, by_name.derived), (404, None));
    strict.shut_down().await;
}
