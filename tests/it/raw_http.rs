//! Raw HTTP/1.1 over a TCP socket, for tests that must see the bytes on the wire (limits,
//! signals, the binary's answers) rather than what a client library makes of them.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// A GET over a fresh HTTP/1.1 connection; the whole response as text.
pub(crate) fn http_get(addr: &str, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

/// Sends a GET over a fresh connection and returns the status line and body.
pub(crate) fn http_get_body(addr: &str, path: &str) -> (String, String) {
    let response = http_get(addr, path);
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    (head.lines().next().unwrap().to_owned(), body.to_owned())
}

/// Waits (at most 5 s) until the dsvcr at `addr` shows `count` requests in flight in
/// `GET /__dsvcr/health`: the readiness signal for tests that act on a request it is
/// answering.
pub(crate) fn wait_in_flight(addr: &str, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, body) = http_get_body(addr, "/__dsvcr/health");
        assert!(status.starts_with("HTTP/1.1 200 "), "{status}: {body}");
        let health: serde_json::Value = serde_json::from_str(&body).unwrap();
        if health["in_flight"] == count {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{count} requests in flight: {health}"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// A GET request head with `extra` header lines (each ending in `\r\n`).
pub(crate) fn get_request(addr: &str, path: &str, extra: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\n{extra}\r\n")
}

/// Reads until the server closes the connection or `within` passes; returns what was
/// read and whether the connection was closed.
pub(crate) async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> (String, bool) {
    let mut received = Vec::new();
    let deadline = Instant::now() + within;
    let mut buffer = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return (String::from_utf8_lossy(&received).into_owned(), true)
            }
            Ok(Ok(n)) => received.extend_from_slice(&buffer[..n]),
            Err(_) => return (String::from_utf8_lossy(&received).into_owned(), false),
        }
    }
}
