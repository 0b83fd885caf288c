use super::session_file::SUBFOLDER;
use super::write::remove_stale_temp_files;
use super::*;
use crate::vapi::model::{FileStatus, SessionState};
use crate::vapi::{ErrorKind, LocalizableMessage};
use std::fs;

fn session(progress: i64) -> DownloadSession {
    DownloadSession {
        client_progress: Some(progress),
        error_message: None,
        expiration_time: Some("2026-11-02T10:05:00.000Z".to_owned()),
        id: Some("obj-1".to_owned()),
        library_item_content_version: Some("1".to_owned()),
        library_item_id: "item-1".to_owned(),
        state: SessionState::Active,
    }
}

fn file(name: &str, status: FileStatus) -> FileInfo {
    FileInfo {
        bytes_transferred: Some(0),
        checksum_info: None,
        download_endpoint: None,
        error_message: None,
        name: name.to_owned(),
        size: None,
        status,
    }
}

fn recorded() -> Recorded {
    Recorded {
        at: "2026-11-02T10:00:00Z".to_owned(),
        upstream: Some("vcenter.lab".to_owned()),
        form: Some(Form::GetById),
    }
}

fn not_found() -> Answer {
    Answer::Error {
        status: 404,
        error: VapiError::new(
            ErrorKind::NotFound,
            LocalizableMessage::new("x.not_found", "obj-1 is gone".into(), vec!["obj-1".into()]),
        ),
    }
}

fn sample() -> Cassette {
    let mut cassette = Cassette::new(SessionId::parse("obj-1").unwrap(), recorded());
    cassette.create = Some(Create {
        library_item_id: "item-1".to_owned(),
        client_token: None,
        order: 0,
    });
    cassette.append(Op::Get, None, Answer::Session(session(10)));
    for _ in 0..3 {
        cassette.append(Op::Get, None, Answer::Session(session(50)));
    }
    cassette.append(Op::Get, None, not_found());
    for status in [FileStatus::Preparing, FileStatus::Prepared] {
        cassette.append(
            Op::FileGet,
            Some("disk.iso"),
            Answer::File(file("disk.iso", status)),
        );
    }
    cassette.append(Op::KeepAlive, None, Answer::Void);
    cassette
}

#[test]
fn files_are_pretty_stable_and_round_trip() {
    let bytes = sample().to_file_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("{\n  \"format\": 2,\n  \"id\": \"obj-1\",\n  \"recorded\": {\n    \"at\": \"2026-11-02T10:00:00Z\",\n    \"upstream\": \"vcenter.lab\",\n    \"form\": \"A\"\n  },\n  \"create\": {\n    \"library_item_id\": \"item-1\",\n    \"order\": 0\n  },\n  \"timelines\": [\n    {\n      \"operation\": \"com.vmware.content.library.item.download_session.get\",\n"), "{text}");
    assert!(
        text.contains("\"status\": 200,\n          \"repeat\": 3,\n          \"session\": {"),
        "{text}"
    );
    assert!(text.contains("\"status\": 404,\n          \"error\": {\n            \"type\": \"com.vmware.vapi.std.errors.not_found\","), "{text}");
    assert!(text.contains("\"operation\": \"com.vmware.content.library.item.download_session.keep_alive\",\n      \"responses\": [\n        {\n          \"status\": 200\n        }\n      ]"), "{text}");
    assert!(text.contains("\"operation\": \"com.vmware.content.library.item.downloadsession.file.get\",\n      \"file_name\": \"disk.iso\","), "{text}");
    assert!(text.ends_with("}\n"));
    let path = Path::new("cassettes/download-session/obj-1.json");
    let parsed = Cassette::from_file_bytes(path, &bytes).unwrap();
    assert_eq!(parsed, sample());
    assert_eq!(
        parsed.to_file_bytes(),
        bytes,
        "re-serialising changes nothing"
    );
}

#[test]
fn timelines_are_kept_in_catalog_then_file_order() {
    let mut cassette = Cassette::new(SessionId::parse("obj-1").unwrap(), recorded());
    cassette.append(
        Op::FileGet,
        Some("b"),
        Answer::File(file("b", FileStatus::Prepared)),
    );
    cassette.append(
        Op::FileGet,
        Some("a"),
        Answer::File(file("a", FileStatus::Prepared)),
    );
    cassette.append(Op::Get, None, Answer::Session(session(1)));
    let order: Vec<(Op, Option<&str>)> = cassette
        .timelines
        .iter()
        .map(|track| (track.op, track.file_name.as_deref()))
        .collect();
    assert_eq!(
        order,
        [
            (Op::Get, None),
            (Op::FileGet, Some("a")),
            (Op::FileGet, Some("b"))
        ]
    );
}

