//! Content-addressed blobs: a downloaded file's bytes, kept once under
//! `<folder>/blobs/sha256/<hex>` however many cassettes reference them. A blob is written
//! to an exclusively created temp file while it streams, then fsynced and renamed into
//! place, so a crash never leaves a torn blob under a digest name.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use ring::digest::{Context, SHA256};
use tokio::task::JoinHandle;

use super::report::Problem;
use super::{Cassette, Download};

/// Blobs live in this subfolder of the cassette folder.
pub(crate) const BLOBS_SUBFOLDER: &str = "blobs/sha256";

/// Temp files are named `.blob.tmp-<pid>-<n>`, which the temp sweep at start removes.
const TEMP_PREFIX: &str = ".blob.tmp-";

/// Bytes gathered before they are handed to the file; also check's read size.
const WRITE_BUFFER: usize = 1 << 20;

/// A batch being written on the blocking pool; it hands the file back.
type Writing = JoinHandle<(fs::File, io::Result<()>)>;

/// Whether `text` is a lowercase hex SHA-256 digest, and so a blob name.
pub(crate) fn is_digest(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || (b'a'..=b'f').contains(&byte))
}

pub(crate) fn blob_folder(folder: &Path) -> PathBuf {
    folder.join(BLOBS_SUBFOLDER)
}

/// The file holding the bytes with digest `sha256`.
pub(crate) fn blob_path(folder: &Path, sha256: &str) -> PathBuf {
    blob_folder(folder).join(sha256)
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// A blob being written: bytes are hashed as they stream and written to a temp file in
/// batches of about 1 MiB, one batch on the blocking pool while the next gathers. The
/// pieces are the body's own buffers: nothing is copied before the kernel's write.
pub(crate) struct BlobWriter {
    folder: PathBuf,
    temp: PathBuf,
    file: Option<fs::File>,
    writing: Option<Writing>,
    batch: Vec<Bytes>,
    batched: usize,
    hash: Context,
    size: u64,
}

/// A blob made durable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Blob {
    pub(crate) sha256: String,
    pub(crate) size: u64,
}

impl BlobWriter {
    /// Starts a blob in `folder`'s blob subfolder (created if needed).
    pub(crate) async fn create(folder: &Path) -> io::Result<Self> {
        let blobs = blob_folder(folder);
        tokio::fs::create_dir_all(&blobs).await?;
        // Unpredictable, as a cassette's temp file: a name planted in advance cannot make
        // every recorded download fail.
        let temp = blobs.join(super::write::temp_name("blob")?);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .await?
            .into_std()
            .await;
        Ok(BlobWriter {
            folder: folder.to_owned(),
            temp,
            file: Some(file),
            writing: None,
            batch: Vec::new(),
            batched: 0,
            hash: Context::new(&SHA256),
            size: 0,
        })
    }

    pub(crate) async fn write(&mut self, bytes: Bytes) -> io::Result<()> {
        self.hash.update(&bytes);
        self.size += bytes.len() as u64;
        self.batched += bytes.len();
        self.batch.push(bytes);
        if self.batched >= WRITE_BUFFER {
            self.hand_over().await?;
        }
        Ok(())
    }

    /// Waits for the batch being written, then starts writing the gathered one.
    async fn hand_over(&mut self) -> io::Result<()> {
        self.written().await?;
        let mut file = self.file.take().expect("the file is back after a write");
        let batch = std::mem::take(&mut self.batch);
        self.batched = 0;
        self.writing = Some(tokio::task::spawn_blocking(move || {
            let written = batch.iter().try_for_each(|piece| file.write_all(piece));
            (file, written)
        }));
        Ok(())
    }

    /// Waits for the batch being written, if any.
    async fn written(&mut self) -> io::Result<()> {
        if let Some(writing) = self.writing.take() {
            let (file, written) = writing.await.expect("blob writes do not panic");
            self.file = Some(file);
            written?;
        }
        Ok(())
    }

    /// Bytes written so far.
    pub(crate) fn size(&self) -> u64 {
        self.size
    }

