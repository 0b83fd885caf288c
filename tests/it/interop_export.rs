//! Interop: govc's export flow (`tests/interop/export`, govmomi's library manager)
//! recorded through dsvcr from govmomi's simulator, then replayed offline: every printed
//! answer identical.
//!
//! Needs what `interop` needs (Go and Debian's govmomi); skipped outside CI without them,
//! a failure in CI (`CI` set).

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::interop::{go_programs, start_dsvcr, GoPrograms, Lab, LabInfo};
use crate::process::run_to_exit;
use crate::support::*;

/// Runs the export program against `url` with `args` after the credentials; returns its
/// exit code, its stdout lines (one JSON answer each) and its stderr.
fn run_export(
    programs: &GoPrograms,
    url: &str,
    lab: &LabInfo,
    args: &[&str],
) -> (i32, Vec<String>, String) {
    let output = Command::new(&programs.export)
        .args(["-url", url, "-user", &lab.user, "-password", &lab.password])
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let lines = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap(), lines, stderr)
}

fn parse(lines: &[String]) -> Vec<Value> {
    lines
        .iter()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{line}: {err}")))
        .collect()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap();
    serde_json::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}: {text}", path.display()))
}

/// What the simulator answers for a file of session `id` once prepared, as dsvcr at
/// `dsvcr` passes it on: the endpoint on dsvcr, with dsvcr's certificate `thumbprint`.
fn prepared(dsvcr: &str, thumbprint: &Value, id: &str, name: &str) -> Value {
    json!({
        "bytes_transferred": 0,
        "download_endpoint": {
            "ssl_certificate_thumbprint": thumbprint,
            "uri": format!("{dsvcr}/__dsvcr/files/{id}/{name}"),
        },
        "name": name,
        "status": "PREPARED",
    })
}

/// `lines` with the dsvcr URL and certificate thumbprint that answered them spelled out
/// as placeholders: a recording and a replay run on different ports and certificates.
fn placeholders(lines: &[String], url: &str, thumbprint: &Value) -> Vec<String> {
    let thumbprint = thumbprint.as_str().expect("a thumbprint under TLS");
    lines
        .iter()
        .map(|line| line.replace(url, "DSVCR").replace(thumbprint, "THUMBPRINT"))
        .collect()
}

