//! The seed harness's behaviour: login on both flavours, download_session.get in every form
//! with scripted progress, special ids, TLS and stopping.

use std::time::Duration;

use bytes::Bytes;
use http::{header, StatusCode};

use super::*;
use crate::fake_vcenter::rest::{API_DS, API_SESSION, REST_DS, REST_SESSION};
use crate::fake_vcenter::state::SESSION_HEADER;
use crate::fake_vcenter::{FakeOptions, FakeTls, FakeVcenter, FAKE_USER};

#[tokio::test]
async fn fake_vcenter_login_and_form_a_progress() {
    let fake = FakeVcenter::start(FakeOptions {
        require_session: true,
        ..FakeOptions::default()
    })
    .await;
    let client = plain_client();
    let url = fake.url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(fake.ca_pem_path().is_none() && fake.leaf_sha256().is_none());

    // Wrong credentials.
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_SESSION}"),
        &[("authorization", "Basic Zm9vOmJhcg==")],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"error_type":"UNAUTHENTICATED","messages":[]}}"#
    );

    // govmomi-style login: chunked empty body, header authn, so no cookie.
    let (head, body) = raw_chunked_login(&fake).await;
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    assert!(!head.to_ascii_lowercase().contains("set-cookie"), "{head}");
    assert!(head
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let token = fake.tokens()[0].clone();
    assert!(is_token(&token), "{token}");
    assert_eq!(body, format!(r#"{{"value":"{token}"}}"#));

    // Cookie login.
    let (status, headers, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_SESSION}"),
        &[("authorization", &basic_header())],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let cookie_token = fake.tokens()[1].clone();
    assert_ne!(cookie_token, token);
    assert!(is_token(&cookie_token));
    assert_eq!(body, format!(r#"{{"value":"{cookie_token}"}}"#));
    assert_eq!(
        headers.get(header::SET_COOKIE).unwrap(),
        &format!("vmware-api-session-id={cookie_token};Path=/rest")
    );

    // Without a token: 401 and no progress step.
    let get_url = format!("{url}{REST_DS}/id:obj-1");
    let (status, _, _) = send(&client, "GET", &get_url, &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Form A with the header token: 10, 50, 100, 100 (one via the cookie).
    for (progress, auth) in [
        (10, (SESSION_HEADER, token.clone())),
        (50, (SESSION_HEADER, token.clone())),
        (
            100,
            (
                "cookie",
                format!("a=b; vmware-api-session-id={cookie_token}"),
            ),
        ),
        (100, (SESSION_HEADER, token.clone())),
    ] {
        let (status, headers, body) = send(
            &client,
            "GET",
            &get_url,
            &[(auth.0, &auth.1), ("accept", "application/json")],
            "",
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(content_type(&headers), "application/json");
        assert_eq!(body, rest_body("obj-1", progress));
    }
    assert_eq!(fake.gets_for("obj-1"), 5);
    assert_eq!(fake.gets_for("obj-2"), 0);

    // Session info, then logout makes the token stop working.
    let info_url = format!("{url}{REST_SESSION}?~action=get");
    let (status, _, body) = send(&client, "POST", &info_url, &[(SESSION_HEADER, &token)], "").await;
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["value"]["user"], FAKE_USER);
    let session_url = format!("{url}{REST_SESSION}");
    let (status, _, body) = send(
        &client,
        "DELETE",
        &session_url,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let (status, _, _) = send(&client, "POST", &info_url, &[(SESSION_HEADER, &token)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _, _) = send(&client, "GET", &get_url, &[(SESSION_HEADER, &token)], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let requests = fake.requests();
    assert_eq!(requests.len(), 12);
    assert_eq!(requests[1].method, "POST");
    assert_eq!(requests[1].path_and_query, REST_SESSION);
    assert_eq!(
        requests[1].headers.get("transfer-encoding").unwrap(),
        "chunked"
    );
    assert!(requests[1].body.is_empty());
    assert_eq!(
        requests[8].path_and_query,
        format!("{REST_SESSION}?~action=get")
    );
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_form_c_and_b_share_the_script() {
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-103".to_owned(), vec![5, 60, 99])],
        ..FakeOptions::default()
    })
    .await;
    let client = plain_client();
    let url = fake.url();
    let xml_input = "<?xml version=\"1.0\" ?>\n<ns0:Get-Input xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n <download_session_id>obj-103</download_session_id>\n</ns0:Get-Input>";

    // Form C, XML in and out.
    let (status, headers, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}?~action=get"),
        &[
            ("content-type", "application/xml"),
            ("accept", "application/xml"),
        ],
        xml_input,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/xml");
    assert_eq!(
        body,
        "<?xml version=\"1.0\" ?>\n<ns0:Get-Result xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><value><id>obj-103</id><library_item_id>item-obj-103</library_item_id><client_progress>5</client_progress><state>ACTIVE</state><expiration_time>2026-11-29T10:05:00.000Z</expiration_time><library_item_content_version>2</library_item_content_version></value></ns0:Get-Result>"
    );

    // Form C, JSON body; form B percent-encoded; form C by query; form D.
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}?~action=get"),
        &[("content-type", "application/json")],
        r#"{ "download_session_id" : "obj-103" }"#,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-103", 60)));
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}/id%3Aobj-103?%7Eaction=get"),
        &[],
        "",
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-103", 99)));
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{REST_DS}?x=1&download_session_id=obj-103&~action=get"),
        &[],
        "",
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-103", 99)));
    let (status, _, body) = send(&client, "GET", &format!("{url}{API_DS}/obj-103"), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (
            StatusCode::OK,
            r#"{"client_progress":99,"expiration_time":"2026-11-29T10:05:00.000Z","id":"obj-103","library_item_content_version":"2","library_item_id":"item-obj-103","state":"ACTIVE"}"#
        )
    );
    assert_eq!(fake.gets_for("obj-103"), 5);
    assert_eq!(
        fake.gets_for("obj-1"),
        0,
        "custom sessions replace the default"
    );

    let requests = fake.requests();
    assert_eq!(requests[0].body, Bytes::from(xml_input));
    assert_eq!(
        requests[2].path_and_query,
        format!("{REST_DS}/id%3Aobj-103?%7Eaction=get")
    );

    // Anything else.
    let (status, headers, body) =
        send(&client, "GET", &format!("{url}/rest/whatever"), &[], "").await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "not found")
    );
    assert_eq!(content_type(&headers), "text/plain");
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_errors_and_special_ids() {
    let fake = FakeVcenter::http().await;
    let client = plain_client();
    let url = fake.url();

    let (status, headers, body) =
        send(&client, "GET", &format!("{url}{API_DS}/obj-404"), &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(
        body,
        r#"{"error_type":"NOT_FOUND","messages":[{"args":["obj-404"],"default_message":"Download session obj-404 does not exist.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}"#
    );
    let (status, _, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:obj-404"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"error_type":"NOT_FOUND","messages":[{"args":["obj-404"],"default_message":"Download session obj-404 does not exist.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}}"#
    );
    assert_eq!(fake.gets_for("obj-404"), 2);

    let (status, _, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:fail-500"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.internal_server_error","value":{"error_type":"INTERNAL_SERVER_ERROR","messages":[]}}"#
    );
    let (status, headers, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:html-page"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "text/html");
    assert_eq!(body, "<html><body>Service unavailable</body></html>");
    let (status, headers, body) = send(
        &client,
        "GET",
        &format!("{url}{REST_DS}/id:truncated"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_type(&headers), "application/json");
    assert_eq!(body, r#"{"value":{"client_progress":"#);

    // /api login and logout.
    let (status, _, body) = send(
        &client,
        "POST",
        &format!("{url}{API_SESSION}"),
        &[("authorization", &basic_header())],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let token = fake.tokens()[0].clone();
    assert_eq!(body, format!(r#""{token}""#));
    let api_session = format!("{url}{API_SESSION}");
    let (status, _, body) = send(
        &client,
        "GET",
        &api_session,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let info: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(info["user"], FAKE_USER);
    let (status, _, body) = send(
        &client,
        "DELETE",
        &api_session,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::NO_CONTENT, ""));
    let (status, _, body) = send(
        &client,
        "GET",
        &api_session,
        &[(SESSION_HEADER, &token)],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, r#"{"error_type":"UNAUTHENTICATED","messages":[]}"#);
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_https_then_stop_closes_everything() {
    let fake = FakeVcenter::https().await;
    let url = fake.url();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");
    let sha = fake.leaf_sha256().unwrap();
    assert!(
        sha.len() == 64
            && sha
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    );
    let client = https_client(fake.ca_pem_path().unwrap());

    let (status, _, body) =
        send(&client, "GET", &format!("{url}{REST_DS}/id:obj-1"), &[], "").await;
    assert_eq!((status, body), (StatusCode::OK, rest_body("obj-1", 10)));

    // A request in flight when the fake stops must die with it.
    let slow_client = client.clone();
    let slow_url = format!("{url}{REST_DS}/id:slow");
    let slow = tokio::spawn(async move { try_send(&slow_client, "GET", &slow_url, &[], "").await });
    for _ in 0..100 {
        if fake.gets_for("slow") == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(fake.gets_for("slow"), 1);

    let addr = fake.addr;
    tokio::time::timeout(Duration::from_secs(5), fake.stop())
        .await
        .expect("stop is prompt");
    let slow = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .expect("in-flight request ends")
        .unwrap();
    assert!(slow.is_err(), "in-flight request should fail: {slow:?}");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    let after = try_send(&client, "GET", &format!("{url}{REST_DS}/id:obj-1"), &[], "").await;
    assert!(after.is_err(), "request after stop should fail: {after:?}");
}

#[tokio::test]
async fn fake_vcenter_wrong_host_certificate_is_rejected() {
    let fake = FakeVcenter::start(FakeOptions {
        tls: Some(FakeTls::WrongHost),
        ..FakeOptions::default()
    })
    .await;
    let client = https_client(fake.ca_pem_path().unwrap());
    let result = try_send(
        &client,
        "GET",
        &format!("{}{REST_DS}/id:obj-1", fake.url()),
        &[],
        "",
    )
    .await;
    assert!(result.is_err(), "{result:?}");
    assert_eq!(fake.gets_for("obj-1"), 0);
    assert!(fake.requests().is_empty());
    fake.stop().await;
}