fn reason(json: &str) -> String {
    Cassette::from_file_bytes(Path::new("d/obj-1.json"), json.as_bytes())
        .unwrap_err()
        .to_string()
}

fn sample_json() -> serde_json::Value {
    serde_json::from_slice(&sample().to_file_bytes()).unwrap()
}

fn broken(edit: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut value = sample_json();
    edit(&mut value);
    reason(&value.to_string())
}

#[test]
fn invalid_cassettes_are_named_with_their_reason() {
    assert!(reason("{").starts_with("d/obj-1.json: EOF while parsing"));
    assert_eq!(
        broken(|v| v["format"] = 3.into()),
        "d/obj-1.json: format 3 is not known; this dsvcr reads formats 1 to 2"
    );
    assert_eq!(
        broken(|v| v["id"] = "obj-2".into()),
        "d/obj-1.json: holds id \"obj-2\", so its file name must be obj-2.json"
    );
    assert!(broken(|v| v["id"] = "../x".into()).contains("contains a path separator"));
    assert!(
        broken(|v| v["recorded"]["at"] = "yesterday".into()).contains("recorded.at \"yesterday\"")
    );
    assert!(
        broken(|v| v["recorded"]["at"] = "2026-11-02T10:00:00+00:00".into())
            .contains("is not an RFC 3339 UTC time")
    );
    assert!(
        broken(|v| v["timelines"][0]["responses"] = serde_json::json!([]))
            .contains("timelines[0] (download_session.get): responses is empty")
    );
    assert!(
        broken(|v| v["timelines"][0]["responses"][0]["repeat"] = 0.into())
            .contains("repeat must be at least 1")
    );
    assert!(
        broken(|v| v["timelines"][0]["responses"][0]["status"] = 302.into())
            .contains("status 302 is neither")
    );
    assert!(
        broken(|v| v["timelines"][0]["responses"][0]["status"] = 500.into())
            .contains("needs an error and nothing else")
    );
    assert!(
        broken(|v| v["timelines"][0]["responses"][2]["status"] = 200.into())
            .contains("holds at most one of session, file, files, ids and value, and no error")
    );
    assert!(
        broken(|v| v["timelines"][0]["responses"][0]["session"]["state"] = "DONE".into())
            .contains("unknown variant `DONE`")
    );
    assert!(broken(|v| v["extra"] = 1.into()).contains("unknown field `extra`"));
    assert_eq!(
        broken(|v| v["timelines"][0]["responses"][1]["session"]["id"] = "obj-9".into()),
        "d/obj-1.json: timelines[0] (download_session.get): responses[1]: id \"obj-9\" is not the cassette's id \"obj-1\""
    );
    assert_eq!(
        broken(|v| v["timelines"][0]["responses"][0]["session"]["client_progress"] = 101.into()),
        "d/obj-1.json: timelines[0] (download_session.get): responses[0]: client_progress 101 is not between 0 and 100"
    );
    assert!(broken(
        |v| v["timelines"][0]["responses"][0]["session"]["expiration_time"] = "soon".into()
    )
    .starts_with(
        "d/obj-1.json: timelines[0] (download_session.get): responses[0]: expiration_time: "
    ));
    assert!(
        broken(|v| v["timelines"][0]["responses"][2]["error"]["type"] = "oops".into())
            .contains("unknown error type \"oops\"")
    );
    assert!(
        broken(|v| v["timelines"][0]["operation"] = "com.vmware.x.y".into())
            .contains("timelines[0].operation \"com.vmware.x.y\" is not an operation dsvcr knows")
    );
    assert!(
        broken(|v| v["timelines"][2]["file_name"] = serde_json::Value::Null)
            .contains("needs a non-empty file_name")
    );
    assert!(broken(|v| v["timelines"][0]["file_name"] = "x".into()).contains("takes no file_name"));
    assert!(
        broken(|v| v["timelines"][2]["responses"][0]["file"]["name"] = "other".into())
            .contains("file name \"other\" is not the timeline's file_name \"disk.iso\"")
    );
    assert!(broken(|v| {
        let first = v["timelines"][0].clone();
        v["timelines"].as_array_mut().unwrap().push(first);
    })
    .contains("repeats the timeline of download_session.get"));
    assert!(broken(|v| v["timelines"][1]["responses"][0]["session"] =
        serde_json::to_value(session(1)).unwrap())
    .contains("responses[0] is not what download_session.keep_alive answers"));
    assert!(broken(|v| {
        v["timelines"] = serde_json::json!([]);
        v.as_object_mut().unwrap().remove("create");
    })
    .contains("timelines is empty and there is no create"));
}

