//! The ten download-session operations: recorded from the fake vCenter through
//! `dsvcr record`, then replayed offline, in both REST flavours.

use std::process::ExitCode;

use serde_json::{json, Value};

use crate::fake_vcenter::{FakeOptions, FakeVcenter, ITEM_ID};
use crate::support::*;

const REST_FILES: &str = "/rest/com/vmware/content/library/item/downloadsession/file";

/// One step of a client's conversation: method, path, body.
type Step = (&'static str, String, String);

/// What the client saw: status and the body (JSON when there is one).
type Seen = (u16, Value);

async fn send(server: &TestServer, token: &str, (method, path, body): &Step) -> Seen {
    let response = server
        .request(method, path)
        .header("vmware-api-session-id", token)
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await;
    let body = if response.body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&response.body)
            .unwrap_or_else(|_| Value::String(response.text().to_owned()))
    };
    (response.status.as_u16(), body)
}

async fn create(server: &TestServer, token: &str, api: bool) -> Seen {
    let step = if api {
        (
            "POST",
            API.to_owned(),
            json!({"library_item_id": ITEM_ID}).to_string(),
        )
    } else {
        let body = json!({"create_spec": {"library_item_id": ITEM_ID}});
        ("POST", REST.to_owned(), body.to_string())
    };
    send(server, token, &step).await
}

