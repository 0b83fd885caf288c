//! Record mode against the fake vCenter: forwarding, recording every form, trust,
//! upstream failures, concurrency, secrets, and re-recording.

use std::process::ExitCode;
use std::time::Duration;

use serde_json::json;

use crate::fake_vcenter::*;
use crate::support::*;

fn model(id: &str, progress: i64) -> serde_json::Value {
    json!({
        "client_progress": progress,
        "expiration_time": "2026-11-29T10:05:00.000Z",
        "id": id,
        "library_item_content_version": "2",
        "library_item_id": format!("item-{id}"),
        "state": "ACTIVE"
    })
}

#[tokio::test]
async fn every_form_is_recorded_and_replays_offline_in_every_form() {
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-1".into(), vec![10, 50, 100])],
        require_session: true,
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let token = login(&recorder).await;

    let a = recorder
        .request("GET", &format!("{REST}/id:obj-1"))
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(a.json(), json!({ "value": model("obj-1", 10) }));
    let b = recorder
        .request("POST", &format!("{REST}/id:obj-1?~action=get"))
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(b.json(), json!({ "value": model("obj-1", 50) }));
    let c_xml = recorder
        .request("POST", &format!("{REST}?~action=get"))
        .header("vmware-api-session-id", &token)
        .header("accept", "application/xml")
        .body(XML_INPUT.replace("obj-103", "obj-1"))
        .send()
        .await;
    assert_eq!(c_xml.content_type(), "application/xml");
    assert!(
        c_xml
            .text()
            .contains("<client_progress>100</client_progress>"),
        "{}",
        c_xml.text()
    );
    let c_json = recorder
        .request("POST", &format!("{REST}?~action=get"))
        .header("vmware-api-session-id", &token)
        .body(r#"{"download_session_id":"obj-1"}"#)
        .send()
        .await;
    assert_eq!(c_json.json()["value"]["client_progress"], 100);
    let c_query = recorder
        .request(
            "POST",
            &format!("{REST}?~action=get&download_session_id=obj-1"),
        )
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(c_query.json()["value"]["client_progress"], 100);
    let d = recorder
        .request("GET", &format!("{API}/obj-1"))
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(d.json(), model("obj-1", 100));
    let unknown = recorder
        .request("GET", &format!("{REST}/id:obj-404"))
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(fake.gets_for("obj-1"), 6);

    recorder.shut_down().await;
    fake.stop().await;

    let files = cassette_files(folder.path());
    let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["obj-1.json", "obj-404.json"]);
    let obj1 = &files[0].1;
    assert_eq!(obj1["format"], 2);
    assert_eq!(obj1["id"], "obj-1");
    assert_eq!(obj1["recorded"]["upstream"], "127.0.0.1");
    assert_eq!(obj1["recorded"]["form"], "A");
    assert_eq!(
        timeline(obj1, "download_session.get", None).unwrap()["responses"],
        json!([
            { "status": 200, "session": model("obj-1", 10) },
            { "status": 200, "session": model("obj-1", 50) },
            { "status": 200, "repeat": 4, "session": model("obj-1", 100) }
        ])
    );
    assert_eq!(
        timeline(&files[1].1, "download_session.get", None).unwrap()["responses"],
        json!([{ "status": 404, "error": {
            "type": "com.vmware.vapi.std.errors.not_found",
            "messages": [{
                "args": ["obj-404"],
                "default_message": "Download session obj-404 does not exist.",
                "id": "com.vmware.vdcs.cls-main.download_session_not_found"
            }]
        }}])
    );

    let replay = TestServer::replay(folder.path()).await;
    let xml = replay
        .request("GET", &format!("{API}/obj-1"))
        .header("accept", "application/xml")
        .send()
        .await;
    assert!(
        xml.text().contains("<client_progress>10</client_progress>"),
        "{}",
        xml.text()
    );
    let second = replay
        .post(
            &format!("{REFERENCE}?~action=get&download_session_id=obj-1"),
            "",
        )
        .await;
    assert_eq!(second.json(), json!({ "value": model("obj-1", 50) }));
    let third = replay
        .post(
            &format!("{REST}?~action=get"),
            r#"{"download_session_id":"obj-1"}"#,
        )
        .await;
    assert_eq!(third.json(), json!({ "value": model("obj-1", 100) }));
    let miss = replay.get(&format!("{API}/obj-777")).await;
    assert_eq!(miss.header("x-dsvcr-synthetic"), Some("no-cassette"));
    assert_eq!(
        miss.text(),
        r#"{"error_type":"NOT_FOUND","messages":[{"args":["obj-777"],"default_message":"Download session obj-777 does not exist.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}"#,
        "the recorded 404 is the template"
    );
}