#[test]
fn format_one_loads_as_a_get_timeline() {
    let one = r#"{"format":1,"operation":"com.vmware.content.library.item.download_session.get","id":"obj-1","recorded":{"at":"2026-11-02T10:00:00Z","form":"A"},"responses":[{"status":200,"repeat":2,"session":{"client_progress":5,"library_item_id":"i","state":"ACTIVE"}}]}"#;
    let cassette = Cassette::from_file_bytes(Path::new("d/obj-1.json"), one.as_bytes()).unwrap();
    assert_eq!(cassette.timelines.len(), 1);
    assert_eq!(cassette.timelines[0].op, Op::Get);
    assert_eq!(cassette.timelines[0].responses[0].repeat, 2);
    assert!(cassette.create.is_none());
    let written = String::from_utf8(cassette.to_file_bytes()).unwrap();
    assert!(written.starts_with("{\n  \"format\": 2,"), "{written}");
    let wrong = one.replace("download_session.get", "download_session.list");
    assert_eq!(
        reason(&wrong),
        "d/obj-1.json: operation \"com.vmware.content.library.item.download_session.list\" is not \"com.vmware.content.library.item.download_session.get\""
    );
}

#[test]
fn call_cassettes_are_named_by_operation_and_key_hash() {
    let list = CallCassette {
        op: Op::List,
        key: CallKey::Items(Some("item-1".to_owned())),
        recorded: recorded(),
        responses: vec![Entry {
            repeat: 1,
            answer: Answer::Ids(vec!["obj-1".to_owned()]),
        }],
    };
    let name = CallCassette::file_name(list.op, &list.key);
    assert!(
        name.starts_with("download_session.list-") && name.ends_with(".json"),
        "{name}"
    );
    assert_ne!(
        name,
        CallCassette::file_name(Op::List, &CallKey::Items(None))
    );
    let bytes = list.to_file_bytes();
    let path = PathBuf::from("calls").join(&name);
    assert_eq!(CallCassette::from_file_bytes(&path, &bytes).unwrap(), list);
    let err = CallCassette::from_file_bytes(Path::new("calls/x.json"), &bytes).unwrap_err();
    assert!(
        err.reason
            .contains(&format!("so its file name must be {name}")),
        "{err}"
    );
    let mut created = list.clone();
    created.op = Op::Create;
    created.key = CallKey::Create {
        item: "item-1".to_owned(),
        token: None,
    };
    let name = CallCassette::file_name(created.op, &created.key);
    let err =
        CallCassette::from_file_bytes(&PathBuf::from(&name), &created.to_file_bytes()).unwrap_err();
    assert!(
        err.reason
            .contains("is not what download_session.create answers"),
        "{err}"
    );
}

#[test]
fn loads_a_folder_sorted_and_skips_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        load_folder(dir.path()).unwrap(),
        Cassettes::default(),
        "no subfolder, no cassettes"
    );
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    for id in ["obj-2", "obj-1"] {
        let mut cassette = Cassette::new(SessionId::parse(id).unwrap(), recorded());
        cassette.append(Op::Delete, None, Answer::Void);
        fs::write(sub.join(format!("{id}.json")), cassette.to_file_bytes()).unwrap();
    }
    fs::write(sub.join(".obj-3.json.tmp-1-0"), "{ torn").unwrap();
    fs::write(sub.join("README.md"), "notes").unwrap();
    let ids: Vec<String> = load_folder(dir.path())
        .unwrap()
        .sessions
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(ids, ["obj-1", "obj-2"]);
    fs::write(sub.join("obj-4.json"), "7").unwrap();
    let err = load_folder(dir.path()).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!(
            "{}: invalid type",
            sub.join("obj-4.json").display()
        )),
        "{err}"
    );
}

