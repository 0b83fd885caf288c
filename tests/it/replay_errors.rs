//! Misses, bad input and shutdown, answered exactly.

use std::time::Duration;

use crate::support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const NOT_FOUND_MESSAGE: &str = r#"{"args":["obj-999"],"default_message":"No download session with id obj-999 exists (dsvcr has no cassette for it).","id":"dsvcr.download_session.not_found"}"#;

#[tokio::test]
async fn a_miss_gets_a_synthetic_vapi_404_in_the_callers_flavour() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let rest_envelope = format!(
        r#"{{"type":"com.vmware.vapi.std.errors.not_found","value":{{"error_type":"NOT_FOUND","messages":[{NOT_FOUND_MESSAGE}]}}}}"#
    );
    let api_envelope = format!(r#"{{"error_type":"NOT_FOUND","messages":[{NOT_FOUND_MESSAGE}]}}"#);
    let cases = [
        ("GET", format!("{REST}/id:obj-999"), "", &rest_envelope),
        (
            "POST",
            format!("{REST}/id:obj-999?~action=get"),
            "",
            &rest_envelope,
        ),
        (
            "POST",
            format!("{REFERENCE}?~action=get"),
            r#"{"download_session_id":"obj-999"}"#,
            &rest_envelope,
        ),
        ("GET", format!("{API}/obj-999"), "", &api_envelope),
    ];
    for (method, path, body, expected) in cases {
        let response = server.request(method, &path).body(body).send().await;
        assert_eq!(response.status, 404, "{method} {path}");
        assert_eq!(response.content_type(), "application/json");
        assert_eq!(response.header("x-dsvcr-synthetic"), Some("no-cassette"));
        assert_eq!(response.text(), expected.as_str(), "{method} {path}");
    }
}

#[tokio::test]
async fn an_xml_miss_gets_an_xml_error_document() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let expected = "<?xml version=\"1.0\" ?>\n<ns0:Error xmlns:ns0=\"http://vmware.com/vapi/std/errors\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><type>com.vmware.vapi.std.errors.not_found</type><value><error_type>NOT_FOUND</error_type><messages-array><array-item><default_message>No download session with id obj-999 exists (dsvcr has no cassette for it).</default_message><id>dsvcr.download_session.not_found</id><args-array><array-item>obj-999</array-item></args-array></array-item></messages-array></value></ns0:Error>";
    let by_accept = server
        .request("GET", &format!("{REST}/id:obj-999"))
        .header("accept", "application/xml")
        .send()
        .await;
    let by_body = server
        .post(
            &format!("{REST}?~action=get"),
            &XML_INPUT.replace("obj-103", "obj-999"),
        )
        .await;
    for response in [by_accept, by_body] {
        assert_eq!(response.status, 404);
        assert_eq!(response.content_type(), "application/xml");
        assert_eq!(response.header("x-dsvcr-synthetic"), Some("no-cassette"));
        assert_eq!(response.text(), expected);
    }
}

/// Asserts a 400 `invalid_argument` whose message is `message`.
fn assert_invalid_argument(response: &TestResponse, message: &str) {
    assert_eq!(response.status, 400, "{}", response.text());
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("invalid-request")
    );
    let body = response.json();
    let error = if body.get("type").is_some() {
        assert_eq!(body["type"], "com.vmware.vapi.std.errors.invalid_argument");
        &body["value"]
    } else {
        &body
    };
    assert_eq!(error["error_type"], "INVALID_ARGUMENT");
    assert_eq!(error["messages"][0]["default_message"], message);
}