#[tokio::test]
async fn requests_are_forwarded_transparently() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let addr = recorder.base.trim_start_matches("http://").to_owned();

    // govmomi's login: chunked, no body, header authentication.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /rest/com/vmware/cis/session HTTP/1.1\r\nhost: {addr}\r\nauthorization: {}\r\nvmware-use-header-authn: true\r\ntransfer-encoding: chunked\r\nconnection: close, x-hop\r\nx-hop: 1\r\nx-custom: kept\r\n\r\n0\r\n\r\n",
        basic()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let token = fake.tokens()[0].clone();
    assert!(
        answer.ends_with(&format!("{{\"value\":\"{token}\"}}")),
        "{answer}"
    );

    let seen = fake.requests();
    let login = &seen[0];
    assert_eq!(login.method, "POST");
    assert_eq!(login.path_and_query, "/rest/com/vmware/cis/session");
    assert_eq!(
        login.headers["host"],
        fake.url().trim_start_matches("http://")
    );
    assert_eq!(login.headers["x-custom"], "kept");
    assert_eq!(login.headers["authorization"], basic().as_str());
    assert!(
        login.headers.get("x-hop").is_none(),
        "hop-by-hop headers named in Connection are dropped"
    );
    assert!(login.body.is_empty());

    let info = recorder
        .request("POST", "/rest/com/vmware/cis/session?~action=get")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["value"]["user"], FAKE_USER);
    let logout = recorder
        .request("DELETE", "/rest/com/vmware/cis/session")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(logout.status, 200);
    let other = recorder.get("/rest/whatever").await;
    assert_eq!(other.status, 404);
    assert_eq!(
        other.text(),
        "not found",
        "other routes pass through untouched"
    );
    assert!(
        cassette_files(folder.path()).is_empty(),
        "only gets are recorded"
    );
}

#[tokio::test]
async fn https_with_the_lab_ca_records_and_default_roots_refuse_it() {
    let fake = FakeVcenter::https().await;
    let ca = fake.ca_pem_path().unwrap().to_owned();
    let folder = tempfile::tempdir().unwrap();
    let trusted = RecordSetup::to(&fake.url())
        .trust(Trust::CaFile(ca))
        .start(folder.path())
        .await;
    let response = trusted.get(&format!("{API}/obj-1")).await;
    assert_eq!(response.json(), model("obj-1", 10));
    assert_eq!(cassette_files(folder.path()).len(), 1);

    let other = tempfile::tempdir().unwrap();
    let untrusted = RecordSetup::to(&fake.url()).start(other.path()).await;
    let refused = untrusted.get(&format!("{REST}/id:obj-1")).await;
    assert_eq!(refused.status, 502);
    assert_eq!(refused.header("x-dsvcr-synthetic"), Some("upstream-tls"));
    let message = refused.vapi_message();
    assert_eq!(
        message,
        format!(
            "TLS with upstream {} failed: invalid peer certificate: UnknownIssuer; to trust this lab, give --ca-cert a PEM file holding the certificate it presents or its CA (`govc about.cert -show`), or pin it with --upstream-thumbprint (SHA-1 or SHA-256, e.g. from `govc about.cert -thumbprint`)",
            fake.url()
        )
    );
    assert!(
        cassette_files(other.path()).is_empty(),
        "a TLS failure is never recorded as a miss"
    );
}

