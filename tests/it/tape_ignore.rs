//! `--ignore-field` and `--ignore-query`: volatile inputs left out of tape keys, so a
//! request that differs from a taped one only in them still matches.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::process::run_to_exit;
use crate::support::*;

const ANSWER: &str = r#"{"value":[{"vm":"vm-1","name":"web-1"}]}"#;
const SEARCH: &str = "/rest/vcenter/vm";

/// Records one request through a recorder started with `flags`; the tape files.
async fn taped(flags: &[&str], target: &str, body: &str) -> (tempfile::TempDir, Vec<Value>) {
    let upstream = canned_upstream(http_answer("200 OK", ANSWER)).await;
    let folder = tempfile::tempdir().unwrap();
    let mut setup = RecordSetup::to(&upstream);
    for pair in flags.chunks(2) {
        setup = setup.flag(pair[0], pair[1]);
    }
    let recorder = setup.start(folder.path()).await;
    let answer = recorder.post(target, body).await;
    assert_eq!((answer.status.as_u16(), answer.text()), (200, ANSWER));
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let tapes = tape_files(folder.path());
    (folder, tapes)
}

fn tape_files(folder: &Path) -> Vec<Value> {
    std::fs::read_dir(folder.join("tape"))
        .unwrap()
        .map(|entry| {
            serde_json::from_slice(&std::fs::read(entry.unwrap().path()).unwrap()).unwrap()
        })
        .collect()
}

/// `dsvcr check FOLDER`'s exit code and output.
fn check(folder: &Path) -> (i32, String) {
    let (code, out, err) = run_to_exit(&["check", folder.to_str().unwrap()]);
    (code, out + &err)
}

/// What replay with `flags` answers to `target` with `body`: status and body.
async fn replayed(folder: &Path, flags: &[&str], target: &str, body: &str) -> (u16, String) {
    let replay = TestServer::replay_with(folder, flags).await;
    let answer = replay.post(target, body).await;
    (answer.status.as_u16(), answer.text().to_owned())
}

#[tokio::test]
async fn a_request_differing_only_in_an_ignored_field_is_a_hit() {
    let flags = ["--ignore-field", "ts", "--ignore-field", "meta.requestId"];
    let recorded = r#"{"filter":{"names":["web-1"],"ts":"2026-12-07T10:00:00Z"},"meta":{"requestId":"r-1","page":1}}"#;
    let (folder, tapes) = taped(&flags, SEARCH, recorded).await;
    assert_eq!(
        tapes,
        vec![json!({
            "format": 2,
            "request": {"method": "POST", "path": SEARCH,
                "body": {"filter": {"names": ["web-1"]}, "meta": {"page": 1}}},
            "recorded": tapes[0]["recorded"].clone(),
            "responses": [{"status": 200, "content_type": "application/json", "text": ANSWER}],
        })],
        "the key is stored without the ignored fields"
    );
    assert_eq!(check(folder.path()).0, 0, "{}", check(folder.path()).1);
    let later = r#"{"meta":{"page":1,"requestId":"r-2"},"filter":{"ts":"2026-12-08T11:30:00Z","names":["web-1"]}}"#;
    assert_eq!(
        replayed(folder.path(), &flags, SEARCH, later).await,
        (200, ANSWER.to_owned())
    );
    let (status, _) = replayed(folder.path(), &[], SEARCH, later).await;
    assert_eq!(
        status, 404,
        "without the flags the request keeps its fields"
    );
    let other_page = r#"{"meta":{"page":2,"requestId":"r-3"},"filter":{"names":["web-1"]}}"#;
    let (status, _) = replayed(folder.path(), &flags, SEARCH, other_page).await;
    assert_eq!(status, 404, "the other fields still key the request");
}

#[tokio::test]
async fn a_request_differing_only_in_an_ignored_query_parameter_is_a_hit() {
    let flags = ["--ignore-query", "_"];
    let body = r#"{"filter":{"names":["web-1"]}}"#;
    let (folder, tapes) = taped(&flags, &format!("{SEARCH}?_=1733567000&page=1"), body).await;
    assert_eq!(tapes[0]["request"]["query"], json!([["page", "1"]]));
    assert_eq!(check(folder.path()).0, 0, "{}", check(folder.path()).1);
    let target = format!("{SEARCH}?page=1&_=1733568999");
    let replay = TestServer::replay_with(folder.path(), &flags).await;
    let hit = replay.post(&target, body).await;
    assert_eq!((hit.status.as_u16(), hit.text()), (200, ANSWER));
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(
        (&health["hits"], &health["unrecorded"]),
        (&json!(1), &json!(0))
    );
    let (status, _) = replayed(folder.path(), &[], &target, body).await;
    assert_eq!(
        status, 404,
        "without the flag the parameter keys the request"
    );
}

