//! The tool around the proxy: completions and the man page, `inspect`, the access log and
//! its formats, the kept `--tls-self-signed` CA, and the justfile's recipes.

use std::path::Path;

use serde_json::json;

use crate::process::*;
use crate::raw_http::http_get;
use crate::support::*;

const SUBCOMMANDS: [&str; 6] = ["replay", "record", "check", "inspect", "completions", "man"];

#[test]
fn completions_name_every_subcommand_and_flag() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let (code, script, stderr) = run_to_exit(&["completions", shell]);
        assert_eq!((code, stderr.as_str()), (0, ""), "{shell}");
        for word in SUBCOMMANDS.iter().chain(&[
            "--tls-self-signed",
            "--log-format",
            "--quiet",
            "--json",
            "--fail-on-miss",
        ]) {
            let bare = word.trim_start_matches('-');
            assert!(script.contains(bare), "{shell} completions lack {word}");
        }
    }
}

/// `| head` closes the pipe early: the commands that print stop quietly, no panic.
#[test]
fn printing_into_a_closed_pipe_is_not_a_panic() {
    let shipped = shipped_cassettes();
    for args in [
        vec!["completions", "bash"],
        vec!["man"],
        vec!["inspect", "--json", shipped.to_str().unwrap()],
    ] {
        let mut child = dsvcr(&args).spawn().unwrap();
        drop(child.stdout.take());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(
            (output.status.code(), stderr.as_str()),
            (Some(0), ""),
            "{args:?}"
        );
    }
}

#[test]
fn completions_for_an_unknown_shell_are_a_usage_error() {
    let (code, stdout, stderr) = run_to_exit(&["completions", "tcsh"]);
    assert_eq!((code, stdout.as_str()), (2, ""));
    assert!(
        stderr.starts_with("error: invalid value 'tcsh' for '<SHELL>'\n  [possible values: bash, elvish, fish, powershell, zsh]"),
        "{stderr}"
    );
}

#[test]
fn the_man_page_covers_every_subcommand_and_its_flags() {
    let (code, page, stderr) = run_to_exit(&["man"]);
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert!(page.contains(".TH dsvcr 1"), "{page}");
    for sub in SUBCOMMANDS {
        assert!(
            page.contains(&format!(".SH \\fBDSVCR {}\\fR", sub.to_uppercase())),
            "no section for {sub}"
        );
    }
    for flag in [
        "tls\\-self\\-signed",
        "log\\-format",
        "fail\\-on\\-miss",
        "upstream\\-thumbprint",
    ] {
        assert!(page.contains(&format!("\\fB\\-\\-{flag}\\fR")), "{flag}");
    }
    assert!(
        page.contains("Exit codes: 0 after a clean shutdown"),
        "{page}"
    );
}

/// The shipped cassettes, as docs/cassettes.md shows them.
const SHIPPED: &str = "\
cassettes: 4 sessions, 0 call cassettes, 0 tapes, 0 blobs (0 bytes), 0 problems

sessions
  obj-103  library item obj-103  recorded 2013-06-06T22:08:05Z  (download-session/obj-103.json)
    download_session.get  1 answer  200
  obj-104  library item 8f6a1c2e-4b7d-4e90-a3f5-1d2c3b4a5e6f  recorded 2026-11-02T09:30:00Z  (download-session/obj-104.json)
    download_session.get  1 answer  200
  obj-105  library item 3d1e5f7a-9b2c-4d6e-8f0a-1b3c5d7e9f2a  recorded 2026-11-02T10:00:00Z  (download-session/obj-105.json)
    download_session.get  4 answers  200
  obj-106  library item b7c2a3f0-5d7e-4c1b-9a55-0e8f2d1c3b4a  recorded 2026-11-29T10:00:00Z  (download-session/obj-106.json)
    download_session.get                           1 answer   200
    download_session.keep_alive                    1 answer   200
    download_session.delete                        1 answer   200
    downloadsession.file.list                      1 answer   200
    downloadsession.file.get \"photon-5.0.iso\"      3 answers  200
    downloadsession.file.prepare \"photon-5.0.iso\"  1 answer   200