#[tokio::test]
async fn a_pinned_thumbprint_must_match() {
    let fake = FakeVcenter::start(FakeOptions {
        tls: Some(FakeTls::WrongHost),
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let pin = fake.leaf_sha256().unwrap();
    let pinned = RecordSetup::to(&fake.url())
        .trust(Trust::Thumbprint(pin))
        .start(folder.path())
        .await;
    assert_eq!(
        pinned.get(&format!("{API}/obj-1")).await.status,
        200,
        "a pin ignores the host name"
    );

    let wrong = "00".repeat(32);
    let mismatched = RecordSetup::to(&fake.url())
        .trust(Trust::Thumbprint(wrong))
        .start(folder.path())
        .await;
    let refused = mismatched.get(&format!("{API}/obj-1")).await;
    assert_eq!(refused.status, 502);
    let message = refused.vapi_message();
    assert!(
        message.contains(&format!(
            "does not match --upstream-thumbprint {}",
            vec!["00"; 32].join(":")
        )),
        "{message}"
    );
    assert_eq!(
        fake.gets_for("obj-1"),
        1,
        "the mismatched request never reached the upstream"
    );
}

#[tokio::test]
async fn insecure_accepts_a_certificate_for_another_host_that_the_ca_check_refuses() {
    let fake = FakeVcenter::start(FakeOptions {
        tls: Some(FakeTls::WrongHost),
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let insecure = RecordSetup::to(&fake.url())
        .trust(Trust::Insecure)
        .start(folder.path())
        .await;
    assert_eq!(insecure.get(&format!("{API}/obj-1")).await.status, 200);

    let ca = fake.ca_pem_path().unwrap().to_owned();
    let checked = RecordSetup::to(&fake.url())
        .trust(Trust::CaFile(ca))
        .start(folder.path())
        .await;
    let refused = checked.get(&format!("{API}/obj-1")).await;
    assert_eq!(refused.status, 502);
    let message = refused.vapi_message();
    assert!(
        message.contains("invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
        "{message}"
    );
}

#[tokio::test]
async fn an_unreachable_upstream_gets_502_and_nothing_is_recorded() {
    let fake = FakeVcenter::http().await;
    let url = fake.url();
    fake.stop().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&url).start(folder.path()).await;
    for path in [
        format!("{REST}/id:obj-1"),
        "/rest/com/vmware/cis/session".to_owned(),
    ] {
        let response = recorder.post(&format!("{path}?~action=get"), "").await;
        assert_eq!(response.status, 502, "{path}");
        assert_eq!(
            response.header("x-dsvcr-synthetic"),
            Some("upstream-unreachable")
        );
        let message = response.vapi_message();
        assert!(
            message.starts_with(&format!("cannot connect to upstream {url}: ")),
            "{message}"
        );
    }
    assert!(cassette_files(folder.path()).is_empty());
}

#[tokio::test]
async fn a_slow_upstream_gets_504_and_nothing_is_recorded() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let mut setup = RecordSetup::to(&fake.url());
    setup.timeout = Duration::from_millis(300);
    let recorder = setup.start(folder.path()).await;
    let response = recorder.get(&format!("{REST}/id:slow")).await;
    assert_eq!(response.status, 504);
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("upstream-timeout")
    );
    assert_eq!(
        response.vapi_message(),
        format!("upstream {} did not answer within 300ms", fake.url())
    );
    assert!(cassette_files(folder.path()).is_empty());
    assert_eq!(
        recorder.get(&format!("{REST}/id:obj-1")).await.status,
        200,
        "still healthy"
    );
}

#[tokio::test]
async fn errors_and_undecodable_answers_pass_through_unrecorded() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let failed = recorder.get(&format!("{REST}/id:fail-500")).await;
    assert_eq!(failed.status, 500);
    assert_eq!(
        failed.json()["type"],
        "com.vmware.vapi.std.errors.internal_server_error"
    );
    let html = recorder.get(&format!("{REST}/id:html-page")).await;
    assert_eq!(html.status, 200);
    assert_eq!(html.content_type(), "text/html");
    assert_eq!(html.text(), "<html><body>Service unavailable</body></html>");
    let truncated = recorder.get(&format!("{REST}/id:truncated")).await;
    assert_eq!(truncated.status, 200);
    assert_eq!(truncated.text(), "{\"value\":{\"client_progress\":");
    assert!(cassette_files(folder.path()).is_empty());
}

#[tokio::test]
async fn fifty_concurrent_polls_of_one_id_make_one_valid_file_with_every_response() {
    let script: Vec<i64> = (1..=50).collect();
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-1".into(), script.clone())],
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = std::sync::Arc::new(RecordSetup::to(&fake.url()).start(folder.path()).await);
    let polls = (0..50).map(|_| {
        let recorder = recorder.clone();
        tokio::spawn(async move { recorder.get(&format!("{REST}/id:obj-1")).await })
    });
    let mut received = Vec::new();
    for poll in polls {
        let response = poll.await.unwrap();
        assert_eq!(response.status, 200);
        received.push(
            response.json()["value"]["client_progress"]
                .as_i64()
                .unwrap(),
        );
    }
    // The end of the run folds the journal of the answers after the first into the file.
    let recorder = std::sync::Arc::try_unwrap(recorder).ok().unwrap();
    recorder.shut_down().await;
    let files = cassette_files(folder.path());
    assert_eq!(files.len(), 1);
    let mut recorded = timeline_progress(&files[0].1);
    assert_eq!(recorded.len(), 50, "every response is in the file");
    recorded.sort();
    received.sort();
    assert_eq!(recorded, script);
    assert_eq!(received, script);
    let leftovers: Vec<_> = std::fs::read_dir(folder.path().join("download-session"))
        .unwrap()
        .collect();
    assert_eq!(leftovers.len(), 1, "no temp files are left behind");
}

#[tokio::test]
async fn no_credential_or_token_reaches_a_file() {
    let fake = FakeVcenter::start(FakeOptions {
        require_session: true,
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let cookie_login = recorder
        .request("POST", "/rest/com/vmware/cis/session")
        .header("authorization", &basic())
        .send()
        .await;
    let cookie = cookie_login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let token = login(&recorder).await;
    for _ in 0..2 {
        let by_header = recorder
            .request("GET", &format!("{REST}/id:obj-1"))
            .header("vmware-api-session-id", &token)
            .send()
            .await;
        assert_eq!(by_header.status, 200);
        let by_cookie = recorder
            .request("GET", &format!("{API}/obj-1"))
            .header("cookie", &cookie)
            .send()
            .await;
        assert_eq!(by_cookie.status, 200);
    }
    let mut secrets = fake.tokens();
    secrets.push(FAKE_PASSWORD.to_owned());
    secrets.push(basic().trim_start_matches("Basic ").to_owned());
    assert_eq!(secrets.len(), 4);
    // Mid-run: the file and the journal of the answers after the first.
    let mut names = Vec::new();
    let mut text = String::new();
    for entry in std::fs::read_dir(folder.path().join("download-session")).unwrap() {
        let path = entry.unwrap().path();
        names.push(path.file_name().unwrap().to_string_lossy().into_owned());
        text.push_str(&std::fs::read_to_string(&path).unwrap());
    }
    names.sort();
    assert_eq!(names, ["obj-1.json", "obj-1.json.journal"]);
    for secret in &secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{secret} leaked into {text}"
        );
    }
    assert!(!text.to_lowercase().contains("authorization"));
    assert!(!text.to_lowercase().contains("cookie"));
}

#[tokio::test]
async fn new_episodes_replays_known_ids_without_asking_the_upstream() {
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-1".into(), vec![10]), ("obj-2".into(), vec![20])],
        ..FakeOptions::default()
    })
    .await;
    let folder = folder_with(&[cassette("obj-1", vec![(1, ok(session("obj-1", 77)))])]);
    let before = std::fs::read(folder.path().join("download-session/obj-1.json")).unwrap();
    let mut setup = RecordSetup::to(&fake.url());
    setup.new_episodes = true;
    let recorder = setup.start(folder.path()).await;
    for _ in 0..3 {
        let known = recorder.get(&format!("{API}/obj-1")).await;
        assert_eq!(known.json()["client_progress"], 77);
    }
    let unknown = recorder.get(&format!("{API}/obj-2")).await;
    assert_eq!(unknown.json()["client_progress"], 20);
    assert_eq!(
        fake.gets_for("obj-1"),
        0,
        "a known id never reaches the upstream"
    );
    assert_eq!(fake.gets_for("obj-2"), 1);
    assert_eq!(
        std::fs::read(folder.path().join("download-session/obj-1.json")).unwrap(),
        before
    );
    assert_eq!(cassette_files(folder.path()).len(), 2);
}

