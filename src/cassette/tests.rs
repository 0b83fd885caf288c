use super::*;
use crate::vapi::{ErrorKind, LocalizableMessage, SessionState};
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

fn recorded() -> Recorded {
    Recorded {
        at: "2026-11-02T10:00:00Z".to_owned(),
        upstream: Some("vcenter.lab".to_owned()),
        form: Some(Form::GetById),
    }
}

fn sample() -> Cassette {
    let mut cassette = Cassette::new(
        SessionId::parse("obj-1").unwrap(),
        recorded(),
        Recording::Session(session(10)),
    );
    cassette.responses.push(Entry {
        repeat: 3,
        response: Recording::Session(session(50)),
    });
    cassette.responses.push(Entry {
        repeat: 1,
        response: Recording::Error {
            status: 404,
            error: VapiError::new(
                ErrorKind::NotFound,
                LocalizableMessage::new(
                    "x.not_found",
                    "obj-1 is gone".into(),
                    vec!["obj-1".into()],
                ),
            ),
        },
    });
    cassette
}

#[test]
fn files_are_pretty_stable_and_round_trip() {
    let bytes = sample().to_file_bytes();
    let text = String::from_utf8(bytes.clone()).unwrap();
    assert!(text.starts_with("{\n  \"format\": 1,\n  \"operation\": \"com.vmware.content.library.item.download_session.get\",\n  \"id\": \"obj-1\",\n  \"recorded\": {\n    \"at\": \"2026-11-02T10:00:00Z\",\n    \"upstream\": \"vcenter.lab\",\n    \"form\": \"A\"\n  },"), "{text}");
    assert!(
        text.contains("\"status\": 200,\n      \"repeat\": 3,\n      \"session\": {"),
        "{text}"
    );
    assert!(text.contains("\"status\": 404,\n      \"error\": {\n        \"type\": \"com.vmware.vapi.std.errors.not_found\","), "{text}");
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
        broken(|v| v["format"] = 2.into()),
        "d/obj-1.json: format 2 is not known; this dsvcr reads format 1"
    );
    assert_eq!(
        broken(|v| v["id"] = "obj-2".into()),
        "d/obj-1.json: holds id \"obj-2\", so its file name must be obj-2.json"
    );
    assert!(broken(|v| v["id"] = "../x".into()).contains("contains a path separator"));
    assert!(
        broken(|v| v["recorded"]["at"] = "yesterday".into()).contains("recorded.at \"yesterday\"")
    );
    assert!(broken(|v| v["responses"] = serde_json::json!([])).contains("responses is empty"));
    assert!(
        broken(|v| v["responses"][0]["repeat"] = 0.into()).contains("repeat must be at least 1")
    );
    assert!(broken(|v| v["responses"][0]["status"] = 302.into()).contains("status 302 is neither"));
    assert!(broken(|v| v["responses"][0]["status"] = 500.into())
        .contains("needs an error and no session"));
    assert!(broken(|v| v["responses"][2]["status"] = 200.into())
        .contains("needs a session and no error"));
    assert!(
        broken(|v| v["responses"][0]["session"]["state"] = "DONE".into())
            .contains("unknown variant `DONE`")
    );
    assert!(broken(|v| v["extra"] = 1.into()).contains("unknown field `extra`"));
    assert_eq!(
        broken(|v| v["responses"][1]["session"]["id"] = "obj-9".into()),
        "d/obj-1.json: responses[1].session: id \"obj-9\" is not the cassette's id \"obj-1\""
    );
    assert_eq!(
        broken(|v| v["responses"][0]["session"]["client_progress"] = 101.into()),
        "d/obj-1.json: responses[0].session: client_progress 101 is not between 0 and 100"
    );
    assert!(
        broken(|v| v["responses"][0]["session"]["expiration_time"] = "soon".into())
            .starts_with("d/obj-1.json: responses[0].session: expiration_time: ")
    );
    assert!(
        broken(|v| v["responses"][2]["error"]["type"] = "oops".into())
            .contains("unknown error type \"oops\"")
    );
}

