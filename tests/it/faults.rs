//! Fault injection: an upstream that fails in every way a network or a server can.
//! Each fault gives the client a clear 502 or 504, records nothing, and leaves dsvcr
//! healthy: the next request, once the upstream behaves, is recorded.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fault {
    /// A valid session answer.
    None,
    ResetMidHeaders,
    ResetMidBody,
    TruncatedChunkedBody,
    Stall,
    Garbage,
}

/// A raw-TCP upstream whose behaviour can be switched between requests.
struct FaultyUpstream {
    url: String,
    fault: Arc<Mutex<Fault>>,
    task: tokio::task::JoinHandle<()>,
}

impl FaultyUpstream {
    async fn start() -> FaultyUpstream {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let fault = Arc::new(Mutex::new(Fault::None));
        let current = fault.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    return;
                };
                let fault = *current.lock().unwrap();
                tokio::spawn(serve_one(socket, fault));
            }
        });
        FaultyUpstream { url, fault, task }
    }

    fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap() = fault;
    }
}

impl Drop for FaultyUpstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

const SESSION: &str =
    r#"{"value":{"client_progress":42,"id":"obj-1","library_item_id":"item-1","state":"ACTIVE"}}"#;

async fn serve_one(mut socket: TcpStream, fault: Fault) {
    let mut request = Vec::new();
    let mut buffer = [0u8; 1024];
    // Garbage answers the first bytes, so that a TLS ClientHello gets it too.
    while !request.windows(4).any(|w| w == b"\r\n\r\n")
        && (fault != Fault::Garbage || request.is_empty())
    {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buffer[..n]),
        }
    }
    let reply: &[u8] = match fault {
        Fault::None => {
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{SESSION}",
                SESSION.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
            let _ = socket.shutdown().await;
            return;
        }
        Fault::ResetMidHeaders => b"HTTP/1.1 200 OK\r\ncontent-ty",
        Fault::ResetMidBody => b"HTTP/1.1 200 OK\r\ncontent-length: 200\r\n\r\n{\"value\":{\"client_",
        Fault::TruncatedChunkedBody => {
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n40\r\n{\"value\":{\"client_progress\""
        }
        Fault::Stall => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        Fault::Garbage => b"SSH-2.0-OpenSSH_9.2\r\nProtocol mismatch.\r\n",
    };
    let _ = socket.write_all(reply).await;
    if matches!(fault, Fault::ResetMidHeaders | Fault::ResetMidBody) {
        // Close with RST rather than FIN; a zero linger never blocks on drop.
        #[allow(deprecated)]
        let _ = socket.set_linger(Some(Duration::ZERO));
    }
    drop(socket);
}

async fn recorder_for(upstream: &str, folder: &std::path::Path) -> TestServer {
    let mut setup = RecordSetup::to(upstream).trust(Trust::Insecure);
    setup.timeout = Duration::from_millis(500);
    setup.start(folder).await
}

#[tokio::test]
async fn every_upstream_fault_is_a_clean_502_or_504_and_nothing_is_recorded() {
    let upstream = FaultyUpstream::start().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = recorder_for(&upstream.url, folder.path()).await;
    let cases = [
        (Fault::ResetMidHeaders, 502, "upstream-unreachable"),
        (Fault::ResetMidBody, 502, "upstream-unreachable"),
        (Fault::TruncatedChunkedBody, 502, "upstream-unreachable"),
        (Fault::Garbage, 502, "upstream-unreachable"),
        (Fault::Stall, 504, "upstream-timeout"),
    ];
    for (fault, status, reason) in cases {
        upstream.set(fault);
        let response = recorder.get(&format!("{REST}/id:obj-1")).await;
        assert_eq!(response.status, status, "{fault:?}: {}", response.text());
        assert_eq!(
            response.header("x-dsvcr-synthetic"),
            Some(reason),
            "{fault:?}"
        );
        assert!(
            response.vapi_message().contains(&upstream.url),
            "{fault:?}: the message names the upstream: {}",
            response.vapi_message()
        );
        assert!(
            cassette_files(folder.path()).is_empty(),
            "{fault:?} recorded something"
        );

        upstream.set(Fault::None);
        let healthy = recorder.get(&format!("{API}/obj-1")).await;
        assert_eq!(healthy.status, 200, "after {fault:?}: {}", healthy.text());
        assert_eq!(healthy.json()["value"]["client_progress"], 42);
        std::fs::remove_dir_all(folder.path().join("download-session")).unwrap();
        std::fs::create_dir(folder.path().join("download-session")).unwrap();
    }
    let health = recorder.get("/__dsvcr/health").await;
    assert_eq!(health.status, 200);
    let failures = &health.json()["upstream_failures"];
    assert_eq!(failures["count"], 5, "{failures}");
    assert_eq!(
        failures["by_reason"],
        serde_json::json!({"broken": 4, "timeout": 1}),
        "{failures}"
    );
    assert_eq!(
        recorder.shut_down().await,
        std::process::ExitCode::from(dsvcr::EXIT_NOT_RECORDED),
        "a run whose calls failed upstream does not exit 0"
    );
}

