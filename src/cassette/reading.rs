//! Reading one cassette file: within the size limit, into a buffer kept between files;
//! and why a cassette folder cannot be loaded.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use super::session_file::SUBFOLDER;
use super::CassetteError;

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
    #[error("{}: {}, over the limit of {limit} bytes for one cassette file (--max-cassette-bytes); it is not loaded", path.display(), size.map_or_else(|| "larger".to_owned(), |size| format!("{size} bytes")))]
    TooLarge {
        path: PathBuf,
        /// `None` when the file grew past the limit while it was read.
        size: Option<u64>,
        limit: u64,
    },
    #[error("cassette folder {} holds .json files but no {SUBFOLDER}/ subfolder: name the folder that contains {SUBFOLDER}/ (its parent, if these are cassettes)", .0.display())]
    MissingSubfolder(PathBuf),
}

/// The bytes of the file at `path`, read into `buffer` (kept between files, so that a
/// folder of small files costs an open, two reads and a close each, and no allocation).
pub(super) fn read_into<'b>(
    path: &Path,
    buffer: &'b mut Vec<u8>,
    limit: u64,
) -> Result<&'b [u8], LoadError> {
    let failed = |source| LoadError::Read {
        path: path.to_owned(),
        source,
    };
    let too_large = |size| LoadError::TooLarge {
        path: path.to_owned(),
        size,
        limit,
    };
    let mut file = fs::File::open(path).map_err(failed)?;
    let size = file.metadata().map_err(failed)?.len();
    if size > limit {
        return Err(too_large(Some(size)));
    }
    let mut len = 0;
    loop {
        if len as u64 > limit {
            return Err(too_large(None));
        }
        if len == buffer.len() {
            buffer.resize((2 * len).max(READ_BUFFER_BYTES), 0);
        }
        match file.read(&mut buffer[len..]) {
            Ok(0) => return Ok(&buffer[..len]),
            Ok(read) => len += read,
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) => return Err(failed(err)),
        }
    }
}

/// The buffer's first size: room for a typical cassette (under 1 KiB) in one read, and
/// small enough not to weigh on the memory of a small folder; larger files double it.
const READ_BUFFER_BYTES: usize = 8 * 1024;