#[test]
fn govc_export_flow_records_through_dsvcr_and_replays_identically() {
    let Some(programs) = go_programs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cassettes = dir.path().join("cassettes");
    let cassettes_arg = cassettes.to_str().unwrap();
    let running_lab = Lab::start(programs, dir.path());
    let lab = running_lab.info.clone();
    let harness = &lab.harness;
    let names: Vec<&str> = harness
        .files
        .iter()
        .map(|(name, _)| name.as_str())
        .collect();
    assert_eq!(names, ["disk.iso", "notes.txt"]);

    // 0. The lab holds what the flow exports: govc's whole flow straight to the
    //    simulator, lookups by name and bytes included.
    let downloads = dir.path().join("downloads");
    let (code, direct, stderr) = run_export(
        programs,
        &lab.url,
        &lab,
        &[
            "-ca",
            lab.ca.to_str().unwrap(),
            "-find",
            "harness-lib/harness-item",
            "-download",
            downloads.to_str().unwrap(),
        ],
    );
    assert_eq!(code, 0, "{direct:?} {stderr}");
    let direct = parse(&direct);
    let calls: Vec<&str> = direct.iter().map(|l| l["call"].as_str().unwrap()).collect();
    assert_eq!(
        calls,
        [
            "login",
            "library.find",
            "library.get",
            "library.item.find",
            "library.item.get",
            "download_session.create",
            "download_session.get",
            "downloadsession.file.list",
            "downloadsession.file.prepare",
            "downloadsession.file.prepare",
            "downloadsession.file.get",
            "download",
            "downloadsession.file.get",
            "download",
            "download_session.delete",
            "logout",
        ]
    );
    assert_eq!(direct[1]["answer"], json!([harness.library]));
    assert_eq!(direct[4]["answer"]["id"], harness.item.as_str());
    for (name, bytes) in &harness.files {
        assert_eq!(
            std::fs::read_to_string(downloads.join(name)).unwrap(),
            *bytes
        );
    }

    // 1. Record: govc's flow by path (lookups by name, then the download session and
    //    the bytes), through dsvcr over HTTPS, from the simulator; the client trusts only
    //    dsvcr's CA, so every byte must come through dsvcr.
    let record_summary = dir.path().join("record-summary.json");
    let record_tls = dir.path().join("record-tls");
    let recorder = start_dsvcr(&[
        "record",
        "--upstream",
        &lab.url,
        "--ca-cert",
        lab.ca.to_str().unwrap(),
        "--cassettes",
        cassettes_arg,
        "--summary",
        record_summary.to_str().unwrap(),
        "--tls-self-signed",
        record_tls.to_str().unwrap(),
    ]);
    let by_path = |ca: &Path, into: &Path| {
        [
            "-find".to_owned(),
            "harness-lib/harness-item".to_owned(),
            "-ca".to_owned(),
            ca.join("dsvcr-ca.pem").display().to_string(),
            "-download".to_owned(),
            into.display().to_string(),
        ]
    };
    let recorded_bytes = dir.path().join("recorded-bytes");
    let args = by_path(&record_tls, &recorded_bytes);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, recorded, stderr) = run_export(programs, &recorder.url(), &lab, &args);
    assert_eq!(code, 0, "{recorded:?} {stderr}");
    let answers = parse(&recorded);
    let thumbprint =
        answers[8]["answer"]["download_endpoint"]["ssl_certificate_thumbprint"].clone();
    let served = served_thumbprint_blocking(&recorder.addr(), &record_tls.join("dsvcr-ca.pem"));
    assert_eq!(thumbprint, served, "the certificate dsvcr serves");
    let url = recorder.url();
    let prepared = |id: &str, name: &str| prepared(&url, &thumbprint, id, name);
    let fetched = |name: &str| {
        let line = direct
            .iter()
            .find(|line| line["call"] == "download" && line["file"] == name);
        line.expect("the direct run downloaded every file").clone()
    };
    let id = answers[5]["answer"].as_str().expect("create answers an id");
    let expiration = &answers[6]["answer"]["expiration_time"];
    assert!(expiration.is_string(), "{}", answers[6]);
    let unprepared =
        |name: &str| json!({"bytes_transferred": 0, "name": name, "status": "UNPREPARED"});
    let lookups = &direct[1..5];
    assert_eq!(
        answers[1..5],
        *lookups,
        "the lookups answer through dsvcr as directly"
    );
    assert_eq!(
        answers[5..],
        [
            json!({"call": "download_session.create", "answer": id}),
            json!({"call": "download_session.get", "answer": {
                "expiration_time": expiration,
                "id": id,
                "library_item_content_version": "1",
                "library_item_id": harness.item,
                "state": "ACTIVE",
            }}),
            json!({"call": "downloadsession.file.list",
                   "answer": [unprepared("disk.iso"), unprepared("notes.txt")]}),
            json!({"call": "downloadsession.file.prepare", "file": "disk.iso",
                   "answer": prepared(id, "disk.iso")}),
            json!({"call": "downloadsession.file.prepare", "file": "notes.txt",
                   "answer": prepared(id, "notes.txt")}),
            json!({"call": "downloadsession.file.get", "file": "disk.iso", "poll": 1,
                   "answer": prepared(id, "disk.iso")}),
            fetched("disk.iso"),
            json!({"call": "downloadsession.file.get", "file": "notes.txt", "poll": 1,
                   "answer": prepared(id, "notes.txt")}),
            fetched("notes.txt"),
            json!({"call": "download_session.delete"}),
            json!({"call": "logout"}),
        ]
    );
    assert_eq!(answers[0], json!({"call": "login"}));
    let (code, log) = recorder.stop();
    assert_eq!(code, 0, "{log}");
    let summary = read_json(&record_summary);
    assert_eq!(summary["not_recorded"], json!([]), "{summary}");
    assert_eq!(summary["not_recorded_count"], 0, "{summary}");
    assert_eq!(
        summary["recordings"], 14,
        "12 answers and 2 files: {summary}"
    );
    let written = summary["cassettes_written"].as_array().unwrap();
    assert_eq!(written.len(), 5, "the session and four lookups: {summary}");
    assert!(written.contains(&json!(id)), "{summary}");
    running_lab.stop();

    let (code, problems, _) = run_to_exit(&["check", cassettes_arg]);
    assert_eq!(code, 0, "{problems}");
    let files = cassette_files(&cassettes);
    assert_eq!(files.len(), 1, "one session cassette, for the one session");
    assert!(
        !files[0].1.to_string().contains(&lab.password),
        "no password in the cassette"
    );
    let recorded_uri = &files[0].1["timelines"];
    assert!(
        recorded_uri
            .to_string()
            .contains("/rest/com/vmware/cis/data/"),
        "the cassette keeps the simulator's endpoints: {recorded_uri}"
    );
    for (name, bytes) in &harness.files {
        assert_eq!(
            std::fs::read_to_string(recorded_bytes.join(name)).unwrap(),
            *bytes
        );
    }

    // 2. Replay with the simulator gone: the same flow prints the same lines (the bytes'
    //    sizes and SHA-256 included), but for the dsvcr it names.
    let replay_summary = dir.path().join("replay-summary.json");
    let replay_tls = dir.path().join("replay-tls");
    let replayer = start_dsvcr(&[
        "replay",
        "--require-session",
        "--fail-on-miss",
        "--summary",
        replay_summary.to_str().unwrap(),
        "--cassettes",
        cassettes_arg,
        "--tls-self-signed",
        replay_tls.to_str().unwrap(),
    ]);
    let replayed_bytes = dir.path().join("replayed-bytes");
    let args = by_path(&replay_tls, &replayed_bytes);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, replayed, stderr) = run_export(programs, &replayer.url(), &lab, &args);
    assert_eq!(code, 0, "{replayed:?} {stderr}");
    let replay_thumbprint =
        parse(&replayed)[8]["answer"]["download_endpoint"]["ssl_certificate_thumbprint"].clone();
    let served = served_thumbprint_blocking(&replayer.addr(), &replay_tls.join("dsvcr-ca.pem"));
    assert_eq!(replay_thumbprint, served, "the certificate dsvcr serves");
    assert_ne!(
        replay_thumbprint, thumbprint,
        "each run has its own certificate"
    );
    assert_eq!(
        placeholders(&replayed, &replayer.url(), &replay_thumbprint),
        placeholders(&recorded, &url, &thumbprint),
        "every answer as recorded"
    );
    for (name, bytes) in &harness.files {
        assert_eq!(
            std::fs::read_to_string(replayed_bytes.join(name)).unwrap(),
            *bytes
        );
    }
    let (code, log) = replayer.stop();
    assert_eq!(code, 0, "{log}");
    let summary = read_json(&replay_summary);
    assert_eq!(summary["misses"], 0, "{summary}");
    assert_eq!(summary["unrecorded"], 0, "{summary}");
    assert_eq!(summary["missed_ids"], json!([]), "{summary}");
    assert_eq!(summary["unrecorded_routes"], json!([]), "{summary}");
    assert_eq!(summary["hits"], 14, "12 answers and 2 files: {summary}");
    assert_eq!(
        summary["requests_by_operation"],
        json!({
            "download_session.cancel": 0,
            "download_session.create": 1,
            "download_session.delete": 1,
            "download_session.fail": 0,
            "download_session.get": 1,
            "download_session.keep_alive": 0,
            "download_session.list": 0,
            "downloadsession.file.get": 2,
            "downloadsession.file.list": 1,
            "downloadsession.file.prepare": 2,
            "library.find": 1,
            "library.get": 1,
            "library.item.find": 1,
            "library.item.get": 1,
            "library.item.list": 0,
            "library.list": 0,
        }),
        "{summary}"
    );
}
