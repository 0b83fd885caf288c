//! Finding and loading every cassette in a folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{CallCassette, Cassette, CassetteError, TapeCassette, CALLS_SUBFOLDER, TAPE_SUBFOLDER};
use crate::vapi::SessionId;

/// Download-session cassettes live in this subfolder of the cassette folder.
pub(crate) const SUBFOLDER: &str = "download-session";

/// Why a cassette folder cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    #[error("cassette folder {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cassette folder {} is not a directory", .0.display())]
    NotAFolder(PathBuf),
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] CassetteError),
    #[error("{}: two files hold download session {id} (one under the name dsvcr 0.1 gave it); keep one", folder.display())]
    DuplicateId { folder: PathBuf, id: String },
    #[error("cassette folder {} holds .json files but no {SUBFOLDER}/ subfolder: name the folder that contains {SUBFOLDER}/ (its parent, if these are cassettes)", .0.display())]
    MissingSubfolder(PathBuf),
}

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
/// folder without the subfolders holds no cassettes.
pub(crate) fn load_folder(folder: &Path) -> Result<Cassettes, LoadError> {
    // File names are checked against ids, so two files can never hold one id.
    let mut sessions = cassette_files(folder)?
        .iter()
        .map(|path| Ok(Cassette::from_file_bytes(path, &read(path)?)?))
        .collect::<Result<Vec<_>, LoadError>>()?;
    sessions.sort_by(|a, b| a.id.cmp(&b.id));
    if let Some(pair) = sessions.windows(2).find(|pair| pair[0].id == pair[1].id) {
        return Err(LoadError::DuplicateId {
            folder: folder.join(SUBFOLDER),
            id: pair[0].id.to_string(),
        });
    }
    let calls = call_files(folder)?
        .iter()
        .map(|path| Ok(CallCassette::from_file_bytes(path, &read(path)?)?))
        .collect::<Result<Vec<_>, LoadError>>()?;
    let tapes = tape_files(folder)?
        .iter()
        .map(|path| Ok(TapeCassette::from_file_bytes(path, &read(path)?)?))
        .collect::<Result<Vec<_>, LoadError>>()?;
    Ok(Cassettes {
        sessions,
        calls,
        tapes,
    })
}

/// The session cassette files of a folder, sorted by path: the non-hidden `*.json`
/// files in its `download-session/` subfolder.
pub(super) fn cassette_files(folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
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
pub(super) fn call_files(folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
    Ok(json_files(&folder.join(CALLS_SUBFOLDER))?.unwrap_or_default())
}

/// The tape cassette files of a folder, sorted by path.
pub(super) fn tape_files(folder: &Path) -> Result<Vec<PathBuf>, LoadError> {
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
        }
    }
    files.sort();
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

fn has_cassette_name(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    !name.starts_with('.') && name.ends_with(".json")
}

fn read(path: &Path) -> Result<Vec<u8>, LoadError> {
    fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })
}