/// Found by a newcomer: a second recording appended to the first's timelines (progress
/// went 100 -> 10). Re-recording is a choice per run; the default replaces each
/// re-recorded cassette as a whole, so two recordings never mix in one timeline.
#[tokio::test]
async fn a_later_run_replaces_by_default_appends_or_keeps_when_asked() {
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-1".into(), vec![10, 50, 100, 100, 100, 100])],
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let path = format!("{API}/obj-1");
    let first = RecordSetup::to(&fake.url()).start(folder.path()).await;
    first.get(&path).await;
    first.get(&path).await;
    first.shut_down().await;
    assert_eq!(
        timeline_progress(&cassette_files(folder.path())[0].1),
        [10, 50]
    );

    let mut setup = RecordSetup::to(&fake.url());
    setup.rerecord = Rerecord::Append;
    let second = setup.start(folder.path()).await;
    second.get(&path).await;
    second.shut_down().await;
    assert_eq!(
        timeline_progress(&cassette_files(folder.path())[0].1),
        [10, 50, 100]
    );

    let third = RecordSetup::to(&fake.url()).start(folder.path()).await;
    third.get(&path).await;
    third.get(&path).await;
    assert_eq!(third.shut_down().await, ExitCode::SUCCESS);
    assert_eq!(
        timeline_progress(&cassette_files(folder.path())[0].1),
        [100, 100],
        "the default replaces the cassette as a whole"
    );

    let mut setup = RecordSetup::to(&fake.url());
    setup.rerecord = Rerecord::Keep;
    let fourth = setup.start(folder.path()).await;
    let kept = fourth.get(&path).await;
    assert_eq!(kept.status, 200, "the answer still reaches the client");
    assert_eq!(
        fourth.get("/__dsvcr/health").await.json()["not_recorded"],
        1
    );
    assert_eq!(fourth.shut_down().await, ExitCode::SUCCESS);
    assert_eq!(
        timeline_progress(&cassette_files(folder.path())[0].1),
        [100, 100],
        "keep leaves the cassette untouched"
    );
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{problems}");
}

