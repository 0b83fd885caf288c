//! The fake's one smoke test, over real sockets with the shared test clients: it serves
//! HTTPS from its own CA, logs in, answers a get from the scripted progress, and `stop`
//! ends everything. Everything else the fake does is checked where it matters: by the
//! tests that drive dsvcr through it (record, sessions, replay_forms, operations,
//! jsonrpc, downloads, faults, interop_export).

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};

use super::rest::{REST_DS, REST_SESSION};
use super::state::SESSION_HEADER;
use super::FakeVcenter;
use crate::support::{basic, https_client_with};

type Client = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    Full<Bytes>,
>;

async fn try_send(
    client: &Client,
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
) -> Result<(StatusCode, String), hyper_util::client::legacy::Error> {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::default()).unwrap())
        .await?;
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Ok((status, String::from_utf8(body.to_vec()).unwrap()))
}

fn rest_body(id: &str, progress: i64) -> String {
    format!(
        r#"{{"value":{{"client_progress":{progress},"expiration_time":"2026-11-29T10:05:00.000Z","id":"{id}","library_item_content_version":"2","library_item_id":"item-{id}","state":"ACTIVE"}}}}"#
    )
}

#[tokio::test]
async fn fake_vcenter_smoke() {
    let fake = FakeVcenter::https().await;
    let url = fake.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let sha = fake.leaf_sha256().unwrap();
    assert!(
        sha.len() == 64
            && sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
        "{sha}"
    );
    // Its CA file is what a client trusts (the shared helper; the fake speaks HTTP/1.1).
    let client = https_client_with(fake.ca_pem_path().unwrap(), false);

    // Header-authn login: the token is the one the fake hands out and records.
    let login = format!("{url}{REST_SESSION}");
    let basic = basic();
    let headers = [
        ("authorization", basic.as_str()),
        ("vmware-use-header-authn", "true"),
    ];
    let (status, body) = try_send(&client, "POST", &login, &headers).await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = fake.tokens()[0].clone();
    assert!(
        token.len() == 32
            && token
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "{token}"
    );
    assert_eq!(body, format!(r#"{{"value":"{token}"}}"#));

    // Form A follows the default script: 10, then 50.
    let get = format!("{url}{REST_DS}/id:obj-1");
    for progress in [10, 50] {
        let answer = try_send(&client, "GET", &get, &[(SESSION_HEADER, &token)]).await;
        assert_eq!(
            answer.unwrap(),
            (StatusCode::OK, rest_body("obj-1", progress))
        );
    }
    assert_eq!(fake.gets_for("obj-1"), 2);

    // A request in flight when the fake stops dies with it; the port is then closed.
    // Tests of dsvcr's upstream failures rely on this.
    let slow_client = client.clone();
    let slow_url = format!("{url}{REST_DS}/id:slow");
    let slow = tokio::spawn(async move { try_send(&slow_client, "GET", &slow_url, &[]).await });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while fake.gets_for("slow") == 0 {
        assert!(std::time::Instant::now() < deadline, "the slow get arrives");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let addr = fake.addr;
    tokio::time::timeout(Duration::from_secs(5), fake.stop())
        .await
        .expect("stop is prompt");
    let slow = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("the request in flight ends")
        .unwrap();
    assert!(slow.is_err(), "the request in flight fails: {slow:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let after = try_send(&client, "GET", &get, &[(SESSION_HEADER, &token)]).await;
    assert!(after.is_err(), "a request after stop fails: {after:?}");
}
