//! Durable, atomic file replacement: a reader sees the old file or the new one, never a
//! torn one, and a crash never leaves a half-written cassette.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ring::rand::{SecureRandom, SystemRandom};

/// Writes `bytes` to `path` via a hidden temp file in the same folder, fsyncs it,
/// renames it over `path` and fsyncs the folder.
///
/// The temp file has an unpredictable name and is created exclusively, so nothing planted
/// in the folder (a symlink, a file of another owner) is ever opened or written through;
/// the rename replaces a link at `path` itself rather than the file it points to.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    // A bare file name's parent is the empty path: it means the current folder.
    let folder = match path.parent() {
        Some(parent) if parent.as_os_str().is_empty() => Path::new("."),
        Some(parent) => parent,
        None => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "path has no folder",
            ))
        }
    };
    let name = path
        .file_name()
        .and_then(|name| name.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let temp = folder.join(temp_name(name)?);
    let written = write_new_and_sync(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if let Err(err) = written {
        // Only a file this call created is removed: an existing one was never ours.
        if err.kind() != io::ErrorKind::AlreadyExists {
            let _ = fs::remove_file(&temp);
        }
        return Err(err);
    }
    File::open(folder)?.sync_all()
}

/// Temp files are named `.<file>.tmp-<32 random hex digits>`.
const TEMP_MARKER: &str = ".tmp-";

pub(super) fn temp_name(name: &str) -> io::Result<PathBuf> {
    let mut random = [0u8; 16];
    SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| io::Error::other("the system random source failed"))?;
    let hex: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    Ok(PathBuf::from(format!(".{name}{TEMP_MARKER}{hex}")))
}

/// Removes the temp files an interrupted write (a crash, a kill) left in `folder`;
/// returns how many. Loading ignores them anyway, as hidden files.
pub(crate) fn remove_stale_temp_files(folder: &Path) -> io::Result<usize> {
    let mut removed = 0;
    for entry in fs::read_dir(folder)? {
        let entry = entry?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') && name.contains(TEMP_MARKER) && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// `create_new` is O_CREAT|O_EXCL: it fails on any existing entry, a symlink included,
/// instead of following it.
fn write_new_and_sync(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_planted_link_is_never_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, "precious").unwrap();
        let folder = dir.path().join("cassettes");
        fs::create_dir(&folder).unwrap();
        let link = folder.join("planted");
        symlink(&outside, &link).unwrap();
        assert_eq!(
            write_new_and_sync(&link, b"attack").unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        let dangling = folder.join("dangling");
        symlink(dir.path().join("created-elsewhere"), &dangling).unwrap();
        assert!(write_new_and_sync(&dangling, b"attack").is_err());
        assert!(!dir.path().join("created-elsewhere").exists());
        assert_eq!(fs::read_to_string(&outside).unwrap(), "precious");
    }

    /// The names the old writer used (`.<file>.tmp-<pid>-<n>`) planted as links to a file
    /// outside the folder: a write goes to the folder, the outside file is untouched.
    #[test]
    fn links_at_predictable_temp_names_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside");
        fs::write(&outside, "precious").unwrap();
        let folder = dir.path().join("cassettes");
        fs::create_dir(&folder).unwrap();
        for n in 0..256 {
            let name = format!(".obj-1.json.tmp-{}-{n}", std::process::id());
            symlink(&outside, folder.join(name)).unwrap();
        }
        write_atomically(&folder.join("obj-1.json"), b"recorded").unwrap();
        assert_eq!(fs::read_to_string(&outside).unwrap(), "precious");
        assert_eq!(
            fs::read_to_string(folder.join("obj-1.json")).unwrap(),
            "recorded"
        );
    }

    #[test]
    fn temp_names_are_unpredictable_and_recognised_as_stale() {
        let first = temp_name("obj-1.json").unwrap();
        let second = temp_name("obj-1.json").unwrap();
        assert_ne!(first, second);
        let first = first.to_str().unwrap();
        let suffix = first.strip_prefix(".obj-1.json.tmp-").unwrap();
        assert_eq!(suffix.len(), 32);
        assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()), "{first}");

        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(first), "{ torn").unwrap();
        fs::write(dir.path().join("obj-1.json"), "{}").unwrap();
        assert_eq!(remove_stale_temp_files(dir.path()).unwrap(), 1);
        assert!(dir.path().join("obj-1.json").exists());
    }
}