#[tokio::test]
async fn a_cassette_that_cannot_be_written_withholds_the_answer_with_500() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let sub = folder.path().join("download-session");
    std::fs::remove_dir(&sub).unwrap();
    std::fs::write(&sub, "not a folder").unwrap();
    let response = recorder.get(&format!("{REST}/id:obj-1")).await;
    assert_eq!(response.status, 500);
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    let message = response.vapi_message();
    assert!(
        message.starts_with(&format!(
            "cannot write {}: ",
            sub.join("obj-1.json").display()
        )),
        "{message}"
    );
    let health = recorder.get("/__dsvcr/health").await.json();
    assert_eq!(health["not_recorded"], 1);
    assert_eq!(
        recorder.shut_down().await,
        ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_reported_as_tls() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let https_url = fake.url().replace("http://", "https://");
    let recorder = RecordSetup::to(&https_url)
        .trust(Trust::Insecure)
        .start(folder.path())
        .await;
    let response = recorder.get(&format!("{API}/obj-1")).await;
    assert_eq!(response.status, 502);
    assert_eq!(response.header("x-dsvcr-synthetic"), Some("upstream-tls"));
    assert!(
        response
            .vapi_message()
            .starts_with(&format!("TLS with upstream {https_url} failed: ")),
        "{}",
        response.vapi_message()
    );
}

