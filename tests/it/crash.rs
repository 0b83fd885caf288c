//! Crash safety: record with concurrent clients and `kill -9` dsvcr mid-recording, after a
//! random number of acknowledged answers (a count, not a time), over and over on one
//! folder. After every kill, `dsvcr check` passes the folder and `dsvcr replay` serves
//! every answer a client received (most of them from the journals of the answers after
//! each cassette's first); the next start folds those journals, removes the killed
//! writes' temp files and loads the folder.
//!
//! `DSVCR_CRASH_KILLS` sets the number of kills (default 8; RELIABILITY.md reports a
//! longer run: `just crash-test 200`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use http_body_util::BodyExt;
use tokio::sync::Notify;

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

/// Acknowledged answers so far, and the count at which dsvcr is to be killed.
struct KillAt {
    answered: AtomicUsize,
    target: usize,
    reached: Notify,
}

type Client = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<bytes::Bytes>,
>;

fn client() -> Client {
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>()
}

/// `GET {API}/{id}`'s `client_progress`, `None` once dsvcr is gone.
async fn progress(client: &Client, addr: &str, id: &str) -> Option<i64> {
    let request = http::Request::get(format!("http://{addr}{API}/{id}"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let response = client.request(request).await.ok()?;
    if response.status() != 200 {
        return None;
    }
    let body = response.into_body().collect().await.ok()?.to_bytes();
    let model: serde_json::Value = serde_json::from_slice(&body).unwrap();
    Some(model["client_progress"].as_i64().unwrap())
}

async fn poll_until_killed(addr: String, seed: u64, received: Received, kill: Arc<KillAt>) {
    let client = client();
    let mut random = Random(seed | 1);
    loop {
        let id = format!("obj-{}", 1 + random.below(IDS as u64));
        let Some(value) = progress(&client, &addr, &id).await else {
            return;
        };
        received.lock().unwrap().entry(id).or_default().push(value);
        if kill.answered.fetch_add(1, Ordering::SeqCst) + 1 == kill.target {
            kill.reached.notify_one();
        }
    }
}

/// The journal files in the folder's session cassettes.
fn journals(folder: &Path) -> usize {
    std::fs::read_dir(folder.join(SUBFOLDER))
        .unwrap()
        .filter(|entry| {
            let name = entry.as_ref().unwrap().file_name();
            name.to_string_lossy().ends_with(".json.journal")
        })
        .count()
}

/// After a kill: `check` passes the folder, and replay serves every value a client
/// received for each id (counting repeats).
async fn verify(folder: &Path, received: &HashMap<String, Vec<i64>>) {
    let folder_arg = folder.to_str().unwrap();
    let (code, out, err) = run_to_exit(&["check", folder_arg]);
    assert_eq!(code, 0, "check after a kill: {out}{err}");
    let (code, inspection, err) = run_to_exit(&["inspect", "--json", folder_arg]);
    assert_eq!(code, 0, "{err}");
    let inspection: serde_json::Value = serde_json::from_str(&inspection).unwrap();
    let mut answers: HashMap<String, u64> = HashMap::new();
    for session in inspection["sessions"].as_array().unwrap() {
        let get = session["operations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|operation| operation["operation"] == "download_session.get")
            .unwrap();
        let id = session["id"].as_str().unwrap().to_owned();
        answers.insert(id, get["answers"].as_u64().unwrap());
    }
    let replay = Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder_arg,
    ]);
    let (client, addr) = (client(), replay.addr());
    for (id, values) in received {
        let mut served = Vec::new();
        for _ in 0..answers.get(id).copied().unwrap_or_default() {
            served.push(progress(&client, &addr, id).await.expect("replay answers"));
        }
        for value in values {
            let position = served
                .iter()
                .position(|v| v == value)
                .unwrap_or_else(|| {
                    panic!("{id}: a client received progress {value}, which replay does not serve after the kill")
                });
            served.swap_remove(position);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_while_recording_never_loses_an_acknowledged_answer() {
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
    let mut killed_with_journals = 0;
    let started = Instant::now();
    for round in 0..kills {
        let mut recorder = start_recorder(&fake.url(), folder.path());
        let addr = recorder.addr();
        let leftovers = std::fs::read_dir(folder.path().join(SUBFOLDER))
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
        assert_eq!(
            journals(folder.path()),
            0,
            "round {round}: the killed run's journals were not folded at start"
        );
        let kill = Arc::new(KillAt {
            answered: AtomicUsize::new(0),
            target: 20 + random.below(180) as usize,
            reached: Notify::new(),
        });
        let clients: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let seed = random.below(u64::MAX) ^ i as u64;
                tokio::spawn(poll_until_killed(
                    addr.clone(),
                    seed,
                    received.clone(),
                    kill.clone(),
                ))
            })
            .collect();
        // Other clients' answers are in flight, and being written, when it comes.
        kill.reached.notified().await;
        recorder.child.kill().unwrap();
        recorder.child.wait().unwrap();
        for client in clients {
            tokio::time::timeout(std::time::Duration::from_secs(10), client)
                .await
                .expect("clients stop once dsvcr is gone")
                .unwrap();
        }
        if journals(folder.path()) > 0 {
            killed_with_journals += 1;
        }
        let received = received.lock().unwrap().clone();
        verify(folder.path(), &received).await;
    }
    let responses: usize = received.lock().unwrap().values().map(Vec::len).sum();
    eprintln!(
        "crash test: {kills} kills ({killed_with_journals} with journals open) in {:?}, {responses} responses received, every one served by replay after its kill",
        started.elapsed()
    );
    assert!(killed_with_journals > 0, "no kill hit an open journal");
    assert!(responses > kills, "the clients got answers between kills");
}
