//! Interop: VMware's Python SDK (`vmware-vcenter` 9.1.1.0) against dsvcr over vAPI
//! JSON-RPC, through `tests/interop/python/sdk_check.py`.
//!
//! Needs the virtual environment `.ci/install-python-sdk` makes (which `.ci/run` calls).
//! Without it the tests are skipped with a message, except in CI (`CI` set), where they
//! fail.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::fake_vcenter::{FakeVcenter, FAKE_PASSWORD, FAKE_USER, ITEM_ID};
use crate::process::Running;
use crate::support::*;

const UNKNOWN: &str = "obj-404";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's interpreter; `None` (with a message) when it is missing outside CI.
pub(crate) fn python() -> Option<PathBuf> {
    let python = root().join("target/interop/python-venv/bin/python");
    if python.is_file() {
        return Some(python);
    }
    let why = format!(
        "{} is missing (bash .ci/install-python-sdk makes it)",
        python.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("the Python SDK interop tests cannot be skipped in CI: {why}");
    }
    eprintln!("skipping the Python SDK interop test: {why}");
    None
}

/// `dsvcr ARGS --tls-self-signed CA_DIR --listen 127.0.0.1:0`; the server and its CA.
fn start_https(args: &[&str], ca_dir: &Path) -> (Running, PathBuf) {
    let mut all = args.to_vec();
    all.extend(["--tls-self-signed", ca_dir.to_str().unwrap()]);
    all.extend(["--listen", "127.0.0.1:0"]);
    let running = Running::start_logging(&all, "info");
    assert!(
        running.url().starts_with("https://"),
        "{}",
        running.ready_line
    );
    (running, ca_dir.join("dsvcr-ca.pem"))
}

/// Runs the SDK script against `server`; what it reported.
fn run_sdk(python: &Path, server: &Running, ca: &Path, args: &[&str]) -> Value {
    let output = Command::new(python)
        .arg(root().join("tests/interop/python/sdk_check.py"))
        .args(["--server", &server.addr()])
        .args(["--user", FAKE_USER, "--password", FAKE_PASSWORD])
        .args(["--unknown", UNKNOWN])
        .args(args)
        .env("REQUESTS_CA_BUNDLE", ca)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the SDK script failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = serde_json::from_str(&stdout).unwrap_or_else(|err| panic!("{err}: {stdout}"));
    let thumbprint = served_thumbprint_blocking(&server.addr(), ca);
    endpoints_on(report, server, &thumbprint)
}

/// `report` with each file's download endpoint checked to point at `server` (dsvcr's own
/// path, with the `thumbprint` of the certificate it serves) and then spelled `DSVCR`,
/// since each dsvcr run has its own address and certificate.
fn endpoints_on(mut report: Value, server: &Running, thumbprint: &str) -> Value {
    let prefix = format!("{}/__dsvcr/files/", server.url());
    for step in ["files", "prepare", "file"] {
        let returned = report
            .get_mut(step)
            .and_then(|outcome| outcome.get_mut("returned"));
        let infos = match returned {
            Some(Value::Array(infos)) => infos.iter_mut().collect(),
            Some(info @ Value::Object(_)) => vec![info],
            _ => continue,
        };
        for info in infos {
            let Some(endpoint) = info.get_mut("download_endpoint") else {
                continue;
            };
            let uri = endpoint["uri"].as_str().unwrap_or_default();
            assert!(
                uri.starts_with(&prefix),
                "{step}: {endpoint} is not on {prefix}"
            );
            assert_eq!(
                endpoint["ssl_certificate_thumbprint"], thumbprint,
                "{step}: the thumbprint of the certificate dsvcr serves: {endpoint}"
            );
            *endpoint = json!("DSVCR");
        }
    }
    report
}

fn raised(error: &str) -> Value {
    json!({ "raised": error })
}

#[test]
fn the_python_sdk_reads_a_recorded_session_from_replay() {
    let Some(python) = python() else {
        return;
    };
    let page: Value = serde_json::from_str(include_str!("../data/get-result.json")).unwrap();
    let folder = folder_with(&[cassette("obj-103", vec![(1, ok(page["value"].clone()))])]);
    let ca_dir = tempfile::tempdir().unwrap();
    let (replay, ca) = start_https(
        &[
            "replay",
            "--cassettes",
            folder.path().to_str().unwrap(),
            "--require-session",
        ],
        ca_dir.path(),
    );
    let report = run_sdk(&python, &replay, &ca, &["--session", "obj-103"]);
    assert_eq!(
        report,
        json!({
            "anonymous": raised("Unauthenticated"),
            "id": "obj-103",
            "get": {"returned": {
                "client_progress": 10,
                "error_message": {"args": ["string", "string"], "default_message": "string", "id": "string"},
                "expiration_time": "2013-06-06T22:13:05.000Z",
                "id": "obj-103",
                "library_item_content_version": "string",
                "library_item_id": "obj-103",
                "state": "ACTIVE",
            }},
            "unknown": raised("NotFound"),
            "after_logout": raised("Unauthenticated"),
        })
    );
    let (code, log) = replay.stop();
    assert_eq!(code, 0, "{log}");
    assert!(
        log.contains(&format!(
            "miss: No download session with id {UNKNOWN} exists"
        )),
        "{log}"
    );
}

