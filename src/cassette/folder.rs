//! Finding and loading every cassette in a folder.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::{Cassette, CassetteError};
use crate::vapi::SessionId;

/// Download-session cassettes live in this subfolder of the cassette folder, leaving
/// room for other operations beside it.
pub const SUBFOLDER: &str = "download-session";

/// Why a cassette folder cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cassette folder {}: {source}", path.display())]
    Folder { path: PathBuf, source: io::Error },
    #[error("cassette folder {} is not a directory", .0.display())]
    NotAFolder(PathBuf),
    #[error("{}: {source}", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Invalid(#[from] CassetteError),
}

/// The file a session's cassette lives in.
pub fn cassette_path(folder: &Path, id: &SessionId) -> PathBuf {
    folder
        .join(SUBFOLDER)
        .join(format!("{}.json", id.file_stem()))
}

/// Loads and validates every `*.json` cassette under `folder/download-session/`,
/// sorted by id. Hidden files (temp files of an interrupted write) are skipped; a
/// folder without the subfolder holds no cassettes.
pub fn load_folder(folder: &Path) -> Result<Vec<Cassette>, LoadError> {
    let metadata = fs::metadata(folder).map_err(|source| LoadError::Folder {
        path: folder.to_owned(),
        source,
    })?;
    if !metadata.is_dir() {
        return Err(LoadError::NotAFolder(folder.to_owned()));
    }
    let subfolder = folder.join(SUBFOLDER);
    let entries = match fs::read_dir(&subfolder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(LoadError::Folder {
                path: subfolder,
                source,
            })
        }
    };
    // File names are checked against ids, so two files can never hold one id.
    let mut cassettes = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|source| LoadError::Folder {
                path: subfolder.clone(),
                source,
            })?
            .path();
        if is_cassette_file(&path) {
            cassettes.push(load_file(&path)?);
        }
    }
    cassettes.sort_by(|a: &Cassette, b: &Cassette| a.id.cmp(&b.id));
    Ok(cassettes)
}

fn is_cassette_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("");
    !name.starts_with('.') && name.ends_with(".json") && path.is_file()
}

fn load_file(path: &Path) -> Result<Cassette, LoadError> {
    let bytes = fs::read(path).map_err(|source| LoadError::Read {
        path: path.to_owned(),
        source,
    })?;
    Ok(Cassette::from_file_bytes(path, &bytes)?)
}