calls
  none

tape
  none

blobs
  0 blobs, 0 bytes, orphans: none

problems
  none
";

#[test]
fn inspect_lists_the_shipped_cassettes() {
    let (code, text, stderr) = output_in(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["inspect", "cassettes"],
    );
    assert_eq!((code, stderr.as_str()), (0, ""));
    assert_eq!(text, SHIPPED);
}

#[test]
fn inspect_json_is_for_tools() {
    let shipped = shipped_cassettes();
    let (code, text, _) = run_to_exit(&["inspect", "--json", shipped.to_str().unwrap()]);
    assert_eq!(code, 0);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["sessions"].as_array().unwrap().len(), 4);
    assert_eq!(
        json["sessions"][3]["operations"][4],
        json!({"operation": "downloadsession.file.get", "file": "photon-5.0.iso", "answers": 3, "statuses": [200]})
    );
    assert_eq!(json["sessions"][2]["file"], "download-session/obj-105.json");
    assert_eq!(
        json["blobs"],
        json!({"count": 0, "bytes": 0, "orphans": []})
    );
    assert_eq!(json["problems"], json!([]));
}

const BLOB: &[u8] = b"bytes of disk.iso";

/// A folder with one good session whose blob is present, one whose blob is missing, one
/// that does not parse, an orphan blob and a call cassette that does not load.
fn broken_folder() -> tempfile::TempDir {
    let digest = sha256(BLOB);
    let mut with_blob = cassette("obj-1", vec![(2, ok(session("obj-1", 10)))]);
    with_blob["downloads"] =
        json!([{"file_name": "disk.iso", "status": 200, "size": BLOB.len(), "sha256": digest}]);
    let mut without_blob = cassette("obj-2", vec![(1, ok(session("obj-2", 100)))]);
    without_blob["downloads"] =
        json!([{"file_name": "other.iso", "status": 200, "size": 3, "sha256": "ab".repeat(32)}]);
    let folder = folder_with(&[with_blob, without_blob]);
    let root = folder.path();
    std::fs::write(
        root.join("download-session/obj-3.json"),
        "{\"format\": 2, \"id\": ",
    )
    .unwrap();
    let blobs = root.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    std::fs::write(blobs.join(&digest), BLOB).unwrap();
    std::fs::write(blobs.join("cd".repeat(32)), b"nobody's").unwrap();
    std::fs::create_dir(root.join("calls")).unwrap();
    std::fs::write(
        root.join("calls/library.item.find-0000000000000000.json"),
        "[]",
    )
    .unwrap();
    folder
}

