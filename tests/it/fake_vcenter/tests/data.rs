//! The download endpoints: bytes, HEAD, Range, and the fault switches.

use std::time::Duration;

use http::StatusCode;
use http_body_util::BodyExt;

use super::*;
use crate::fake_vcenter::rest::API_DS;
use crate::fake_vcenter::state::SESSION_HEADER;
use crate::fake_vcenter::{default_iso_bytes, ByteFault, FakeVcenter, ISO_LEN, ITEM_ID};

/// A session of the default item with `disk.iso` prepared; (token, session, download URI).
async fn prepared_iso(
    fake: &FakeVcenter,
    client: &Client<HttpConnector, Full<Bytes>>,
) -> (String, String, String) {
    let url = fake.url();
    let token = rest_login(client, &url).await;
    let auth = [(SESSION_HEADER, token.as_str())];
    let spec = format!(r#"{{"library_item_id":"{ITEM_ID}"}}"#);
    let (_, _, body) = send(client, "POST", &format!("{url}{API_DS}"), &auth, &spec).await;
    let id = json(&body).as_str().unwrap().to_owned();
    let prepare = format!("{url}{API_DS}/{id}/file?action=prepare");
    let (_, _, body) = send(
        client,
        "POST",
        &prepare,
        &auth,
        r#"{"file_name":"disk.iso"}"#,
    )
    .await;
    let uri = json(&body)["download_endpoint"]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(uri, fake.download_uri(&id, "disk.iso"));
    (token, id, uri)
}

async fn get_bytes(
    client: &Client<HttpConnector, Full<Bytes>>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, HeaderMap, hyper::body::Incoming) {
    let mut request = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = client
        .request(request.body(Full::new(Bytes::new())).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    (parts.status, parts.headers, body)
}

fn header_of<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers.get(name).map(|v| v.to_str().unwrap()).unwrap_or("")
}

#[tokio::test]
async fn fake_vcenter_serves_bytes_with_range_and_faults() {
    let fake = FakeVcenter::http().await;
    let client = plain_client();
    let (token, id, uri) = prepared_iso(&fake, &client).await;
    let auth = (SESSION_HEADER, token.as_str());
    let iso = default_iso_bytes();
    assert_eq!(iso.len(), ISO_LEN);

    let (status, _, body) = get_bytes(&client, "GET", &uri, &[]).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.collect().await.unwrap().to_bytes().is_empty());

    let (status, headers, body) = get_bytes(&client, "GET", &uri, &[auth]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&headers, "content-length"), "4096");
    assert_eq!(
        header_of(&headers, "content-type"),
        "application/octet-stream"
    );
    assert_eq!(header_of(&headers, "accept-ranges"), "bytes");
    assert_eq!(body.collect().await.unwrap().to_bytes(), iso);

    let (status, headers, body) = get_bytes(&client, "HEAD", &uri, &[auth]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_of(&headers, "content-length"), "4096");
    assert!(body.collect().await.unwrap().to_bytes().is_empty());

    for (range, first, last) in [
        ("bytes=10-19", 10, 19),
        ("bytes=-5", 4091, 4095),
        ("bytes=4000-", 4000, 4095),
        ("bytes=4090-9999", 4090, 4095),
    ] {
        let (status, headers, body) =
            get_bytes(&client, "GET", &uri, &[auth, ("range", range)]).await;
        assert_eq!(status, StatusCode::PARTIAL_CONTENT, "{range}");
        assert_eq!(
            header_of(&headers, "content-range"),
            format!("bytes {first}-{last}/4096")
        );
        assert_eq!(
            header_of(&headers, "content-length"),
            (last - first + 1).to_string()
        );
        assert_eq!(
            body.collect().await.unwrap().to_bytes(),
            iso.slice(first..=last),
            "{range}"
        );
    }
    for range in ["bytes=4096-", "bytes=-0"] {
        let (status, headers, _) = get_bytes(&client, "GET", &uri, &[auth, ("range", range)]).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE, "{range}");
        assert_eq!(header_of(&headers, "content-range"), "bytes */4096");
    }
    let (status, _, body) =
        get_bytes(&client, "GET", &uri, &[auth, ("range", "bytes=0-1,5-6")]).await;
    assert_eq!(status, StatusCode::OK, "several ranges are ignored");
    assert_eq!(body.collect().await.unwrap().to_bytes(), iso);

    // Bytes sent in full count as transferred; a file not prepared has no endpoint.
    let info = format!("{}{API_DS}/{id}/file?file_name=disk.iso", fake.url());
    let (_, _, body) = send(&client, "GET", &info, &[auth], "").await;
    assert_eq!(json(&body)["bytes_transferred"], 2 * 4096 + 10 + 5 + 96 + 6);
    let notes = uri.replace("disk.iso", "notes.txt");
    let (status, _, _) = get_bytes(&client, "GET", &notes, &[auth]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, headers, _) = get_bytes(&client, "POST", &uri, &[auth]).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_of(&headers, "allow"), "GET, HEAD");

    // Cut short: half the declared length, then the connection closes.
    fake.set_byte_fault(ByteFault::CutShort);
    let (status, headers, mut body) = get_bytes(&client, "GET", &uri, &[auth]).await;
    assert_eq!(
        (status, header_of(&headers, "content-length")),
        (StatusCode::OK, "4096")
    );
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first, iso.slice(..2048));
    assert!(body.frame().await.unwrap().is_err());

    // Stalled: half, then nothing.
    fake.set_byte_fault(ByteFault::Stall);
    let (_, _, mut body) = get_bytes(&client, "GET", &uri, &[auth]).await;
    let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
    assert_eq!(first.len(), 2048);
    let next = tokio::time::timeout(Duration::from_millis(200), body.frame()).await;
    assert!(next.is_err(), "the body should stall: {next:?}");

    // Slow: half, a pause, then the rest.
    fake.set_byte_fault(ByteFault::Slow(Duration::from_millis(50)));
    let (status, _, body) = get_bytes(&client, "GET", &uri, &[auth]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.collect().await.unwrap().to_bytes(), iso);
    fake.stop().await;
}
