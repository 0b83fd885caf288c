//! Journals: the bytes written while recording are proportional to what was recorded, not
//! to the size of the cassette times the answers (RELIABILITY.md, "Hardening, round 3"),
//! and a journal is what docs/cassettes.md shows.

use http_body_util::BodyExt;

use crate::fake_vcenter::{FakeOptions, FakeVcenter};
use crate::process::{run_to_exit, Running};
use crate::support::*;

const POLLS: usize = 1000;

/// A field of `/proc/PID/io`: `wchar` (bytes handed to `write` and its kin, sockets
/// included, whatever the file system) or `write_bytes` (bytes the process dirtied in
/// the page cache, by 4 KiB page; 0 on file systems that do not count them).
fn proc_io(pid: u32, field: &str) -> u64 {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).unwrap();
    io.lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(": "))
        .unwrap()
        .parse()
        .unwrap()
}

/// Found by a hostile review: every changed answer rewrote the whole cassette, so 1000
/// polls of an answer that changed each time wrote about 1 GiB for a 2.1 MB tape. Now
/// the answers after a cassette's first go to its journal, one line each, and the end of
/// the run folds it into the file once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_changed_polls_write_under_50_mb() {
    let script: Vec<i64> = (0..POLLS as i64).map(|i| i % 101).collect();
    let fake = FakeVcenter::start(FakeOptions {
        sessions: vec![("obj-1".into(), script.clone())],
        ..FakeOptions::default()
    })
    .await;
    let folder = tempfile::tempdir().unwrap();
    let folder_arg = folder.path().to_str().unwrap();
    let recorder = Running::start(&[
        "record",
        "--upstream",
        &fake.url(),
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        folder_arg,
    ]);
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Full<bytes::Bytes>>();
    let pid = recorder.child.id();
    let (wchar_at_start, dirtied_at_start) = (proc_io(pid, "wchar"), proc_io(pid, "write_bytes"));
    for expected in &script {
        let request = http::Request::get(format!("http://{}{API}/obj-1", recorder.addr()))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        let model: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(model["client_progress"], *expected);
    }
    let wchar = proc_io(pid, "wchar") - wchar_at_start;
    let dirtied = proc_io(pid, "write_bytes") - dirtied_at_start;
    let (code, stderr) = recorder.stop();
    assert_eq!(code, 0, "{stderr}");
    let files = cassette_files(folder.path());
    assert_eq!(
        files.len(),
        1,
        "the journal was folded into the file at the end"
    );
    assert_eq!(timeline_progress(&files[0].1), script);
    let size = std::fs::metadata(folder.path().join(SUBFOLDER).join("obj-1.json"))
        .unwrap()
        .len();
    // The fold at the end writes the file once more.
    let total = wchar + size;
    eprintln!(
        "{POLLS} changed polls: the cassette is {size} bytes; written while polling: wchar {wchar} bytes (sockets included), write_bytes {dirtied} bytes; with the final fold: {total} bytes"
    );
    assert!(total < 50_000_000, "{total} bytes written");
    let (code, out, err) = run_to_exit(&["check", folder_arg]);
    assert_eq!(code, 0, "{out}{err}");
}

/// The journal docs/cassettes.md shows is what record writes for three gets of `obj-1`
/// (the first goes to the file, the other two to the journal), mid-run.
#[tokio::test]
async fn the_documented_journal_is_what_record_writes() {
    let fake = FakeVcenter::start(FakeOptions::default()).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    for _ in 0..3 {
        assert_eq!(recorder.get(&format!("{API}/obj-1")).await.status, 200);
    }
    let file = folder.path().join(SUBFOLDER).join("obj-1.json");
    let journal =
        std::fs::read_to_string(folder.path().join(SUBFOLDER).join("obj-1.json.journal")).unwrap();
    let digest = crate::interop_soap::sha256_hex(&std::fs::read(&file).unwrap());
    let doc = crate::readme::document("docs/cassettes.md");
    let section = &doc[doc.find("## Journals").unwrap()..];
    let block = &section[section.find("```text\n").unwrap() + 8..];
    let block = &block[..block.find("```").unwrap()];
    let documented = block.replace(
        "<SHA-256 of the file's bytes, 64 lowercase hex digits>",
        &digest,
    );
    assert_eq!(journal, documented);
    recorder.shut_down().await;
    assert_eq!(cassette_files(folder.path()).len(), 1, "folded at the end");
}
