//! Crash safety: record continuously with concurrent clients and `kill -9` dsvcr at
//! random moments. After every kill, every cassette parses and holds every response a
//! client received; the next start cleans up temp files and loads the folder.
//!
//! `DSVCR_CRASH_KILLS` sets the number of kills (default 8; RELIABILITY.md reports a
//! longer run: `just crash-test 200`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use crate::fake_vcenter::{FakeOptions, FakeVcenter};
use crate::process::{run_to_exit, Running};
use crate::support::*;

const IDS: usize = 8;
const CLIENTS: usize = 6;

/// A small xorshift generator: random kill moments without another dependency.
struct Random(u64);

impl Random {
    fn seeded() -> Random {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        Random(u64::from(nanos) | 1)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

fn start_recorder(upstream: &str, folder: &Path) -> Running {
    let folder = folder.to_str().unwrap();
    let args = [
        "record",
        "--upstream",
        upstream,
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder,
        // Each restart adds to what the killed runs recorded.
        "--rerecord",
        "append",
    ];
    Running::start_logging(&args, "error")
}

/// Progress values received per id, each as often as it was received.
type Received = Arc<Mutex<HashMap<String, Vec<i64>>>>;

async fn poll_until_killed(addr: String, seed: u64, received: Received) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let mut random = Random(seed | 1);
    loop {
        let id = format!("obj-{}", 1 + random.below(IDS as u64));
        let request = http::Request::get(format!("http://{addr}{API}/{id}"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let Ok(response) = client.request(request).await else {
            return;
        };
        if response.status() != 200 {
            return;
        }
        use http_body_util::BodyExt;
        let Ok(body) = response.into_body().collect().await else {
            return;
        };
        let model: serde_json::Value = serde_json::from_slice(&body.to_bytes()).unwrap();
        let progress = model["client_progress"].as_i64().unwrap();
        received
            .lock()
            .unwrap()
            .entry(id)
            .or_default()
            .push(progress);
    }
}

/// Checks the folder after a kill; returns the number of torn (unparseable) files.
fn verify(folder: &Path, received: &HashMap<String, Vec<i64>>) -> usize {
    let mut torn = 0;
    let mut recorded: HashMap<String, Vec<i64>> = HashMap::new();
    for entry in std::fs::read_dir(folder.join("download-session")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        if name.starts_with('.') {
            continue; // a temp file of the killed write: ignored on load, removed on start
        }
        let bytes = std::fs::read(&path).unwrap();
        let Ok(cassette) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            torn += 1;
            continue;
        };
        let id = cassette["id"].as_str().unwrap().to_owned();
        recorded
            .entry(id)
            .or_default()
            .extend(timeline_progress(&cassette));
    }
    for (id, values) in received {
        let mut available = recorded.get(id).cloned().unwrap_or_default();
        for value in values {
            let position = available
                .iter()
                .position(|v| v == value)
                .unwrap_or_else(|| {
                    panic!("{id}: a client received progress {value} that its cassette lacks")
                });
            available.swap_remove(position);
        }
    }
    torn
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_recording_never_tears_or_loses_a_recording() {
    let kills: usize = std::env::var("DSVCR_CRASH_KILLS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(8);
    let fake = FakeVcenter::start(FakeOptions {
        sessions: (1..=IDS)
            .map(|i| (format!("obj-{i}"), (0..=100).collect()))
            .collect(),
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let received: Received = Arc::default();
    let mut random = Random::seeded();
    let mut torn = 0;
    let started = Instant::now();
    for round in 0..kills {
        let mut recorder = start_recorder(&fake.url(), folder.path());
        let addr = recorder.addr();
        let leftovers = std::fs::read_dir(folder.path().join("download-session"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(
            leftovers, 0,
            "round {round}: temp files were not cleaned up at start"
        );
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let seed = random.below(u64::MAX) ^ i as u64;
                tokio::spawn(poll_until_killed(addr.clone(), seed, received.clone()))
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(40 + random.below(260))).await;
        recorder.child.kill().unwrap();
        recorder.child.wait().unwrap();
        for client in clients {
            tokio::time::timeout(Duration::from_secs(10), client)
                .await
                .expect("clients stop once dsvcr is gone")
                .unwrap();
        }
        torn += verify(folder.path(), &received.lock().unwrap());
    }
    let responses: usize = received.lock().unwrap().values().map(Vec::len).sum();
    eprintln!(
        "crash test: {kills} kills survived in {:?}, {responses} responses received and found in their cassettes, {torn} torn files",
        started.elapsed()
    );
    assert_eq!(torn, 0);
    assert!(responses > kills, "the clients got answers between kills");
    let (code, problems, _) = run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{problems}");
}