/// A cassette dsvcr 0.1 named `OBJ-1.json` still loads; the same id under both names is
/// refused rather than replayed from either.
#[test]
fn an_upper_case_id_loads_from_its_old_name_but_not_twice() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    let id = SessionId::parse("OBJ-1").unwrap();
    let mut cassette = Cassette::new(id.clone(), recorded());
    cassette.append(Op::Delete, None, Answer::Void);
    fs::write(sub.join("OBJ-1.json"), cassette.to_file_bytes()).unwrap();
    assert_eq!(
        load_folder(dir.path()).unwrap().sessions,
        [cassette.clone()]
    );
    let new_name = format!("{}.json", id.file_stem());
    assert_ne!(new_name, "OBJ-1.json");
    fs::write(sub.join(&new_name), cassette.to_file_bytes()).unwrap();
    assert_eq!(
        load_folder(dir.path()).unwrap_err().to_string(),
        format!(
            "{}: two files hold download session OBJ-1 (one under the name dsvcr 0.1 gave it); keep one",
            sub.display()
        )
    );
}

#[test]
fn missing_or_non_folder_paths_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope");
    assert_eq!(
        load_folder(&missing).unwrap_err().to_string(),
        format!(
            "cassette folder {}: No such file or directory (os error 2)",
            missing.display()
        )
    );
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("obj-1.json"), sample().to_file_bytes()).unwrap();
    assert_eq!(
        load_folder(&sub).unwrap_err().to_string(),
        format!(
            "cassette folder {} holds .json files but no download-session/ subfolder: name the folder that contains download-session/ (its parent, if these are cassettes)",
            sub.display()
        )
    );
    let file = dir.path().join("file");
    fs::write(&file, "").unwrap();
    assert_eq!(
        load_folder(&file).unwrap_err().to_string(),
        format!("cassette folder {} is not a directory", file.display())
    );
}

#[test]
fn atomic_writes_replace_and_leave_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("obj-1.json");
    write_atomically(&path, b"first").unwrap();
    write_atomically(&path, b"second").unwrap();
    assert_eq!(fs::read(&path).unwrap(), b"second");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["obj-1.json"]);
    fs::write(dir.path().join(".obj-2.json.tmp-77-0"), "{ torn").unwrap();
    fs::write(dir.path().join(".hidden-notes"), "kept").unwrap();
    assert_eq!(remove_stale_temp_files(dir.path()).unwrap(), 1);
    let mut names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    assert_eq!(names, [".hidden-notes", "obj-1.json"]);
    let missing_folder = dir.path().join("nope/obj-1.json");
    assert!(write_atomically(&missing_folder, b"x").is_err());
}

#[test]
fn shipped_cassettes_load() {
    let cassettes = load_folder(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("cassettes")
            .as_path(),
    )
    .unwrap();
    let ids: Vec<&str> = cassettes.sessions.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["obj-103", "obj-104", "obj-105", "obj-106"]);
}

mod store {
    use super::*;
    use crate::secrets::Secrets;

    fn provenance() -> Provenance {
        Provenance {
            at: "2026-11-29T01:00:00Z".to_owned(),
            upstream: "vc.lab".to_owned(),
            form: Some(Form::Api),
        }
    }

    fn get(progress: i64) -> Recording {
        Recording::Session {
            id: SessionId::parse("obj-1").unwrap(),
            op: Op::Get,
            file: None,
            answer: Answer::Session(session(progress)),
        }
    }

    fn store(dir: &Path) -> Store {
        Store::prepare_folder(dir).unwrap();
        Store::new(dir, Rerecord::Append, Cassettes::default())
    }

    /// A session cassette is redacted too: a vAPI error quoting a private key keeps the
    /// placeholder, and the file still loads.
    #[tokio::test]
    async fn a_private_key_in_a_recorded_error_is_redacted() {
        use crate::vapi::{ErrorKind, LocalizableMessage, VapiError};
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let key = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----";
        let message =
            LocalizableMessage::new("x.bad", format!("bad key {key}"), vec![key.to_owned()]);
        let error = VapiError::new(ErrorKind::InvalidArgument, message);
        let recording = Recording::Session {
            id: SessionId::parse("obj-1").unwrap(),
            op: Op::Get,
            file: None,
            answer: Answer::Error { status: 400, error },
        };
        let appended = store
            .record(recording, &provenance(), &Secrets::default())
            .await
            .unwrap();
        assert_eq!(appended.redacted, 2);
        let text = std::fs::read_to_string(&appended.path).unwrap();
        assert!(
            !text.contains("PRIVATE KEY") && !text.contains("MHcCAQEE"),
            "{text}"
        );
        let written = load_folder(dir.path()).unwrap().sessions;
        let Answer::Error { error, .. } = &written[0].timelines[0].responses[0].answer else {
            panic!("an error was recorded");
        };
        assert_eq!(error.messages[0].default_message, "bad key <redacted>");
        assert_eq!(error.messages[0].args, ["<redacted>"]);
    }