fn sha256(bytes: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[test]
fn inspect_lists_every_problem_of_a_broken_folder_and_exits_1() {
    let folder = broken_folder();
    let (code, text, stderr) = output_in(folder.path(), &["inspect", "."]);
    assert_eq!(stderr, "");
    let orphan = "cd".repeat(32);
    let missing = "ab".repeat(32);
    let expected = format!(
        "\
.: 2 sessions, 0 call cassettes, 0 tapes, 2 blobs (25 bytes), 4 problems

sessions
  obj-1  library item item-1  recorded 2026-11-02T10:00:00Z  (download-session/obj-1.json)
    download_session.get  2 answers  200
    file \"disk.iso\": 17 bytes, blob present ({digest})
  obj-2  library item item-1  recorded 2026-11-02T10:00:00Z  (download-session/obj-2.json)
    download_session.get  1 answer  200
    file \"other.iso\": 3 bytes, blob MISSING ({missing})

calls
  none

tape
  none

blobs
  2 blobs, 25 bytes, orphans: {orphan}

problems
",
        digest = sha256(BLOB),
    );
    let at = text.rfind("\nproblems\n").unwrap() + "\nproblems\n".len();
    let (head, problems) = text.split_at(at);
    assert_eq!(head, expected);
    let (_, check, _) = output_in(folder.path(), &["check", "."]);
    let listed: String = check.lines().map(|line| format!("  {line}\n")).collect();
    assert_eq!(problems, listed, "inspect lists what check finds");
    assert_eq!(problems.lines().count(), 4, "{problems}");
    assert_eq!(code, 1);
    let (code, json, _) = output_in(folder.path(), &["inspect", "--json", "."]);
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!((code, json["problems"].as_array().unwrap().len()), (1, 4));
    assert_eq!(json["blobs"]["orphans"], json!([orphan]));
}

#[test]
fn inspect_of_a_missing_folder_is_a_runtime_error() {
    let (code, stdout, stderr) = run_to_exit(&["inspect", "/nonexistent/folder"]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    assert!(stderr.starts_with("dsvcr: "), "{stderr}");
    assert!(stderr.contains("/nonexistent/folder"), "{stderr}");
}

fn output_in(folder: &Path, args: &[&str]) -> (i32, String, String) {
    let output = dsvcr_in(folder, args).output().unwrap();
    (
        output.status.code().unwrap(),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

const REST_ID: &str = "/rest/com/vmware/content/library/item/download-session/id:";
const VERSION: &str = r#"{"value":{"build":"24322831","version":"8.0.2.00300"}}"#;

/// The shipped cassettes plus a tape of `GET /rest/appliance/system/version`, recorded
/// through dsvcr from a canned upstream.
async fn folder_with_a_tape() -> tempfile::TempDir {
    let upstream = canned_upstream(http_answer("200 OK", VERSION)).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&upstream).start(folder.path()).await;
    let version = recorder.get("/rest/appliance/system/version").await;
    assert_eq!(version.status, 200);
    assert_eq!(recorder.shut_down().await, std::process::ExitCode::SUCCESS);
    let sessions = folder.path().join("download-session");
    std::fs::create_dir_all(&sessions).unwrap();
    for entry in std::fs::read_dir(shipped_cassettes().join("download-session")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), sessions.join(entry.file_name())).unwrap();
    }
    folder
}

/// A raw request over a fresh connection; the status line.
fn status_of(addr: &str, method: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response.lines().next().unwrap().to_owned()
}

/// The access-log lines of `stderr`, less their timestamp and with the duration masked.
fn access_lines(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| line.split_once("  INFO dsvcr::access: "))
        .map(|(_, rest)| {
            let (line, duration) = rest.rsplit_once(' ').unwrap();
            assert_eq!(duration, "ms", "{rest}");
            let (line, millis) = line.rsplit_once(' ').unwrap();
            assert!(millis.parse::<f64>().is_ok(), "{rest}");
            format!("{line} N ms")
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_has_one_line_per_request_with_its_outcome() {
    let folder = folder_with_a_tape().await;
    let running = Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder.path().to_str().unwrap(),
    ]);
    let addr = running.addr();
    let requests = [
        ("GET", format!("{REST_ID}obj-103"), "200"),
        ("GET", format!("{REST_ID}obj-999"), "404"),
        ("GET", "/rest/appliance/system/version".to_owned(), "200"),
        ("PUT", format!("{REST_ID}obj-103"), "405"),
        ("GET", "/__dsvcr/health".to_owned(), "200"),
    ];
    for (method, path, status) in &requests {
        let line = status_of(&addr, method, path);
        assert!(
            line.starts_with(&format!("HTTP/1.1 {status} ")),
            "{method} {path}: {line}"
        );
    }
    let (code, stderr) = running.stop();
    assert_eq!(code, 0);
    let logged = access_lines(&stderr);
    let documented = access_lines(&crate::readme::doc_block(
        "docs/command-line.md",
        "## Logs",
        "text",
        0,
    ));
    assert_eq!(
        logged[..2],
        documented[..],
        "docs/command-line.md's example"
    );
    assert_eq!(
        logged,
        [
            format!("GET {REST_ID}obj-103 200 hit N ms"),
            format!("GET {REST_ID}obj-999 404 miss N ms"),
            "GET /rest/appliance/system/version 200 taped N ms".to_owned(),
            format!("PUT {REST_ID}obj-103 405 refused N ms"),
            "GET /__dsvcr/health 200 admin N ms".to_owned(),
        ],
        "{stderr}"
    );
    let (code, text, _) = run_to_exit(&["inspect", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let tape = text
        .split("\ntape\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    assert!(
        tape.starts_with("  GET /rest/appliance/system/version  1 answer  200  tape/get-")
            && tape.lines().count() == 1,
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_mode_logs_forwarded_answers() {
    let upstream = canned_upstream(http_answer("200 OK", VERSION)).await;
    let folder = tempfile::tempdir().unwrap();
    let running = Running::start(&[
        "record",
        "--upstream",
        &upstream,
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder.path().to_str().unwrap(),
    ]);
    let line = status_of(&running.addr(), "GET", "/rest/appliance/system/version");
    assert!(line.starts_with("HTTP/1.1 200 "), "{line}");
    let (code, stderr) = running.stop();
    assert_eq!(code, 0);
    assert_eq!(
        access_lines(&stderr),
        ["GET /rest/appliance/system/version 200 forwarded N ms"],
        "{stderr}"
    );
}

#[test]
fn the_access_log_in_json_gives_fields() {
    let shipped = shipped_cassettes();
    let running = Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        shipped.to_str().unwrap(),
        "--log-format",
        "json",
    ]);
    let response = http_get(&running.addr(), &format!("{REST_ID}obj-103"));
    assert!(response.starts_with("HTTP/1.1 200 "), "{response}");
    let (code, stderr) = running.stop();
    assert_eq!(code, 0);
    let events: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|err| panic!("{err}: {line}")))
        .collect();
    let access: Vec<&serde_json::Value> = events
        .iter()
        .filter(|event| event["target"] == "dsvcr::access")
        .collect();
    assert_eq!(access.len(), 1, "{stderr}");
    let mut event = access[0].clone();
    assert!(event["duration_us"].is_u64(), "{event}");
    assert!(event["timestamp"].is_string(), "{event}");
    for volatile in ["duration_us", "timestamp"] {
        event.as_object_mut().unwrap().remove(volatile);
    }
    assert_eq!(
        event,
        json!({
            "level": "INFO",
            "target": "dsvcr::access",
            "message": "request",
            "method": "GET",
            "path": format!("{REST_ID}obj-103"),
            "status": 200,
            "outcome": "hit",
        })
    );
    assert!(
        events
            .iter()
            .any(|event| event["message"] == "loaded cassettes"),
        "every event is JSON: {stderr}"
    );
}

#[test]
fn quiet_keeps_only_warnings() {
    let shipped = shipped_cassettes();
    let running = Running::start_logging(
        &[
            "replay",
            "--listen",
            "127.0.0.1:0",
            "--cassettes",
            shipped.to_str().unwrap(),
            "--quiet",
        ],
        "debug",
    );
    let hit = http_get(&running.addr(), &format!("{REST_ID}obj-103"));
    assert!(hit.starts_with("HTTP/1.1 200 "), "{hit}");
    let miss = http_get(&running.addr(), &format!("{REST_ID}obj-999"));
    assert!(miss.starts_with("HTTP/1.1 404 "), "{miss}");
    let (code, stderr) = running.stop();
    assert_eq!(code, 0);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.len(),
        1,
        "only the miss's warning, even with RUST_LOG=debug: {stderr}"
    );
    assert!(lines[0].contains(" WARN dsvcr::replay: miss: "), "{stderr}");
}

