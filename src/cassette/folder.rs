//! Finding and loading every cassette in a folder.

use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::journal;
use super::reading::{read_into, LoadError};
use super::session_file::SUBFOLDER;
use super::{CallCassette, Cassette, TapeCassette, CALLS_SUBFOLDER, TAPE_SUBFOLDER};
use crate::vapi::SessionId;

/// Everything a cassette folder holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Cassettes {
    /// Sorted by id.
    pub(crate) sessions: Vec<Cassette>,
    /// Sorted by file name.
    pub(crate) calls: Vec<CallCassette>,
    /// Sorted by file name.
    pub(crate) tapes: Vec<TapeCassette>,
}

/// The file a session's cassette lives in.
pub(crate) fn cassette_path(folder: &Path, id: &SessionId) -> PathBuf {
    folder
        .join(SUBFOLDER)
        .join(format!("{}.json", id.file_stem()))
}

/// The file dsvcr 0.1 named a session's cassette, which still loads.
pub(crate) fn legacy_cassette_path(folder: &Path, id: &SessionId) -> PathBuf {
    folder
        .join(SUBFOLDER)
        .join(format!("{}.json", id.legacy_file_stem()))
}

/// Loads and validates every cassette under `folder/download-session/`, `folder/calls/`
/// and `folder/tape/`. Hidden files (temp files of an interrupted write) are skipped; a
/// folder without the subfolders holds no cassettes. When several files are bad, the
/// error names the first of them in sorted order, as if they were loaded one by one.
#[cfg(test)]
pub(crate) fn load_folder(folder: &Path) -> Result<Cassettes, LoadError> {
    load_folder_within(folder, MAX_CASSETTE_BYTES)
}

/// The largest cassette file loaded unless `--max-cassette-bytes` says otherwise: far
/// above any real cassette (a session's is a few KiB, a tape's at most a few MiB), far
/// below what would exhaust memory while parsing.
pub(crate) const MAX_CASSETTE_BYTES: u64 = 64 * 1024 * 1024;

/// As [`load_folder`], refusing any file over `max_file_bytes` before reading it whole.
/// Each cassette is loaded with its journal, if it has one ([`journal::load`]).
pub(crate) fn load_folder_within(
    folder: &Path,
    max_file_bytes: u64,
) -> Result<Cassettes, LoadError> {
    let limit = max_file_bytes;
    // File names are checked against ids, so two files can never hold one id.
    let mut sessions = load_files(&cassette_files(folder)?, journal::load::<Cassette>, limit)?;
    sessions.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = sessions.windows(2).find(|pair| pair[0].id == pair[1].id) {
        return Err(LoadError::DuplicateId {
            folder: folder.join(SUBFOLDER),
            id: pair[0].id.to_string(),
        });
    }
    let calls = load_files(&call_files(folder)?, journal::load::<CallCassette>, limit)?;
    let tapes = load_files(&tape_files(folder)?, journal::load::<TapeCassette>, limit)?;
    Ok(Cassettes {
        sessions,
        calls,
        tapes,
    })
}

/// Below this many files a folder loads on one thread: a thread costs more than it saves.
const FILES_PER_THREAD: usize = 256;

/// Reads and parses `paths`, in order, on as many threads as the process may run on
/// (each takes one contiguous run of files). The error is the one of the first file in
/// `paths` that fails, whichever thread finds it first.
fn load_files<T: Send>(
    paths: &[PathBuf],
    parse: Parser<T>,
    limit: u64,
) -> Result<Vec<T>, LoadError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, NonZeroUsize::get)
        .min(paths.len() / FILES_PER_THREAD)
        .max(1);
    // The index of the first file known to fail: no thread needs to go past it.
    let first_failure = AtomicUsize::new(usize::MAX);
    if threads == 1 {
        return load_run(paths, 0, (parse, limit), &first_failure);
    }
    let run = paths.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let first_failure = &first_failure;
        let others: Vec<_> = paths
            .chunks(run)
            .enumerate()
            .skip(1)
            .map(|(index, part)| {
                scope.spawn(move || load_run(part, index * run, (parse, limit), first_failure))
            })
            .collect();
        let mut loaded = load_run(&paths[..run], 0, (parse, limit), first_failure);
        if let Ok(loaded) = &mut loaded {
            loaded.reserve_exact(paths.len() - run);
        }
        // In file order, so that the first failing run's error wins.
        for other in others {
            let other = other
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Ok(all) = &mut loaded {
                match other {
                    Ok(mut other) => all.append(&mut other),
                    Err(err) => loaded = Err(err),
                }
            }
        }
        loaded
    })
}

