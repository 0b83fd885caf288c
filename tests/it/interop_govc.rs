//! Interop: the real `govc` 0.24.2 over vim25 SOAP and REST, recorded through dsvcr from
//! govmomi's simulator, then replayed with the simulator stopped and *other* credentials
//! than recorded, with `GOVC_PERSIST_SESSION` set differently in the two phases.
//!
//! Each run drives the same nine commands (`COMMANDS`) three times: straight to the lab
//! (what govc prints there), through `dsvcr record` (the same), and against
//! `dsvcr replay --fail-on-miss` (what record printed, and dsvcr exits 0). govc's
//! `GOVC_DEBUG` traces say which SOAP calls it made and what each got; they also hold the
//! session cookies the lab handed out in record, which no cassette may hold.
//!
//! Needs govc at `target/interop/bin/govc` (`.ci/install-govc`) besides what `interop`
//! needs; skipped outside CI without them, a failure in CI (`CI` set).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::interop::{go_programs, start_dsvcr, Lab, LabInfo};
use crate::interop_govc_trace::{login_body_hashes, session_keys, soap_calls, SoapCall};
use crate::interop_soap::{no_misses, replay_misses, secrets_under, sha256_hex, Checks};
use crate::process::{run_to_exit, Running};

/// Replay's credentials: CI's own, never the lab's.
const OTHER_USER: &str = "ci-runner@vsphere.local";
const OTHER_PASSWORD: &str = "ci-only-Passw0rd-3f7a";

/// Stands for the phase's export folder in `COMMANDS`.
const EXPORT_DIR: &str = "EXPORT_DIR";

const COMMANDS: [&[&str]; 9] = [
    &["about"],
    &["library.ls"],
    &["library.ls", "harness-lib/*"],
    &["library.info", "harness-lib/harness-item"],
    &["library.info", "harness-lib"],
    &["library.info", "-l", "harness-lib/harness-item/disk.iso"],
    &["library.export", "harness-lib/harness-item", EXPORT_DIR],
    &["library.export", "harness-lib/harness-item/notes.txt", "-"],
    &["about"],
];
const LIBRARY_LS: usize = 1;
const INFO_LIBRARY: usize = 4;
const INFO_FILE: usize = 5;
const EXPORT_ITEM: usize = 6;
const EXPORT_FILE: usize = 7;

/// The SOAP calls govc 0.24.2 makes for each of `COMMANDS`, in order (the spec's §9, as
/// the direct runs confirm): with `persist`, a session cached by an earlier command is
/// checked (`currentSession`) before use; without, each command that needs SOAP logs in
/// and out. `stale_cache`: the first command finds a cached session the server does not
/// know, checks it and logs in afresh.
fn expected_soap(persist: bool, stale_cache: bool) -> Vec<Vec<&'static str>> {
    const CHECK: &str = "RetrieveProperties SessionManager.currentSession";
    const LOGIN: [&str; 2] = ["RetrieveServiceContent", "Login"];
    const NAME: &str = "RetrieveProperties Datastore.name";
    const SEARCH: [&str; 6] = [
        "RetrieveProperties Datastore.browser",
        "SearchDatastore_Task",
        "CreatePropertyCollector",
        "CreateFilter Task.info",
        "WaitForUpdatesEx",
        "DestroyPropertyCollector",
    ];
    let session: Vec<&str> = if persist { vec![CHECK] } else { LOGIN.to_vec() };
    let logout: &[&str] = if persist { &[] } else { &["Logout"] };
    let first: Vec<&str> = match (persist, stale_cache) {
        (true, true) => [&[CHECK][..], &LOGIN].concat(),
        _ => [&LOGIN[..], logout].concat(),
    };
    let later_about = [&session[..], logout].concat();
    let info_library = [&session[..], &[NAME], logout].concat();
    let info_file = [&session[..], &[NAME], &SEARCH, logout].concat();
    vec![
        first,
        vec![],
        vec![],
        vec![],
        info_library,
        info_file,
        vec![],
        vec![],
        later_about,
    ]
}

