//! Signals that stop dsvcr: each one finishes the run as SIGTERM does.

use crate::process::Running;
use crate::raw_http::http_get;
use crate::support::*;

#[test]
fn sighup_writes_the_summary_and_fails_on_a_miss_like_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let cassettes = shipped_cassettes();
    let running = Running::start(&[
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        cassettes.to_str().unwrap(),
        "--fail-on-miss",
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let response = http_get(&running.addr(), &format!("{API}/obj-404"));
    assert!(response.starts_with("HTTP/1.1 404 "), "{response}");
    running.signal("HUP");
    let (code, stderr) = running.wait();
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("SIGHUP received"), "{stderr}");
    assert!(
        stderr.contains(
            "dsvcr: 1 request(s) had no recording (obj-404); failing because of --fail-on-miss"
        ),
        "{stderr}"
    );
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(written["missed_ids"], serde_json::json!(["obj-404"]));
}