/// How a kind of cassette file is read from its bytes (and its journal, within the limit).
type Parser<T> = fn(&Path, &[u8], u64) -> Result<T, LoadError>;

/// Loads a run of files that starts at index `start` of all files, stopping early when
/// a file before the current one is known to fail.
fn load_run<T>(
    paths: &[PathBuf],
    start: usize,
    (parse, limit): (Parser<T>, u64),
    first_failure: &AtomicUsize,
) -> Result<Vec<T>, LoadError> {
    let mut loaded = Vec::with_capacity(paths.len());
    let mut buffer = Vec::new();
    for (offset, path) in paths.iter().enumerate() {
        let index = start + offset;
        if first_failure.load(Ordering::Relaxed) < index {
            // Some earlier file's error is the one reported; this run's files do not matter.
            break;
        }
        let parsed =
            read_into(path, &mut buffer, limit).and_then(|bytes| parse(path, bytes, limit));
        match parsed {
            Ok(cassette) => loaded.push(cassette),
            Err(err) => {
                first_failure.fetch_min(index, Ordering::Relaxed);
                return Err(err);
            }
        }
    }
    Ok(loaded)
}

/// The session cassette files of a folder, sorted by path: the non-hidden `*.json`
/// files in its `download-session/` subfolder.
pub(crate) fn cassette_files(folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let metadata = fs::metadata(folder).map_err(|source| LoadError::Folder {
        path: folder.to_owned(),
        source,
    })?;
    if !metadata.is_dir() {
        return Err(LoadError::NotAFolder(folder.to_owned()));
    }
    match json_files(&folder.join(SUBFOLDER))? {
        Some(files) => Ok(files),
        None if holds_cassette_files(folder) => Err(LoadError::MissingSubfolder(folder.to_owned())),
        None => Ok(Vec::new()),
    }
}

/// The call cassette files of a folder, sorted by path.
pub(crate) fn call_files(folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(json_files(&folder.join(CALLS_SUBFOLDER))?.unwrap_or_default())
}

/// The tape cassette files of a folder, sorted by path.
pub(crate) fn tape_files(folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(json_files(&folder.join(TAPE_SUBFOLDER))?.unwrap_or_default())
}

/// The non-hidden `*.json` files of `subfolder`, sorted; `None` if it does not exist.
fn json_files(subfolder: &Path) -> Result<Option<Vec<PathBuf>>, LoadError> {
    let entries = match fs::read_dir(subfolder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(LoadError::Folder {
                path: subfolder.to_owned(),
                source,
            })
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Folder {
            path: subfolder.to_owned(),
            source,
        })?;
        let path = entry.path();
        // The directory listing says what most entries are, without a stat per file;
        // symbolic links (and file systems that do not say) are followed as before.
        let plain_file = entry
            .file_type()
            .is_ok_and(|kind| kind.is_file() && !kind.is_symlink());
        if plain_file && has_cassette_name(&path) || is_cassette_file(&path) {
            files.push(path);
        } else if has_non_utf8_cassette_name(&path) {
            tracing::warn!(file = %path.display(), "skipped: the file name is not UTF-8, so it names no cassette");
        }
    }
    // Every path is `subfolder` joined with a file name, so their bytes sort as the names
    // do, and as `Path`'s component order would (a name holds no separator), without
    // splitting each path into components per comparison.
    files.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
    Ok(Some(files))
}

/// Whether `folder` itself holds cassette-like files (a sign it is the subfolder).
fn holds_cassette_files(folder: &Path) -> bool {
    fs::read_dir(folder).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|entry| is_cassette_file(&entry.path()))
    })
}

fn is_cassette_file(path: &Path) -> bool {
    has_cassette_name(path) && path.is_file()
}

/// A `*.json` file (not hidden) whose name is not UTF-8: no id makes such a name, so it
/// is skipped, and said so.
fn has_non_utf8_cassette_name(path: &Path) -> bool {
    path.file_name().is_some_and(|name| {
        let lossy = name.to_string_lossy();
        name.to_str().is_none() && lossy.ends_with(".json") && !lossy.starts_with('.')
    })
}

/// The `*.json` files under the cassette subfolders whose names are not UTF-8, sorted.
pub(super) fn non_utf8_names(folder: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = [SUBFOLDER, CALLS_SUBFOLDER, TAPE_SUBFOLDER]
        .iter()
        .filter_map(|subfolder| fs::read_dir(folder.join(subfolder)).ok())
        .flat_map(|entries| entries.filter_map(Result::ok))
        .map(|entry| entry.path())
        .filter(|path| has_non_utf8_cassette_name(path))
        .collect();
    found.sort();
    found
}

fn has_cassette_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    !name.starts_with('.') && name.ends_with(".json")
}