/// The real govc; `None` (with a message) when it is missing outside CI.
fn govc_binary() -> Option<PathBuf> {
    let govc = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/interop/bin/govc");
    if govc.is_file() {
        return Some(govc);
    }
    let why = format!(
        "{} is missing (bash .ci/install-govc builds it)",
        govc.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("the govc interop tests cannot be skipped in CI: {why}");
    }
    eprintln!("skipping the govc interop test: {why}");
    None
}

/// Where and how one phase runs govc.
#[derive(Clone)]
struct Phase {
    name: &'static str,
    /// The phase's own folder: debug traces, the export folder.
    dir: PathBuf,
    url: String,
    ca: PathBuf,
    home: PathBuf,
    user: String,
    password: String,
    /// Credentials in the URL's userinfo instead of `GOVC_USERNAME`/`GOVC_PASSWORD`.
    in_url: bool,
    persist: bool,
}

/// What one govc command did.
struct Outcome {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    soap: Vec<SoapCall>,
}

impl Outcome {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    fn soap_calls(&self) -> Vec<String> {
        self.soap.iter().map(|call| call.what.clone()).collect()
    }
}

impl Phase {
    fn export_dir(&self) -> PathBuf {
        self.dir.join("export")
    }

    fn debug_dir(&self, step: usize) -> PathBuf {
        self.dir.join("debug").join(step.to_string())
    }

    fn run_all(&self, govc: &Path) -> Vec<Outcome> {
        std::fs::create_dir_all(self.export_dir()).unwrap();
        (0..COMMANDS.len())
            .map(|step| self.run(govc, step))
            .collect()
    }

    fn run(&self, govc: &Path, step: usize) -> Outcome {
        let export = self.export_dir().display().to_string();
        let args = COMMANDS[step].iter().map(|arg| {
            if *arg == EXPORT_DIR {
                export.as_str()
            } else {
                arg
            }
        });
        let mut command = Command::new(govc);
        command
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GOVC_TLS_CA_CERTS", &self.ca)
            .env("GOVMOMI_HOME", &self.home)
            .env("GOVC_PERSIST_SESSION", self.persist.to_string())
            .env("GOVC_DEBUG", "true")
            .env("GOVC_DEBUG_PATH", self.debug_dir(step))
            .stdin(Stdio::null());
        if self.in_url {
            let (scheme, host) = self.url.split_once("://").unwrap();
            let user = self.user.replace('@', "%40");
            let password = &self.password;
            command.env("GOVC_URL", format!("{scheme}://{user}:{password}@{host}"));
        } else {
            command
                .env("GOVC_URL", &self.url)
                .env("GOVC_USERNAME", &self.user)
                .env("GOVC_PASSWORD", &self.password);
        }
        let output = command.output().unwrap();
        Outcome {
            code: output.status.code().expect("govc exited"),
            stdout: output.stdout,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            soap: soap_calls(&self.debug_dir(step)),
        }
    }
}

/// `library.export ITEM DIR`'s progress lines without what differs between runs: the
/// terminal's line rewrite, the time stamp, and the server's URL (`url`, spelled
/// `SERVER`).
fn export_progress(stdout: &str, url: &str) -> Vec<String> {
    stdout
        .lines()
        .map(|line| {
            let line = line.trim_start_matches('\r').trim_start_matches("\u{1b}[K");
            let line = match line.strip_prefix('[') {
                Some(stamped) => stamped.split_once("] ").map_or(line, |(_, rest)| rest),
                None => line,
            };
            line.replace(url, "SERVER")
        })
        .collect()
}

