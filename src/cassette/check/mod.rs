//! Checking a cassette folder for CI without serving it: every cassette must load (parse,
//! known format version, name matching its id, well-formed timeline), and no cassette may
//! hold anything that looks like a secret (credentials, session tokens, cookies, private
//! keys). Every problem in every file is reported, not just the first. Blobs are checked
//! against their digests and references (see `blobs::check`); the secret rules read only
//! cassette text, never blob bytes.

mod journal;

use std::fs;
use std::path::{Path, PathBuf};

use super::folder::{call_files, cassette_files, tape_files};
use super::journal::load;
use super::oversized::{within, Files};
pub(crate) use super::report::{CheckReport, Problem};
use super::{CallCassette, Cassette, LoadError, TapeCassette};
use crate::redact::Redactor;
use crate::secrets::secret_reasons;

/// Checks every cassette under `folder/download-session/` without serving it.
///
/// Each `*.json` file (hidden files and other names are skipped, as when loading) must
/// load as a cassette, and its raw text, even when it does not load, must hold nothing
/// secret-looking; every problem of every file is collected. Err only when the folder
/// itself cannot be read (the same errors as [`load_folder`](super::load_folder)); a
/// folder without the subfolder holds no cassettes and has no problems. Secret-named
/// values are those of `redactor` (the built-in names and `--redact`); a file over
/// `max_file_bytes` is one problem, and is not read.
pub(crate) fn check_folder_with(
    folder: &Path,
    redactor: &Redactor,
    max_file_bytes: u64,
) -> Result<CheckReport, LoadError> {
    let (sessions, calls, tapes, oversized) = within(
        cassette_files(folder)?,
        call_files(folder)?,
        tape_files(folder)?,
        max_file_bytes,
    );
    let mut report = check_files(folder, (sessions, calls, tapes), redactor, max_file_bytes);
    report.checked += oversized.len();
    report.problems.extend(oversized);
    let skipped = super::folder::non_utf8_names(folder);
    report
        .problems
        .extend(skipped.into_iter().map(|path| {
            Problem {
                path,
                reason: "its name is not UTF-8, so it names no cassette: replay and record skip it"
                    .to_owned(),
            }
        }));
    report.problems.sort();
    Ok(report)
}

fn check_files(
    folder: &Path,
    (sessions, calls, tapes): (Files, Files, Files),
    redactor: &Redactor,
    limit: u64,
) -> CheckReport {
    let mut report = CheckReport {
        checked: sessions.len() + calls.len() + tapes.len(),
        problems: Vec::new(),
    };
    report.problems.extend(case_collisions(&sessions));
    let mut downloads = Vec::new();
    let mut ids = Vec::new();
    for path in sessions {
        report
            .problems
            .extend(check_file(&path, Kind::Session, redactor, limit));
        if let Some(cassette) = loaded_session(&path, limit) {
            ids.push((cassette.id.to_string(), path.clone()));
            downloads.extend(cassette.downloads.into_iter().map(|d| (path.clone(), d)));
        }
    }
    report
        .problems
        .extend(super::duplicates::duplicate_ids(ids));
    report
        .problems
        .extend(super::blobs::check(folder, &downloads));
    for path in calls {
        report
            .problems
            .extend(check_file(&path, Kind::Call, redactor, limit));
    }
    for path in tapes {
        report
            .problems
            .extend(check_file(&path, Kind::Tape, redactor, limit));
    }
    report
}

/// Files whose names are equal when ASCII case is ignored: a case-insensitive file system
/// (macOS, Windows) holds only one of them, so a checkout there loses recordings.
fn case_collisions(files: &[PathBuf]) -> Vec<Problem> {
    let mut seen: std::collections::HashMap<String, &Path> = std::collections::HashMap::new();
    let mut problems = Vec::new();
    for path in files {
        let name = path.file_name().map_or_else(String::new, |name| {
            name.to_string_lossy().to_ascii_lowercase()
        });
        if let Some(first) = seen.insert(name, path) {
            problems.push(Problem {
                path: path.to_owned(),
                reason: format!(
                    "has the same name as {} when case is ignored; a case-insensitive file system (macOS, Windows) keeps only one of them",
                    first.display()
                ),
            });
        }
    }
    problems
}

#[derive(Clone, Copy)]
enum Kind {
    Session,
    Call,
    Tape,
}

/// Every problem of one cassette file.
/// [`check_folder_with`] with the built-in secret names and size limit.
#[cfg(test)]
pub(crate) fn check_folder(folder: &Path) -> Result<CheckReport, LoadError> {
    check_folder_with(folder, &Redactor::default(), super::MAX_CASSETTE_BYTES)
}

/// Every problem of one cassette file and its journal: loaded as replay loads them (the
/// journal applied), and both read by the secret rules.
fn check_file(path: &Path, kind: Kind, redactor: &Redactor, limit: u64) -> Vec<Problem> {
    let problem = |reason: String| Problem {
        path: path.to_owned(),
        reason,
    };
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => return vec![problem(format!("cannot be read: {err}"))],
    };
    let mut problems = Vec::new();
    let loaded = match kind {
        Kind::Session => load::<Cassette>(path, &bytes, limit).map(drop),
        Kind::Call => load::<CallCassette>(path, &bytes, limit).map(drop),
        Kind::Tape => load::<TapeCassette>(path, &bytes, limit).map(drop),
    };
    if let Err(err) = loaded {
        problems.push(journal::load_problem(err, path));
    }
    problems.extend(journal::secrets_in_journal(path, redactor, limit));
    let text = String::from_utf8_lossy(&bytes);
    problems.extend(secret_reasons(&text).into_iter().map(problem));
    if let Ok(value) = serde_json::from_slice(&bytes) {
        let unredacted = crate::redact::unredacted(redactor, &value);
        problems.extend(unredacted.into_iter().map(problem));
    }
    problems
}

/// The session cassette at `path` with its journal, if they load.
fn loaded_session(path: &Path, limit: u64) -> Option<Cassette> {
    fs::read(path)
        .ok()
        .and_then(|bytes| load::<Cassette>(path, &bytes, limit).ok())
}

#[cfg(test)]
mod tests;