fn replay_with_ca(dir: &Path) -> Running {
    let shipped = shipped_cassettes();
    Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        shipped.to_str().unwrap(),
        "--tls-self-signed",
        dir.to_str().unwrap(),
    ])
}

async fn get_over_https(ca: &Path, running: &Running) -> u16 {
    let client = https_client(ca);
    let request = http::Request::get(format!("{}{REST_ID}obj-103", running.url()))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    client.request(request).await.unwrap().status().as_u16()
}

// Multi-threaded so the client's connection task runs while the test waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_self_signed_ca_is_kept_so_clients_trust_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let first = replay_with_ca(&ca_dir);
    let trusted = dir.path().join("trusted-ca.pem");
    std::fs::copy(ca_dir.join("dsvcr-ca.pem"), &trusted).unwrap();
    assert_eq!(get_over_https(&trusted, &first).await, 200);
    assert_eq!(first.stop().0, 0);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let key = std::fs::metadata(ca_dir.join("dsvcr-ca-key.pem")).unwrap();
        assert_eq!(
            key.permissions().mode() & 0o777,
            0o600,
            "only its owner reads the key"
        );
    }

    let second = replay_with_ca(&ca_dir);
    assert_eq!(
        get_over_https(&trusted, &second).await,
        200,
        "the second start's leaf chains to the CA the client trusted the first time"
    );
    let (code, stderr) = second.stop();
    assert_eq!(code, 0);
    assert!(
        stderr.contains("INFO dsvcr::server::tls::ca: reusing the self-signed CA"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(ca_dir.join("dsvcr-ca.pem")).unwrap(),
        std::fs::read(&trusted).unwrap()
    );
}

