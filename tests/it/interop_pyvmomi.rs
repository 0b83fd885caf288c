//! Interop: pyvmomi 9.1.1.0 over vim25 SOAP (`tests/interop/python/pyvmomi_check.py`:
//! `SmartConnect`, `content.about.fullName`, the datastores' names through a container
//! view, `Disconnect`), straight to govmomi's simulator, through `dsvcr record`, then
//! against `dsvcr replay --fail-on-miss --require-session` with the simulator stopped and
//! other credentials than recorded: the same report each time.
//!
//! Needs what `interop` needs (Go and Debian's govmomi, for the lab) and pyvmomi in the
//! venv `.ci/install-python-sdk` makes; skipped outside CI without them, a failure in CI
//! (`CI` set).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};

use crate::interop::{go_programs, start_dsvcr, Lab};
use crate::interop_soap::{no_misses, replay_misses, secrets_under, Checks};
use crate::process::run_to_exit;

const OTHER_USER: &str = "ci-runner@vsphere.local";
const OTHER_PASSWORD: &str = "ci-only-Passw0rd-3f7a";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The venv's interpreter if it imports pyvmomi; `None` (with a message) otherwise,
/// outside CI.
fn pyvmomi_python() -> Option<PathBuf> {
    let python = root().join("target/interop/python-venv/bin/python");
    let imports = Command::new(&python)
        .args(["-c", "import pyVmomi"])
        .output()
        .is_ok_and(|output| output.status.success());
    if imports {
        return Some(python);
    }
    let why = format!(
        "{} cannot import pyVmomi (bash .ci/install-python-sdk installs it)",
        python.display()
    );
    if std::env::var_os("CI").is_some() {
        panic!("the pyvmomi interop test cannot be skipped in CI: {why}");
    }
    eprintln!("skipping the pyvmomi interop test: {why}");
    None
}

/// Who connects, where, trusting which CA.
struct Connection<'a> {
    addr: &'a str,
    user: &'a str,
    password: &'a str,
    ca: &'a Path,
}

/// Runs the pyvmomi script; its report, or why it failed. With `cookie_out`, the SOAP
/// session cookie pyvmomi held is written there.
fn run_pyvmomi(python: &Path, to: &Connection, cookie_out: Option<&Path>) -> Result<Value, String> {
    let (host, port) = to.addr.rsplit_once(':').unwrap();
    let mut command = Command::new(python);
    command
        .arg(root().join("tests/interop/python/pyvmomi_check.py"))
        .args(["--host", host, "--port", port])
        .args(["--user", to.user, "--password", to.password])
        .arg("--ca")
        .arg(to.ca)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    if let Some(file) = cookie_out {
        command.arg("--cookie-out").arg(file);
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr.trim_end().lines().last().unwrap_or_default();
        return Err(format!("the pyvmomi script failed: {last}\n{stderr}"));
    }
    serde_json::from_str(&stdout).map_err(|err| format!("{err}: {stdout}"))
}

/// The session key in a `Set-Cookie` value pyvmomi kept (`vmware_soap_session=KEY; HttpOnly`).
fn cookie_key(cookie: &str) -> String {
    let pair = cookie.split(';').next().unwrap();
    let key = pair
        .strip_prefix("vmware_soap_session=")
        .unwrap_or_else(|| panic!("not a SOAP session cookie: {cookie}"));
    key.trim_matches('"').to_owned()
}

fn ok(call: &[&str]) -> Value {
    let mut call: Vec<&str> = call.to_vec();
    call.push("ok");
    json!(call)
}