#[tokio::test]
async fn malformed_collection_requests_get_400_naming_the_problem() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let path = format!("{REST}?~action=get");
    assert_invalid_argument(
        &server.post(&path, "").await,
        "no download_session_id: send it in a JSON body, an XML Get-Input body or the query",
    );
    assert_invalid_argument(
        &server
            .post(&path, r#"{"download_session_id": "obj-103""#)
            .await,
        "malformed JSON body: EOF while parsing an object at line 1 column 33",
    );
    assert_invalid_argument(
        &server.post(&path, r#"{"id": "obj-103"}"#).await,
        "the JSON body has no download_session_id",
    );
    let xml = server
        .request("POST", &path)
        .header("accept", "application/json")
        .body("<ns0:Get-Input><download_session_id>obj-103</ns0:Get-Input>")
        .send()
        .await;
    assert_eq!(xml.status, 400);
    let message = xml.json()["value"]["messages"][0]["default_message"].clone();
    assert!(
        message.as_str().unwrap().starts_with("malformed XML: "),
        "{message}"
    );
    assert_invalid_argument(
        &server
            .post(
                &format!("{path}&download_session_id=obj-104"),
                r#"{"download_session_id":"obj-103"}"#,
            )
            .await,
        "the body asks for download_session_id \"obj-103\" but the query asks for \"obj-104\"",
    );
}

#[tokio::test]
async fn a_malformed_xml_body_is_answered_in_xml() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let response = server
        .post(
            &format!("{REST}?~action=get"),
            "<!DOCTYPE x [<!ENTITY a \"b\">]><Get-Input/>",
        )
        .await;
    assert_eq!(response.status, 400);
    assert_eq!(response.content_type(), "application/xml");
    assert!(
        response.text().contains(
            "<default_message>XML document type declarations are not accepted</default_message>"
        ),
        "{}",
        response.text()
    );
}

#[tokio::test]
async fn ids_that_could_escape_the_folder_get_400() {
    let folder = folder_with(&[]);
    let server = TestServer::replay(folder.path()).await;
    let long = "a".repeat(257);
    let cases = [
        (
            format!("{REST}/id:a%2F..%2F..%2Fetc%2Fpasswd"),
            "download_session_id \"a/../../etc/passwd\" contains a path separator".to_owned(),
        ),
        (
            format!("{REST}/id:../obj-1"),
            "download_session_id \"../obj-1\" contains a path separator".to_owned(),
        ),
        (
            format!("{API}/.."),
            "download_session_id \"..\" contains '..'".to_owned(),
        ),
        (
            format!("{API}/a%00b"),
            "download_session_id \"a\\0b\" contains a control character".to_owned(),
        ),
        (
            format!("{API}/a%1Bb"),
            "download_session_id \"a\\u{1b}b\" contains a control character".to_owned(),
        ),
        (
            format!("{API}/{long}"),
            "download_session_id is 257 bytes long; the limit is 256".to_owned(),
        ),
    ];
    for (path, message) in cases {
        assert_invalid_argument(&server.get(&path).await, &message);
    }
    let in_body = server
        .post(
            &format!("{REST}?~action=get"),
            r#"{"download_session_id":"x/../../y"}"#,
        )
        .await;
    assert_invalid_argument(
        &in_body,
        "download_session_id \"x/../../y\" contains a path separator",
    );
    let names: Vec<_> = std::fs::read_dir(folder.path().join("download-session"))
        .unwrap()
        .collect();
    assert!(names.is_empty(), "nothing was written: {names:?}");
}

#[tokio::test]
async fn a_body_over_1_mib_gets_413() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let padding = " ".repeat(1024 * 1024);
    let body = format!(r#"{{"download_session_id":"obj-103"}}{padding}"#);
    let response = server.post(&format!("{REST}?~action=get"), &body).await;
    assert_eq!(response.status, 413);
    assert_eq!(response.header("x-dsvcr-synthetic"), Some("body-too-large"));
    assert_eq!(
        response.json()["value"]["messages"][0]["default_message"],
        "the request body is larger than 1048576 bytes"
    );
    let just_fits = format!(
        r#"{{"download_session_id":"obj-103"}}{}"#,
        " ".repeat(1024 * 1024 - 33)
    );
    assert_eq!(just_fits.len(), 1024 * 1024);
    assert_eq!(
        server
            .post(&format!("{REST}?~action=get"), &just_fits)
            .await
            .status,
        200
    );
}