    #[tokio::test]
    async fn identical_responses_collapse_into_a_repeat_count() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for progress in [10, 10, 10, 50, 10] {
            store
                .record(get(progress), &provenance(), &Secrets::default())
                .await
                .unwrap();
        }
        let written = load_folder(dir.path()).unwrap().sessions;
        let repeats: Vec<(u32, i64)> = written[0].timelines[0]
            .responses
            .iter()
            .map(|entry| match &entry.answer {
                Answer::Session(s) => (entry.repeat, s.client_progress.unwrap()),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(repeats, [(3, 10), (1, 50), (1, 10)]);
        assert_eq!(written[0].recorded.form, Some(Form::Api));
        assert_eq!(written[0].recorded.upstream.as_deref(), Some("vc.lab"));
    }

    /// Found by a hostile review: record kept every cassette whole in memory for the
    /// whole run (100 answers of 1 MB JSON reached 3.4 GiB). The store keeps no document:
    /// each recording reads its cassette back from the file, so a change made to the file
    /// between two recordings is kept (the old store wrote its own copy over it).
    #[tokio::test]
    async fn each_recording_extends_the_cassette_as_its_file_holds_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let none = Secrets::default();
        store.record(get(10), &provenance(), &none).await.unwrap();
        let path = dir.path().join(SUBFOLDER).join("obj-1.json");
        let mut edited = Cassette::from_file_bytes(&path, &fs::read(&path).unwrap()).unwrap();
        edited.append(Op::Delete, None, Answer::Void);
        fs::write(&path, edited.to_file_bytes()).unwrap();
        store.record(get(50), &provenance(), &none).await.unwrap();
        let written = Cassette::from_file_bytes(&path, &fs::read(&path).unwrap()).unwrap();
        let ops: Vec<(Op, usize)> = written
            .timelines
            .iter()
            .map(|track| (track.op, track.responses.len()))
            .collect();
        assert_eq!(ops, [(Op::Get, 2), (Op::Delete, 1)]);
    }