    /// Makes the blob durable under its digest. When a blob with that digest exists
    /// already, the new copy is dropped: the same bytes are stored once.
    pub(crate) async fn finish(mut self) -> io::Result<Blob> {
        self.hand_over().await?;
        self.written().await?;
        let file = self
            .file
            .take()
            .expect("the file is back after the last write");
        tokio::task::spawn_blocking(move || file.sync_all())
            .await
            .expect("fsync does not panic")?;
        let blob = Blob {
            sha256: hex(self.hash.clone().finish().as_ref()),
            size: self.size,
        };
        let target = blob_path(&self.folder, &blob.sha256);
        let temp = self.temp.clone();
        tokio::task::spawn_blocking(move || settle(&temp, &target))
            .await
            .expect("the rename task does not panic")?;
        Ok(blob)
    }
}

/// Moves a finished temp file to its digest name (or drops it when that exists) and
/// makes the rename durable.
fn settle(temp: &Path, target: &Path) -> io::Result<()> {
    let same_size = fs::metadata(target).is_ok_and(|existing| {
        fs::metadata(temp).is_ok_and(|written| written.len() == existing.len())
    });
    if same_size {
        return fs::remove_file(temp);
    }
    fs::rename(temp, target)?;
    let folder = target.parent().expect("blobs live in a folder");
    fs::File::open(folder)?.sync_all()
}

impl Drop for BlobWriter {
    /// An unfinished blob (a broken download) leaves nothing behind.
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.temp);
    }
}

