//! A replay soak: many concurrent keep-alive clients mixing every request form, hits and
//! misses, for a fixed time, against the dsvcr binary. 0 errors, stable memory.
//!
//! `DSVCR_SOAK_SECS` sets the duration (default 2 s; `just soak 60` for a longer run).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};

use crate::process::Running;
use crate::support::*;

const CLIENTS: usize = 32;

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// One request of the mix, chosen by `turn`, and the status it must get.
fn request(base: &str, turn: u64) -> (http::Request<Full<Bytes>>, u16) {
    let xml = XML_INPUT.replace("obj-103", "obj-104");
    let (method, path, body, accept, status) = match turn % 9 {
        0 => (
            "GET",
            format!("{REST}/id:obj-103"),
            String::new(),
            "application/json",
            200,
        ),
        1 => (
            "POST",
            format!("{REST}/id:obj-104?~action=get"),
            String::new(),
            "application/json",
            200,
        ),
        2 => (
            "POST",
            format!("{REST}?~action=get"),
            r#"{"download_session_id":"obj-105"}"#.to_owned(),
            "application/json",
            200,
        ),
        3 => (
            "POST",
            format!("{REST}?~action=get"),
            xml,
            "application/xml",
            200,
        ),
        4 => (
            "POST",
            format!("{REFERENCE}?~action=get&download_session_id=obj-103"),
            String::new(),
            "application/json",
            200,
        ),
        5 => (
            "GET",
            format!("{API}/obj-105"),
            String::new(),
            "application/json",
            200,
        ),
        6 => (
            "GET",
            format!("{REST}/id:obj-103"),
            String::new(),
            "application/xml",
            200,
        ),
        7 => (
            "GET",
            format!("{API}/missing-{turn}"),
            String::new(),
            "application/json",
            404,
        ),
        _ => (
            "POST",
            format!("{REST}?~action=get"),
            "{".to_owned(),
            "application/json",
            400,
        ),
    };
    let request = http::Request::builder()
        .method(method)
        .uri(format!("{base}{path}"))
        .header("accept", accept)
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    (request, status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_soak_mixing_every_form_has_no_errors_and_stable_memory() {
    let seconds: u64 = std::env::var("DSVCR_SOAK_SECS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2);
    let cassettes = shipped_cassettes();
    let cassettes = cassettes.to_str().unwrap();
    let replay = Running::start_logging(
        &[
            "replay",
            "--listen",
            "127.0.0.1:0",
            "--cassettes",
            cassettes,
        ],
        "error",
    );
    let base = replay.url();
    let pid = replay.child.id();
    let rss_start = rss_kib(pid);

    let deadline = Instant::now() + Duration::from_secs(seconds);
    let requests = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..CLIENTS as u64)
        .map(|client| {
            let (base, requests, errors) = (base.clone(), requests.clone(), errors.clone());
            tokio::spawn(async move {
                let http = hyper_util::client::legacy::Client::builder(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .build_http::<Full<Bytes>>();
                let mut turn = client;
                while Instant::now() < deadline {
                    let (request, expected) = request(&base, turn);
                    let ok = match http.request(request).await {
                        Ok(response) => {
                            let status = response.status().as_u16();
                            response.into_body().collect().await.is_ok() && status == expected
                        }
                        Err(_) => false,
                    };
                    if !ok {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                    requests.fetch_add(1, Ordering::Relaxed);
                    turn += 1;
                }
            })
        })
        .collect();
    for client in clients {
        client.await.unwrap();
    }
    let rss_end = rss_kib(pid);
    let (code, _) = replay.stop();
    let requests = requests.load(Ordering::Relaxed);
    let errors = errors.load(Ordering::Relaxed);
    eprintln!(
        "soak: {seconds} s, {CLIENTS} keep-alive clients, {requests} requests, {errors} errors, RSS {rss_start} KiB at start, {rss_end} KiB at end"
    );
    assert_eq!(code, 0);
    assert_eq!(errors, 0);
    assert!(requests > 100 * seconds, "{requests} requests");
    assert!(
        rss_end <= rss_start + 16 * 1024,
        "memory grew from {rss_start} KiB to {rss_end} KiB"
    );
}