    /// Found by a hostile review: 256-byte ids (or ids with many `:`) made names too long
    /// to create, and the client's answer was withheld.
    #[tokio::test]
    async fn every_id_dsvcr_accepts_can_be_stored() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for raw in [
            "b".repeat(256),
            format!("a{}", ":".repeat(255)),
            "Obj-1".to_owned(),
        ] {
            let recording = Recording::Session {
                id: SessionId::parse(&raw).unwrap(),
                op: Op::Delete,
                file: None,
                answer: Answer::Void,
            };
            store
                .record(recording, &provenance(), &Secrets::default())
                .await
                .unwrap_or_else(|err| panic!("{raw}: {err}"));
        }
        assert_eq!(load_folder(dir.path()).unwrap().sessions.len(), 3);
    }

    #[tokio::test]
    async fn creates_of_one_item_are_numbered_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        for id in ["s-1", "s-2"] {
            let created = Recording::Created {
                id: SessionId::parse(id).unwrap(),
                item: "item-1".to_owned(),
                token: None,
            };
            store
                .record(created, &provenance(), &Secrets::default())
                .await
                .unwrap();
        }
        let orders: Vec<(String, u32)> = load_folder(dir.path())
            .unwrap()
            .sessions
            .iter()
            .map(|c| (c.id.to_string(), c.create.as_ref().unwrap().order))
            .collect();
        assert_eq!(orders, [("s-1".to_owned(), 0), ("s-2".to_owned(), 1)]);
    }

    #[tokio::test]
    async fn a_secret_in_the_bytes_refuses_the_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut leaky = session(10);
        leaky.library_item_content_version = Some("token-0123456789".to_owned());
        let mut secrets = Secrets::default();
        secrets.add("token-0123456789", "session token");
        let recording = Recording::Session {
            id: SessionId::parse("obj-1").unwrap(),
            op: Op::Get,
            file: None,
            answer: Answer::Session(leaky),
        };
        let err = store
            .record(recording, &provenance(), &secrets)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "refused to write {}: it would contain a session token seen in this run",
                dir.path().join("download-session/obj-1.json").display()
            )
        );
        assert_eq!(load_folder(dir.path()).unwrap(), Cassettes::default());
        store
            .record(get(10), &provenance(), &secrets)
            .await
            .expect("a clean response is still recorded after a refusal");
    }

    /// What the loader refuses is never written (issue: an upstream answering another
    /// id, or progress 101, left a folder that no longer loaded).
    #[tokio::test]
    async fn an_answer_the_loader_would_refuse_is_not_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(dir.path());
        let mut other_id = session(10);
        other_id.id = Some("OBJ-1".to_owned());
        let mut too_far = session(10);
        too_far.client_progress = Some(101);
        let mut offset = session(10);
        offset.expiration_time = Some("2026-11-02T10:05:00+0000".to_owned());
        for (answer, expected) in [
            (other_id, "id \"OBJ-1\" is not the cassette's id \"obj-1\""),
            (too_far, "client_progress 101 is not between 0 and 100"),
            (offset, "expiration_time: "),
        ] {
            let recording = Recording::Session {
                id: SessionId::parse("obj-1").unwrap(),
                op: Op::Get,
                file: None,
                answer: Answer::Session(answer),
            };
            let err = store
                .record(recording, &provenance(), &Secrets::default())
                .await
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("the answer would make a cassette dsvcr cannot load"),
                "{err}"
            );
            assert!(err.contains(expected), "{err}");
        }
        assert_eq!(load_folder(dir.path()).unwrap(), Cassettes::default());
    }

    #[test]
    fn timestamps_are_rfc3339_utc_whole_seconds() {
        let now = now_timestamp();
        assert!(crate::timeshift::parse_utc(&now).is_some(), "{now}");
        assert_eq!(now.len(), "2026-11-29T01:17:35Z".len());
    }
}

/// Found by fuzzing (`cassette`): an `expiration_time` with digits of another script
/// (here ARABIC-INDIC DIGIT TWO) panicked the loader, and `recorded.at` accepted them.
#[test]
fn date_times_with_non_ascii_digits_are_refused_not_panicked_on() {
    let path = Path::new("download-session/obj-1.json");
    let mut cassette = sample();
    let Answer::Session(session) = &mut cassette.timelines[0].responses[0].answer else {
        unreachable!("the sample starts with a session")
    };
    session.expiration_time = Some("2026-11-02T10:05:00.\u{662}000Z".to_owned());
    let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
    assert!(
        err.reason.contains("responses[0]: expiration_time:") && err.reason.contains("non-ASCII"),
        "{err}"
    );

    let mut cassette = sample();
    cassette.recorded.at = "\u{662}026-11-02T10:00:00Z".to_owned();
    let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
    assert!(err.reason.starts_with("recorded.at "), "{err}");
}

fn download(file_name: &str) -> Download {
    Download {
        file_name: file_name.to_owned(),
        status: 200,
        size: 5,
        sha256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824".to_owned(),
        content_type: Some("application/octet-stream".to_owned()),
    }
}