#[tokio::test]
async fn recorded_gets_ask_for_an_uncompressed_answer() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    recorder
        .request("GET", &format!("{API}/obj-1"))
        .header("accept-encoding", "gzip")
        .send()
        .await;
    recorder
        .request("GET", "/api/vcenter/vm")
        .header("accept-encoding", "gzip")
        .send()
        .await;
    let seen = fake.requests();
    assert!(
        seen[0].headers.get("accept-encoding").is_none(),
        "{:?}",
        seen[0].headers
    );
    assert!(
        seen[1].headers.get("accept-encoding").is_none(),
        "a taped request asks for an uncompressed answer too: {:?}",
        seen[1].headers
    );
    assert_eq!(cassette_files(folder.path()).len(), 1);
}

#[tokio::test]
async fn a_write_that_would_hold_a_credential_is_refused_end_to_end() {
    // The fake's 404 names the requested id; asking for an id equal to the password
    // makes the answer contain the password.
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let response = recorder
        .request("GET", &format!("{API}/{FAKE_PASSWORD}"))
        .header("authorization", &basic())
        .send()
        .await;
    assert_eq!(
        response.status,
        500,
        "a refused write withholds the answer: {}",
        response.text()
    );
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    let message = response.vapi_message();
    let file = folder
        .path()
        .join(format!("download-session/{FAKE_PASSWORD}~"));
    assert!(
        message.starts_with(&format!("refused to write {}", file.display()))
            && message.ends_with(".json: it would contain a Basic password seen in this run"),
        "{message}"
    );
    assert!(
        cassette_files(folder.path()).is_empty(),
        "and nothing is written"
    );

    let later = recorder.get(&format!("{REST}/id:{FAKE_PASSWORD}")).await;
    assert_eq!(later.status, 500);
    assert!(
        cassette_files(folder.path()).is_empty(),
        "credentials seen earlier are remembered"
    );
    let summary = recorder.get("/__dsvcr/health").await.json();
    assert_eq!(summary["not_recorded"], 2);
    assert_eq!(
        recorder.shut_down().await,
        std::process::ExitCode::from(dsvcr::EXIT_NOT_RECORDED),
        "a refused recording fails the run"
    );
}

#[tokio::test]
async fn a_streamed_answer_that_stalls_is_cut_off_after_the_timeout() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    // An upstream that sends headers and the first bytes of a body, then goes silent.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let upstream = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = [0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        socket
            .write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"value\":")
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_secs(30)).await;
    });
    let folder = tempfile::tempdir().unwrap();
    let mut setup = RecordSetup::to(&url);
    setup.timeout = Duration::from_millis(300);
    // Untaped, the answer streams through as it comes.
    setup.flags.push("--no-tape".to_owned());
    let recorder = setup.start(folder.path()).await;
    let started = std::time::Instant::now();
    let request = http::Request::get(format!("{}/api/vcenter/vm", recorder.base))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let response = client.request(request).await.unwrap();
    assert_eq!(response.status(), 200, "the headers came through");
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await;
    assert!(
        body.is_err(),
        "the stalled body ends in an error, not a hang"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    upstream.abort();
}