#[test]
fn loads_a_folder_sorted_and_skips_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        load_folder(dir.path()).unwrap(),
        vec![],
        "no subfolder, no cassettes"
    );
    let sub = dir.path().join(SUBFOLDER);
    fs::create_dir(&sub).unwrap();
    for id in ["obj-2", "obj-1"] {
        let mut cassette = sample();
        cassette.id = SessionId::parse(id).unwrap();
        for entry in &mut cassette.responses {
            if let Recording::Session(session) = &mut entry.response {
                session.id = Some(id.to_owned());
            }
        }
        fs::write(sub.join(format!("{id}.json")), cassette.to_file_bytes()).unwrap();
    }
    fs::write(sub.join(".obj-3.json.tmp-1-0"), "{ torn").unwrap();
    fs::write(sub.join("README.md"), "notes").unwrap();
    let ids: Vec<String> = load_folder(dir.path())
        .unwrap()
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
    let ids: Vec<&str> = cassettes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["obj-103", "obj-104", "obj-105"]);
}

mod store {
    use super::*;
    use crate::secrets::Secrets;

    fn provenance() -> Provenance {
        Provenance {
            at: "2026-11-29T01:00:00Z".to_owned(),
            upstream: "vc.lab".to_owned(),
            form: Form::Api,
        }
    }

    #[tokio::test]
    async fn identical_responses_collapse_into_a_repeat_count() {
        let dir = tempfile::tempdir().unwrap();
        Store::prepare_folder(dir.path()).unwrap();
        let store = Store::new(dir.path(), Rerecord::Append, Vec::new());
        let id = SessionId::parse("obj-1").unwrap();
        for progress in [10, 10, 10, 50, 10] {
            store
                .append(
                    &id,
                    Recording::Session(session(progress)),
                    &provenance(),
                    &Secrets::default(),
                )
                .await
                .unwrap();
        }
        let written = load_folder(dir.path()).unwrap();
        let repeats: Vec<(u32, i64)> = written[0]
            .responses
            .iter()
            .map(|entry| match &entry.response {
                Recording::Session(s) => (entry.repeat, s.client_progress.unwrap()),
                Recording::Error { .. } => unreachable!(),
            })
            .collect();
        assert_eq!(repeats, [(3, 10), (1, 50), (1, 10)]);
        assert_eq!(written[0].recorded.form, Some(Form::Api));
        assert_eq!(written[0].recorded.upstream.as_deref(), Some("vc.lab"));
    }

    #[tokio::test]
    async fn a_secret_in_the_bytes_refuses_the_write() {
        let dir = tempfile::tempdir().unwrap();
        Store::prepare_folder(dir.path()).unwrap();
        let store = Store::new(dir.path(), Rerecord::Append, Vec::new());
        let id = SessionId::parse("obj-1").unwrap();
        let mut leaky = session(10);
        leaky.library_item_content_version = Some("token-0123456789".to_owned());
        let mut secrets = Secrets::default();
        secrets.add("token-0123456789", "session token");
        let err = store
            .append(&id, Recording::Session(leaky), &provenance(), &secrets)
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "refused to write {}: it would contain a session token seen in this exchange",
                dir.path().join("download-session/obj-1.json").display()
            )
        );
        assert_eq!(
            load_folder(dir.path()).unwrap(),
            vec![],
            "nothing was written"
        );
        store
            .append(
                &id,
                Recording::Session(session(10)),
                &provenance(),
                &secrets,
            )
            .await
            .expect("a clean response is still recorded after a refusal");
    }

    #[test]
    fn timestamps_are_rfc3339_utc_whole_seconds() {
        let now = now_timestamp();
        assert!(is_utc_timestamp(&now), "{now}");
        assert_eq!(now.len(), "2026-11-29T01:17:35Z".len());
    }
}

/// Found by fuzzing (`cassette`): an `expiration_time` with digits of another script
/// (here ARABIC-INDIC DIGIT TWO) panicked the loader, and `recorded.at` accepted them.
#[test]
fn date_times_with_non_ascii_digits_are_refused_not_panicked_on() {
    let path = Path::new("download-session/obj-1.json");
    let mut cassette = sample();
    let Recording::Session(session) = &mut cassette.responses[0].response else {
        unreachable!("the sample starts with a session")
    };
    session.expiration_time = Some("2026-11-02T10:05:00.\u{662}000Z".to_owned());
    let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
    assert!(
        err.reason
            .contains("responses[0].session: expiration_time:")
            && err.reason.contains("non-ASCII"),
        "{err}"
    );

    let mut cassette = sample();
    cassette.recorded.at = "\u{662}026-11-02T10:00:00Z".to_owned();
    let err = Cassette::from_file_bytes(path, &cassette.to_file_bytes()).unwrap_err();
    assert!(err.reason.starts_with("recorded.at "), "{err}");
}