#[test]
fn a_ca_key_that_does_not_match_its_certificate_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let (ours, other) = (dir.path().join("ours"), dir.path().join("other"));
    for folder in [&ours, &other] {
        drop(replay_with_ca(folder));
    }
    std::fs::copy(
        other.join("dsvcr-ca-key.pem"),
        ours.join("dsvcr-ca-key.pem"),
    )
    .unwrap();
    let shipped = shipped_cassettes();
    let (code, stdout, stderr) = run_to_exit(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        shipped.to_str().unwrap(),
        "--tls-self-signed",
        ours.to_str().unwrap(),
    ]);
    assert_eq!((code, stdout.as_str()), (1, ""));
    let ours = ours.display();
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!(
            "dsvcr: --tls-self-signed: the CA certificate {ours}/dsvcr-ca.pem and key {ours}/dsvcr-ca-key.pem do not go together: the key does not match the certificate (invalid peer certificate: BadSignature); remove both files to make a new CA"
        )
    );
}

#[test]
fn a_ca_key_without_its_certificate_is_an_error_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca");
    drop(replay_with_ca(&ca));
    std::fs::remove_file(ca.join("dsvcr-ca.pem")).unwrap();
    let shipped = shipped_cassettes();
    let (code, _, stderr) = run_to_exit(&[
        "replay",
        "--cassettes",
        shipped.to_str().unwrap(),
        "--tls-self-signed",
        ca.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    let ca = ca.display();
    assert_eq!(
        stderr.lines().last().unwrap(),
        format!(
            "dsvcr: --tls-self-signed: the CA certificate {ca}/dsvcr-ca.pem and key {ca}/dsvcr-ca-key.pem do not go together: the key is there but the certificate is not; remove the key to make a new CA"
        )
    );
}

/// The README's install commands: `cargo install` of this package by path (its binary is
/// dsvcr) and of just. Running them builds everything in release mode (minutes), so the
/// commands are checked, not run.
#[test]
fn the_install_commands_install_this_package() {
    let block = crate::readme::readme_block("## Install", "sh", 0);
    let commands: Vec<&str> = block
        .lines()
        .map(|line| line.split('#').next().unwrap().trim())
        .collect();
    assert_eq!(
        commands,
        [
            "cargo install --locked --path .",
            "cargo install --locked just"
        ]
    );
    let manifest =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).unwrap();
    assert!(
        manifest.starts_with("[package]\nname = \"dsvcr\"\n"),
        "{manifest}"
    );
    assert!(
        manifest.contains("[[bin]]\nname = \"dsvcr\"\n"),
        "{manifest}"
    );
    assert!(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("Cargo.lock")
            .is_file(),
        "--locked needs it"
    );
}

