//! The admin endpoints: health counters and timeline reset.

use serde_json::json;

use crate::fake_vcenter::FakeVcenter;
use crate::support::*;

#[tokio::test]
async fn health_counts_a_known_sequence_of_requests() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let initial = server.get("/__dsvcr/health").await;
    assert_eq!(initial.status, 200);
    assert_eq!(initial.content_type(), "application/json");
    assert_eq!(
        initial.json(),
        json!({"mode":"replay","cassettes":4,"hits":0,"derived":{"count":0,"by_rule":{}},"misses":0,"unrecorded":0,"recordings":0,"not_recorded":0,"upstream_connections":0,"upstream_failures":{"count":0,"by_reason":{},"first":[]},"in_flight":0})
    );
    server.get(&format!("{REST}/id:obj-103")).await;
    server.get(&format!("{API}/obj-105")).await;
    server.get(&format!("{API}/obj-999")).await;
    server.post(&format!("{REST}?~action=get"), "{").await;
    server.get("/rest/vcenter/vm").await;
    assert_eq!(
        server.get("/__dsvcr/health").await.json(),
        json!({"mode":"replay","cassettes":4,"hits":2,"derived":{"count":0,"by_rule":{}},"misses":1,"unrecorded":1,"recordings":0,"not_recorded":0,"upstream_connections":0,"upstream_failures":{"count":0,"by_reason":{},"first":[]},"in_flight":0})
    );
}

#[tokio::test]
async fn reset_rewinds_every_timeline_or_one() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let progress = |response: TestResponse| response.json()["client_progress"].as_i64().unwrap();
    let path = format!("{API}/obj-105");
    assert_eq!(progress(server.get(&path).await), 10);
    assert_eq!(progress(server.get(&path).await), 50);

    let all = server.request("POST", "/__dsvcr/reset").send().await;
    assert_eq!(all.status, 200);
    assert_eq!(all.json(), json!({"rewound": 4}));
    assert_eq!(progress(server.get(&path).await), 10);

    let one = server
        .request("POST", "/__dsvcr/reset?id=obj-105")
        .send()
        .await;
    assert_eq!(one.json(), json!({"rewound": 1}));
    assert_eq!(progress(server.get(&path).await), 10);

    let unknown = server
        .request("POST", "/__dsvcr/reset?id=obj-999")
        .send()
        .await;
    assert_eq!(unknown.status, 404);
    assert_eq!(
        unknown.vapi_message(),
        "there is no cassette for download session obj-999 to reset"
    );
    let invalid = server
        .request("POST", "/__dsvcr/reset?id=../x")
        .send()
        .await;
    assert_eq!(invalid.status, 400);
    let wrong_method = server.get("/__dsvcr/reset").await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    assert_eq!(server.get("/__dsvcr/nope").await.status, 404);
}

#[tokio::test]
async fn record_health_counts_recordings_and_upstream_connections() {
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    for _ in 0..3 {
        assert_eq!(recorder.get(&format!("{API}/obj-1")).await.status, 200);
    }
    assert_eq!(
        recorder.get("/__dsvcr/health").await.json(),
        json!({"mode":"record","cassettes":1,"hits":0,"derived":{"count":0,"by_rule":{}},"misses":0,"unrecorded":0,"recordings":3,"not_recorded":0,"upstream_connections":1,"upstream_failures":{"count":0,"by_reason":{},"first":[]},"in_flight":0})
    );
    assert_eq!(
        fake.gets_for("obj-1"),
        3,
        "admin requests are never forwarded"
    );
    assert!(fake
        .requests()
        .iter()
        .all(|r| !r.path_and_query.contains("__dsvcr")));
}

#[test]
fn listening_beyond_loopback_warns_and_loopback_clients_keep_the_admin_endpoints() {
    use std::io::{Read, Write};
    let cassettes = shipped_cassettes();
    let running = crate::process::Running::start(&[
        "replay",
        "--listen",
        "0.0.0.0:0",
        "--cassettes",
        cassettes.to_str().unwrap(),
    ]);
    let port = running.addr().rsplit_once(':').unwrap().1.to_owned();
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    write!(
        stream,
        "GET /__dsvcr/health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let (code, stderr) = running.stop();
    assert_eq!(code, 0);
    assert!(
        stderr.contains("listening beyond loopback: any client that reaches this address is served; the admin endpoints (/__dsvcr/) answer loopback clients only"),
        "{stderr}"
    );
}

/// Record mode counts a request in flight while it is being answered (its body still
/// arriving here), and no longer once its answer is made.
#[tokio::test]
async fn record_counts_a_request_in_flight_until_it_is_answered() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let addr = recorder.base.trim_start_matches("http://").to_owned();
    let body = r#"{"download_session_id":"obj-1"}"#;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {REST}?~action=get HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    recorder.wait_in_flight(1).await;
    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    recorder.wait_in_flight(0).await;
}
