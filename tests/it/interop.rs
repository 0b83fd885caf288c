//! Interop: record from govmomi's vCenter simulator, replay to govmomi's REST client.
//!
//! Needs Go and Debian's govmomi sources (`golang-go`, `golang-github-vmware-govmomi-dev`),
//! which `.ci/run` installs. Without them the test is skipped with a message, except in
//! CI (`CI` set), where it fails.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{run_to_exit, Running};
use crate::support::*;

const GOPATH: &str = "/usr/share/gocode";
const GOVMOMI: &str = "/usr/share/gocode/src/github.com/vmware/govmomi";

/// The built Go programs.
pub(crate) struct GoPrograms {
    pub(crate) lab: PathBuf,
    client: PathBuf,
    /// govc's export flow (`tests/interop/export`), used by `interop_export`.
    pub(crate) export: PathBuf,
}

/// Builds the lab, client and export programs once per test run; `None` (with a
/// message) when Go or govmomi is missing outside CI.
pub(crate) fn go_programs() -> Option<&'static GoPrograms> {
    static BUILT: OnceLock<Option<GoPrograms>> = OnceLock::new();
    BUILT.get_or_init(build_go_programs).as_ref()
}

fn build_go_programs() -> Option<GoPrograms> {
    let go_present = Command::new("go")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !go_present || !Path::new(GOVMOMI).is_dir() {
        let why =
            "Go or govmomi is missing (apt-get install golang-go golang-github-vmware-govmomi-dev)";
        if std::env::var_os("CI").is_some() {
            panic!("interop tests cannot be skipped in CI: {why}");
        }
        eprintln!("skipping the govmomi interop test: {why}");
        return None;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = root.join("target").join("interop");
    std::fs::create_dir_all(&out).unwrap();
    let build = |name: &str| {
        let binary = out.join(name);
        let output = Command::new("go")
            .args(["build", "-o"])
            .arg(&binary)
            .arg(format!("./tests/interop/{name}"))
            .current_dir(root)
            .env("GO111MODULE", "off")
            .env("GOPATH", GOPATH)
            .env("GOCACHE", out.join("go-cache"))
            .env("GOFLAGS", "")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "go build {name} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        binary
    };
    // In parallel: even with every package cached, each `go build` takes most of a
    // second to check and link.
    std::thread::scope(|scope| {
        let lab = scope.spawn(|| build("lab"));
        let client = scope.spawn(|| build("client"));
        let export = build("export");
        Some(GoPrograms {
            lab: lab.join().unwrap(),
            client: client.join().unwrap(),
            export,
        })
    })
}

/// What the lab printed about itself.
#[derive(Clone)]
pub(crate) struct LabInfo {
    pub(crate) url: String,
    pub(crate) user: String,
    pub(crate) password: String,
    pub(crate) ca: PathBuf,
    sessions: Vec<String>,
    /// `harness-lib`/`harness-item`, for govc's export flow.
    pub(crate) harness: Harness,
}

/// The library and item the lab made for govc's export flow, and its files' bytes.
#[derive(Clone)]
pub(crate) struct Harness {
    pub(crate) library: String,
    pub(crate) item: String,
    /// File name → content, sorted by name.
    pub(crate) files: Vec<(String, String)>,
}

/// The running lab (govmomi's simulator).
pub(crate) struct Lab {
    child: Child,
    pub(crate) info: LabInfo,
}

impl Lab {
    pub(crate) fn start(programs: &GoPrograms, dir: &Path) -> Lab {
        let ca = dir.join("lab-ca.pem");
        let mut child = Command::new(&programs.lab)
            .arg("-ca-out")
            .arg(&ca)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let described: Value =
            serde_json::from_str(&line).unwrap_or_else(|err| panic!("lab printed {line:?}: {err}"));
        let text = |key: &str| described[key].as_str().unwrap().to_owned();
        let info = LabInfo {
            url: text("url"),
            user: text("user"),
            password: text("password"),
            ca,
            sessions: described["sessions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| id.as_str().unwrap().to_owned())
                .collect(),
            harness: Harness {
                library: described["harness"]["library"].as_str().unwrap().to_owned(),
                item: described["harness"]["item"].as_str().unwrap().to_owned(),
                files: described["harness"]["files"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(name, bytes)| (name.clone(), bytes.as_str().unwrap().to_owned()))
                    .collect(),
            },
        };
        Lab { child, info }
    }

    /// Stops the simulator; what it described stays usable.
    pub(crate) fn stop(mut self) -> LabInfo {
        terminate(&mut self.child);
        self.info.clone()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `dsvcr ARGS --listen 127.0.0.1:0`, logging at info.
pub(crate) fn start_dsvcr(args: &[&str]) -> Running {
    let mut all = args.to_vec();
    all.extend(["--listen", "127.0.0.1:0"]);
    Running::start_logging(&all, "info")
}

fn terminate(child: &mut Child) -> i32 {
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().unwrap_or(-1);
        }
        assert!(Instant::now() < deadline, "process did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs govmomi's client against `url` for `ids`; returns its exit code, one JSON value
/// per id, and what it wrote on stderr.
fn run_client(
    programs: &GoPrograms,
    url: &str,
    lab: &LabInfo,
    ids: &[&str],
) -> (i32, Vec<Value>, String) {
    let output: Output = Command::new(&programs.client)
        .args(["-url", url, "-user", &lab.user, "-password", &lab.password])
        .args(ids)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let lines = stdout
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.code().unwrap(), lines, stderr)
}

fn curl(args: &[&str]) -> (u16, String) {
    let output = Command::new("curl")
        .args(["-s", "-o", "-", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    let text = String::from_utf8(output.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_owned())
}

#[test]
fn govmomi_records_through_dsvcr_and_replays_offline() {
    let Some(programs) = go_programs() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cassettes = dir.path().join("cassettes");
    let cassettes_arg = cassettes.to_str().unwrap();
    let running_lab = Lab::start(programs, dir.path());
    let lab = running_lab.info.clone();
    let unknown = "0f0f0f0f-dead-beef-0000-000000000000";
    let mut ids: Vec<&str> = lab.sessions.iter().map(String::as_str).collect();
    ids.push(unknown);

    // 1. Record: govmomi's client through dsvcr to the simulator.
    let recorder = start_dsvcr(&[
        "record",
        "--upstream",
        &lab.url,
        "--ca-cert",
        lab.ca.to_str().unwrap(),
        "--cassettes",
        cassettes_arg,
    ]);
    let (code, recorded, stderr) = run_client(programs, &recorder.url(), &lab, &ids);
    assert_eq!(code, 3, "one id is unknown: {recorded:?} {stderr}");
    assert_eq!(recorded.len(), ids.len());
    for (line, id) in recorded.iter().zip(&ids) {
        assert_eq!(line["id"], *id);
        assert_eq!(line["found"], *id != unknown, "{line}");
    }
    // The simulator answers forms B and C with an empty 200: passed through, not recorded,
    // and since a get's 200 should hold a session, a problem that fails the run (exit 4).
    let login = curl(&[
        "-X",
        "POST",
        "-u",
        &format!("{}:{}", lab.user, lab.password),
        "-H",
        "vmware-use-header-authn: true",
        &format!("{}/rest/com/vmware/cis/session", recorder.url()),
    ]);
    assert_eq!(login.0, 200, "{login:?}");
    let token: String = serde_json::from_str::<Value>(&login.1).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let session_header = format!("vmware-api-session-id: {token}");
    let form_b = curl(&[
        "-X",
        "POST",
        "-H",
        &session_header,
        &format!("{}{REST}/id:{}?~action=get", recorder.url(), ids[0]),
    ]);
    assert_eq!(
        form_b,
        (200, String::new()),
        "the simulator has no get action"
    );
    let (code, log) = recorder.stop();
    assert_eq!(code, i32::from(dsvcr::EXIT_NOT_RECORDED), "{log}");
    assert!(
        log.contains(&format!("ERROR dsvcr::record: not recorded: cannot decode the 200 OK answer as what download_session.get answers: the body is empty operation=\"download_session.get\" key={}", ids[0])),
        "{log}"
    );
    assert!(
        log.contains(&format!("INFO dsvcr::record: not recorded: the 404 Not Found answer is not a vAPI error: the body is neither JSON nor XML (it starts with \"404 page not found\\n\") operation=\"download_session.get\" key={unknown}")),
        "{log}"
    );
    assert!(
        log.contains(
            "dsvcr: 1 answer(s) could not be recorded (see not_recorded in the run summary)"
        ),
        "{log}"
    );
    running_lab.stop();

    // 2. Replay with the lab gone, sessions required, to the same client.
    let replayer = start_dsvcr(&["replay", "--require-session", "--cassettes", cassettes_arg]);
    let (code, replayed, stderr) = run_client(programs, &replayer.url(), &lab, &ids);
    assert_eq!(code, 3, "{replayed:?} {stderr}");
    for (live, offline) in recorded.iter().zip(&replayed) {
        assert_eq!(live["found"], offline["found"]);
        assert_eq!(
            live["session"], offline["session"],
            "the same decoded session"
        );
    }

    // 4. Forms the simulator cannot answer, from the recorded cassettes, with curl.
    let login = curl(&[
        "-X",
        "POST",
        "-u",
        "ci:ci-password",
        &format!("{}/rest/com/vmware/cis/session", replayer.url()),
    ]);
    let replay_token = serde_json::from_str::<Value>(&login.1).unwrap()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let header = format!("vmware-api-session-id: {replay_token}");
    let id = ids[0];
    let expected = recorded[0]["session"].clone();
    let by_id = format!("{}{REST}/id:{id}?~action=get", replayer.url());
    let collection = format!("{}{REST}?~action=get", replayer.url());
    let json_body = format!("{{\"download_session_id\":\"{id}\"}}");
    let by_query = format!("{collection}&download_session_id={id}");
    let json_forms: [Vec<&str>; 3] = [
        vec!["-X", "POST", "-H", &header, &by_id],
        vec![
            "-X",
            "POST",
            "-H",
            &header,
            "-H",
            "content-type: application/json",
            "--data",
            &json_body,
            &collection,
        ],
        vec!["-X", "POST", "-H", &header, &by_query],
    ];
    for args in json_forms {
        let (status, body) = curl(&args);
        assert_eq!(status, 200, "{args:?}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["value"],
            expected
        );
    }
    let xml_body = XML_INPUT.replace("obj-103", id);
    let (status, xml) = curl(&[
        "-X",
        "POST",
        "-H",
        &header,
        "-H",
        "content-type: application/xml",
        "--data",
        &xml_body,
        &collection,
    ]);
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.starts_with("<?xml version=\"1.0\" ?>\n<ns0:Get-Result"),
        "{xml}"
    );
    assert!(xml.contains(&format!("<id>{id}</id>")), "{xml}");
    let (status, _) = curl(&[&format!("{}{REST}/id:{id}", replayer.url())]);
    assert_eq!(
        status, 401,
        "--require-session refuses callers without a token"
    );
    let (code, log) = replayer.stop();
    assert_eq!(code, 0, "{log}");

    // 3. The recorded folder is clean and holds no password or token.
    let (code, problems, _) = run_to_exit(&["check", cassettes_arg]);
    assert_eq!(code, 0, "{problems}");
    let files = cassette_files(&cassettes);
    assert_eq!(
        files.len(),
        lab.sessions.len(),
        "one cassette per known session"
    );
    for (name, json) in &files {
        let text = json.to_string();
        for secret in [lab.password.as_str(), token.as_str()] {
            assert!(!text.contains(secret), "{name} holds a secret");
        }
    }
}
