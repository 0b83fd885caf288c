//! What the vim25 SOAP interop tests (`interop_govc`, `interop_pyvmomi`) share: a list of
//! failed checks reported together, the secrets scan of a cassette folder, and the replay
//! summary's verdict.

use std::fmt::Debug;
use std::path::Path;

use serde_json::{json, Value};

/// Failed checks of one interop run, reported together when it ends. One run drives a
/// dozen client commands through three phases: every mismatch at once says what replay
/// still gets wrong, where the first alone would hide the rest.
#[derive(Default)]
pub(crate) struct Checks {
    failures: Vec<String>,
}

impl Checks {
    pub(crate) fn that(&mut self, holds: bool, what: impl FnOnce() -> String) {
        if !holds {
            self.failures.push(what());
        }
    }

    pub(crate) fn eq<T: PartialEq + Debug>(&mut self, what: &str, left: &T, right: &T) {
        if left != right {
            self.failures
                .push(format!("{what}:\n  left:  {left:?}\n  right: {right:?}"));
        }
    }

    /// Panics with every failed check, numbered, if there was any.
    pub(crate) fn finish(self, run: &str) {
        if self.failures.is_empty() {
            return;
        }
        let listed: Vec<String> = self
            .failures
            .iter()
            .enumerate()
            .map(|(n, failure)| format!("{}. {failure}", n + 1))
            .collect();
        panic!(
            "{run}: {} check(s) failed:\n{}",
            self.failures.len(),
            listed.join("\n")
        );
    }
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `folder` whose path (below `folder`) or content holds one of the
/// `secrets` (label, value): one line per file and secret.
pub(crate) fn secrets_under(folder: &Path, secrets: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
                continue;
            }
            let name = path.strip_prefix(folder).unwrap().display().to_string();
            let content = std::fs::read(&path).unwrap();
            for (label, secret) in secrets {
                let bytes = secret.as_bytes();
                let in_content = content.windows(bytes.len()).any(|w| w == bytes);
                if name.contains(secret.as_str()) || in_content {
                    found.push(format!("{name} holds {label}"));
                }
            }
        }
    }
    found.sort();
    found
}

/// The replay run summary's verdict: no miss, no unrecorded route.
pub(crate) fn replay_misses(summary_file: &Path) -> Value {
    let text = std::fs::read_to_string(summary_file)
        .unwrap_or_else(|err| panic!("{}: {err}", summary_file.display()));
    let summary: Value = serde_json::from_str(&text).unwrap();
    json!({
        "misses": summary["misses"],
        "unrecorded": summary["unrecorded"],
        "unrecorded_routes": summary["unrecorded_routes"],
    })
}

/// What [`replay_misses`] says of a replay that answered everything.
pub(crate) fn no_misses() -> Value {
    json!({"misses": 0, "unrecorded": 0, "unrecorded_routes": []})
}
