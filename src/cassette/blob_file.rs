//! Opening a blob for reading without ever leaving the cassette folder or blocking: the
//! last path component is not followed when it is a link, the open does not wait on a
//! FIFO, and what was opened must be a regular file (checked on the open file, so a swap
//! between a check and the open cannot slip anything else in).

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// Opens `path` for reading if it is a regular file and not a link.
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|err| explain(path, err))?;
    let kind = file.metadata()?.file_type();
    if !kind.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a regular file ({})",
                path.display(),
                describe(kind)
            ),
        ));
    }
    Ok(file)
}

/// A link at `path` fails the open with ELOOP: say so in words.
fn explain(path: &Path, err: io::Error) -> io::Error {
    let is_link = fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink());
    if is_link {
        return io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is a symbolic link; blobs must be regular files inside the cassette folder",
                path.display()
            ),
        );
    }
    err
}

fn describe(kind: fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO";
        }
        if kind.is_char_device() || kind.is_block_device() {
            return "a device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else if kind.is_symlink() {
        "a symbolic link"
    } else {
        "not a file"
    }
}

/// The blob folders (`blobs/`, `blobs/sha256/`) of `folder` that are symbolic links.
pub(crate) fn linked_blob_folders(folder: &Path) -> Vec<PathBuf> {
    let blobs = folder.join("blobs");
    [blobs.clone(), blobs.join("sha256")]
        .into_iter()
        .filter(|path| fs::symlink_metadata(path).is_ok_and(|meta| meta.file_type().is_symlink()))
        .collect()
}