// Multi-threaded so the fake vCenter keeps serving while the SDK runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_records_through_dsvcr_and_replays_offline() {
    let Some(python) = python() else {
        return;
    };
    let fake = FakeVcenter::http().await;
    let folder = tempfile::tempdir().unwrap();
    let cassettes = folder.path().join("cassettes");
    let cassettes_arg = cassettes.to_str().unwrap().to_owned();
    let upstream = fake.url();
    let record_ca = folder.path().join("record-ca");
    let (python_1, cassettes_1) = (python.clone(), cassettes_arg.clone());
    let (recorded, record_code, record_log) = tokio::task::spawn_blocking(move || {
        let args = [
            "record",
            "--upstream",
            &upstream,
            "--cassettes",
            &cassettes_1,
        ];
        let (recorder, ca) = start_https(&args, &record_ca);
        let report = run_sdk(&python_1, &recorder, &ca, &["--create", ITEM_ID]);
        let (code, log) = recorder.stop();
        (report, code, log)
    })
    .await
    .unwrap();
    assert_eq!(record_code, 0, "{record_log}");
    let id = recorded["id"].as_str().unwrap().to_owned();
    assert_eq!(fake.created_sessions(), std::slice::from_ref(&id));
    let model = fake.session_model(&id).unwrap();
    assert_eq!(
        recorded["get"]["returned"], model,
        "the SDK decoded the fake's model"
    );
    assert_eq!(recorded["anonymous"], raised("Unauthenticated"));
    assert_eq!(recorded["unknown"], raised("NotFound"));
    assert_eq!(recorded["after_logout"], raised("Unauthenticated"));
    assert_eq!(
        recorded["prepare"]["returned"]["status"], "PREPARED",
        "the SDK decoded the file prepared through dsvcr: {recorded}"
    );
    assert_eq!(recorded["file"]["returned"]["download_endpoint"], "DSVCR");
    assert_eq!(
        recorded["prepare"]["returned"]["download_endpoint"],
        "DSVCR"
    );
    assert_eq!(
        recorded["files"]["returned"].as_array().map(Vec::len),
        Some(2),
        "{recorded}"
    );
    let tokens = fake.tokens();
    fake.stop().await;
    for (name, cassette) in cassette_files(&cassettes) {
        let text = cassette.to_string();
        assert!(!text.contains(FAKE_PASSWORD), "{name} holds the password");
        for token in &tokens {
            assert!(!text.contains(token.as_str()), "{name} holds a token");
        }
    }

    let replay_ca = folder.path().join("replay-ca");
    let replayed = tokio::task::spawn_blocking(move || {
        let args = ["replay", "--cassettes", &cassettes_arg, "--require-session"];
        let (replayer, ca) = start_https(&args, &replay_ca);
        let report = run_sdk(&python, &replayer, &ca, &["--create", ITEM_ID]);
        let (code, log) = replayer.stop();
        assert_eq!(code, 0, "{log}");
        report
    })
    .await
    .unwrap();
    assert_eq!(replayed, recorded, "offline, the SDK sees what it saw live");
}

/// `Library.get` and `Item.get` through replay of models recorded over `/rest`: the SDK
/// decodes the typed answers (the plain REST models made it raise -32602).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_python_sdk_decodes_library_and_item_models_from_replay() {
    use crate::fake_vcenter::{LIBRARY_ID, LIBRARY_NAME};
    let Some(python) = python() else {
        return;
    };
    let folder = crate::jsonrpc_models::recorded_over_rest().await;
    let page: Value = serde_json::from_str(include_str!("../data/get-result.json")).unwrap();
    let session = cassette("obj-103", vec![(1, ok(page["value"].clone()))]);
    let sessions = folder.path().join(SUBFOLDER);
    std::fs::create_dir_all(&sessions).unwrap();
    std::fs::write(
        sessions.join("obj-103.json"),
        serde_json::to_vec(&session).unwrap(),
    )
    .unwrap();
    let cassettes = folder.path().to_str().unwrap().to_owned();
    let (report, code, log) = tokio::task::spawn_blocking(move || {
        let ca_dir = tempfile::tempdir().unwrap();
        let (replay, ca) = start_https(&["replay", "--cassettes", &cassettes], ca_dir.path());
        let args = [
            "--session",
            "obj-103",
            "--library",
            LIBRARY_ID,
            "--item",
            ITEM_ID,
        ];
        let report = run_sdk(&python, &replay, &ca, &args);
        let (code, log) = replay.stop();
        (report, code, log)
    })
    .await
    .unwrap();
    assert_eq!(code, 0, "{log}");
    assert_eq!(
        report["library"],
        json!({"returned": {"id": LIBRARY_ID, "name": LIBRARY_NAME, "type": "LOCAL"}})
    );
    assert_eq!(
        report["item"],
        json!({"returned": {"id": ITEM_ID, "library_id": LIBRARY_ID,
            "name": "harness-item", "type": "iso"}})
    );
}