/// With the vCenter unreachable every call gets 502; the run must not look fine: it
/// exits 4, and the summary and health count the failures by reason with the first
/// messages.
#[tokio::test]
async fn record_against_an_unreachable_upstream_exits_4_with_the_failures_in_its_summary() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let folder = tempfile::tempdir().unwrap();
    let summary = folder.path().join("summary.json");
    let recorder = RecordSetup::to(&url)
        .flag("--summary", summary.to_str().unwrap())
        .start(&folder.path().join("cassettes"))
        .await;
    for path in [format!("{API}/obj-1"), "/api/vcenter/vm".to_owned()] {
        let response = recorder.get(&path).await;
        assert_eq!(response.status, 502, "{path}: {}", response.text());
        assert_eq!(
            response.header("x-dsvcr-synthetic"),
            Some("upstream-unreachable")
        );
    }
    let health = recorder.get("/__dsvcr/health").await.json();
    assert_eq!(health["upstream_failures"]["count"], 2, "{health}");
    assert_eq!(
        recorder.shut_down().await,
        std::process::ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let failures = &written["upstream_failures"];
    assert_eq!(failures["count"], 2, "{written}");
    assert_eq!(failures["by_reason"], serde_json::json!({"unreachable": 2}));
    let first = failures["first"].as_array().unwrap();
    assert_eq!(first.len(), 2, "{failures}");
    for message in first {
        assert!(
            message
                .as_str()
                .unwrap()
                .starts_with(&format!("cannot connect to upstream {url}: ")),
            "{message}"
        );
    }
    assert_eq!(written["not_recorded"], serde_json::json!([]));
}

#[tokio::test]
async fn garbage_where_tls_was_expected_is_a_tls_failure() {
    let upstream = FaultyUpstream::start().await;
    upstream.set(Fault::Garbage);
    let folder = tempfile::tempdir().unwrap();
    let https = upstream.url.replace("http://", "https://");
    let recorder = recorder_for(&https, folder.path()).await;
    let response = recorder.get(&format!("{REST}/id:obj-1")).await;
    assert_eq!(response.status, 502);
    assert_eq!(response.header("x-dsvcr-synthetic"), Some("upstream-tls"));
    assert!(
        response
            .vapi_message()
            .starts_with(&format!("TLS with upstream {https} failed: ")),
        "{}",
        response.vapi_message()
    );
    assert!(cassette_files(folder.path()).is_empty());
    let health = recorder.get("/__dsvcr/health").await.json();
    assert_eq!(
        health["upstream_failures"]["by_reason"],
        serde_json::json!({"tls": 1}),
        "{health}"
    );
    assert_eq!(
        recorder.shut_down().await,
        std::process::ExitCode::from(dsvcr::EXIT_NOT_RECORDED)
    );
}

#[tokio::test]
async fn a_pass_through_request_to_a_faulty_upstream_gets_502() {
    let upstream = FaultyUpstream::start().await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = recorder_for(&upstream.url, folder.path()).await;
    upstream.set(Fault::ResetMidHeaders);
    let response = recorder.post("/rest/com/vmware/cis/session", "").await;
    assert_eq!(response.status, 502);
    upstream.set(Fault::Garbage);
    let other = recorder.get("/api/vcenter/vm").await;
    assert_eq!(other.status, 502);
    assert_eq!(other.json()["error_type"], "SERVICE_UNAVAILABLE");
}