/// A whole download conversation after create, on `/rest` (`api` false) or `/api`.
fn conversation(id: &str, api: bool) -> Vec<Step> {
    let get = |file: &str| {
        if api {
            (
                "GET",
                format!("{API}/{id}/file?file_name={file}"),
                String::new(),
            )
        } else {
            let body = json!({ "file_name": file }).to_string();
            ("POST", format!("{REST_FILES}/id:{id}?~action=get"), body)
        }
    };
    let prepare = |file: &str| {
        let body = json!({ "file_name": file }).to_string();
        if api {
            ("POST", format!("{API}/{id}/file?action=prepare"), body)
        } else {
            (
                "POST",
                format!("{REST_FILES}/id:{id}?~action=prepare"),
                body,
            )
        }
    };
    let (session, action, files) = if api {
        (format!("{API}/{id}"), "action", format!("{API}/{id}/file"))
    } else {
        (
            format!("{REST}/id:{id}"),
            "~action",
            format!("{REST_FILES}?download_session_id={id}"),
        )
    };
    let on = |suffix: &str, body: &str| {
        (
            "POST",
            format!("{session}?{action}={suffix}"),
            body.to_owned(),
        )
    };
    let list = if api { API } else { REST };
    vec![
        ("GET", session.clone(), String::new()),
        (
            "GET",
            format!("{list}?library_item_id={ITEM_ID}"),
            String::new(),
        ),
        ("GET", files.clone(), String::new()),
        prepare("disk.iso"),
        prepare("notes.txt"),
        get("disk.iso"),
        get("disk.iso"),
        get("disk.iso"),
        get("notes.txt"),
        get("notes.txt"),
        get("notes.txt"),
        on("keep-alive", r#"{"progress":50}"#),
        ("GET", session.clone(), String::new()),
        on("fail", r#"{"client_error_message":"disk full"}"#),
        on("cancel", ""),
        get("missing.bin"),
        ("DELETE", session.clone(), String::new()),
        ("GET", session.clone(), String::new()),
    ]
}

async fn converse(server: &TestServer, token: &str, steps: &[Step]) -> Vec<Seen> {
    let mut seen = Vec::new();
    for step in steps {
        seen.push(send(server, token, step).await);
    }
    seen
}

/// Records create + the conversation from the fake, then replays it offline and checks
/// that every answer is the recorded one.
async fn record_then_replay(api: bool) {
    let fake = FakeVcenter::start(FakeOptions {
        prepare_polls: 2,
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    let created = create(&recorder, &token, api).await;
    assert_eq!(created.0, if api { 201 } else { 200 }, "{created:?}");
    let id = fake.created_sessions()[0].clone();
    let steps = conversation(&id, api);
    let recorded = converse(&recorder, &token, &steps).await;
    let recorder_base = recorder.base.clone();
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;
    assert_recorded_flow(&recorded, api);

    let replay = TestServer::replay_with(folder.path(), &["--require-session"]).await;
    let token = login(&replay).await;
    assert_eq!(create(&replay, &token, api).await, created);
    let replayed = converse(&replay, &token, &steps).await;
    // Download endpoints name the dsvcr that answered: each run's own port.
    let recorded = recorded.iter().map(|seen| on_dsvcr(seen, &recorder_base));
    let replayed = replayed.iter().map(|seen| on_dsvcr(seen, &replay.base));
    for ((step, recorded), replayed) in steps.iter().zip(recorded).zip(replayed) {
        assert_eq!(replayed, recorded, "{} {}", step.0, step.1);
    }
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(health["misses"], 0, "{health}");
    assert_eq!(health["unrecorded"], 0, "{health}");
}

/// `seen` with the base URL of the dsvcr that answered it spelled `DSVCR`.
fn on_dsvcr((status, body): &Seen, base: &str) -> Seen {
    let text = body.to_string().replace(base, "DSVCR");
    (*status, serde_json::from_str(&text).unwrap())
}

/// The recording itself went the way a real vCenter goes: polls walk to PREPARED, a
/// cancel after fail is refused, a delete ends the session.
fn assert_recorded_flow(recorded: &[Seen], api: bool) {
    let value = |seen: &Seen| {
        if api {
            seen.1.clone()
        } else {
            seen.1["value"].clone()
        }
    };
    let statuses: Vec<u16> = recorded.iter().map(|seen| seen.0).collect();
    let void = if api { 204 } else { 200 };
    assert_eq!(
        statuses,
        [
            200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, void, 200, void, 400, 404, void,
            404
        ]
    );
    let polls: Vec<&str> = recorded[5..8]
        .iter()
        .map(|seen| value(seen)["status"].as_str().unwrap().to_owned())
        .map(|status| match status.as_str() {
            "PREPARING" => "PREPARING",
            "PREPARED" => "PREPARED",
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(polls, ["PREPARING", "PREPARED", "PREPARED"]);
    assert_eq!(value(&recorded[12])["client_progress"], 50);
}

#[tokio::test]
async fn every_operation_is_recorded_and_replayed_on_rest() {
    record_then_replay(false).await;
}

#[tokio::test]
async fn every_operation_is_recorded_and_replayed_on_api() {
    record_then_replay(true).await;
}

#[tokio::test]
async fn the_recorded_session_cassette_holds_its_create_and_a_timeline_per_operation_and_file() {
    let fake = FakeVcenter::start(FakeOptions {
        prepare_polls: 2,
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    create(&recorder, &token, false).await;
    let id = fake.created_sessions()[0].clone();
    let steps = conversation(&id, false);
    converse(&recorder, &token, &steps[3..9]).await;
    recorder.shut_down().await;

    let files = cassette_files(folder.path());
    assert_eq!(files.len(), 1);
    let cassette = &files[0].1;
    assert_eq!(cassette["format"], 2);
    assert_eq!(cassette["id"], id.as_str());
    assert_eq!(
        cassette["create"],
        json!({"library_item_id": ITEM_ID, "order": 0})
    );
    let operations: Vec<(String, Option<String>, usize)> = cassette["timelines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|track| {
            (
                track["operation"]
                    .as_str()
                    .unwrap()
                    .rsplit('.')
                    .take(2)
                    .collect::<Vec<_>>()
                    .join("<"),
                track["file_name"].as_str().map(str::to_owned),
                track["responses"].as_array().unwrap().len(),
            )
        })
        .collect();
    assert_eq!(
        operations,
        [
            ("get<file".to_owned(), Some("disk.iso".to_owned()), 2),
            ("get<file".to_owned(), Some("notes.txt".to_owned()), 1),
            ("prepare<file".to_owned(), Some("disk.iso".to_owned()), 1),
            ("prepare<file".to_owned(), Some("notes.txt".to_owned()), 1),
        ]
    );
    let disk = timeline(cassette, "downloadsession.file.get", Some("disk.iso")).unwrap();
    assert_eq!(disk["responses"][0]["file"]["status"], "PREPARING");
    assert_eq!(disk["responses"][1]["file"]["status"], "PREPARED");
    assert_eq!(disk["responses"][1]["repeat"], 2);
}

#[tokio::test]
async fn creates_replay_recorded_ids_in_order_or_by_client_token() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    let first = create(&recorder, &token, false).await;
    let with_token = send(
        &recorder,
        &token,
        &(
            "POST",
            format!("{API}?client_token=ticket-7"),
            json!({"library_item_id": ITEM_ID}).to_string(),
        ),
    )
    .await;
    let second = create(&recorder, &token, true).await;
    recorder.shut_down().await;
    let ids = fake.created_sessions();
    assert_eq!(ids.len(), 3);
    assert_eq!(first.1["value"], ids[0].as_str());
    assert_eq!(with_token.1, ids[1].as_str());
    assert_eq!(second.1, ids[2].as_str());

    let replay = TestServer::replay(folder.path()).await;
    let token = "unused";
    // Without a token, creates get the recorded ids in recording order.
    assert_eq!(create(&replay, token, true).await, (201, json!(ids[0])));
    assert_eq!(
        create(&replay, token, false).await,
        (200, json!({"value": ids[1]}))
    );
    // A recorded client token picks its own session, in any flavour, at any time.
    let rest_token =
        json!({"client_token": "ticket-7", "create_spec": {"library_item_id": ITEM_ID}});
    assert_eq!(
        send(
            &replay,
            token,
            &("POST", REST.to_owned(), rest_token.to_string())
        )
        .await,
        (200, json!({"value": ids[1]}))
    );
    let header = replay
        .request("POST", API)
        .header("client-token", "ticket-7")
        .body(json!({"library_item_id": ITEM_ID}).to_string())
        .send()
        .await;
    assert_eq!(header.json(), json!(ids[1]));
    assert_eq!(create(&replay, token, true).await, (201, json!(ids[2])));
    // More creates than were recorded get the recorded ids again, in turn.
    assert_eq!(create(&replay, token, true).await, (201, json!(ids[0])));
    assert_eq!(
        create(&replay, token, false).await,
        (200, json!({"value": ids[1]}))
    );
    // A reset starts the order again.
    assert_eq!(replay.post("/__dsvcr/reset", "").await.status, 200);
    assert_eq!(create(&replay, token, true).await, (201, json!(ids[0])));
    replay.shut_down().await;

    // Strict: past the last recorded create, the last id again.
    let strict = TestServer::replay_with(folder.path(), &["--strict"]).await;
    for expected in [&ids[0], &ids[1], &ids[2], &ids[2]] {
        assert_eq!(create(&strict, token, true).await, (201, json!(expected)));
    }
}

#[tokio::test]
async fn a_replayed_delete_ends_the_session_until_a_reset() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    create(&recorder, &token, true).await;
    let id = fake.created_sessions()[0].clone();
    let session = format!("{API}/{id}");
    let get = ("GET", session.clone(), String::new());
    let delete = ("DELETE", session.clone(), String::new());
    let live = send(&recorder, &token, &get).await;
    assert_eq!(send(&recorder, &token, &delete).await.0, 204);
    recorder.shut_down().await;

    let replay = TestServer::replay(folder.path()).await;
    assert_eq!(send(&replay, "t", &get).await, live);
    assert_eq!(
        send(&replay, "t", &get).await,
        live,
        "the last answer repeats"
    );
    assert_eq!(send(&replay, "t", &delete).await, (204, Value::Null));
    let after = send(&replay, "t", &get).await;
    assert_eq!(after.0, 404);
    assert_eq!(after.1["error_type"], "NOT_FOUND");
    assert_eq!(after.1["messages"][0]["args"], json!([id]));
    let files = send(
        &replay,
        "t",
        &("GET", format!("{session}/file"), String::new()),
    )
    .await;
    assert_eq!(
        files.0, 404,
        "every operation on a deleted session: {files:?}"
    );
    let reset = replay.post(&format!("/__dsvcr/reset?id={id}"), "").await;
    assert_eq!(reset.status, 200);
    assert_eq!(
        send(&replay, "t", &get).await,
        live,
        "a reset brings it back"
    );
}

#[tokio::test]
async fn calls_nobody_recorded_are_loud_and_fail_the_run() {
    let replay = TestServer::replay_with(&shipped_cassettes(), &["--fail-on-miss"]).await;
    let other_api = replay.get("/rest/vcenter/vm").await;
    assert_eq!(other_api.status, 404);
    assert_eq!(
        other_api.header("x-dsvcr-synthetic"),
        Some("no-recording-for-route")
    );
    let unknown_item = replay
        .post(API, r#"{"library_item_id":"item-nobody-recorded"}"#)
        .await;
    assert_eq!(unknown_item.status, 404);
    assert_eq!(
        unknown_item.json(),
        json!({"error_type": "NOT_FOUND", "messages": [{
            "args": ["item-nobody-recorded"],
            "default_message": "No library item with id item-nobody-recorded exists (dsvcr has no recorded create for it).",
            "id": "dsvcr.library_item.not_found"
        }]})
    );
    let not_recorded_op = replay
        .post(&format!("{REST}/id:obj-103?~action=keep-alive"), "")
        .await;
    assert_eq!(not_recorded_op.status, 404);
    assert_eq!(
        not_recorded_op.vapi_message(),
        "dsvcr has no recording of download_session.keep_alive for obj-103"
    );
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(
        (health["misses"].clone(), health["unrecorded"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(replay.shut_down().await, ExitCode::from(dsvcr::EXIT_MISSED));
}

#[tokio::test]
async fn record_forwards_what_it_does_not_answer_itself() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    create(&recorder, &token, true).await;
    let id = fake.created_sessions()[0].clone();
    let files = send(
        &recorder,
        &token,
        &("GET", format!("{API}/{id}/file"), String::new()),
    )
    .await;
    assert_eq!(files.0, 200, "{files:?}");
    let odd = send(
        &recorder,
        &token,
        &("GET", format!("{API}/{id}/files/x"), String::new()),
    )
    .await;
    assert_eq!(
        odd.0, 404,
        "vCenter answers a path dsvcr would refuse: {odd:?}"
    );
    assert_eq!(fake.count("GET", &format!("{API}/{id}/files/x")), 1);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn appending_to_a_format_1_cassette_writes_format_2() {
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-105".into(), vec![100])],
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let sub = folder.path().join(SUBFOLDER);
    std::fs::create_dir(&sub).unwrap();
    let shipped = shipped_cassettes().join("download-session/obj-105.json");
    std::fs::copy(&shipped, sub.join("obj-105.json")).unwrap();
    let before: Value = serde_json::from_slice(&std::fs::read(&shipped).unwrap()).unwrap();
    assert_eq!(before["format"], 1);
    let mut setup = RecordSetup::to(&fake.url());
    setup.rerecord = Rerecord::Append;
    let recorder = setup.start(folder.path()).await;
    assert_eq!(recorder.get(&format!("{API}/obj-105")).await.status, 200);
    recorder.shut_down().await;
    let after = &cassette_files(folder.path())[0].1;
    assert_eq!(after["format"], 2);
    let old = before["responses"].as_array().unwrap();
    let new = timeline(after, "download_session.get", None).unwrap()["responses"]
        .as_array()
        .unwrap();
    assert_eq!(new.len(), old.len() + 1);
    assert_eq!(
        new[..old.len()],
        old[..],
        "the old timeline, then the new answer"
    );
    assert_eq!(new[old.len()]["session"]["client_progress"], 100);
}

/// govc's lookups before a download (library find → get → item find → get, and the
/// lists), recorded on one flavour and replayed on both, with the find specs' keys
/// reordered and respaced.
#[tokio::test]
async fn library_lookups_are_recorded_and_replayed_by_their_inputs() {
    use crate::fake_vcenter::{ITEM_NAME, LIBRARY_ID, LIBRARY_NAME};
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;
    let lib = "/rest/com/vmware/content/library";
    let find_lib = json!({"spec": {"name": LIBRARY_NAME}}).to_string();
    let find_item = json!({"spec": {"library_id": LIBRARY_ID, "name": ITEM_NAME}}).to_string();
    let steps: Vec<Step> = vec![
        ("POST", format!("{lib}?~action=find"), find_lib),
        ("GET", format!("{lib}/id:{LIBRARY_ID}"), String::new()),
        ("POST", format!("{lib}/item?~action=find"), find_item),
        ("GET", format!("{lib}/item/id:{ITEM_ID}"), String::new()),
        (
            "GET",
            format!("{lib}/item?library_id={LIBRARY_ID}"),
            String::new(),
        ),
        ("GET", lib.to_owned(), String::new()),
    ];
    let recorded = converse(&recorder, &token, &steps).await;
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    fake.stop().await;
    assert_eq!(recorded[0], (200, json!({"value": [LIBRARY_ID]})));
    assert_eq!(recorded[1].1["value"]["name"], LIBRARY_NAME);
    assert_eq!(recorded[2], (200, json!({"value": [ITEM_ID]})));
    let calls = std::fs::read_dir(folder.path().join("calls"))
        .unwrap()
        .count();
    assert_eq!(calls, 6, "one call cassette per lookup");

    let replay = TestServer::replay(folder.path()).await;
    assert_eq!(converse(&replay, "t", &steps).await, recorded);
    let reordered: Vec<Step> = vec![
        (
            "POST",
            format!("{lib}?%7Eaction=find"),
            format!("{{ \"spec\" : {{\"name\":\"{LIBRARY_NAME}\"}} }}"),
        ),
        (
            "POST",
            format!("{lib}/item/?~action=find&x=1"),
            json!({"spec": {"name": ITEM_NAME, "library_id": LIBRARY_ID}}).to_string(),
        ),
    ];
    let again = converse(&replay, "t", &reordered).await;
    assert_eq!(again, [recorded[0].clone(), recorded[2].clone()]);
    let api = "/api/content/library";
    let on_api: Vec<Step> = vec![
        (
            "POST",
            format!("{api}?action=find"),
            json!({"name": LIBRARY_NAME}).to_string(),
        ),
        ("GET", format!("{api}/{LIBRARY_ID}"), String::new()),
        ("GET", format!("{api}/item/{ITEM_ID}"), String::new()),
    ];
    let bare = converse(&replay, "t", &on_api).await;
    assert_eq!(bare[0], (200, recorded[0].1["value"].clone()));
    assert_eq!(bare[1], (200, recorded[1].1["value"].clone()));
    assert_eq!(bare[2], (200, recorded[3].1["value"].clone()));
    let other_name = converse(
        &replay,
        "t",
        &[(
            "POST",
            format!("{api}?action=find"),
            json!({"name": "other"}).to_string(),
        )],
    )
    .await;
    // No recorded library has that name: derived from the recorded models.
    assert_eq!(other_name[0], (200, json!([])), "{other_name:?}");
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(
        (health["misses"].clone(), health["unrecorded"].clone()),
        (json!(0), json!(0))
    );
    assert_eq!(
        health["derived"],
        json!({"count": 1, "by_rule": {"library.find": 1}})
    );
}
