//! Writing journals durably, and folding the ones an interrupted run left behind.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use tracing::warn;

use super::super::reading::read_into;
use super::super::session_file::SUBFOLDER;
use super::super::{
    write_atomically, CallCassette, Cassette, TapeCassette, CALLS_SUBFOLDER, TAPE_SUBFOLDER,
};
use super::SUFFIX;
use super::{apply, journal_path, read_journal, remove, validated, Applied, Journaled, Trust};

/// Creates the journal at `path` holding `header` and `line` and makes it durable, its
/// folder entry included; returns its length. Created exclusively: a file or link already
/// there is never written through.
pub(crate) fn create(path: &Path, header: &[u8], line: &[u8]) -> io::Result<u64> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    let mut bytes = Vec::with_capacity(header.len() + line.len());
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(line);
    let written = file
        .write_all(&bytes)
        .and_then(|()| file.sync_data())
        .and_then(|()| sync_folder(path));
    if let Err(err) = written {
        let _ = fs::remove_file(path);
        return Err(err);
    }
    Ok(bytes.len() as u64)
}

/// Appends `line` to the journal at `path`, which must hold the `len` bytes this run wrote
/// to it, and makes it durable; returns the new length. On failure the journal is cut back
/// to `len` where possible (a line cut short has no newline, so loading ignores it anyway).
pub(crate) fn append(path: &Path, len: u64, line: &[u8]) -> io::Result<u64> {
    let mut options = OpenOptions::new();
    options.append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    let mut file = options.open(path)?;
    let found = file.metadata()?.len();
    if found != len {
        return Err(io::Error::other(format!(
            "{} holds {found} bytes, not the {len} this run wrote: something else wrote to it",
            path.display()
        )));
    }
    let written = file.write_all(line).and_then(|()| file.sync_data());
    if let Err(err) = written {
        let _ = file.set_len(len);
        return Err(err);
    }
    Ok(len + line.len() as u64)
}

fn sync_folder(path: &Path) -> io::Result<()> {
    match path.parent() {
        Some(folder) if !folder.as_os_str().is_empty() => File::open(folder)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

/// What [`fold_leftover_journals`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Leftovers {
    /// Journals folded into their cassette files.
    pub(crate) folded: usize,
    /// Journals removed as adding nothing: stale, without a whole line, or without a file.
    pub(crate) dropped: usize,
}

/// Folds every journal an interrupted run left in `folder` into its cassette file and
/// removes it. A journal that does not load is left for the loader to name.
pub(crate) fn fold_leftover_journals(folder: &Path, limit: u64) -> io::Result<Leftovers> {
    let mut leftovers = Leftovers::default();
    fold_in::<Cassette>(&folder.join(SUBFOLDER), limit, &mut leftovers)?;
    fold_in::<CallCassette>(&folder.join(CALLS_SUBFOLDER), limit, &mut leftovers)?;
    fold_in::<TapeCassette>(&folder.join(TAPE_SUBFOLDER), limit, &mut leftovers)?;
    Ok(leftovers)
}

fn fold_in<T: Journaled>(
    subfolder: &Path,
    limit: u64,
    leftovers: &mut Leftovers,
) -> io::Result<()> {
    let entries = match fs::read_dir(subfolder) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(err),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let Some(base_name) = name.strip_suffix(SUFFIX) else {
            continue;
        };
        if name.starts_with('.') || !base_name.ends_with(".json") || !entry.file_type()?.is_file() {
            continue;
        }
        let base = subfolder.join(base_name);
        match fold_one::<T>(&base, limit)? {
            Some(true) => leftovers.folded += 1,
            Some(false) => leftovers.dropped += 1,
            None => {}
        }
    }
    Ok(())
}

/// Folds the journal of the file at `base`: `Some(true)` when it added answers,
/// `Some(false)` when it was removed as adding none, `None` when it was left alone.
fn fold_one<T: Journaled>(base: &Path, limit: u64) -> io::Result<Option<bool>> {
    let journal = journal_path(base);
    let shown = || crate::text::escape_controls(&journal.display().to_string()).into_owned();
    let mut buffer = Vec::new();
    let bytes = match read_into(base, &mut buffer, limit) {
        Ok(bytes) => bytes,
        Err(super::LoadError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            warn!(journal = %shown(), "removed: its cassette file is gone, so its answers belong nowhere");
            remove(&journal)?;
            return Ok(Some(false));
        }
        Err(_) => return Ok(None),
    };
    let (Ok(mut doc), Ok(Some(lines))) = (
        T::from_file_bytes(base, bytes),
        read_journal(&journal, limit),
    ) else {
        return Ok(None);
    };
    match apply(&mut doc, bytes, &lines, &journal, Trust::Header) {
        Ok(Applied::Answers(count)) if count > 0 => {
            let Ok(doc) = validated(doc, base, &journal) else {
                return Ok(None);
            };
            write_atomically(base, &doc.to_file_bytes())?;
            remove(&journal)?;
            Ok(Some(true))
        }
        Ok(Applied::Stale) => {
            warn!(journal = %shown(), "removed: it extends another version of its cassette file, which holds its answers");
            remove(&journal)?;
            Ok(Some(false))
        }
        Ok(Applied::Answers(_) | Applied::Nothing) => {
            remove(&journal)?;
            Ok(Some(false))
        }
        Err(_) => Ok(None),
    }
}