/// A tape as `dsvcr record` writes it, for `POST /rest/vcenter/vm` with `body`, recorded
/// at `at` with `answer`; its file name is the SHA-256 of its key's canonical JSON.
fn write_tape(folder: &Path, body: &str, at: &str, answer: &str) {
    let canonical = format!(r#"{{"method":"POST","path":"{SEARCH}","body":{body}}}"#);
    let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
    let hex: String = digest.as_ref()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let tape = json!({
        "format": 2,
        "request": serde_json::from_str::<Value>(&canonical).unwrap(),
        "recorded": {"at": at},
        "responses": [{"status": 200, "text": answer}],
    });
    let tapes = folder.join("tape");
    std::fs::create_dir_all(&tapes).unwrap();
    std::fs::write(
        tapes.join(format!("post-{hex}.json")),
        serde_json::to_vec(&tape).unwrap(),
    )
    .unwrap();
}

/// A flag given to replay only: the recorded keys are read without the field too, and
/// tapes that become one answer in recording order. `dsvcr check` needs no flag.
#[tokio::test]
async fn tapes_recorded_without_the_flag_match_when_replay_ignores_it() {
    let folder = tempfile::tempdir().unwrap();
    write_tape(
        folder.path(),
        r#"{"ts":2,"v":1}"#,
        "2026-12-07T10:00:02Z",
        "second",
    );
    write_tape(
        folder.path(),
        r#"{"ts":1,"v":1}"#,
        "2026-12-07T10:00:01Z",
        "first",
    );
    assert_eq!(check(folder.path()).0, 0, "{}", check(folder.path()).1);
    let replay = TestServer::replay_with(folder.path(), &["--ignore-field", "ts"]).await;
    let mut answers = Vec::new();
    for ts in [7, 8, 9] {
        let answer = replay
            .post(SEARCH, &format!(r#"{{"v":1,"ts":{ts}}}"#))
            .await;
        answers.push((answer.status.as_u16(), answer.text().to_owned()));
    }
    let ok = |text: &str| (200, text.to_owned());
    assert_eq!(answers, [ok("first"), ok("second"), ok("second")]);
    assert_eq!(
        replayed(folder.path(), &[], SEARCH, r#"{"ts":1,"v":1}"#).await,
        ok("first"),
        "without the flag each tape answers its own request"
    );
    let (status, _) = replayed(folder.path(), &[], SEARCH, r#"{"ts":7,"v":1}"#).await;
    assert_eq!(status, 404);
}

#[test]
fn names_that_cannot_be_a_field_or_a_parameter_are_usage_errors() {
    for (flag, value, rule) in [
        (
            "--ignore-field",
            "",
            "is not a field name or a dotted path of them",
        ),
        (
            "--ignore-field",
            "meta..ts",
            "is not a field name or a dotted path of them",
        ),
        ("--ignore-query", "a=b", "is not a query parameter name"),
    ] {
        for command in [
            &["replay"][..],
            &["record", "--upstream", "http://vc.example"],
        ] {
            let mut args = command.to_vec();
            args.extend([flag, value]);
            let (code, _, stderr) = run_to_exit(&args);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert!(
                stderr.starts_with(&format!(
                    "error: invalid value '{value}' for '{flag} <NAME>': {value:?} {rule}"
                )),
                "{stderr}"
            );
        }
    }
}

/// docs/operations.md's example, against an upstream that answers every request alike: a
/// request recorded with one request id, timestamp and `_` replays with others.
#[tokio::test]
async fn the_volatile_inputs_example() {
    let example = crate::readme::doc_block("docs/operations.md", "### Volatile inputs", "sh", 0);
    let upstream = canned_upstream(http_answer("200 OK", ANSWER)).await;
    let folder = tempfile::tempdir().unwrap();
    let cassettes = folder.path().to_str().unwrap();
    let mut lines = example.lines();
    let mut command = |upstream: &str| -> Vec<String> {
        let line = lines
            .next()
            .unwrap()
            .replace("https://vcenter.lab", upstream);
        let mut args: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
        assert_eq!(args.remove(0), "dsvcr", "{example}");
        args.extend(["--cassettes".to_owned(), cassettes.to_owned()]);
        args
    };
    let record = command(&upstream);
    let replay = command("");
    let record: Vec<&str> = record.iter().map(String::as_str).collect();
    let replay: Vec<&str> = replay.iter().map(String::as_str).collect();
    let recorder = TestServer::run(&record).await;
    let target = format!("{SEARCH}?_=1733567000");
    let body = r#"{"requestId":"a1","meta":{"timestamp":"2026-12-07T10:00:00Z"},"filter":{"names":["web-1"]}}"#;
    assert_eq!(recorder.post(&target, body).await.status, 200);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let replayer = TestServer::run(&replay).await;
    let target = format!("{SEARCH}?_=1733569999");
    let body = r#"{"filter":{"names":["web-1"],"requestId":"b2"},"meta":{"timestamp":"2026-12-08T09:00:00Z"}}"#;
    let answer = replayer.post(&target, body).await;
    assert_eq!((answer.status.as_u16(), answer.text()), (200, ANSWER));
    assert_eq!(replayer.shut_down().await, ExitCode::SUCCESS, "no miss");
}

/// `record --new-episodes` answers from the tape by the same keys.
#[tokio::test]
async fn new_episodes_answer_from_the_tape_without_the_ignored_inputs() {
    let flags = ["--ignore-field", "ts"];
    let (folder, _) = taped(&flags, SEARCH, r#"{"ts":1,"v":1}"#).await;
    let upstream = canned_upstream(http_answer("200 OK", r#"{"value":"fresh"}"#)).await;
    let mut setup = RecordSetup::to(&upstream).flag("--ignore-field", "ts");
    setup.new_episodes = true;
    let recorder = setup.start(folder.path()).await;
    let known = recorder.post(SEARCH, r#"{"v":1,"ts":2}"#).await;
    assert_eq!((known.status.as_u16(), known.text()), (200, ANSWER));
    let health = recorder.get("/__dsvcr/health").await.json();
    assert_eq!(health["hits"], 1, "{health}");
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
}