/// [`export_progress`] with each download URL but its file name spelled `…/`, sorted:
/// the lab and dsvcr hand out different endpoints for the same file, and the simulator
/// lists an item's files in no fixed order.
fn export_steps(stdout: &str, url: &str) -> Vec<String> {
    let mut steps: Vec<String> = export_progress(stdout, url)
        .into_iter()
        .map(|line| match line.split_once("Downloading ") {
            Some((lead, target)) => {
                let file = target.rsplit('/').next().unwrap();
                format!("{lead}Downloading …/{file}")
            }
            None => line,
        })
        .collect();
    steps.sort_unstable();
    steps
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

fn command_line(step: usize) -> String {
    format!("govc {}", COMMANDS[step].join(" "))
}

/// Every command exited 0, and the export wrote the lab's bytes.
fn check_ran(checks: &mut Checks, phase: &Phase, outcomes: &[Outcome], lab: &LabInfo) {
    for (step, outcome) in outcomes.iter().enumerate() {
        checks.that(outcome.code == 0, || {
            format!(
                "{}: `{}` exited {}: {}",
                phase.name,
                command_line(step),
                outcome.code,
                outcome.stderr.trim_end()
            )
        });
    }
    for (name, bytes) in &lab.harness.files {
        let written = std::fs::read_to_string(phase.export_dir().join(name)).unwrap_or_default();
        checks.eq(
            &format!("{}: the exported {name}", phase.name),
            &written,
            bytes,
        );
    }
    let notes = &lab
        .harness
        .files
        .iter()
        .find(|(name, _)| name == "notes.txt")
        .unwrap()
        .1;
    checks.eq(
        &format!(
            "{}: sha256 of `{}`'s stdout",
            phase.name,
            command_line(EXPORT_FILE)
        ),
        &sha256_hex(&outcomes[EXPORT_FILE].stdout),
        &sha256_hex(notes.as_bytes()),
    );
}

/// govc made the SOAP calls `expected` and each got a 200, but for a stale session's
/// check, which may also get the `NotAuthenticated` fault (500).
fn check_soap(checks: &mut Checks, phase: &Phase, outcomes: &[Outcome], expected: &[Vec<&str>]) {
    for (step, outcome) in outcomes.iter().enumerate() {
        let what = format!("{}: the SOAP calls of `{}`", phase.name, command_line(step));
        checks.eq(
            &what,
            &outcome.soap_calls(),
            &expected[step].iter().map(|s| s.to_string()).collect(),
        );
        for (n, call) in outcome.soap.iter().enumerate() {
            let stale_check = n == 0 && call.what.ends_with("currentSession");
            let accepted = call.status == "200 OK"
                || (stale_check && call.status == "500 Internal Server Error");
            checks.that(accepted, || {
                format!("{what}: {} got {}", call.what, call.status)
            });
        }
    }
}

/// How a round trip sets govc and dsvcr up.
struct Case {
    record_persist: bool,
    replay_persist: bool,
    /// Replay uses record's `GOVMOMI_HOME`, on the same port and with the same user name
    /// (govc keys its session cache by URL and user): govc offers the recorded session's
    /// cookie, which replay must not know.
    reuse_record_home: bool,
    require_session: bool,
    /// Replay passes its credentials in the URL's userinfo.
    credentials_in_url: bool,
}

/// What govc prints straight to the lab: the datastore's name where a library or file
/// names its datastore.
fn check_direct(checks: &mut Checks, direct: &Phase, live: &[Outcome], lab: &LabInfo) {
    check_ran(checks, direct, live, lab);
    check_soap(checks, direct, live, &expected_soap(direct.persist, false));
    let (library, item) = (&lab.harness.library, &lab.harness.item);
    let info_library = live[INFO_LIBRARY].text();
    checks.that(
        info_library.contains("    DatastoreID:    LocalDS_0\n"),
        || format!("direct: `library.info harness-lib` names the datastore: {info_library}"),
    );
    let datastore_path =
        format!("  Datastore Path:  [LocalDS_0] contentlib-{library}/{item}/disk.iso\n");
    let info_file = live[INFO_FILE].text();
    checks.that(info_file.ends_with(&datastore_path), || {
        format!("direct: `library.info -l` names the datastore: {info_file}")
    });
}

/// Through `dsvcr record`, govc prints what it prints straight to the lab and makes the
/// same SOAP calls.
fn check_record(checks: &mut Checks, record: (&Phase, &[Outcome]), direct: (&Phase, &[Outcome])) {
    let (record, recorded) = record;
    let (direct, live) = direct;
    for (step, (through, straight)) in recorded.iter().zip(live).enumerate() {
        let what = format!("record: `{}` prints as directly", command_line(step));
        match step {
            // The simulator lists libraries in no fixed order.
            LIBRARY_LS => checks.eq(
                &what,
                &sorted_lines(&through.text()),
                &sorted_lines(&straight.text()),
            ),
            EXPORT_ITEM => checks.eq(
                &what,
                &export_steps(&through.text(), &record.url),
                &export_steps(&straight.text(), &direct.url),
            ),
            _ => checks.eq(&what, &through.text(), &straight.text()),
        }
        let what = format!(
            "record: the SOAP calls of `{}` as directly",
            command_line(step)
        );
        checks.eq(&what, &through.soap_calls(), &straight.soap_calls());
    }
}

/// No file under `cassettes` holds the lab's password, a SOAP session key record's govc
/// was handed, the cookie's name, or the hash of a Login body; `dsvcr check` is clean.
fn check_secrets(
    checks: &mut Checks,
    record: (&Phase, &[Outcome]),
    cassettes: &Path,
    lab: &LabInfo,
) {
    let (record, recorded) = record;
    let keys = session_keys(&record.dir.join("debug"), &record.home);
    let logins = recorded
        .iter()
        .flat_map(|outcome| &outcome.soap)
        .filter(|call| call.what == "Login")
        .count();
    assert!(logins > 0, "record logged in over SOAP");
    checks.that(keys.len() >= logins, || {
        format!("record: {logins} logins, but only these session keys: {keys:?}")
    });
    let mut secrets = vec![
        ("the recorded password".to_owned(), lab.password.clone()),
        (
            "the SOAP cookie's name".to_owned(),
            "vmware_soap_session".to_owned(),
        ),
    ];
    secrets.extend(
        keys.iter()
            .map(|key| (format!("SOAP session key {key}"), key.clone())),
    );
    secrets.extend(
        login_body_hashes(&record.dir.join("debug"), &record.password)
            .into_iter()
            .map(|hash| (format!("the SHA-256 of a Login body ({hash})"), hash)),
    );
    checks.eq(
        "secrets in the cassettes",
        &secrets_under(cassettes, &secrets),
        &vec![],
    );
    let (code, problems, _) = run_to_exit(&["check", cassettes.to_str().unwrap()]);
    checks.that(code == 0, || {
        format!("dsvcr check exited {code}: {problems}")
    });
}

/// Offline, govc prints what it printed through record and makes the SOAP calls it makes
/// with its replay settings, each answered.
fn check_replay(
    checks: &mut Checks,
    replay: (&Phase, &[Outcome]),
    record: (&Phase, &[Outcome]),
    expected: &[Vec<&str>],
) {
    let (replay, replayed) = replay;
    let (record, recorded) = record;
    for (step, (offline, through)) in replayed.iter().zip(recorded).enumerate() {
        let what = format!("replay: `{}` prints as in record", command_line(step));
        if step == EXPORT_ITEM {
            checks.eq(
                &what,
                &export_progress(&offline.text(), &replay.url),
                &export_progress(&through.text(), &record.url),
            );
        } else {
            checks.eq(&what, &offline.text(), &through.text());
        }
    }
    check_soap(checks, replay, replayed, expected);
}

/// `dsvcr ARGS`; with `port`, listening there.
fn start_on(args: &[&str], port: Option<&str>) -> Running {
    match port {
        Some(port) => {
            let listen = format!("127.0.0.1:{port}");
            let mut all = args.to_vec();
            all.extend(["--listen", listen.as_str()]);
            Running::start_logging(&all, "info")
        }
        None => start_dsvcr(args),
    }
}

fn govc_round_trip(case: &Case) {
    let (Some(programs), Some(govc)) = (go_programs(), govc_binary()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cassettes = dir.path().join("cassettes");
    let cassettes_arg = cassettes.to_str().unwrap();
    let running_lab = Lab::start(programs, dir.path());
    let lab = running_lab.info.clone();
    let mut checks = Checks::default();

    // 0. Straight to the lab: what govc prints there.
    let direct = Phase {
        name: "direct",
        dir: dir.path().join("direct"),
        url: lab.url.clone(),
        ca: lab.ca.clone(),
        home: dir.path().join("direct/home"),
        user: lab.user.clone(),
        password: lab.password.clone(),
        in_url: false,
        persist: case.record_persist,
    };
    let live = direct.run_all(&govc);
    check_direct(&mut checks, &direct, &live, &lab);

    // 1. Record through dsvcr over HTTPS; govc trusts only dsvcr's CA.
    let record_tls = dir.path().join("record-tls");
    let recorder = start_dsvcr(&[
        "record",
        "--upstream",
        &lab.url,
        "--ca-cert",
        lab.ca.to_str().unwrap(),
        "--cassettes",
        cassettes_arg,
        "--tls-self-signed",
        record_tls.to_str().unwrap(),
    ]);
    let record = Phase {
        name: "record",
        dir: dir.path().join("record"),
        url: recorder.url(),
        ca: record_tls.join("dsvcr-ca.pem"),
        home: dir.path().join("record/home"),
        ..direct.clone()
    };
    let recorded = record.run_all(&govc);
    let record_addr = recorder.addr();
    let (code, log) = recorder.stop();
    checks.that(code == 0, || format!("dsvcr record exited {code}: {log}"));
    running_lab.stop();
    check_ran(&mut checks, &record, &recorded, &lab);
    check_record(&mut checks, (&record, &recorded), (&direct, &live));

    // 2. No secret of the recording on disk.
    check_secrets(&mut checks, (&record, &recorded), &cassettes, &lab);

    // 3. Replay, the lab gone, with other credentials; on record's port when govc is to
    //    find record's cached session.
    let replay_tls = dir.path().join("replay-tls");
    let replay_summary = dir.path().join("replay-summary.json");
    let mut args = vec![
        "replay",
        "--fail-on-miss",
        "--cassettes",
        cassettes_arg,
        "--summary",
        replay_summary.to_str().unwrap(),
        "--tls-self-signed",
        replay_tls.to_str().unwrap(),
    ];
    if case.require_session {
        args.push("--require-session");
    }
    let record_port = record_addr.rsplit(':').next().unwrap();
    let replayer = start_on(&args, case.reuse_record_home.then_some(record_port));
    let replay = Phase {
        name: "replay",
        dir: dir.path().join("replay"),
        url: replayer.url(),
        ca: replay_tls.join("dsvcr-ca.pem"),
        home: if case.reuse_record_home {
            record.home.clone()
        } else {
            dir.path().join("replay/home")
        },
        user: if case.reuse_record_home {
            lab.user.clone()
        } else {
            OTHER_USER.to_owned()
        },
        password: OTHER_PASSWORD.to_owned(),
        in_url: case.credentials_in_url,
        persist: case.replay_persist,
    };
    let replayed = replay.run_all(&govc);
    let (code, log) = replayer.stop();
    check_ran(&mut checks, &replay, &replayed, &lab);
    let expected = expected_soap(case.replay_persist, case.reuse_record_home);
    check_replay(
        &mut checks,
        (&replay, &replayed),
        (&record, &recorded),
        &expected,
    );
    checks.that(code == 0, || {
        format!("dsvcr replay --fail-on-miss exited {code}: {log}")
    });
    checks.eq(
        "replay summary",
        &replay_misses(&replay_summary),
        &no_misses(),
    );
    checks.finish("govc through record, then replay");
}

#[test]
fn govc_persisting_in_record_only_replays_with_other_credentials() {
    govc_round_trip(&Case {
        record_persist: true,
        replay_persist: false,
        reuse_record_home: false,
        require_session: true,
        credentials_in_url: false,
    });
}

#[test]
fn govc_persisting_in_replay_only_replays_with_other_credentials() {
    govc_round_trip(&Case {
        record_persist: false,
        replay_persist: true,
        reuse_record_home: false,
        require_session: false,
        credentials_in_url: true,
    });
}

#[test]
fn govc_logs_in_again_when_replay_does_not_know_its_cached_session() {
    govc_round_trip(&Case {
        record_persist: true,
        replay_persist: true,
        reuse_record_home: true,
        require_session: true,
        credentials_in_url: false,
    });
}