#[test]
fn downloads_round_trip_sorted_and_replaced_per_file() {
    let mut cassette = sample();
    cassette.set_download(download("b.iso"));
    cassette.set_download(download("a.iso"));
    let again = Download {
        size: 6,
        ..download("b.iso")
    };
    cassette.set_download(again.clone());
    assert_eq!(cassette.downloads, [download("a.iso"), again]);
    let path = Path::new("d/obj-1.json");
    let bytes = cassette.to_file_bytes();
    assert_eq!(Cassette::from_file_bytes(path, &bytes).unwrap(), cassette);
    let text = String::from_utf8(bytes).unwrap();
    assert!(
        text.contains(r#""file_name": "a.iso","#) && text.contains(r#""status": 200,"#),
        "{text}"
    );
}

#[test]
fn the_loader_refuses_a_bad_download() {
    let path = Path::new("d/obj-1.json");
    type Spoil = fn(&mut Download);
    let cases: [(Spoil, &str); 4] = [
        (
            |d| d.sha256 = d.sha256.to_uppercase(),
            "downloads[0]: sha256 \"2CF24DBA5FB0A30E26E83B2AC5B9E29E1B161E5C1FA7425E73043362938B9824\" is not 64 lowercase hex digits",
        ),
        (
            |d| d.status = 206,
            "downloads[0]: status 206 is not 200; only whole bodies are recorded",
        ),
        (|d| d.file_name.clear(), "downloads[0]: file_name is empty"),
        (
            |d| d.content_type = Some("a\nb".to_owned()),
            "downloads[0]: content_type \"a\\nb\" is not a valid header value",
        ),
    ];
    for (spoil, reason) in cases {
        let mut cassette = sample();
        let mut bad = download("a.iso");
        spoil(&mut bad);
        cassette.downloads = vec![bad];
        let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
        assert_eq!(err.reason, reason);
    }
    let mut cassette = sample();
    cassette.downloads = vec![download("a.iso"), download("a.iso")];
    let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
    assert_eq!(err.reason, "downloads[1] repeats file \"a.iso\"");
}

#[test]
fn the_leading_format_is_read_without_parsing_the_rest() {
    assert_eq!(leading_format(b"{\"format\": 2, \"id\": \"x\"}"), Some(2));
    assert_eq!(leading_format(b" {\n  \"format\":1\n}"), Some(1));
    assert_eq!(leading_format(b"{\"id\": \"x\", \"format\": 2}"), None);
    assert_eq!(leading_format(b"{\"format\": 2.0}"), None);
    assert_eq!(leading_format(b"{\"format\": -2,"), None);
    assert_eq!(leading_format(b"{\"format\": 99999999999}"), None);
    assert_eq!(leading_format(b"{\"format\": 2"), None);
    assert_eq!(leading_format(b"{\"format\""), None);
    assert_eq!(leading_format(b""), None);
}

#[test]
fn a_file_not_led_by_its_format_loads_the_same() {
    let bytes = sample().to_file_bytes();
    let mut value: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes).unwrap();
    let format = value.remove("format").unwrap();
    value.insert("format".to_owned(), format);
    let reordered = serde_json::to_vec(&value).unwrap();
    assert_eq!(leading_format(&reordered), None);
    let path = Path::new("d/obj-1.json");
    assert_eq!(
        Cassette::from_file_bytes(path, &reordered).unwrap(),
        Cassette::from_file_bytes(path, &bytes).unwrap()
    );
    assert_eq!(Cassette::from_file_bytes(path, &bytes).unwrap(), sample());
    // Not UTF-8: the long way names the problem as before.
    let mut latin1 = bytes.clone();
    let at = latin1.windows(5).position(|w| w == b"obj-1").unwrap();
    latin1[at] = 0xe9;
    assert!(Cassette::from_file_bytes(path, &latin1)
        .unwrap_err()
        .reason
        .contains("invalid unicode code point"));
}

/// Large folders load on several threads; the result, and the file a failure names, are
/// those of loading the files one by one in sorted order.
#[test]
fn a_large_folder_loads_in_order_and_names_its_first_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    let ids: Vec<String> = (0..1100).map(|i| format!("obj-{i:04}")).collect();
    let write = |id: &str| {
        let mut cassette = Cassette::new(SessionId::parse(id).unwrap(), recorded());
        cassette.append(Op::Delete, None, Answer::Void);
        fs::write(sub.join(format!("{id}.json")), cassette.to_file_bytes()).unwrap();
    };
    ids.iter().for_each(|id| write(id));
    let loaded: Vec<String> = load_folder(dir.path())
        .unwrap()
        .sessions
        .iter()
        .map(|c| c.id.to_string())
        .collect();
    assert_eq!(loaded, ids);
    for bad in ["obj-0900", "obj-0300", "obj-1099"] {
        fs::write(sub.join(format!("{bad}.json")), "{").unwrap();
    }
    for expected in ["obj-0300", "obj-0900", "obj-1099"] {
        for _ in 0..5 {
            let err = load_folder(dir.path()).unwrap_err().to_string();
            let named = format!(
                "{}: EOF while parsing",
                sub.join(format!("{expected}.json")).display()
            );
            assert!(err.starts_with(&named), "{err}");
        }
        write(expected);
    }
    assert_eq!(load_folder(dir.path()).unwrap().sessions.len(), 1100);
}