#[tokio::test]
async fn an_upstream_that_never_accepts_the_connection_gets_504() {
    // A listener with a full accept queue: further SYNs are dropped, so connecting hangs.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let target = listener.local_addr().unwrap();
    let mut fillers = Vec::new();
    for _ in 0..4 {
        let connect = tokio::net::TcpStream::connect(target);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await {
            fillers.push(stream);
        }
    }
    let folder = tempfile::tempdir().unwrap();
    let url = format!("http://{target}");
    let mut setup = RecordSetup::to(&url);
    setup.connect_timeout = Some(Duration::from_millis(300));
    let recorder = setup.start(folder.path()).await;
    let started = std::time::Instant::now();
    let response = recorder.get(&format!("{API}/obj-1")).await;
    assert_eq!(response.status, 504, "{}", response.text());
    assert_eq!(
        response.vapi_message(),
        format!("cannot connect to upstream {url} within 300ms")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(cassette_files(folder.path()).is_empty());
    drop((fillers, listener));
}

/// Records one get of `obj-1` from an upstream that answers `answer`; returns what the
/// client got, the run's summary and its exit code, and the cassette files left.
async fn record_one_get(
    answer: String,
) -> (
    TestResponse,
    serde_json::Value,
    ExitCode,
    Vec<(String, serde_json::Value)>,
) {
    let upstream = canned_upstream(answer).await;
    let folder = tempfile::tempdir().unwrap();
    let summary = folder.path().join("summary.json");
    let recorder = RecordSetup::to(&upstream)
        .flag("--summary", summary.to_str().unwrap())
        .start(folder.path())
        .await;
    let response = recorder.get(&format!("{API}/obj-1")).await;
    let code = recorder.shut_down().await;
    let summary = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    (response, summary, code, cassette_files(folder.path()))
}

#[tokio::test]
async fn an_answer_the_loader_would_refuse_is_withheld_counted_and_fails_the_run() {
    let other_id = r#"{"client_progress":5,"id":"OBJ-1","library_item_id":"i","state":"ACTIVE"}"#;
    let (response, summary, code, files) = record_one_get(http_answer("200 OK", other_id)).await;
    assert_eq!(response.status, 500);
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("cassette-not-written")
    );
    let message = response.vapi_message();
    assert!(message.starts_with("refused to write "), "{message}");
    assert!(
        message.ends_with("download-session/obj-1.json: the answer would make a cassette dsvcr cannot load: timelines[0] (download_session.get): responses[0]: id \"OBJ-1\" is not the cassette's id \"obj-1\""),
        "{message}"
    );
    assert_eq!(summary["not_recorded"].as_array().unwrap().len(), 1);
    assert_eq!(
        summary["not_recorded"][0]["operation"],
        "download_session.get"
    );
    assert_eq!(summary["not_recorded"][0]["id"], "obj-1");
    assert_eq!(summary["not_recorded"][0]["reason"], message.as_str());
    assert_eq!(code, ExitCode::from(dsvcr::EXIT_NOT_RECORDED));
    assert!(files.is_empty(), "nothing of the refused answer is written");
}

#[tokio::test]
async fn an_undecodable_success_passes_through_but_is_counted_and_fails_the_run() {
    let (response, summary, code, files) = record_one_get(http_answer("200 OK", "")).await;
    assert_eq!(response.status, 200, "the client gets vCenter's answer");
    assert_eq!(
        summary["not_recorded"],
        json!([{
            "operation": "download_session.get",
            "id": "obj-1",
            "reason": "cannot decode the 200 OK answer as what download_session.get answers: the body is empty"
        }])
    );
    assert_eq!(code, ExitCode::from(dsvcr::EXIT_NOT_RECORDED));
    assert!(files.is_empty());
}

#[tokio::test]
async fn answers_never_recorded_by_design_pass_through_and_do_not_fail_the_run() {
    let busy = r#"{"error_type":"SERVICE_UNAVAILABLE","messages":[]}"#;
    let (response, summary, code, files) =
        record_one_get(http_answer("503 Service Unavailable", busy)).await;
    assert_eq!(response.status, 503);
    assert_eq!(
        summary["not_recorded"][0]["reason"],
        "upstream answered 503 Service Unavailable, which is never recorded"
    );
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(files.is_empty());
}
