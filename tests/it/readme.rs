//! The examples of README.md and of the user guide (`docs/*.md`), run as written against the
//! built binary and the shipped cassettes: `console` blocks through trycmd, shell blocks that
//! need a server through bash. A change to an example that breaks it fails here, and a block
//! no test runs fails [`every_documented_example_is_run_by_a_test`].

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::process::*;
use crate::raw_http::http_get;

const MANIFEST_DIR: &str = env!("CARGO_MANIFEST_DIR");
/// The address the examples are written for: `replay`'s default `--listen`.
const DEFAULT_URL: &str = "http://127.0.0.1:8080";

/// A fenced block: the file it is in, the heading it sits under, its info string and its text.
#[derive(Debug)]
struct Block {
    file: String,
    heading: String,
    lang: String,
    text: String,
}

/// README.md and every `docs/*.md`, as paths relative to the repository, README.md first.
pub(crate) fn documents() -> Vec<String> {
    let mut docs: Vec<String> = std::fs::read_dir(Path::new(MANIFEST_DIR).join("docs"))
        .expect("docs/ reads")
        .map(|entry| entry.expect("docs/ lists").file_name())
        .filter_map(|name| name.to_str().map(str::to_owned))
        .filter(|name| name.ends_with(".md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    docs.insert(0, "README.md".to_owned());
    docs
}

/// The text of `file` (relative to the repository).
pub(crate) fn document(file: &str) -> String {
    let path = Path::new(MANIFEST_DIR).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

fn blocks() -> Vec<Block> {
    documents()
        .iter()
        .flat_map(|file| blocks_in(file, &document(file)))
        .collect()
}

fn blocks_in(file: &str, text: &str) -> Vec<Block> {
    let mut blocks = Vec::new();
    let mut heading = String::new();
    let mut open: Option<Block> = None;
    for line in text.lines() {
        match open.as_mut() {
            Some(_) if line == "```" => blocks.extend(open.take()),
            Some(block) => {
                block.text.push_str(line);
                block.text.push('\n');
            }
            None if line.starts_with("```") => {
                open = Some(Block {
                    file: file.to_owned(),
                    heading: heading.clone(),
                    lang: line[3..].to_owned(),
                    text: String::new(),
                });
            }
            None if line.starts_with('#') => heading = line.to_owned(),
            None => {}
        }
    }
    assert!(open.is_none(), "{file} ends inside a fenced block");
    blocks
}

/// The `nth` block in language `lang` under `heading` (e.g. `"## Replaying in CI"`) of
/// `file` (`"README.md"`, `"docs/recording.md"`).
pub(crate) fn doc_block(file: &str, heading: &str, lang: &str, nth: usize) -> String {
    blocks_in(file, &document(file))
        .into_iter()
        .filter(|block| block.heading == heading && block.lang == lang)
        .nth(nth)
        .unwrap_or_else(|| panic!("{file} has no {lang} block {nth} under {heading:?}"))
        .text
}

/// The `nth` block in language `lang` under `heading` of README.md.
pub(crate) fn readme_block(heading: &str, lang: &str, nth: usize) -> String {
    doc_block("README.md", heading, lang, nth)
}

/// Every block of every document, and the test that runs it; a new example must be added here
/// with its test.
#[test]
fn every_documented_example_is_run_by_a_test() {
    let known: &[(&str, &str, &str, &str)] = &[
        (
            "README.md",
            "## Install",
            "sh",
            "tool::the_install_commands_install_this_package",
        ),
        (
            "README.md",
            "## The two commands",
            "sh",
            "the_two_commands_and_the_curl_example",
        ),
        (
            "README.md",
            "## The two commands",
            "sh",
            "the_two_commands_and_the_curl_example",
        ),
        ("README.md", "## Replaying in CI", "sh", "the_ci_recipe_*"),
        (
            "README.md",
            "## Recording from a lab vCenter",
            "sh",
            "the_record_example_against_the_fake_vcenter",
        ),
        (
            "docs/architecture.md",
            "# Architecture",
            "text",
            "a drawing, not a command",
        ),
        (
            "docs/cassettes.md",
            "# Cassettes",
            "json",
            "the format, not a command",
        ),
        (
            "docs/cassettes.md",
            "## Journals",
            "text",
            "journal::the_documented_journal_is_what_record_writes",
        ),
        (
            "docs/cassettes.md",
            "## Checking cassettes",
            "console",
            "the_console_examples (trycmd)",
        ),
        (
            "docs/cassettes.md",
            "## Inspecting cassettes",
            "console",
            "the_console_examples (trycmd)",
        ),
        (
            "docs/clients.md",
            "## Offline sessions",
            "sh",
            "the_session_example",
        ),
        (
            "docs/clients.md",
            "## govc and pyvmomi (vim25 SOAP)",
            "sh",
            "interop_govc: govc recorded through dsvcr in CI",
        ),
        (
            "docs/clients.md",
            "## govc and pyvmomi (vim25 SOAP)",
            "sh",
            "interop_govc: govc against replay with other credentials in CI",
        ),
        (
            "docs/clients.md",
            "## govc and pyvmomi (vim25 SOAP)",
            "python",
            "interop_pyvmomi: tests/interop/python/pyvmomi_check.py makes these calls",
        ),
        (
            "docs/clients.md",
            "## VMware's Python SDK",
            "sh",
            "interop_python: the SDK run against dsvcr in CI",
        ),
        (
            "docs/clients.md",
            "## VMware's Python SDK",
            "python",
            "interop_python: tests/interop/python/sdk_check.py makes these calls",
        ),
        (
            "docs/clients.md",
            "## VMware's Python SDK",
            "python",
            "interop_python: tests/interop/python/sdk_check.py makes these calls",
        ),
        (
            "docs/command-line.md",
            "# Command line",
            "text",
            "the synopsis, not a command",
        ),
        (
            "docs/command-line.md",
            "## Logs",
            "text",
            "tool::the_access_log_has_one_line_per_request_with_its_outcome",
        ),
        (
            "docs/command-line.md",
            "## Completions and the man page",
            "sh",
            "tool::the_completions_and_man_page_example",
        ),
        (
            "docs/command-line.md",
            "## Exit codes",
            "console",
            "the_console_examples (trycmd)",
        ),
        (
            "docs/operations.md",
            "### Volatile inputs",
            "sh",
            "tape_ignore::the_volatile_inputs_example",
        ),
        (
            "docs/protocols.md",
            "## vAPI JSON-RPC",
            "text",
            "a request's shape, not a command",
        ),
        (
            "docs/protocols.md",
            "## vim25 SOAP",
            "json",
            "soap::soap_calls_recorded_from_the_lab_replay_to_other_credentials checks this key",
        ),
        (
            "docs/protocols.md",
            "## vim25 SOAP",
            "text",
            "soap::an_unrecorded_soap_call_is_a_fault_named_in_the_summary checks this fault",
        ),
        (
            "docs/replaying-in-ci.md",
            "## CI jobs",
            "yaml",
            "the_ci_jobs_install_dsvcr_and_run_the_readme_recipe",
        ),
        (
            "docs/replaying-in-ci.md",
            "## CI jobs",
            "yaml",
            "the_ci_jobs_install_dsvcr_and_run_the_readme_recipe",
        ),
        (
            "docs/replaying-in-ci.md",
            "## Health, reset and the run summary",
            "sh",
            "the_health_and_reset_example",
        ),
        (
            "docs/replaying-in-ci.md",
            "## Health, reset and the run summary",
            "json",
            "cli::the_summary_file_describes_the_run",
        ),
        (
            "docs/tls-trust.md",
            "## Making a client trust dsvcr",
            "sh",
            "the_tls_trust_example",
        ),
    ];
    let found: Vec<(String, String, String)> = blocks()
        .into_iter()
        .map(|block| (block.file, block.heading, block.lang))
        .collect();
    let expected: Vec<(String, String, String)> = known
        .iter()
        .map(|(file, heading, lang, _)| (file.to_string(), heading.to_string(), lang.to_string()))
        .collect();
    assert_eq!(
        found, expected,
        "the fenced blocks of README.md or docs/ changed: give a new example a test and list it here"
    );
}

/// The CI jobs of "Replaying in CI" install dsvcr as the README says and run the README's
/// recipe, line for line, as their last step.
#[test]
fn the_ci_jobs_install_dsvcr_and_run_the_readme_recipe() {
    let recipe = readme_block("## Replaying in CI", "sh", 0);
    let install = readme_block("## Install", "sh", 0);
    assert!(
        install.contains("cargo install --locked --path ."),
        "{install}"
    );
    assert!(
        document("README.md").contains("`cargo install --locked --git URL dsvcr`"),
        "the README names the git install"
    );
    for nth in 0..2 {
        let job = doc_block("docs/replaying-in-ci.md", "## CI jobs", "yaml", nth);
        let installs: Vec<&str> = job
            .lines()
            .filter(|line| line.contains("cargo install"))
            .map(str::trim)
            .collect();
        let installs: Vec<&str> = installs
            .iter()
            .map(|line| line.trim_start_matches("- ").trim_start_matches("run: "))
            .collect();
        assert_eq!(
            installs,
            ["cargo install --locked --git \"$DSVCR_GIT\" dsvcr"],
            "{job}"
        );
        assert_eq!(literal_block_at_end(&job), recipe, "job {nth}:\n{job}");
    }
}

/// The YAML literal block (`|`) that ends `yaml`, dedented.
fn literal_block_at_end(yaml: &str) -> String {
    let lines: Vec<&str> = yaml.lines().collect();
    let opener = lines
        .iter()
        .rposition(|line| line.trim_end().ends_with('|'))
        .expect("a literal block");
    let body = &lines[opener + 1..];
    let indent = body[0].len() - body[0].trim_start().len();
    body.iter()
        .map(|line| format!("{}\n", line.get(indent..).unwrap_or("")))
        .collect()
}

/// The replay command of "The two commands", run in the repository, on a free port.
fn start_replay_as_documented() -> Running {
    let commands = readme_block("## The two commands", "sh", 0);
    let mut lines = commands
        .lines()
        .map(|line| line.split('#').next().unwrap().trim());
    let replay = lines.next().unwrap();
    let args = replay
        .strip_prefix("cargo run --release -- ")
        .unwrap_or_else(|| panic!("not a cargo run of dsvcr: {replay}"));
    assert_eq!(lines.next(), Some("cargo test"), "{commands}");
    assert_eq!(lines.next(), None, "{commands}");
    assert!(
        commands.contains(&format!("serve the shipped cassettes on {DEFAULT_URL}")),
        "{commands}"
    );
    let (_, help, _) = run_to_exit(&["replay", "--help"]);
    let default = DEFAULT_URL.strip_prefix("http://").unwrap();
    assert!(help.contains(&format!("[default: {default}]")), "{help}");
    let mut args: Vec<&str> = args.split_whitespace().collect();
    args.extend(["--listen", "127.0.0.1:0"]);
    Running::start_in(Path::new(MANIFEST_DIR), &args)
}

/// Marks the end of each command's output in [`run_example`]'s script.
const END_OF_OUTPUT: &str = "<<end of output>>";

/// Runs a shell example against `url` (for the default address): each command, then the
/// `# ` lines after it as its whole output (`…` elides part of a line). A command with no
/// such lines must print nothing.
fn run_example(example: &str, url: &str) {
    run_example_replacing(example, &[(DEFAULT_URL, url)]);
}

/// [`run_example`], with each `(written, actual)` replaced in the commands.
fn run_example_replacing(example: &str, replacements: &[(&str, &str)]) {
    let mut script = String::from("set -eu\n");
    let mut expected: Vec<Vec<&str>> = Vec::new();
    for line in example.lines() {
        match line.strip_prefix("# ") {
            Some(output) => expected
                .last_mut()
                .expect("output after a command")
                .push(output),
            None => {
                let line = replacements
                    .iter()
                    .fold(line.to_owned(), |line, (from, to)| line.replace(from, to));
                script.push_str(&line);
                script.push_str(&format!("\nprintf '\\n{END_OF_OUTPUT}\\n'\n"));
                expected.push(Vec::new());
            }
        }
    }
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .output()
        .unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{script}\n{stdout}\n{stderr}");
    let actual: Vec<&str> = stdout.split(END_OF_OUTPUT).collect();
    assert_eq!(actual.len(), expected.len() + 1, "{stdout}");
    for ((command, actual), expected) in example
        .lines()
        .filter(|line| !line.starts_with("# "))
        .zip(actual)
        .zip(expected)
    {
        let actual = actual.trim_matches('\n');
        let expected = expected.join("\n").replace('…', "[..]");
        let matched = snapbox::Assert::new().try_eq(None, actual.into(), expected.into());
        if let Err(err) = matched {
            panic!("README example `{command}`:\n{err}");
        }
    }
}

#[test]
fn the_two_commands_and_the_curl_example() {
    let running = start_replay_as_documented();
    run_example(
        &readme_block("## The two commands", "sh", 1),
        &running.url(),
    );
    let (code, stderr) = running.stop();
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn the_session_example() {
    let running = start_replay_as_documented();
    run_example(
        &doc_block("docs/clients.md", "## Offline sessions", "sh", 0),
        &running.url(),
    );
    assert_eq!(running.stop().0, 0);
}

#[test]
fn the_health_and_reset_example() {
    let running = start_replay_as_documented();
    let example = doc_block(
        "docs/replaying-in-ci.md",
        "## Health, reset and the run summary",
        "sh",
        0,
    );
    run_example(&example, &running.url());
    assert_eq!(running.stop().0, 0);
}

/// The trust example of docs/tls-trust.md against `replay --tls-self-signed` of the shipped
/// cassettes, its CA folder and address replaced by the test's.
#[test]
fn the_tls_trust_example() {
    let ca = tempfile::tempdir().unwrap();
    let ca_dir = ca.path().join("dsvcr-ca");
    let running = Running::start_in(
        Path::new(MANIFEST_DIR),
        &[
            "replay",
            "--tls-self-signed",
            ca_dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let url = running.url();
    assert!(url.starts_with("https://"), "{url}");
    let example = doc_block(
        "docs/tls-trust.md",
        "## Making a client trust dsvcr",
        "sh",
        0,
    );
    assert!(example.contains("/tmp/dsvcr-ca/dsvcr-ca.pem"), "{example}");
    run_example_replacing(
        &example,
        &[
            ("https://127.0.0.1:8080", &url),
            ("/tmp/dsvcr-ca", ca_dir.to_str().unwrap()),
        ],
    );
    assert_eq!(running.stop().0, 0);
}

#[test]
fn the_console_examples() {
    let cases = trycmd::TestCases::new();
    cases.register_bin("dsvcr", Path::new(env!("CARGO_BIN_EXE_dsvcr")));
    let with_console: Vec<String> = documents()
        .into_iter()
        .filter(|file| document(file).contains("\n```console\n"))
        .collect();
    assert_eq!(
        with_console,
        ["docs/cassettes.md", "docs/command-line.md"],
        "the documents with console examples"
    );
    for file in with_console {
        cases.case(Path::new(MANIFEST_DIR).join(file));
    }
}

/// The recipe's own line for the user's tests, which [`run_ci_recipe`] replaces.
const USERS_TESTS: &str = "run-your-tests --vcenter \"$VCENTER_URL\"";

/// Stands in for the user's tests: log in (the recipe uses `--require-session`) and get ids.
fn curl_tests(ids: &[&str]) -> String {
    let mut tests = String::from(
        "TOKEN=$(curl -sf -X POST -u ci:ci-password \"$VCENTER_URL/api/session\" | tr -d '\"')\n",
    );
    for id in ids {
        tests.push_str(&format!(
            "curl -s -o /dev/null -H \"vmware-api-session-id: $TOKEN\" \
             \"$VCENTER_URL/api/content/library/item/download-session/{id}\"\n"
        ));
    }
    tests
}

/// Runs the CI recipe through bash in a fresh folder holding `tests/cassettes` and with
/// `dsvcr` on the PATH; returns its exit code, the folder and what it printed.
fn run_ci_recipe(ids: &[&str]) -> (i32, tempfile::TempDir, String) {
    let recipe = readme_block("## Replaying in CI", "sh", 0);
    assert_eq!(recipe.matches(USERS_TESTS).count(), 1, "{recipe}");
    let script = recipe.replace(USERS_TESTS, &curl_tests(ids));
    let folder = tempfile::tempdir().unwrap();
    copy_shipped_cassettes(&folder.path().join("tests/cassettes"));
    let bin = folder.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_dsvcr"), bin.join("dsvcr")).unwrap();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap());
    let child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(folder.path())
        .env("PATH", path)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (code, output) = wait_at_most(child, Duration::from_secs(30));
    (code, folder, output)
}

fn copy_shipped_cassettes(to: &Path) {
    let from = Path::new(MANIFEST_DIR).join("cassettes/download-session");
    let to = to.join("download-session");
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

/// The exit code and everything printed; kills the child (and fails) past `limit`.
fn wait_at_most(mut child: Child, limit: Duration) -> (i32, String) {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the CI recipe did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().unwrap();
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().expect("exited"), printed)
}

fn summary_in(folder: &Path) -> serde_json::Value {
    let path = folder.join("dsvcr-summary.json");
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    serde_json::from_str(&text).unwrap()
}

#[test]
fn the_ci_recipe_exits_0_without_a_miss_and_writes_its_summary() {
    let (code, folder, printed) = run_ci_recipe(&["obj-103", "obj-105"]);
    assert_eq!(code, 0, "{printed}");
    let summary = summary_in(folder.path());
    assert_eq!(summary["hits"], 2, "{summary}");
    assert_eq!(summary["misses"], 0, "{summary}");
    let out = std::fs::read_to_string(folder.path().join("dsvcr.out")).unwrap();
    assert!(
        out.starts_with("dsvcr listening on http://127.0.0.1:"),
        "{out}"
    );
}

#[test]
fn the_ci_recipe_exits_3_with_a_miss_and_writes_its_summary() {
    let (code, folder, printed) = run_ci_recipe(&["obj-103", "obj-404"]);
    assert_eq!(code, 3, "{printed}");
    let summary = summary_in(folder.path());
    assert_eq!(
        summary["missed_ids"],
        serde_json::json!(["obj-404"]),
        "{summary}"
    );
    let log = std::fs::read_to_string(folder.path().join("dsvcr.log")).unwrap();
    assert!(log.contains("had no recording (obj-404)"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_record_example_against_the_fake_vcenter() {
    let fake = crate::fake_vcenter::FakeVcenter::https().await;
    let example = readme_block("## Recording from a lab vCenter", "sh", 0);
    let mut lines = example.lines();
    let command = lines
        .next()
        .unwrap()
        .replace("https://vcenter.lab.example", &fake.url())
        .replace("lab-ca.pem", fake.ca_pem_path().unwrap().to_str().unwrap());
    let mut args: Vec<&str> = command.split_whitespace().collect();
    assert_eq!(args.remove(0), "dsvcr", "{example}");
    args.extend(["--listen", "127.0.0.1:0"]);
    let folder = tempfile::tempdir().unwrap();
    let running = Running::start_in(folder.path(), &args);
    let ready = lines.next().unwrap().strip_prefix("# ").unwrap();
    let ready = ready.replace(":8080", ":[..]");
    snapbox::assert_data_eq!(running.ready_line.trim_end(), ready);
    let addr = running.addr();
    let path = "/rest/com/vmware/content/library/item/download-session/id:obj-1";
    let answer = tokio::task::spawn_blocking(move || http_get(&addr, path))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    let (code, stderr) = running.stop();
    assert_eq!(code, 0, "{stderr}");
    let cassette = folder
        .path()
        .join("tests/cassettes/download-session/obj-1.json");
    let written: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&cassette).unwrap()).unwrap();
    assert_eq!(written["id"], "obj-1");
    assert_eq!(written["recorded"]["form"], "A");
    fake.stop().await;
}
