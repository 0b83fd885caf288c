//! The tape: requests outside the catalog, recorded as exact-match exchanges and
//! replayed in order.

use std::process::ExitCode;

use serde_json::json;

use crate::support::*;

const VERSION: &str = r#"{"value":{"build":"24322831","version":"8.0.2.00300"}}"#;

#[tokio::test]
async fn other_calls_are_taped_and_replayed_by_exact_match() {
    let upstream = canned_upstream(http_answer("200 OK", VERSION)).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let version = recorder.get("/rest/appliance/system/version").await;
    assert_eq!((version.status.as_u16(), version.text()), (200, VERSION));
    let search = recorder
        .post(
            "/rest/vcenter/vm?b=2&a=1",
            r#"{"filter":{"names":["vm-1"]},"x":1}"#,
        )
        .await;
    assert_eq!(search.status, 200);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let taped: Vec<String> = std::fs::read_dir(folder.path().join("tape"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(taped.len(), 2, "{taped:?}");
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{problems}");

    let replay = TestServer::replay_with(folder.path(), &["--fail-on-miss"]).await;
    let again = replay.get("/rest/appliance/system/version/").await;
    assert_eq!((again.status.as_u16(), again.text()), (200, VERSION));
    assert_eq!(again.content_type(), "application/json");
    let reordered = replay
        .post(
            "/rest/vcenter/vm?a=1&b=2",
            "{ \"x\": 1, \"filter\": {\"names\": [\"vm-1\"]} }",
        )
        .await;
    assert_eq!(
        (reordered.status.as_u16(), reordered.text()),
        (200, VERSION)
    );
    let other_body = replay
        .post(
            "/rest/vcenter/vm?a=1&b=2",
            r#"{"filter":{"names":["vm-2"]},"x":1}"#,
        )
        .await;
    assert_eq!(other_body.status, 404);
    assert_eq!(
        other_body.header("x-dsvcr-synthetic"),
        Some("no-recording-for-route")
    );
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(
        (health["hits"].clone(), health["unrecorded"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(replay.shut_down().await, ExitCode::from(dsvcr::EXIT_MISSED));

    let untaped = TestServer::replay_with(folder.path(), &["--no-tape"]).await;
    assert_eq!(
        untaped.get("/rest/appliance/system/version").await.status,
        404
    );
}

/// A 401 or 403 (a wrong path prefix in `--upstream`, a SOAP call before login) reaches
/// the client but is never put on the tape, which would replay it as a refusal.
#[tokio::test]
async fn refusals_401_and_403_are_never_taped() {
    for status in ["401 Unauthorized", "403 Forbidden"] {
        let refusal = r#"{"error_type":"UNAUTHENTICATED","messages":[]}"#;
        let upstream = canned_upstream(http_answer(status, refusal)).await;
        let folder = tempfile::tempdir().unwrap();
        let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
        let answer = recorder.get("/rest/appliance/system/version").await;
        assert_eq!(
            (answer.status.as_str(), answer.text()),
            (&status[..3], refusal)
        );
        let soap = recorder
            .post(
                "/sdk",
                r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><RetrieveServiceContent xmlns="urn:vim25"><_this type="ServiceInstance">ServiceInstance</_this></RetrieveServiceContent></Body></Envelope>"#,
            )
            .await;
        assert_eq!(soap.status.as_str(), &status[..3]);
        assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
        assert!(
            !folder.path().join("tape").exists()
                || std::fs::read_dir(folder.path().join("tape"))
                    .unwrap()
                    .next()
                    .is_none(),
            "{status} was taped"
        );
    }
}

#[tokio::test]
async fn a_taped_answer_holding_a_secret_is_refused() {
    let leaky = r#"{"value":{"session":"tok-3f8a9b2c1d0e"}}"#;
    let upstream = canned_upstream(http_answer("200 OK", leaky)).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let answer = recorder
        .request("GET", "/rest/com/vmware/cis/session/echo")
        .header("vmware-api-session-id", "tok-3f8a9b2c1d0e")
        .send()
        .await;
    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    assert!(answer
        .vapi_message()
        .ends_with("it would contain a session token seen in this run"));
    assert_eq!(
        recorder.shut_down().await,
        ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
    let taped = std::fs::read_dir(folder.path().join("tape"))
        .unwrap()
        .count();
    assert_eq!(taped, 0, "nothing of the secret reaches the disk");
}

#[tokio::test]
async fn answers_over_the_tape_limit_pass_through_untaped() {
    let big = format!("{{\"value\":\"{}\"}}", "x".repeat(1024 * 1024));
    let upstream = canned_upstream(http_answer("200 OK", &big)).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let answer = recorder.get("/rest/vcenter/datastore").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body.len(), big.len());
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let taped = std::fs::read_dir(folder.path().join("tape"))
        .unwrap()
        .count();
    assert_eq!(taped, 0);
}

/// A request body the tape would buffer is read like every whole body, within
/// `--max-body-bytes` and the process-wide body budget: a chunked body that grows past the
/// limit gets 413 and never reaches vCenter; one declared larger streams through untaped.
#[tokio::test]
async fn request_bodies_past_the_limit_are_refused_or_streamed_never_buffered() {
    use tokio::io::AsyncWriteExt;
    let upstream = canned_upstream(http_answer("200 OK", VERSION)).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream)
        .flag("--max-body-bytes", "1024")
        .start(folder.path())
        .await;
    let addr = recorder.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let chunk = "x".repeat(600);
    let request = format!(
        "POST /rest/vcenter/vm HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (answer, _) =
        crate::raw_http::read_until_closed(&mut stream, std::time::Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 413 "), "{answer}");
    let declared = recorder.post("/rest/vcenter/vm", &"y".repeat(2048)).await;
    assert_eq!(declared.status, 200, "declared larger: streamed through");
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let taped = std::fs::read_dir(folder.path().join("tape"))
        .unwrap()
        .count();
    assert_eq!(taped, 0, "neither is taped");
}
