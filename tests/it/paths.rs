//! Every file dsvcr writes (`--summary`, `--tls-self-signed DIR`, record's `--cassettes`),
//! named in each way a user writes a path: a bare name, `./name`, a relative subfolder and an
//! absolute path, run through the binary in a chosen current folder (issue 17).

use std::path::{Path, PathBuf};

use tempfile::TempDir;

use crate::process::*;
use crate::raw_http::http_get;
use crate::support::*;

/// One way of writing the paths, in a fresh current folder that holds `out/`.
struct Case {
    cwd: TempDir,
    _elsewhere: TempDir,
    summary: String,
    summary_at: PathBuf,
    /// `--tls-self-signed` or `--cassettes`.
    dir: String,
    dir_at: PathBuf,
}

/// The four forms: `NAME`, `./NAME`, `out/NAME`, `/absolute/NAME`.
fn cases(dir_name: &str) -> Vec<Case> {
    (0..4).map(|form| case(form, dir_name)).collect()
}

fn case(form: usize, dir_name: &str) -> Case {
    let cwd = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::create_dir(cwd.path().join("out")).unwrap();
    let spell = |name: &str| -> (String, PathBuf) {
        match form {
            0 => (name.to_owned(), cwd.path().join(name)),
            1 => (format!("./{name}"), cwd.path().join(name)),
            2 => (format!("out/{name}"), cwd.path().join("out").join(name)),
            _ => {
                let absolute = elsewhere.path().join(name);
                (absolute.to_str().unwrap().to_owned(), absolute)
            }
        }
    };
    let (summary, summary_at) = spell("dsvcr-summary.json");
    let (dir, dir_at) = spell(dir_name);
    Case {
        cwd,
        _elsewhere: elsewhere,
        summary,
        summary_at,
        dir,
        dir_at,
    }
}

fn summary_mode(path: &Path) -> String {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let summary: serde_json::Value = serde_json::from_str(&text).unwrap();
    summary["mode"].as_str().unwrap().to_owned()
}

#[test]
fn replay_writes_its_summary_and_ca_wherever_they_are_named() {
    let cassettes = shipped_cassettes();
    for case in cases("ca") {
        let running = Running::start_in(
            case.cwd.path(),
            &[
                "replay",
                "--listen",
                "127.0.0.1:0",
                "--cassettes",
                cassettes.to_str().unwrap(),
                "--summary",
                &case.summary,
                "--tls-self-signed",
                &case.dir,
            ],
        );
        assert!(
            running.url().starts_with("https://"),
            "{}",
            running.ready_line
        );
        let ca = std::fs::read_to_string(case.dir_at.join("dsvcr-ca.pem")).unwrap();
        assert!(
            ca.starts_with("-----BEGIN CERTIFICATE-----\n"),
            "{}",
            case.dir
        );
        let (code, stderr) = running.stop();
        assert_eq!(
            code, 0,
            "--summary {} --tls-self-signed {}: {stderr}",
            case.summary, case.dir
        );
        assert_eq!(
            summary_mode(&case.summary_at),
            "replay",
            "--summary {}",
            case.summary
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_writes_cassettes_and_summary_wherever_they_are_named() {
    let fake = crate::fake_vcenter::FakeVcenter::http().await;
    for case in cases("cassettes") {
        let running = Running::start_in(
            case.cwd.path(),
            &[
                "record",
                "--upstream",
                &fake.url(),
                "--listen",
                "127.0.0.1:0",
                "--cassettes",
                &case.dir,
                "--summary",
                &case.summary,
            ],
        );
        let addr = running.addr();
        let answer = tokio::task::spawn_blocking(move || http_get(&addr, &format!("{API}/obj-1")))
            .await
            .unwrap();
        assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
        let (code, stderr) = running.stop();
        assert_eq!(
            code, 0,
            "--cassettes {} --summary {}: {stderr}",
            case.dir, case.summary
        );
        let written = cassette_files(&case.dir_at);
        assert_eq!(written.len(), 1, "--cassettes {}: {written:?}", case.dir);
        assert_eq!(written[0].1["id"], "obj-1", "--cassettes {}", case.dir);
        assert_eq!(
            summary_mode(&case.summary_at),
            "record",
            "--summary {}",
            case.summary
        );
    }
    fake.stop().await;
}
