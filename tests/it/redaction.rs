//! Redaction: secret-named values and private keys never reach a tape, keys are made from
//! the redacted request, and what cannot be redacted is refused loudly.

use std::path::Path;
use std::process::ExitCode;

use serde_json::{json, Value};

use crate::support::*;

const KEY: &str =
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n";

fn answer_with(content_type: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Every file under `folder/tape`, as text.
fn tapes(folder: &Path) -> Vec<String> {
    let mut files: Vec<String> = std::fs::read_dir(folder.join("tape"))
        .unwrap()
        .map(|entry| std::fs::read_to_string(entry.unwrap().path()).unwrap())
        .collect();
    files.sort();
    files
}

fn summary(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn secrets_in_taped_requests_and_answers_become_the_placeholder() {
    let answer = json!({
        "value": {"host": "host-9", "oidc": {"client_secret": "oidc-s3cret-77"}, "cert": {"private_key": {"pem": KEY}}, "note": KEY}
    });
    let upstream = canned_upstream(answer_with("application/json", &answer.to_string())).await;
    let folder = tempfile::tempdir().unwrap();
    let summary_file = folder.path().join("summary.json");
    let recorder = RecordSetup::to(&upstream)
        .flag("--summary", summary_file.to_str().unwrap())
        .start(folder.path())
        .await;
    let body = r#"{"spec":{"hostname":"esx-1","user_name":"root","password":"esx-root-pw-1","thumbprint":"AA"}}"#;
    let added = recorder
        .post("/api/vcenter/host?api_key=query-key-123&force=true", body)
        .await;
    assert_eq!(
        added.status, 200,
        "the client gets vCenter's answer as sent"
    );
    assert_eq!(added.json(), answer);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);

    let taped = tapes(folder.path());
    assert_eq!(taped.len(), 1);
    let tape: Value = serde_json::from_str(&taped[0]).unwrap();
    for secret in [
        "esx-root-pw-1",
        "query-key-123",
        "oidc-s3cret-77",
        "PRIVATE KEY",
    ] {
        assert!(!taped[0].contains(secret), "{secret} on disk: {}", taped[0]);
    }
    assert_eq!(
        tape["request"],
        json!({
            "method": "POST",
            "path": "/api/vcenter/host",
            "query": [["api_key", "<redacted>"], ["force", "true"]],
            "body": {"spec": {"hostname": "esx-1", "user_name": "root", "password": "<redacted>", "thumbprint": "AA"}},
        })
    );
    assert_eq!(
        tape["responses"][0]["json"],
        json!({"value": {"host": "host-9", "oidc": {"client_secret": "<redacted>"}, "cert": {"private_key": "<redacted>"}, "note": "<redacted>\n"}})
    );
    assert_eq!(summary(&summary_file)["redacted"], 5);
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{problems}");

    // Replay redacts the incoming request the same way: another password still matches.
    let replay = TestServer::replay_with(folder.path(), &["--fail-on-miss"]).await;
    let other = body.replace("esx-root-pw-1", "another-password");
    let again = replay
        .post("/api/vcenter/host?force=true&api_key=other-key", &other)
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    assert_eq!(again.json()["value"]["oidc"]["client_secret"], "<redacted>");
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn forms_and_xml_are_redacted_too() {
    // An XML API other than vim25 SOAP (which `POST /sdk` keys by its meaning: soap.rs).
    let soap_answer = "<Envelope><Body><LoginResponse><returnval><key>52a1</key></returnval></LoginResponse></Body></Envelope>";
    let upstream = canned_upstream(answer_with("text/xml; charset=utf-8", soap_answer)).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let soap = r#"<Envelope><Body><Login xmlns="urn:vim25"><userName>root</userName><password>soap-pw-9876</password></Login></Body></Envelope>"#;
    let login = recorder
        .request("POST", "/vendor/xml-api")
        .header("content-type", "text/xml")
        .body(soap)
        .send()
        .await;
    assert_eq!(login.status, 200);
    let form = recorder
        .request("POST", "/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_secret=form-s3cret-55")
        .send()
        .await;
    assert_eq!(form.status, 200);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    for tape in tapes(folder.path()) {
        assert!(
            !tape.contains("soap-pw-9876") && !tape.contains("form-s3cret-55"),
            "{tape}"
        );
    }

    let replay = TestServer::replay_with(folder.path(), &["--fail-on-miss"]).await;
    let again = replay
        .request("POST", "/vendor/xml-api")
        .header("content-type", "text/xml")
        .body(soap.replace("soap-pw-9876", "other"))
        .send()
        .await;
    assert_eq!((again.status.as_u16(), again.text()), (200, soap_answer));
    let again = replay
        .request("POST", "/oauth/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials&client_secret=other")
        .send()
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn redact_adds_names_in_record_and_in_replay() {
    let upstream = canned_upstream(answer_with(
        "application/json",
        r#"{"value":{"guest_pin":"4711-pin"}}"#,
    ))
    .await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream)
        .flag("--redact", "Guest-PIN")
        .start(folder.path())
        .await;
    let sent = recorder
        .post("/api/vcenter/vm/vm-1/guest", r#"{"guest_pin":"1234-pin"}"#)
        .await;
    assert_eq!(sent.status, 200);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let taped = tapes(folder.path());
    assert!(!taped[0].contains("-pin"), "{}", taped[0]);
    let path = folder.path().to_str().unwrap();
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", path, "--redact", "guest-pin"]);
    assert_eq!(code, 0, "{problems}");
    assert!(
        taped[0].contains(r#""guest_pin": "<redacted>""#),
        "{}",
        taped[0]
    );

    let replay = TestServer::replay_with(folder.path(), &["--redact", "guest_pin"]).await;
    let again = replay
        .post("/api/vcenter/vm/vm-1/guest", r#"{"guest_pin":"9999-pin"}"#)
        .await;
    assert_eq!(again.status, 200, "{}", again.text());
    let plain = TestServer::replay(folder.path()).await;
    let missed = plain
        .post("/api/vcenter/vm/vm-1/guest", r#"{"guest_pin":"9999-pin"}"#)
        .await;
    assert_eq!(missed.status, 404, "without --redact the key differs");

    let (code, _, stderr) = crate::process::run_to_exit(&["replay", "--redact", "a b"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("is not a field, header or parameter name"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_body_that_cannot_be_redacted_is_refused_loudly() {
    let upstream = canned_upstream(answer_with("text/plain", "the root password is hunter2")).await;
    let folder = tempfile::tempdir().unwrap();
    let summary_file = folder.path().join("summary.json");
    let recorder = RecordSetup::to(&upstream)
        .flag("--summary", summary_file.to_str().unwrap())
        .start(folder.path())
        .await;
    let request = recorder
        .request("POST", "/api/custom")
        .header("content-type", "text/plain")
        .body("set secret=abc")
        .send()
        .await;
    assert_eq!(request.status, 500);
    assert_eq!(
        request.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    assert!(
        request
            .vapi_message()
            .starts_with("the request body is not JSON, a form or XML"),
        "{}",
        request.vapi_message()
    );
    let answer = recorder.get("/api/custom").await;
    assert_eq!(answer.status, 500);
    assert!(answer.vapi_message().starts_with("the answer is not JSON"));
    assert_eq!(
        recorder.shut_down().await,
        ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
    assert!(tapes(folder.path()).is_empty());
    let not_recorded = summary(&summary_file)["not_recorded"].clone();
    assert_eq!(
        not_recorded
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["POST /api/custom", "GET /api/custom"]
    );
}

#[test]
fn check_fails_on_unredacted_secret_fields() {
    let folder = tempfile::tempdir().unwrap();
    let tape_folder = folder.path().join("tape");
    std::fs::create_dir_all(&tape_folder).unwrap();
    let tape = json!({
        "format": 2,
        "request": {"method": "GET", "path": "/api/x"},
        "recorded": {"at": "2026-11-02T10:00:00Z"},
        "responses": [{"status": 200, "json": {"value": {"password": "p4ss-word", "guest_pin": "1234"}}}],
    });
    // The file name the loader expects for this key.
    let name =
        "get-".to_owned() + &sha256_hex(r#"{"method":"GET","path":"/api/x"}"#)[..16] + ".json";
    std::fs::write(tape_folder.join(name), tape.to_string()).unwrap();
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(
        problems.contains(
            "field \"password\" holds a value that is not the placeholder \"<redacted>\""
        ),
        "{problems}"
    );
    assert!(!problems.contains("guest_pin"), "{problems}");
    let path = folder.path().to_str().unwrap();
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", path, "--redact", "Guest-PIN"]);
    assert_eq!(code, 1);
    assert!(
        problems.contains("field \"guest_pin\" holds a value that is not the placeholder"),
        "{problems}"
    );
}

fn sha256_hex(text: &str) -> String {
    ring::digest::digest(&ring::digest::SHA256, text.as_bytes())
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
