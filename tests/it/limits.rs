//! Resource limits, each tried with a real socket.

use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use crate::raw_http::{get_request, read_until_closed};
use crate::support::*;

/// `dsvcr replay` of the shipped cassettes with limit flags.
async fn replay_with_limits(flags: &[&str]) -> TestServer {
    TestServer::replay_with(&shipped_cassettes(), flags).await
}

fn addr(server: &TestServer) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn a_body_over_the_configured_limit_gets_413() {
    let server = replay_with_limits(&["--max-body-bytes", "64"]).await;
    let body = r#"{"download_session_id":"obj-103"}"#;
    let fits = format!("{body}{}", " ".repeat(64 - body.len()));
    assert_eq!(
        server
            .post(&format!("{REST}?~action=get"), &fits)
            .await
            .status,
        200
    );
    let over = format!("{fits} ");
    let refused = server.post(&format!("{REST}?~action=get"), &over).await;
    assert_eq!(refused.status, 413);
    assert_eq!(
        refused.vapi_message(),
        "the request body is larger than 64 bytes"
    );
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_gets_413_without_content_length() {
    let server = replay_with_limits(&["--max-body-bytes", "64"]).await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let chunk = "x".repeat(100);
    let request = format!(
        "POST {REST}?~action=get HTTP/1.1\r\nhost: {addr}\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{chunk}\r\n0\r\n\r\n",
        chunk.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let (response, _) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 413 "), "{response}");
}

#[tokio::test]
async fn headers_over_the_size_or_count_limit_get_431() {
    let server = replay_with_limits(&["--max-header-bytes", "8192", "--max-headers", "16"]).await;
    let addr = addr(&server);
    let path = format!("{API}/obj-103");

    let mut big = TcpStream::connect(&addr).await.unwrap();
    let huge = format!("x-big: {}\r\n", "a".repeat(9000));
    big.write_all(get_request(&addr, &path, &huge).as_bytes())
        .await
        .unwrap();
    let (response, closed) = read_until_closed(&mut big, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
    assert!(closed);

    let mut many = TcpStream::connect(&addr).await.unwrap();
    let headers: String = (0..20).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    many.write_all(get_request(&addr, &path, &headers).as_bytes())
        .await
        .unwrap();
    let (response, _) = read_until_closed(&mut many, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");

    let within: String = (0..10).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    let mut fine = TcpStream::connect(&addr).await.unwrap();
    let request = get_request(&addr, &path, &format!("{within}connection: close\r\n"));
    fine.write_all(request.as_bytes()).await.unwrap();
    let (response, _) = read_until_closed(&mut fine, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
}

#[tokio::test]
async fn a_client_sending_headers_byte_by_byte_is_cut_off() {
    let server = replay_with_limits(&["--header-read-timeout", "0.4"]).await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    let request = get_request(&addr, &format!("{API}/obj-103"), "");
    let started = Instant::now();
    let mut cut_off = false;
    for byte in request.as_bytes() {
        if stream.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        let (_, closed) = read_until_closed(&mut stream, Duration::from_millis(100)).await;
        if closed {
            cut_off = true;
            break;
        }
    }
    assert!(cut_off, "the slow client was never cut off");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(350) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    assert_eq!(
        server.get(&format!("{API}/obj-103")).await.status,
        200,
        "still healthy"
    );
}

/// Answers one request on a kept-alive connection, then checks that the connection is
/// still open shortly after and closed within 2 s.
async fn assert_idle_connection_closes(limits: &[&str]) {
    let server = replay_with_limits(limits).await;
    let addr = addr(&server);
    let mut stream = TcpStream::connect(&addr).await.unwrap();
    stream
        .write_all(get_request(&addr, &format!("{API}/obj-103"), "").as_bytes())
        .await
        .unwrap();
    let (response, closed) = read_until_closed(&mut stream, Duration::from_millis(150)).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    assert!(!closed, "kept alive at first");
    let (_, closed) = read_until_closed(&mut stream, Duration::from_secs(2)).await;
    assert!(closed, "closed once idle");
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    assert_idle_connection_closes(&["--idle-timeout", "0.3"]).await;
}

#[tokio::test]
async fn connections_over_the_limit_wait_for_a_free_slot() {
    let server = replay_with_limits(&["--max-connections", "2"]).await;
    let addr = addr(&server);
    let path = format!("{API}/obj-103");
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        stream
            .write_all(get_request(&addr, &path, "").as_bytes())
            .await
            .unwrap();
        let (response, _) = read_until_closed(&mut stream, Duration::from_millis(200)).await;
        assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
        open.push(stream);
    }
    let mut waiting = TcpStream::connect(&addr).await.unwrap();
    waiting
        .write_all(get_request(&addr, &path, "connection: close\r\n").as_bytes())
        .await
        .unwrap();
    let (nothing, _) = read_until_closed(&mut waiting, Duration::from_millis(300)).await;
    assert_eq!(nothing, "", "the third connection waits");
    drop(open.pop());
    let (response, _) = read_until_closed(&mut waiting, Duration::from_secs(2)).await;
    assert!(
        response.starts_with("HTTP/1.1 200 "),
        "answered once a slot is free: {response}"
    );
}

/// hyper starts the head's clock as soon as the previous answer is sent, so the header
/// read timeout closes a kept-alive connection well before a 30 s idle timeout.
#[tokio::test]
async fn a_kept_alive_connection_must_send_its_next_head_within_the_header_read_timeout() {
    assert_idle_connection_closes(&["--header-read-timeout", "0.3", "--idle-timeout", "30"]).await;
}

/// Sends a POST head declaring `length` bytes and `sent` of them.
async fn start_post(addr: &str, length: usize, sent: &[u8]) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST {REST}?~action=get HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(sent).await.unwrap();
    stream
}

#[tokio::test]
async fn bodies_beyond_the_process_wide_budget_get_503_until_it_frees() {
    let server = replay_with_limits(&[
        "--max-body-bytes",
        "800",
        "--max-buffered-body-bytes",
        "1000",
    ])
    .await;
    let addr = addr(&server);
    let json = r#"{"download_session_id":"obj-103"}"#;
    let body = format!("{json}{}", " ".repeat(800 - json.len()));
    let mut held = start_post(&addr, 800, &body.as_bytes()[..10]).await;
    // The first body's 800 bytes are reserved once its head is read; wait until then.
    let mut refused = None;
    for _ in 0..200 {
        let mut second = start_post(&addr, 300, &body.as_bytes()[..300]).await;
        let (response, _) = read_until_closed(&mut second, Duration::from_secs(2)).await;
        if response.starts_with("HTTP/1.1 503 ") {
            refused = Some(response);
            break;
        }
        tokio::task::yield_now().await;
    }
    let refused = refused.expect("a body beyond the budget is refused");
    assert!(
        refused.contains("x-dsvcr-synthetic: body-budget-exhausted"),
        "{refused}"
    );
    assert!(
        refused.contains("dsvcr is already buffering request bodies up to its limit of 1000 bytes"),
        "{refused}"
    );
    held.write_all(&body.as_bytes()[10..]).await.unwrap();
    let (response, _) = read_until_closed(&mut held, Duration::from_secs(2)).await;
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let mut after = start_post(&addr, 300, &body.as_bytes()[..300]).await;
    let (response, _) = read_until_closed(&mut after, Duration::from_secs(2)).await;
    assert!(
        response.starts_with("HTTP/1.1 200 "),
        "the budget is free again: {response}"
    );
}

/// An HTTP/2 (h2c) client connection to `addr` that PINGs every `ping` even when idle.
async fn h2c_client(
    addr: &str,
    ping: Option<Duration>,
) -> (
    hyper::client::conn::http2::SendRequest<http_body_util::Full<bytes::Bytes>>,
    tokio::task::JoinHandle<()>,
) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let mut builder =
        hyper::client::conn::http2::Builder::new(hyper_util::rt::TokioExecutor::new());
    builder.timer(hyper_util::rt::TokioTimer::new());
    if let Some(ping) = ping {
        builder
            .keep_alive_interval(ping)
            .keep_alive_while_idle(true);
    }
    let (sender, connection) = builder
        .handshake(hyper_util::rt::TokioIo::new(stream))
        .await
        .unwrap();
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    (sender, task)
}

fn h2_get(addr: &str, path: &str) -> http::request::Builder {
    http::Request::get(format!("http://{addr}{path}"))
}

#[tokio::test]
async fn an_http2_connection_that_only_pings_is_closed_after_the_idle_timeout() {
    let server = replay_with_limits(&["--idle-timeout", "0.3"]).await;
    let addr = addr(&server);
    let (mut sender, connection) = h2c_client(&addr, Some(Duration::from_millis(50))).await;
    let request = h2_get(&addr, &format!("{API}/obj-103"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(sender.send_request(request).await.unwrap().status(), 200);
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(3), connection)
        .await
        .expect("closed although it keeps pinging")
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn too_many_headers_get_a_vapi_431_over_http2_and_the_parsers_431_over_http1() {
    let server = replay_with_limits(&["--max-headers", "16"]).await;
    let addr = addr(&server);
    let (mut sender, _connection) = h2c_client(&addr, None).await;
    let mut request = h2_get(&addr, &format!("{API}/obj-103"));
    for i in 0..20 {
        request = request.header(format!("x-h{i}"), i.to_string());
    }
    let response = sender
        .send_request(
            request
                .body(http_body_util::Full::new(bytes::Bytes::new()))
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
    assert_eq!(response.headers()["x-dsvcr-synthetic"], "too-many-headers");
    use http_body_util::BodyExt;
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        body["messages"][0]["default_message"],
        "the request has more than 16 headers (--max-headers)"
    );
    assert_eq!(body["error_type"], "INVALID_REQUEST");

    let mut http1 = TcpStream::connect(&addr).await.unwrap();
    let headers: String = (0..20).map(|i| format!("x-h{i}: {i}\r\n")).collect();
    http1
        .write_all(get_request(&addr, &format!("{API}/obj-103"), &headers).as_bytes())
        .await
        .unwrap();
    let (response, closed) = read_until_closed(&mut http1, Duration::from_secs(2)).await;
    // HTTP/1.1's parser refuses the head itself: no request reaches the service.
    assert!(response.starts_with("HTTP/1.1 431 "), "{response}");
    assert!(!response.contains("x-dsvcr-synthetic"), "{response}");
    assert!(response.ends_with("\r\n\r\n"), "no body: {response}");
    assert!(closed);
}
