//! The `dsvcr` binary: ready line, signals, exit codes and startup errors.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::process::*;
use crate::raw_http::{http_get, http_get_body, wait_in_flight};
use crate::support::*;

#[test]
fn replay_prints_one_ready_line_serves_and_exits_0_on_sigterm_and_sigint() {
    let cassettes = shipped_cassettes();
    for signal in ["TERM", "INT"] {
        let running = Running::start(&[
            "replay",
            "--listen",
            "127.0.0.1:0",
            "--cassettes",
            cassettes.to_str().unwrap(),
        ]);
        let addr = running.addr();
        assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");
        let response = http_get(&addr, &format!("{REST}/id:obj-103"));
        assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
        running.signal(signal);
        let (code, stderr) = running.wait();
        assert_eq!(code, 0, "SIG{signal}: {stderr}");
        assert!(stderr.contains("loaded cassettes"), "{stderr}");
    }
}

#[test]
fn a_broken_cassette_stops_startup_naming_the_file_and_reason() {
    let folder = folder_with(&[]);
    let file = folder.path().join("download-session").join("obj-1.json");
    std::fs::write(&file, "{\"format\": 1}").unwrap();
    let (code, stdout, stderr) = run_to_exit(&[
        "replay",
        "--cassettes",
        folder.path().to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 1);
    assert_eq!(stdout, "", "no ready line");
    assert!(
        stderr.contains(&format!(
            "dsvcr: {}: missing field `operation`",
            file.display()
        )),
        "{stderr}"
    );
}

#[test]
fn a_missing_cassette_folder_exits_1_naming_it() {
    let (code, _, stderr) = run_to_exit(&["replay", "--cassettes", "/nonexistent/cassettes"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("dsvcr: cassette folder /nonexistent/cassettes: No such file or directory"),
        "{stderr}"
    );
}

#[test]
fn a_busy_port_exits_1_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let cassettes = shipped_cassettes();
    let (code, _, stderr) = run_to_exit(&[
        "replay",
        "--listen",
        &addr,
        "--cassettes",
        cassettes.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "dsvcr: cannot listen on {addr} (--listen): Address already in use"
        )),
        "{stderr}"
    );
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        vec!["replay", "--listen", "not-an-address"],
        vec!["replay", "--no-such-flag"],
        vec!["rewind"],
        vec![],
    ] {
        let (code, _, stderr) = run_to_exit(&args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
    }
    let (_, _, stderr) = run_to_exit(&["replay", "--listen", "not-an-address"]);
    assert!(
        stderr.contains("invalid value 'not-an-address' for '--listen <ADDR>'"),
        "{stderr}"
    );
}

#[test]
fn help_documents_every_flag() {
    let (code, stdout, _) = run_to_exit(&["replay", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--cassettes <DIR>",
        "--listen <ADDR>",
        "[default: cassettes]",
        "[default: 127.0.0.1:8080]",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from:\n{stdout}");
    }
    let (_, top, _) = run_to_exit(&["--help"]);
    assert!(top.contains("replay"), "{top}");
    assert!(Path::new(env!("CARGO_BIN_EXE_dsvcr")).exists());
}

#[test]
fn record_prints_the_ready_line_and_creates_the_folder() {
    let folder = tempfile::tempdir().unwrap();
    let cassettes = folder.path().join("new");
    let running = Running::start(&[
        "record",
        "--upstream",
        "http://127.0.0.1:9",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        cassettes.to_str().unwrap(),
    ]);
    running.addr();
    assert!(cassettes.join("download-session").is_dir());
    running.signal("TERM");
    let (code, stderr) = running.wait();
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("recording"), "{stderr}");
}