#[test]
fn pyvmomi_records_through_dsvcr_and_replays_offline_with_other_credentials() {
    let (Some(programs), Some(python)) = (go_programs(), pyvmomi_python()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let cassettes = dir.path().join("cassettes");
    let cassettes_arg = cassettes.to_str().unwrap();
    let running_lab = Lab::start(programs, dir.path());
    let lab = running_lab.info.clone();
    let mut checks = Checks::default();

    // 0. Straight to the lab.
    let lab_addr = lab.url.strip_prefix("https://").unwrap();
    let direct = Connection {
        addr: lab_addr,
        user: &lab.user,
        password: &lab.password,
        ca: &lab.ca,
    };
    let live = run_pyvmomi(&python, &direct, None).unwrap_or_else(|why| panic!("direct: {why}"));
    assert_eq!(
        live,
        json!({
            "about": "VMware vCenter Server 6.5.0 build-5973321",
            "datastores": ["LocalDS_0"],
            "calls": [
                ok(&["ServiceInstance", "RetrieveServiceContent"]),
                ok(&["SessionManager", "Login"]),
                ok(&["ServiceInstance", "RetrieveServiceContent"]),
                ok(&["ViewManager", "CreateContainerView"]),
                ok(&["ContainerView", "Fetch", "view"]),
                ok(&["Datastore", "Fetch", "name"]),
                ok(&["ContainerView", "DestroyView"]),
                ok(&["ServiceInstance", "RetrieveServiceContent"]),
                ok(&["SessionManager", "Logout"]),
            ],
        })
    );

    // 1. Record through dsvcr over HTTPS; pyvmomi trusts only dsvcr's CA.
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
    let record_addr = recorder.addr();
    let record_ca = record_tls.join("dsvcr-ca.pem");
    let through = Connection {
        addr: &record_addr,
        ca: &record_ca,
        ..direct
    };
    let cookie_file = dir.path().join("record-cookie");
    let recorded = run_pyvmomi(&python, &through, Some(&cookie_file));
    let (code, log) = recorder.stop();
    running_lab.stop();
    let recorded = recorded.unwrap_or_else(|why| panic!("record: {why}"));
    checks.eq("record: the report as directly", &recorded, &live);
    checks.that(code == 0, || format!("dsvcr record exited {code}: {log}"));

    // 2. No secret of the recording on disk.
    let key = cookie_key(&std::fs::read_to_string(&cookie_file).unwrap());
    let secrets = [
        ("the recorded password".to_owned(), lab.password.clone()),
        (
            "the SOAP cookie's name".to_owned(),
            "vmware_soap_session".to_owned(),
        ),
        (format!("SOAP session key {key}"), key),
    ];
    checks.eq(
        "secrets in the cassettes",
        &secrets_under(&cassettes, &secrets),
        &vec![],
    );
    let (code, problems, _) = run_to_exit(&["check", cassettes_arg]);
    checks.that(code == 0, || {
        format!("dsvcr check exited {code}: {problems}")
    });

    // 3. Replay, the lab gone, with other credentials.
    let replay_tls = dir.path().join("replay-tls");
    let replay_summary = dir.path().join("replay-summary.json");
    let replayer = start_dsvcr(&[
        "replay",
        "--fail-on-miss",
        "--require-session",
        "--cassettes",
        cassettes_arg,
        "--summary",
        replay_summary.to_str().unwrap(),
        "--tls-self-signed",
        replay_tls.to_str().unwrap(),
    ]);
    let replay_addr = replayer.addr();
    let replay_ca = replay_tls.join("dsvcr-ca.pem");
    let offline = Connection {
        addr: &replay_addr,
        user: OTHER_USER,
        password: OTHER_PASSWORD,
        ca: &replay_ca,
    };
    let replayed = run_pyvmomi(&python, &offline, None);
    let (code, log) = replayer.stop();
    match replayed {
        Ok(report) => checks.eq("replay: the report as in record", &report, &recorded),
        Err(why) => checks.that(false, || format!("replay: {why}")),
    }
    checks.that(code == 0, || {
        format!("dsvcr replay --fail-on-miss exited {code}: {log}")
    });
    checks.eq(
        "replay summary",
        &replay_misses(&replay_summary),
        &no_misses(),
    );
    checks.finish("pyvmomi through record, then replay");
}