#[tokio::test]
async fn other_methods_on_download_session_paths_get_405_with_allow() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let cases = [
        ("PATCH", format!("{REST}/id:obj-103"), "GET, POST, DELETE"),
        (
            "PUT",
            format!("{REFERENCE}/id:obj-103"),
            "GET, POST, DELETE",
        ),
        ("PATCH", REST.to_owned(), "GET, POST"),
        ("PUT", format!("{API}/obj-103"), "GET, POST, DELETE"),
        ("DELETE", API.to_owned(), "GET, POST"),
    ];
    for (method, path, allow) in cases {
        let response = server.request(method, &path).send().await;
        assert_eq!(response.status, 405, "{method} {path}");
        assert_eq!(response.header("allow"), Some(allow));
        let message = format!("{method} is not allowed on this path (allowed: {allow})");
        let body = response.json();
        let messages = if path.starts_with(API) {
            &body["messages"]
        } else {
            &body["value"]["messages"]
        };
        assert_eq!(messages[0]["default_message"], message.as_str());
    }
}

#[tokio::test]
async fn any_other_route_gets_404_saying_there_is_no_recording() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let response = server
        .post("/rest/com/vmware/content/library?x=1", "")
        .await;
    assert_eq!(response.status, 404);
    assert_eq!(
        response.header("x-dsvcr-synthetic"),
        Some("no-recording-for-route")
    );
    assert_eq!(
        response.text(),
        r#"{"type":"com.vmware.vapi.std.errors.operation_not_found","value":{"error_type":"OPERATION_NOT_FOUND","messages":[{"args":[],"default_message":"dsvcr has no recording for POST /rest/com/vmware/content/library?x=1: no cassette covers this route","id":"dsvcr.route.not_recorded"}]}}"#
    );
    let api = server.get(&format!("{API}/obj-103/files")).await;
    assert_eq!(
        api.status,
        400,
        "a '/' inside an /api id is refused: {}",
        api.text()
    );
    let list = server.get(&format!("{API}/obj-1/file")).await;
    assert_eq!(list.status, 404);
    assert_eq!(
        list.json()["error_type"],
        "NOT_FOUND",
        "/api answers bare errors"
    );
}

#[tokio::test]
async fn replay_never_changes_a_cassette() {
    let folder = tempfile::tempdir().unwrap();
    let copy = |from: &std::path::Path, to: &std::path::Path| {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    };
    copy(
        &shipped_cassettes().join("download-session"),
        &folder.path().join("download-session"),
    );
    let snapshot = || {
        let mut files: Vec<(String, Vec<u8>)> =
            std::fs::read_dir(folder.path().join("download-session"))
                .unwrap()
                .map(|e| {
                    let e = e.unwrap();
                    (
                        e.file_name().into_string().unwrap(),
                        std::fs::read(e.path()).unwrap(),
                    )
                })
                .collect();
        files.sort();
        files
    };
    let before = snapshot();
    let server = TestServer::replay(folder.path()).await;
    for path in [
        format!("{REST}/id:obj-105"),
        format!("{API}/obj-103"),
        format!("{REST}/id:new-1"),
    ] {
        server.get(&path).await;
        server.request("DELETE", &path).send().await;
        server
            .post(&format!("{path}?~action=get"), "{\"garbage\"")
            .await;
    }
    assert_eq!(snapshot(), before);
}

#[tokio::test]
async fn shutdown_finishes_a_request_in_flight() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let body = r#"{"download_session_id":"obj-103"}"#;
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST {REST}?~action=get HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body.as_bytes()[..10]).await.unwrap();
    server.wait_in_flight(1).await;

    let shutting_down = tokio::spawn(server.shut_down());
    // A negative check, not a readiness wait: within this window the old code had
    // already ended.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(
        !shutting_down.is_finished(),
        "shutdown waits for the request in flight"
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::net::TcpStream::connect(&addr).await.is_ok() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "new connections are still accepted"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !shutting_down.is_finished(),
        "shutdown still waits once the listener is closed"
    );

    stream.write_all(&body.as_bytes()[10..]).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with(r#""library_item_id":"obj-103","state":"ACTIVE"}}"#),
        "{response}"
    );
    tokio::time::timeout(Duration::from_secs(5), shutting_down)
        .await
        .expect("shutdown completes once the request is answered")
        .unwrap();
}