#[test]
fn a_file_that_is_not_json_keeps_the_parsers_error_as_its_cause() {
    use std::error::Error as _;
    let path = Path::new("download-session/obj-1.json");
    let bytes = br#"{"format": 2, "id": "obj-1", "#;
    let parsed = serde_json::from_slice::<serde_json::Value>(bytes).unwrap_err();
    for err in [
        Cassette::from_file_bytes(path, bytes).unwrap_err(),
        CallCassette::from_file_bytes(path, bytes).unwrap_err(),
        TapeCassette::from_file_bytes(path, bytes).unwrap_err(),
    ] {
        assert_eq!(err.reason, parsed.to_string());
        let cause = err.source().expect("the parser's error is the cause");
        assert_eq!(cause.to_string(), parsed.to_string());
        assert!(cause.downcast_ref::<serde_json::Error>().is_some());
    }
    let unknown = br#"{"format": 9, "id": "obj-1"}"#;
    let err = Cassette::from_file_bytes(path, unknown).unwrap_err();
    assert!(err.reason.starts_with("format 9 is not known"), "{err}");
    assert!(
        err.source().is_none(),
        "a refusal of dsvcr's own has no cause"
    );
}

/// Found by a hostile review: a 2 GiB file in the folder passed 4 GiB RSS before any
/// error. A file over the limit is refused, named, before it is read; `check` reports it.
#[test]
fn a_file_over_the_size_limit_is_refused_naming_it_before_it_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    let bytes = sample().to_file_bytes();
    fs::write(sub.join("obj-1.json"), &bytes).unwrap();
    let size = bytes.len() as u64;
    assert_eq!(
        load_folder_within(dir.path(), size).unwrap().sessions.len(),
        1,
        "a file of exactly the limit loads"
    );
    let err = load_folder_within(dir.path(), size - 1).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "{}: {size} bytes, over the limit of {} bytes for one cassette file (--max-cassette-bytes); it is not loaded",
            sub.join("obj-1.json").display(),
            size - 1
        )
    );
    let report =
        check_folder_with(dir.path(), &crate::redact::Redactor::default(), size - 1).unwrap();
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [format!(
            "{}: {size} bytes, over the limit of {} bytes for one cassette file (--max-cassette-bytes); replay would not load it",
            sub.join("obj-1.json").display(),
            size - 1
        )]
    );
    assert_eq!(report.checked, 1);
}

/// Found by a hostile review: duplicate timelines were found by comparing each with every
/// earlier one (20 000 timelines: 50 s). The check is a set now; its verdicts are the same.
#[test]
fn a_cassette_with_20_000_timelines_loads_and_a_repeated_one_is_named() {
    let mut cassette = Cassette::new(SessionId::parse("obj-1").unwrap(), recorded());
    for n in 0..20_000 {
        let name = format!("file-{n:05}.iso");
        cassette.timelines.push(Track {
            op: Op::FileGet,
            file_name: Some(name.clone()),
            responses: vec![Entry {
                repeat: 1,
                answer: Answer::File(file(&name, FileStatus::Prepared)),
            }],
        });
    }
    let path = std::path::Path::new("obj-1.json");
    let loaded = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap();
    assert_eq!(loaded.timelines.len(), 20_000);
    let repeated = cassette.timelines[7].clone();
    cassette.timelines.push(repeated);
    let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "timelines[20000] repeats the timeline of downloadsession.file.get for the same file"
        ),
        "{err}"
    );
}

/// Found by a hostile review: a `*.json` file whose name is not UTF-8 was skipped
/// silently. Loading still skips it (and logs so); `check` reports it.
#[test]
fn a_non_utf8_file_name_is_skipped_and_reported_by_check() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    fs::write(sub.join("obj-1.json"), sample().to_file_bytes()).unwrap();
    let odd = sub.join(std::ffi::OsStr::from_bytes(b"obj-\xff.json"));
    fs::write(&odd, sample().to_file_bytes()).unwrap();
    assert_eq!(load_folder(dir.path()).unwrap().sessions.len(), 1);
    let report = check_folder_with(
        dir.path(),
        &crate::redact::Redactor::default(),
        MAX_CASSETTE_BYTES,
    )
    .unwrap();
    let lines: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        lines,
        [format!(
            "{}: its name is not UTF-8, so it names no cassette: replay and record skip it",
            odd.display()
        )]
    );
}
