//! The `dsvcr` binary: ready line, signals, exit codes and startup errors.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn dsvcr(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_dsvcr"));
    command
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs a command that is expected to exit quickly; returns (exit code, stdout, stderr).
fn run_to_exit(args: &[&str]) -> (i32, String, String) {
    let output = dsvcr(args).output().unwrap();
    (
        output.status.code().expect("exited, not signalled"),
        String::from_utf8(output.stdout).unwrap(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// A dsvcr process that has printed its ready line.
struct Running {
    child: Child,
    ready_line: String,
}

impl Running {
    fn start(args: &[&str]) -> Running {
        let mut child = dsvcr(args).spawn().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut ready_line = String::new();
        stdout.read_line(&mut ready_line).unwrap();
        Running { child, ready_line }
    }

    fn addr(&self) -> String {
        self.ready_line
            .trim_end()
            .strip_prefix("dsvcr listening on http://")
            .unwrap_or_else(|| panic!("unexpected ready line {:?}", self.ready_line))
            .to_owned()
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    fn wait(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let mut stderr = String::new();
                self.child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut stderr)
                    .unwrap();
                return (status.code().expect("exited, not killed"), stderr);
            }
            assert!(Instant::now() < deadline, "dsvcr did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn http_get(addr: &str, path: &str) -> String {
    use std::io::Write;
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

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
            "is not a SHA-256 thumbprint",
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