/// Removes the temp files an interrupted download left; returns how many.
pub(crate) fn remove_stale_temp_files(folder: &Path) -> io::Result<usize> {
    let blobs = blob_folder(folder);
    let entries = match fs::read_dir(&blobs) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(err) => return Err(err),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && entry.file_type()?.is_file()
        {
            fs::remove_file(entry.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

/// Why a referenced blob cannot be served.
#[derive(Debug, thiserror::Error)]
#[error("{}: download of {file:?} needs blob {}: {reason}", cassette.display(), blob.display())]
pub(crate) struct BlobError {
    pub(crate) cassette: PathBuf,
    pub(crate) file: String,
    pub(crate) blob: PathBuf,
    #[source]
    pub(crate) reason: BlobFault,
}

/// What is wrong with a blob a cassette references.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BlobFault {
    #[error("it holds {holds} bytes, the cassette says {expected}")]
    WrongSize { holds: u64, expected: u64 },
    #[error("it is not a file")]
    NotAFile,
    #[error("it is a symbolic link; blobs must be regular files inside the cassette folder")]
    Link,
    #[error("the blob folder {} is a symbolic link; blobs must stay inside the cassette folder", .0.display())]
    LinkedFolder(PathBuf),
    #[error(transparent)]
    Unreadable(io::Error),
}

/// Checks that every blob the cassettes reference exists with the recorded size. Hashes
/// are not recomputed here (a folder may hold gigabytes); `dsvcr check` does that.
pub(crate) fn verify_present(folder: &Path, cassettes: &[Cassette]) -> Result<(), BlobError> {
    let linked = super::blob_file::linked_blob_folders(folder);
    for cassette in cassettes {
        for download in &cassette.downloads {
            let blob = blob_path(folder, &download.sha256);
            let reason = match fs::symlink_metadata(&blob) {
                _ if !linked.is_empty() => BlobFault::LinkedFolder(linked[0].clone()),
                Ok(meta) if meta.file_type().is_symlink() => BlobFault::Link,
                Ok(meta) if meta.is_file() && meta.len() == download.size => continue,
                Ok(meta) if meta.is_file() => BlobFault::WrongSize {
                    holds: meta.len(),
                    expected: download.size,
                },
                Ok(_) => BlobFault::NotAFile,
                Err(err) => BlobFault::Unreadable(err),
            };
            return Err(BlobError {
                cassette: super::folder::cassette_path(folder, &cassette.id),
                file: download.file_name.clone(),
                blob,
                reason,
            });
        }
    }
    Ok(())
}

/// `dsvcr check`'s blob rules: each referenced blob exists, has the recorded size and
/// hashes to its name; every blob is referenced by some cassette. `referenced` pairs a
/// cassette file with a download it lists.
pub(crate) fn check(folder: &Path, referenced: &[(PathBuf, Download)]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut by_digest: BTreeMap<&str, Vec<&(PathBuf, Download)>> = BTreeMap::new();
    for reference in referenced {
        by_digest
            .entry(reference.1.sha256.as_str())
            .or_default()
            .push(reference);
    }
    for (digest, references) in &by_digest {
        let blob = blob_path(folder, digest);
        match digest_of(&blob) {
            Ok((actual, size)) => {
                if actual != *digest {
                    problems.push(Problem {
                        path: blob.clone(),
                        reason: format!("its bytes hash to {actual}, not to its name"),
                    });
                }
                for (cassette, download) in references.iter().copied() {
                    if download.size != size {
                        problems.push(Problem {
                            path: cassette.clone(),
                            reason: format!(
                                "download of {:?}: size {} but blob {} holds {size} bytes",
                                download.file_name, download.size, digest
                            ),
                        });
                    }
                }
            }
            Err(err) => {
                for (cassette, download) in references.iter().copied() {
                    problems.push(Problem {
                        path: cassette.clone(),
                        reason: format!(
                            "download of {:?}: blob {} cannot be read: {err}",
                            download.file_name,
                            blob.display()
                        ),
                    });
                }
            }
        }
    }
    problems.extend(unreferenced(folder, &by_digest));
    for linked in super::blob_file::linked_blob_folders(folder) {
        problems.push(Problem {
            path: linked,
            reason: "is a symbolic link; blobs must stay inside the cassette folder".to_owned(),
        });
    }
    problems
}

/// The blob folder's entries no cassette references (temp files of a download in
/// progress are skipped).
fn unreferenced<T>(folder: &Path, referenced: &BTreeMap<&str, T>) -> Vec<Problem> {
    let Ok(entries) = fs::read_dir(blob_folder(folder)) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || referenced.contains_key(name.as_str()) {
            continue;
        }
        let reason = if is_digest(&name) {
            "no cassette references this blob".to_owned()
        } else {
            "is not a blob (its name is not a SHA-256 digest)".to_owned()
        };
        problems.push(Problem {
            path: entry.path(),
            reason,
        });
    }
    problems
}

/// The SHA-256 and length of a file, read in 1 MiB pieces.
fn digest_of(path: &Path) -> io::Result<(String, u64)> {
    let mut file = super::blob_file::open_regular(path)?;
    let mut hash = Context::new(&SHA256);
    let mut buffer = vec![0; WRITE_BUFFER];
    let mut size = 0;
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            return Ok((hex(hash.finish().as_ref()), size));
        }
        hash.update(&buffer[..read]);
        size += read as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[tokio::test]
    async fn the_same_bytes_are_stored_once() {
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..2 {
            let mut writer = BlobWriter::create(dir.path()).await.unwrap();
            writer.write(Bytes::from_static(b"hel")).await.unwrap();
            writer.write(Bytes::from_static(b"lo")).await.unwrap();
            let blob = writer.finish().await.unwrap();
            assert_eq!(
                blob,
                Blob {
                    sha256: HELLO.to_owned(),
                    size: 5
                }
            );
        }
        let names: Vec<String> = fs::read_dir(blob_folder(dir.path()))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, [HELLO]);
        assert_eq!(fs::read(blob_path(dir.path(), HELLO)).unwrap(), b"hello");
    }

    #[tokio::test]
    async fn an_unfinished_blob_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BlobWriter::create(dir.path()).await.unwrap();
        writer.write(Bytes::from_static(b"half")).await.unwrap();
        drop(writer);
        assert_eq!(fs::read_dir(blob_folder(dir.path())).unwrap().count(), 0);
    }

    #[test]
    fn digests_are_64_lowercase_hex_digits() {
        assert!(is_digest(HELLO));
        assert!(!is_digest(&HELLO.to_uppercase()));
        assert!(!is_digest(&HELLO[1..]));
        assert!(!is_digest("../../etc/passwd"));
    }
}