/// A request whose empty chunked body ends after its head (govmomi's login and its
/// bodiless POSTs) is answered once the body has ended, and its connection serves the
/// next request. Before, replay answered such requests without reading their body, so
/// hyper closed the connection and the client's next request on it got EOF.
#[tokio::test]
async fn a_body_that_ends_after_the_head_keeps_the_connection_usable() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let addr = server.base.trim_start_matches("http://").to_owned();
    let requests = [
        ("/rest/com/vmware/cis/session", "200 OK"),
        (
            "/rest/com/vmware/content/library/item/download-session/id:obj-103?~action=keep-alive",
            "404 Not Found",
        ),
        (
            "/rest/vcenter/vm?~action=find",
            "404 Not Found",
        ),
        (
            "/rest/com/vmware/content/library/item/downloadsession/file?download_session_id=obj-103",
            "405 Method Not Allowed",
        ),
        (
            "/rest/com/vmware/content/library/item/download-session/id:a%2Fb?~action=keep-alive",
            "400 Bad Request",
        ),
    ];
    for (path, status) in requests {
        let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {addr}\r\nauthorization: Basic Y2k6Y2k=\r\ntransfer-encoding: chunked\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        // Not a readiness wait: a window in which the old code answered before the
        // body's last chunk came (and then closed the connection).
        let mut buffer = vec![0u8; 4096];
        let early = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buffer))
            .await
            .map_or(0, Result::unwrap);
        let next =
            format!("GET {REST}/id:obj-103 HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n");
        stream
            .write_all(format!("0\r\n\r\n{next}").as_bytes())
            .await
            .unwrap();
        let mut answers = String::from_utf8(buffer[..early].to_vec()).unwrap();
        stream.read_to_string(&mut answers).await.unwrap();
        assert!(
            answers.starts_with(&format!("HTTP/1.1 {status}\r\n")),
            "{path}: {answers}"
        );
        let second = answers
            .match_indices("HTTP/1.1 ")
            .nth(1)
            .map(|(at, _)| &answers[at..]);
        assert!(
            second.is_some_and(|second| second.starts_with("HTTP/1.1 200 OK\r\n")
                && second.ends_with(r#""library_item_id":"obj-103","state":"ACTIVE"}}"#)),
            "{path}: the connection served the next request: {answers}"
        );
    }
}

/// A miss is rendered once and answered from then on: the repeat must be the same answer,
/// per id and per style, and another id must not get the first one's.
#[tokio::test]
async fn a_repeated_miss_gets_the_same_answer_in_each_style_and_for_each_id() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let rest = format!("{REST}/id:");
    let api = format!("{API}/");
    let styles = [
        ("A", &rest, None),
        ("A xml", &rest, Some("application/xml")),
        ("D", &api, None),
    ];
    for (style, prefix, accept) in styles {
        let mut firsts = Vec::new();
        for id in ["obj-404", "obj-405"] {
            let ask = || {
                let request = server.request("GET", &format!("{prefix}{id}"));
                match accept {
                    Some(accept) => request.header("accept", accept),
                    None => request,
                }
            };
            let first = ask().send().await;
            let again = ask().send().await;
            assert_eq!(first.status, 404, "{style} {id}");
            assert!(first.text().contains(id), "{style}: {}", first.text());
            assert_eq!(
                (
                    again.status,
                    again.content_type(),
                    again.header("x-dsvcr-synthetic"),
                    again.text()
                ),
                (
                    first.status,
                    first.content_type(),
                    first.header("x-dsvcr-synthetic"),
                    first.text()
                ),
                "{style} {id}"
            );
            firsts.push(first.text().to_owned());
        }
        assert_ne!(firsts[0], firsts[1], "{style}");
    }
    let health = server.get("/__dsvcr/health").await.json();
    assert_eq!(health["misses"], 12, "{health}");
}