#[test]
fn record_usage_errors_exit_2() {
    let cases: [(&[&str], &str); 5] = [
        (&["record"], "--upstream <URL>"),
        (
            &["record", "--upstream", "ftp://vc"],
            "must start with https:// or http://",
        ),
        (
            &[
                "record",
                "--upstream",
                "https://vc",
                "--insecure",
                "--ca-cert",
                "ca.pem",
            ],
            "cannot be used with",
        ),
        (
            &[
                "record",
                "--upstream",
                "https://vc",
                "--upstream-thumbprint",
                "abc",
            ],
            "is not a certificate thumbprint: expected 64 hex digits (SHA-256) or 40 (SHA-1",
        ),
        (
            &[
                "record",
                "--upstream",
                "https://vc",
                "--upstream-timeout",
                "0",
            ],
            "must be more than 0",
        ),
    ];
    for (args, expected) in cases {
        let (code, _, stderr) = run_to_exit(args);
        assert_eq!(code, 2, "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn record_with_an_unreadable_ca_file_exits_1_naming_it() {
    let folder = tempfile::tempdir().unwrap();
    let (code, _, stderr) = run_to_exit(&[
        "record",
        "--upstream",
        "https://127.0.0.1:9",
        "--ca-cert",
        "/nonexistent/ca.pem",
        "--cassettes",
        folder.path().to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("dsvcr: --ca-cert /nonexistent/ca.pem: "),
        "{stderr}"
    );
}

fn replay_args<'a>(cassettes: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "replay",
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        cassettes,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn the_summary_file_describes_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let cassettes = shipped_cassettes();
    let running = Running::start(&replay_args(
        cassettes.to_str().unwrap(),
        &["--summary", summary.to_str().unwrap()],
    ));
    let addr = running.addr();
    http_get(&addr, &format!("{REST}/id:obj-103"));
    http_get(&addr, &format!("{REST}/id:obj-103"));
    http_get(&addr, &format!("{API}/obj-103"));
    http_get(&addr, &format!("{API}/obj-404"));
    http_get(&addr, "/rest/vcenter/vm");
    running.signal("TERM");
    let (code, stderr) = running.wait();
    assert_eq!(
        code, 0,
        "misses do not fail the run without --fail-on-miss: {stderr}"
    );
    assert!(stderr.contains("run summary"), "{stderr}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let documented = crate::readme::doc_block(
        "docs/replaying-in-ci.md",
        "## Health, reset and the run summary",
        "json",
        0,
    );
    let documented: serde_json::Value = serde_json::from_str(&documented).unwrap();
    assert_eq!(
        written, documented,
        "docs/replaying-in-ci.md's summary example is this run's"
    );
}

#[test]
fn fail_on_miss_exits_3_naming_the_ids() {
    let cassettes = shipped_cassettes();
    let running = Running::start(&replay_args(
        cassettes.to_str().unwrap(),
        &["--fail-on-miss"],
    ));
    let addr = running.addr();
    http_get(&addr, &format!("{API}/obj-404"));
    http_get(&addr, &format!("{API}/obj-405"));
    running.signal("TERM");
    let (code, stderr) = running.wait();
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains(
            "dsvcr: 2 request(s) had no recording (obj-404, obj-405); failing because of --fail-on-miss"
        ),
        "{stderr}"
    );

    let clean = Running::start(&replay_args(
        cassettes.to_str().unwrap(),
        &["--fail-on-miss"],
    ));
    http_get(&clean.addr(), &format!("{API}/obj-103"));
    clean.signal("TERM");
    assert_eq!(clean.wait().0, 0);
}

#[test]
fn shift_times_moves_a_timeline_to_now_keeping_its_intervals() {
    let cassettes = shipped_cassettes();
    let started = time::OffsetDateTime::now_utc();
    let running = Running::start(&replay_args(
        cassettes.to_str().unwrap(),
        &["--shift-times"],
    ));
    let addr = running.addr();
    let expirations: Vec<time::OffsetDateTime> = (0..4)
        .map(|_| {
            let (status, body) = http_get_body(&addr, &format!("{API}/obj-105"));
            assert!(status.contains("200"), "{status}");
            let model: serde_json::Value = serde_json::from_str(&body).unwrap();
            let text = model["expiration_time"].as_str().unwrap().to_owned();
            let millis = &text[text.len() - 5..];
            assert!(
                millis.starts_with('.') && millis.ends_with('Z') && text.len() == 24,
                "the format (milliseconds, Z) is kept: {text}"
            );
            time::OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
                .unwrap()
        })
        .collect();
    // Recorded at 10:00:00 with expirations 10:05:00, :10, :10, :20.
    let first = expirations[0] - started;
    assert!(
        first >= time::Duration::seconds(299) && first <= time::Duration::seconds(302),
        "expires five minutes after the replay started, not {first}"
    );
    assert_eq!(expirations[1] - expirations[0], time::Duration::seconds(10));
    assert_eq!(expirations[2] - expirations[1], time::Duration::ZERO);
    assert_eq!(expirations[3] - expirations[2], time::Duration::seconds(10));
    let (_, unshifted) = http_get_body(&addr, &format!("{API}/obj-104"));
    assert!(
        !unshifted.contains("2026-11-02T09:35:00.000Z"),
        "every cassette moves: {unshifted}"
    );
}

#[test]
fn check_passes_the_shipped_cassettes() {
    let cassettes = shipped_cassettes();
    let (code, stdout, stderr) = run_to_exit(&["check", cassettes.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(stdout, "");
    assert!(stderr.contains("4 cassette(s)"), "{stderr}");
    assert!(stderr.contains("0 problem(s)"), "{stderr}");
}

#[test]
fn check_prints_one_line_per_problem_and_exits_1() {
    let folder = folder_with(&[]);
    let sub = folder.path().join("download-session");
    let good =
        std::fs::read_to_string(shipped_cassettes().join("download-session/obj-103.json")).unwrap();
    std::fs::write(sub.join("obj-103.json"), &good).unwrap();
    std::fs::write(sub.join("obj-1.json"), &good).unwrap();
    std::fs::write(sub.join("obj-2.json"), "{").unwrap();
    std::fs::write(
        sub.join("obj-3.json"),
        good.replace("obj-103", "obj-3").replace(
            "\"string\",\n            \"string\"",
            "\"Basic YWRtaW46c2VjcmV0\",\n            \"string\"",
        ),
    )
    .unwrap();
    let (code, stdout, _) = run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{stdout}");
    assert!(
        lines[0].starts_with(&format!(
            "{}: holds id \"obj-103\"",
            sub.join("obj-1.json").display()
        )),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with(&format!(
            "{}: EOF while parsing",
            sub.join("obj-2.json").display()
        )),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with(&format!("{}: ", sub.join("obj-3.json").display())),
        "{stdout}"
    );
    assert!(lines[2].contains("Basic"), "{stdout}");
    assert!(
        !stdout.contains("YWRtaW46c2VjcmV0"),
        "the secret itself is never printed: {stdout}"
    );
    let (missing, _, stderr) = run_to_exit(&["check", "/nonexistent/folder"]);
    assert_eq!(missing, 1);
    assert!(
        stderr.contains("cassette folder /nonexistent/folder"),
        "{stderr}"
    );
}

// Multi-threaded so the clients' connection tasks keep running while wait() blocks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_self_signed_serves_https_over_http2_and_http1() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let cassettes = shipped_cassettes();
    let running = Running::start(&replay_args(
        cassettes.to_str().unwrap(),
        &["--tls-self-signed", ca_dir.to_str().unwrap()],
    ));
    assert!(
        running.url().starts_with("https://"),
        "{}",
        running.ready_line
    );
    let addr = running.addr();
    let ca = ca_dir.join("dsvcr-ca.pem");
    assert!(std::fs::read_to_string(&ca)
        .unwrap()
        .starts_with("-----BEGIN CERTIFICATE-----"));
    let client = https_client(&ca);
    for host in [
        format!("127.0.0.1:{}", addr.rsplit(':').next().unwrap()),
        format!("localhost:{}", addr.rsplit(':').next().unwrap()),
    ] {
        let request = http::Request::get(format!("https://{host}{REST}/id:obj-103"))
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        let response = client.request(request).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.version(),
            http::Version::HTTP_2,
            "ALPN picks HTTP/2"
        );
    }
    let http1_only = https_client_with(&ca, false);
    let request = http::Request::get(format!("https://{addr}{API}/obj-103"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    let response = http1_only.request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_11);
    running.signal("TERM");
    assert_eq!(running.wait().0, 0);
}

#[tokio::test]
async fn tls_cert_and_key_files_serve_https() {
    let dir = tempfile::tempdir().unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let cert_path = dir.path().join("cert.pem");
    let key_path = dir.path().join("key.pem");
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    let cassettes = shipped_cassettes();
    let running = Running::start(&replay_args(
        cassettes.to_str().unwrap(),
        &[
            "--tls-cert",
            cert_path.to_str().unwrap(),
            "--tls-key",
            key_path.to_str().unwrap(),
        ],
    ));
    assert!(
        running.url().starts_with("https://"),
        "{}",
        running.ready_line
    );
    let addr = running.addr();
    let client = https_client(&cert_path);
    let request = http::Request::get(format!("https://{addr}{API}/obj-103"))
        .body(http_body_util::Full::new(bytes::Bytes::new()))
        .unwrap();
    assert_eq!(client.request(request).await.unwrap().status(), 200);
    drop(running);

    let (code, _, stderr) = run_to_exit(&[
        "replay",
        "--tls-cert",
        cert_path.to_str().unwrap(),
        "--tls-key",
        cert_path.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "dsvcr: --tls-key {}: no usable PEM private key",
            cert_path.display()
        )),
        "{stderr}"
    );
    let (usage, _, _) = run_to_exit(&["replay", "--tls-cert", cert_path.to_str().unwrap()]);
    assert_eq!(usage, 2, "--tls-cert needs --tls-key");
}

#[test]
fn sigterm_finishes_a_request_in_flight_then_exits_0_having_printed_one_line() {
    use std::io::Write;
    let cassettes = shipped_cassettes();
    let mut running = Running::start(&replay_args(cassettes.to_str().unwrap(), &[]));
    let addr = running.addr();
    let body = r#"{"download_session_id":"obj-103"}"#;
    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    write!(
        stream,
        "POST {REST}?~action=get HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\n\r\n{}",
        body.len(),
        &body[..10]
    )
    .unwrap();
    wait_in_flight(&addr, 1);
    running.signal("TERM");
    // A negative check, not a readiness wait: the process must still be running after
    // this window, finishing the request.
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        running.child.try_wait().unwrap().is_none(),
        "still finishing the request"
    );
    stream.write_all(&body.as_bytes()[10..]).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.contains(r#""id":"obj-103""#), "{response}");
    let rest = running.rest_of_stdout();
    let (code, stderr) = running.wait();
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(rest, "", "the ready line is the only line on stdout");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn record_writes_a_summary_of_what_it_recorded() {
    let fake = crate::fake_vcenter::FakeVcenter::http().await;
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let cassettes = dir.path().join("cassettes");
    let running = Running::start(&[
        "record",
        "--upstream",
        &fake.url(),
        "--listen",
        "127.0.0.1:0",
        "--cassettes",
        cassettes.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ]);
    let addr = running.addr();
    let answers = tokio::task::spawn_blocking(move || {
        let first = http_get(&addr, &format!("{API}/obj-1"));
        let second = http_get(&addr, &format!("{REST}/id:obj-1"));
        (first, second)
    })
    .await
    .unwrap();
    assert!(answers.0.starts_with("HTTP/1.1 200"), "{}", answers.0);
    assert!(answers.1.starts_with("HTTP/1.1 200"), "{}", answers.1);
    let (code, stderr) = running.stop();
    assert_eq!(code, 0, "{stderr}");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(written["mode"], "record");
    assert_eq!(written["recordings"], 2);
    assert_eq!(written["cassettes"], 1);
    assert_eq!(written["upstream_connections"], 1);
    assert_eq!(written["requests_by_form"]["A"], 1);
    assert_eq!(written["requests_by_form"]["D"], 1);
    assert_eq!(written["cassettes_written"], serde_json::json!(["obj-1"]));
    assert_eq!(written["missed_ids"], serde_json::json!([]));
}

/// Each malformed `--upstream` is a usage error naming the flag and the fault, and nothing is
/// connected to: neither the listener the URL nearly names nor any default port.
#[test]
fn a_malformed_upstream_exits_2_before_connecting_anywhere() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    // Where the old parser sent a port it could not read; checked when this test may bind it.
    let default_port = std::net::TcpListener::bind("127.0.0.1:80").ok();
    let cases = [
        (
            format!("http://127.0.0.1:{port}0"),
            format!("port \"{port}0\" is not a number from 1 to 65535"),
        ),
        (
            format!("http://127.0.0.1:{port}x"),
            format!("port \"{port}x\" is not a number from 1 to 65535"),
        ),
        (
            "http://127.0.0.1:0".to_owned(),
            "port \"0\" is not a number from 1 to 65535".to_owned(),
        ),
        (format!("http://:{port}"), "has no host".to_owned()),
        (
            format!("ftp://127.0.0.1:{port}"),
            "must start with https:// or http://".to_owned(),
        ),
        (
            format!("127.0.0.1:{port}"),
            "must start with https:// or http://".to_owned(),
        ),
        (
            format!("http://127.0.0.1:{port}/rest?x=1"),
            "must not have a query (?…)".to_owned(),
        ),
        (
            format!("http://127.0.0.1:{port}#top"),
            "must not have a fragment (#…)".to_owned(),
        ),
    ];
    for (url, reason) in cases {
        let (code, stdout, stderr) =
            run_to_exit(&["record", "--upstream", &url, "--listen", "127.0.0.1:0"]);
        assert_eq!(code, 2, "{url}: {stderr}");
        assert_eq!(stdout, "", "{url}: no ready line");
        let expected = format!("error: invalid value '{url}' for '--upstream <URL>': {reason}\n\nUsage: dsvcr record [OPTIONS] --upstream <URL>\n");
        assert!(stderr.starts_with(&expected), "{url}: {stderr}");
    }
    let secret = format!("http://lab-admin:Lab-Passw0rd-7e3f@127.0.0.1:{port}");
    let (code, _, stderr) = run_to_exit(&["record", "--upstream", &secret]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.starts_with(&format!("error: invalid value 'http://***@127.0.0.1:{port}' for '--upstream <URL>': must not hold a user name or password")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Lab-Passw0rd-7e3f") && !stderr.contains("lab-admin"),
        "{stderr}"
    );
    let accepted = listener.accept().map(|(_, peer)| peer);
    assert_eq!(
        accepted.map_err(|err| err.kind()),
        Err(std::io::ErrorKind::WouldBlock),
        "dsvcr connected to the listener"
    );
    if let Some(default_port) = default_port {
        default_port.set_nonblocking(true).unwrap();
        assert!(default_port.accept().is_err(), "dsvcr connected to port 80");
    }
}

/// A cassette file over `--max-cassette-bytes` stops replay before it is read, with the
/// file and its size named; `check` reports it.
#[test]
fn a_cassette_over_max_cassette_bytes_is_refused_naming_the_file() {
    let folder = shipped_cassettes();
    let file = folder.join("download-session/obj-103.json");
    let size = std::fs::metadata(&file).unwrap().len();
    let limit = (size - 1).to_string();
    let folder = folder.to_str().unwrap();
    let (code, stdout, stderr) = run_to_exit(&[
        "replay",
        "--cassettes",
        folder,
        "--max-cassette-bytes",
        &limit,
    ]);
    assert_eq!((code, stdout.as_str()), (1, ""), "{stderr}");
    let expected = format!(
        "{}: {size} bytes, over the limit of {limit} bytes for one cassette file (--max-cassette-bytes); it is not loaded",
        file.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    let (code, stdout, _) = run_to_exit(&["check", "--max-cassette-bytes", &limit, folder]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains(&format!("{}: {size} bytes, over the limit", file.display())),
        "{stdout}"
    );
}

/// Found by a hostile review: start-up errors quoted file names with raw control
/// characters, which a terminal obeys. They are escaped, in replay's error and in
/// `check`'s report alike.
#[test]
fn control_characters_in_file_names_are_escaped_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("download-session");
    std::fs::create_dir(&sub).unwrap();
    let shipped = shipped_cassettes().join("download-session/obj-103.json");
    std::fs::copy(&shipped, sub.join("evil\u{1b}[31m\nFAKE.json")).unwrap();
    let folder = dir.path().to_str().unwrap();
    let (code, _, stderr) = run_to_exit(&["replay", "--cassettes", folder]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("evil\\u{1b}[31m\\nFAKE.json"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    let (code, stdout, _) = run_to_exit(&["check", folder]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("evil\\u{1b}[31m\\nFAKE.json: holds id"),
        "{stdout:?}"
    );
    assert!(!stdout.contains('\u{1b}'), "{stdout:?}");
}
