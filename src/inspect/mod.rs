//! `dsvcr inspect DIR [--json]`: what a cassette folder holds, for a reviewer or a tool —
//! sessions, call cassettes, the tape, blobs — and every problem `check` finds.
//!
//! Files are read with the cassette loader's own parsers; a file that does not load is
//! left out of the listing and reported among the problems (from `check_folder_with`, with the built-in secret names), so a
//! broken folder is described as far as it can be, never half-parsed by other rules.

mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde::Serialize;

use crate::cassette::blobs::{blob_folder, blob_path, is_digest};
use crate::cassette::journal::{self, Applied, Journaled};
use crate::cassette::{
    call_files, cassette_files, check_folder_with, tape_files, CallCassette, Cassette, Entry,
    LoadError, TapeCassette, MAX_CASSETTE_BYTES,
};
use crate::cli::InspectArgs;
use crate::vapi::{Answer, Flavour};

/// Everything `inspect` reports about one folder.
#[derive(Debug, Serialize)]
pub(crate) struct Inspection {
    pub(crate) folder: PathBuf,
    pub(crate) sessions: Vec<SessionView>,
    pub(crate) calls: Vec<CallView>,
    pub(crate) tapes: Vec<TapeView>,
    pub(crate) blobs: BlobsView,
    /// `FILE: reason`, one per problem, as `check` prints them.
    pub(crate) problems: Vec<String>,
}

#[derive(Debug, Serialize)]
pub(crate) struct SessionView {
    pub(crate) id: String,
    pub(crate) file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) journal: Option<JournalView>,
    pub(crate) library_item: Option<String>,
    pub(crate) recorded_at: String,
    pub(crate) operations: Vec<OperationView>,
    pub(crate) files: Vec<FileView>,
}

/// One timeline: an operation (and the file it is about), how many answers it replays
/// in all (repeats counted) and their distinct statuses in order.
#[derive(Debug, Serialize)]
pub(crate) struct OperationView {
    pub(crate) operation: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) file: Option<String>,
    pub(crate) answers: u64,
    pub(crate) statuses: Vec<u16>,
}

/// A recorded file's bytes: its size and whether its blob is in the folder.
#[derive(Debug, Serialize)]
pub(crate) struct FileView {
    pub(crate) name: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) blob_present: bool,
}

#[derive(Debug, Serialize)]
pub(crate) struct CallView {
    pub(crate) file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) journal: Option<JournalView>,
    pub(crate) operation: &'static str,
    pub(crate) key: String,
    pub(crate) answers: u64,
    pub(crate) statuses: Vec<u16>,
}

#[derive(Debug, Serialize)]
pub(crate) struct TapeView {
    pub(crate) file: PathBuf,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) journal: Option<JournalView>,
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) answers: u64,
    pub(crate) statuses: Vec<u16>,
}

/// A journal (answers recorded since the file was last written whole, by a run that did
/// not end cleanly) and how many answers it adds to its file.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct JournalView {
    pub(crate) file: PathBuf,
    pub(crate) answers: usize,
}

#[derive(Debug, Default, Serialize)]
pub(crate) struct BlobsView {
    pub(crate) count: usize,
    pub(crate) bytes: u64,
    /// Blobs no session cassette names, by digest.
    pub(crate) orphans: Vec<String>,
}