/// The completion and man page commands of docs/command-line.md, run by bash with HOME in a temporary
/// folder and dsvcr on PATH; bash then completes `dsvcr ` with the script.
#[test]
fn the_completions_and_man_page_example() {
    let home = tempfile::tempdir().unwrap();
    let block = crate::readme::doc_block(
        "docs/command-line.md",
        "## Completions and the man page",
        "sh",
        0,
    );
    let bin = Path::new(env!("CARGO_BIN_EXE_dsvcr")).parent().unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let status = std::process::Command::new("bash")
        .args(["-euo", "pipefail", "-c", &block])
        .env("HOME", home.path())
        .env("PATH", &path)
        .status()
        .unwrap();
    assert!(status.success());
    let script = home
        .path()
        .join(".local/share/bash-completion/completions/dsvcr");
    let completed = std::process::Command::new("bash")
        .args([
            "-c",
            "source \"$1\"; COMP_WORDS=(dsvcr in); COMP_CWORD=1; COMP_LINE='dsvcr in'; COMP_POINT=8; _dsvcr dsvcr in dsvcr; printf '%s\\n' \"${COMPREPLY[@]}\"",
            "bash",
            script.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(completed.stdout).unwrap(), "inspect\n");
    let fish =
        std::fs::read_to_string(home.path().join(".config/fish/completions/dsvcr.fish")).unwrap();
    assert!(fish.contains("-a \"inspect\""), "{fish}");
    let man = std::fs::read_to_string(home.path().join(".local/share/man/man1/dsvcr.1")).unwrap();
    assert!(man.starts_with(".ie \\n(.g .ds Aq"), "{man}");
    assert!(man.contains(".TH dsvcr 1"), "{man}");
}

/// Every justfile line that runs dsvcr execs the built binary, so that a signal sent to
/// `just` reaches dsvcr rather than a shell or `cargo run` in between. (`just` itself is
/// not installed where the tests run, so the recipes are read, not run.)
#[test]
fn the_justfile_execs_dsvcr_so_signals_reach_it() {
    let justfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("justfile")).unwrap();
    assert!(!justfile.contains("cargo run"), "{justfile}");
    let runs: Vec<&str> = justfile
        .lines()
        .map(str::trim)
        .filter(|line| line.contains("target/release/dsvcr"))
        .filter(|line| !line.starts_with('#'))
        .collect();
    assert_eq!(
        runs,
        [
            "exec target/release/dsvcr replay {{FLAGS}}",
            "exec target/release/dsvcr record --upstream {{URL}} {{FLAGS}}",
            "exec target/release/dsvcr check {{DIR}}",
        ]
    );
    for recipe in [
        "replay *FLAGS:",
        "record URL *FLAGS:",
        "check DIR=\"cassettes\":",
    ] {
        let body = justfile.split_once(&format!("\n{recipe}\n")).unwrap().1;
        assert!(
            body.starts_with("    cargo build --release --locked\n    exec target/release/dsvcr "),
            "{recipe} builds, then execs: {body}"
        );
    }
}

/// What the recipes do, run as just runs a recipe line (`sh -cu LINE`): SIGTERM to that
/// process stops dsvcr cleanly, because the shell became dsvcr.
#[test]
fn an_exec_recipe_line_hands_sigterm_to_dsvcr() {
    let justfile =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("justfile")).unwrap();
    let line = justfile
        .lines()
        .map(str::trim)
        .find(|line| line.starts_with("exec target/release/dsvcr replay "))
        .unwrap()
        .replace("target/release/dsvcr", "\"$DSVCR\"")
        .replace("{{FLAGS}}", "--listen 127.0.0.1:0");
    let mut command = std::process::Command::new("sh");
    command
        .args(["-cu", &line])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("DSVCR", env!("CARGO_BIN_EXE_dsvcr"))
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let running = Running::spawn_command(command);
    let (code, stderr) = running.stop();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
}
