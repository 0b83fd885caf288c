//! Interop: one recording, other clients and other orders. govc's export flow
//! (`tests/interop/export`) records a whole-item export and then a single-file export from
//! govmomi's simulator, leaving the sessions to expire as govc 0.24 does (no delete); with
//! the simulator gone and other credentials, VMware's Python SDK runs VMware's own export
//! (`tests/interop/python/sdk_export.py`, which deletes its session) against replay, and the
//! two exports run again, deleting, in other orders and more often than recorded, without a
//! reset.
//!
//! Needs Go with Debian's govmomi and the Python SDK's venv; skipped outside CI without
//! them, a failure in CI (`CI` set).

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use crate::interop::{go_programs, start_dsvcr, GoPrograms, Lab, LabInfo};
use crate::interop_python::python;
use crate::process::Running;

const CI_USER: &str = "ci-runner@vsphere.local";
const CI_PASSWORD: &str = "not-the-lab-password";

/// The export flow against `url` as `user`, trusting `ca`, downloading into `into`; only
/// `file` when given; without a delete when `keep`. Its exit code, calls and stderr.
fn export(
    programs: &GoPrograms,
    url: &str,
    (user, password): (&str, &str),
    ca: &Path,
    into: &Path,
    file: Option<&str>,
    keep: bool,
) -> (i32, Vec<String>, String) {
    let mut command = Command::new(&programs.export);
    command
        .args(["-url", url, "-user", user, "-password", password])
        .args(["-find", "harness-lib/harness-item"])
        .arg("-ca")
        .arg(ca)
        .arg("-download")
        .arg(into)
        .stdin(Stdio::null());
    if let Some(file) = file {
        command.args(["-file", file]);
    }
    if keep {
        command.arg("-keep");
    }
    let output = command.output().unwrap();
    let calls = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let line: Value = serde_json::from_str(line).unwrap();
            line["call"].as_str().unwrap().to_owned()
        })
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap(), calls, stderr)
}

/// The calls of the whole-item export, or of the single-file one; with a delete or not.
fn calls(single: bool, deletes: bool) -> Vec<String> {
    let mut calls = vec![
        "login",
        "library.find",
        "library.get",
        "library.item.find",
        "library.item.get",
        "download_session.create",
        "download_session.get",
    ];
    if single {
        calls.extend([
            "downloadsession.file.prepare",
            "downloadsession.file.get",
            "download",
        ]);
    } else {
        calls.extend([
            "downloadsession.file.list",
            "downloadsession.file.prepare",
            "downloadsession.file.prepare",
            "downloadsession.file.get",
            "download",
            "downloadsession.file.get",
            "download",
        ]);
    }
    if deletes {
        calls.push("download_session.delete");
    }
    calls.push("logout");
    calls.into_iter().map(str::to_owned).collect()
}

/// Every file `into` holds has the lab's bytes; `expected` names them.
fn assert_files(lab: &LabInfo, into: &Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(into)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, expected, "{}", into.display());
    for (name, bytes) in &lab.harness.files {
        if let Ok(got) = std::fs::read_to_string(into.join(name)) {
            assert_eq!(&got, bytes, "{name} in {}", into.display());
        }
    }
}

fn start_https(args: &[&str], tls: &Path) -> Running {
    let mut all = args.to_vec();
    all.extend(["--tls-self-signed", tls.to_str().unwrap()]);
    start_dsvcr(&all)
}

#[test]
fn other_clients_and_orders_replay_from_one_recorded_export() {
    let Some(programs) = go_programs() else {
        return;
    };
    let Some(python) = python() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cassettes = dir.path().join("cassettes");
    let cassettes_arg = cassettes.to_str().unwrap();
    let running_lab = Lab::start(programs, dir.path());
    let lab = running_lab.info.clone();
    let lab_login = (lab.user.as_str(), lab.password.as_str());

    // Record: the whole item, then one file.
    let record_tls = dir.path().join("record-tls");
    let recorder = start_https(
        &[
            "record",
            "--upstream",
            &lab.url,
            "--ca-cert",
            lab.ca.to_str().unwrap(),
            "--cassettes",
            cassettes_arg,
        ],
        &record_tls,
    );
    let ca = record_tls.join("dsvcr-ca.pem");
    for (run, file) in [("whole", None), ("single", Some("disk.iso"))] {
        let into = dir.path().join(format!("recorded-{run}"));
        let (code, seen, stderr) =
            export(programs, &recorder.url(), lab_login, &ca, &into, file, true);
        assert_eq!(
            (code, seen),
            (0, calls(file.is_some(), false)),
            "{run}: {stderr}"
        );
    }
    let (code, log) = recorder.stop();
    assert_eq!(code, 0, "{log}");
    running_lab.stop();

    // Replay, the simulator gone, with credentials nobody recorded.
    let summary = dir.path().join("summary.json");
    let replay_tls = dir.path().join("replay-tls");
    let replayer = start_https(
        &[
            "replay",
            "--fail-on-miss",
            "--summary",
            summary.to_str().unwrap(),
            "--cassettes",
            cassettes_arg,
        ],
        &replay_tls,
    );
    let ca = replay_tls.join("dsvcr-ca.pem");

    // VMware's Python SDK, as VMware's samples export an item.
    let sdk_bytes = dir.path().join("sdk-bytes");
    let output = Command::new(python)
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/python/sdk_export.py"))
        .args(["--server", &replayer.addr()])
        .args(["--user", CI_USER, "--password", CI_PASSWORD])
        .args(["--library", "harness-lib", "--item", "harness-item"])
        .arg("--download")
        .arg(&sdk_bytes)
        .env("REQUESTS_CA_BUNDLE", &ca)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the SDK's export failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_str(&stdout).unwrap();
    let (library, item) = (&lab.harness.library, &lab.harness.item);
    assert_eq!(
        report,
        json!({
            "library.find": [library],
            "library.get": {"id": library, "name": "harness-lib", "type": "LOCAL"},
            "library.list": [library],
            "item.find": [item],
            "item.find in library": [item],
            "item.get": {"id": item, "library_id": library, "name": "harness-item", "type": "iso"},
            "files": ["disk.iso", "notes.txt"],
            "after delete": "NotFound",
        })
    );
    assert_files(&lab, &sdk_bytes, &["disk.iso", "notes.txt"]);

    // govc's exports in the other order, and more often than recorded, without a reset.
    let ci_login = (CI_USER, CI_PASSWORD);
    for (turn, file) in [None, Some("disk.iso"), None, None, Some("disk.iso")]
        .into_iter()
        .enumerate()
    {
        let into = dir.path().join(format!("replayed-{turn}"));
        let (code, seen, stderr) =
            export(programs, &replayer.url(), ci_login, &ca, &into, file, false);
        assert_eq!(
            (code, seen),
            (0, calls(file.is_some(), true)),
            "turn {turn}: {stderr}"
        );
        let expected: &[&str] = match file {
            Some(_) => &["disk.iso"],
            None => &["disk.iso", "notes.txt"],
        };
        assert_files(&lab, &into, expected);
    }

    let (code, log) = replayer.stop();
    assert_eq!(code, 0, "--fail-on-miss: nothing missed\n{log}");
    let summary: Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["misses"], 0, "{summary}");
    assert_eq!(summary["unrecorded"], 0, "{summary}");
    assert_eq!(
        summary["derived"],
        json!({"count": 8, "by_rule": {
            "download_session.delete": 6,
            "library.item.find": 1,
            "library.list": 1,
        }}),
        "the SDK's lookups govc never made, and every delete (nobody recorded one)"
    );
}