/// Prints the folder's inspection (text or JSON) on stdout; exits 1 when it has problems.
pub(crate) fn run(args: &InspectArgs) -> Result<ExitCode, LoadError> {
    let inspection = inspect(&args.folder)?;
    let mut stdout = io::stdout().lock();
    let written = if args.json {
        serde_json::to_writer_pretty(&mut stdout, &inspection)
            .map_err(io::Error::from)
            .and_then(|()| writeln!(stdout))
    } else {
        stdout.write_all(text::render(&inspection).as_bytes())
    };
    // A closed pipe (`| head`) is not the folder's problem.
    drop(written);
    Ok(if inspection.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Lists what `folder` holds; Err only when the folder itself cannot be read.
pub(crate) fn inspect(folder: &Path) -> Result<Inspection, LoadError> {
    let report = check_folder_with(
        folder,
        &crate::redact::Redactor::default(),
        crate::cassette::MAX_CASSETTE_BYTES,
    )?;
    let sessions: Vec<Loaded<Cassette>> = loaded(folder, cassette_files(folder)?);
    let calls: Vec<Loaded<CallCassette>> = loaded(folder, call_files(folder)?);
    let tapes: Vec<Loaded<TapeCassette>> = loaded(folder, tape_files(folder)?);
    let blobs = blobs_in(folder);
    let referenced: BTreeSet<&str> = sessions
        .iter()
        .flat_map(|(_, cassette, _)| &cassette.downloads)
        .map(|download| download.sha256.as_str())
        .collect();
    let orphans = blobs
        .keys()
        .filter(|digest| !referenced.contains(digest.as_str()))
        .cloned()
        .collect();
    Ok(Inspection {
        folder: folder.to_owned(),
        sessions: sessions
            .iter()
            .map(|(path, cassette, journal)| session_view(folder, path, cassette, journal))
            .collect(),
        calls: calls
            .iter()
            .map(|(path, call, journal)| call_view(folder, path, call, journal))
            .collect(),
        tapes: tapes
            .iter()
            .map(|(path, tape, journal)| tape_view(folder, path, tape, journal))
            .collect(),
        blobs: BlobsView {
            count: blobs.len(),
            bytes: blobs.values().sum(),
            orphans,
        },
        problems: report.problems.iter().map(ToString::to_string).collect(),
    })
}

/// A cassette that loads: its file, the cassette (its journal applied) and the journal.
type Loaded<T> = (PathBuf, T, Option<JournalView>);

/// The files that load (with their journals, as replay loads them), each with its path;
/// the others are `check`'s to report.
fn loaded<T: Journaled>(folder: &Path, paths: Vec<PathBuf>) -> Vec<Loaded<T>> {
    paths
        .into_iter()
        .filter_map(|path| {
            let bytes = fs::read(&path).ok()?;
            let (cassette, applied) =
                journal::load_noting::<T>(&path, &bytes, MAX_CASSETTE_BYTES).ok()?;
            let journal = match applied {
                Applied::Answers(answers) if answers > 0 => Some(JournalView {
                    file: relative(folder, &journal::journal_path(&path)),
                    answers,
                }),
                _ => None,
            };
            Some((path, cassette, journal))
        })
        .collect()
}

/// The blobs in the folder, by digest, with their sizes (hidden temp files aside).
fn blobs_in(folder: &Path) -> BTreeMap<String, u64> {
    let Ok(entries) = fs::read_dir(blob_folder(folder)) else {
        return BTreeMap::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let metadata = entry.metadata().ok().filter(fs::Metadata::is_file)?;
            is_digest(&name).then_some((name, metadata.len()))
        })
        .collect()
}

/// `path` relative to the inspected folder, as the listing names files.
fn relative(folder: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(folder).unwrap_or(path).to_owned()
}

fn session_view(
    folder: &Path,
    path: &Path,
    cassette: &Cassette,
    journal: &Option<JournalView>,
) -> SessionView {
    let library_item = cassette
        .create
        .as_ref()
        .map(|create| create.library_item_id.clone())
        .or_else(|| {
            let mut answers = cassette.timelines.iter().flat_map(|track| &track.responses);
            answers.find_map(|entry| match &entry.answer {
                Answer::Session(session) => Some(session.library_item_id.clone()),
                _ => None,
            })
        });
    SessionView {
        id: cassette.id.to_string(),
        file: relative(folder, path),
        journal: journal.clone(),
        library_item,
        recorded_at: cassette.recorded.at.clone(),
        operations: cassette
            .timelines
            .iter()
            .map(|track| OperationView {
                operation: track.op.label(),
                file: track.file_name.clone(),
                answers: answers(&track.responses),
                statuses: statuses(&track.responses),
            })
            .collect(),
        files: cassette
            .downloads
            .iter()
            .map(|download| FileView {
                name: download.file_name.clone(),
                size: download.size,
                sha256: download.sha256.clone(),
                blob_present: blob_path(folder, &download.sha256).is_file(),
            })
            .collect(),
    }
}

fn call_view(
    folder: &Path,
    path: &Path,
    call: &CallCassette,
    journal: &Option<JournalView>,
) -> CallView {
    CallView {
        file: relative(folder, path),
        journal: journal.clone(),
        operation: call.op.label(),
        key: call.key.to_string(),
        answers: answers(&call.responses),
        statuses: statuses(&call.responses),
    }
}

fn tape_view(
    folder: &Path,
    path: &Path,
    tape: &TapeCassette,
    journal: &Option<JournalView>,
) -> TapeView {
    let mut statuses = Vec::new();
    for entry in &tape.responses {
        if !statuses.contains(&entry.answer.status) {
            statuses.push(entry.answer.status);
        }
    }
    TapeView {
        file: relative(folder, path),
        journal: journal.clone(),
        method: tape.request.method.clone(),
        path: tape.request.path.clone(),
        answers: tape
            .responses
            .iter()
            .map(|entry| u64::from(entry.repeat))
            .sum(),
        statuses,
    }
}

fn answers(entries: &[Entry]) -> u64 {
    entries.iter().map(|entry| u64::from(entry.repeat)).sum()
}

/// The distinct statuses a REST client sees, in the order the answers come.
fn statuses(entries: &[Entry]) -> Vec<u16> {
    let mut statuses = Vec::new();
    for entry in entries {
        let status = entry.answer.status(Flavour::Rest).as_u16();
        if !statuses.contains(&status) {
            statuses.push(status);
        }
    }
    statuses
}

#[cfg(test)]
mod tests;
