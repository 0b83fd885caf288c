//! Web pages cannot drive dsvcr: a rebound host name gets 421 before anything else, a
//! cross-site request that is not a GET (or any to the admin endpoints) gets 403, and
//! taped answers are sandboxed.

use std::process::ExitCode;

use serde_json::json;

use crate::support::*;

#[tokio::test]
async fn a_rebound_host_name_gets_421_before_anything_else() {
    let replay = TestServer::replay(&shipped_cassettes()).await;
    for path in [
        "/__dsvcr/health",
        "/api/content/library/item/download-session/obj-103",
    ] {
        let rebound = replay
            .request("GET", path)
            .header("host", "attacker.example:8080")
            .send()
            .await;
        assert_eq!(rebound.status, 421, "{path}");
        assert_eq!(
            rebound.header("x-dsvcr-synthetic"),
            Some("host-not-allowed")
        );
        assert_eq!(
            rebound.vapi_message(),
            "Host \"attacker.example:8080\" is not allowed: dsvcr answers requests naming it by a loopback name or address; start it with --allow-host attacker.example to allow this one"
        );
    }
    for host in ["localhost:8080", "127.0.0.1"] {
        let named = replay
            .request("GET", "/__dsvcr/health")
            .header("host", host)
            .send()
            .await;
        assert_eq!(named.status, 200, "{host}");
    }
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(health["hits"], 0, "the refused request reached nothing");

    let allowed =
        TestServer::replay_with(&shipped_cassettes(), &["--allow-host", "dsvcr.ci"]).await;
    let named = allowed
        .request("GET", "/__dsvcr/health")
        .header("host", "dsvcr.ci:80")
        .send()
        .await;
    assert_eq!(named.status, 200);
}

#[tokio::test]
async fn a_cross_site_request_cannot_reset_or_post() {
    let replay = TestServer::replay(&shipped_cassettes()).await;
    let reset = replay
        .request("POST", "/__dsvcr/reset")
        .header("origin", "https://attacker.example")
        .header("content-type", "text/plain")
        .send()
        .await;
    assert_eq!(reset.status, 403);
    assert_eq!(
        reset.header("x-dsvcr-synthetic"),
        Some("origin-not-allowed")
    );
    assert_eq!(
        reset.vapi_message(),
        "Origin \"https://attacker.example\" is not allowed: a web page may not drive dsvcr; start it with --allow-origin https://attacker.example to allow this one"
    );
    let login = replay
        .request("POST", "/rest/com/vmware/cis/session")
        .header("origin", "null")
        .header("authorization", &basic())
        .send()
        .await;
    assert_eq!(login.status, 403);
    let read = replay
        .request("GET", "/api/content/library/item/download-session/obj-103")
        .header("origin", "https://attacker.example")
        .send()
        .await;
    assert_eq!(
        read.status, 200,
        "a GET outside the admin endpoints is not refused"
    );
    assert_eq!(replay.get("/__dsvcr/health").await.json()["hits"], 1);

    let allowed = TestServer::replay_with(
        &shipped_cassettes(),
        &["--allow-origin", "http://localhost:3000"],
    )
    .await;
    let reset = allowed
        .request("POST", "/__dsvcr/reset")
        .header("origin", "http://localhost:3000")
        .send()
        .await;
    assert_eq!(
        (reset.status.as_u16(), reset.json()),
        (200, json!({"rewound": 4}))
    );
}

#[tokio::test]
async fn taped_answers_are_never_sniffed_and_run_sandboxed() {
    let page = "<html><script>fetch('/__dsvcr/reset',{method:'POST'})</script></html>";
    let answer = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{page}",
        page.len()
    );
    let upstream = canned_upstream(answer).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let recorded = recorder.get("/ui/page").await;
    assert_eq!(
        recorded.header("content-security-policy"),
        Some("sandbox; default-src 'none'")
    );
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let replay = TestServer::replay(folder.path()).await;
    let taped = replay.get("/ui/page").await;
    assert_eq!((taped.status.as_u16(), taped.text()), (200, page));
    assert_eq!(taped.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        taped.header("content-security-policy"),
        Some("sandbox; default-src 'none'")
    );
}

#[test]
fn allow_values_that_are_not_hosts_or_origins_are_usage_errors() {
    for (flag, value) in [
        ("--allow-host", "http://dsvcr"),
        ("--allow-host", "dsvcr:80"),
        ("--allow-origin", "dsvcr"),
    ] {
        let (code, _, stderr) = crate::process::run_to_exit(&["replay", flag, value]);
        assert_eq!(code, 2, "{flag} {value}: {stderr}");
        assert!(stderr.contains(&format!("for '{flag} <")), "{stderr}");
    }
}
