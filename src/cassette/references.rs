//! How many session cassettes name each blob, so that a blob no cassette names any more
//! (its session re-recorded with `--replace`, or its file downloaded again with other
//! bytes) is removed instead of left for `check` to refuse.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use tracing::{info, warn};

use super::blobs::blob_path;
use super::{Cassette, Download};

/// References to blobs by their SHA-256, one per `downloads` entry of a cassette.
#[derive(Debug, Default)]
pub(super) struct BlobReferences {
    folder: PathBuf,
    counts: Mutex<HashMap<String, usize>>,
}

impl BlobReferences {
    /// The references the cassettes loaded from `folder` hold.
    pub(super) fn new<'a>(folder: &Path, cassettes: impl Iterator<Item = &'a Cassette>) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for download in cassettes.flat_map(|cassette| &cassette.downloads) {
            *counts.entry(download.sha256.clone()).or_default() += 1;
        }
        BlobReferences {
            folder: folder.to_owned(),
            counts: Mutex::new(counts),
        }
    }

    /// A cassette that named the blobs of `before` now durably names those of `after`:
    /// blobs no cassette names any more are removed (a failure is only logged: the
    /// cassettes are right, and `check` reports the blob).
    pub(super) fn replaced(&self, before: &[Download], after: &[Download]) {
        let mut delta: HashMap<&str, isize> = HashMap::new();
        for download in before {
            *delta.entry(&download.sha256).or_default() -= 1;
        }
        for download in after {
            *delta.entry(&download.sha256).or_default() += 1;
        }
        let mut counts = self.counts.lock().expect("never poisoned");
        for (sha256, change) in delta.into_iter().filter(|(_, change)| *change != 0) {
            let count = counts.entry(sha256.to_owned()).or_default();
            *count = count.saturating_add_signed(change);
            if *count == 0 {
                counts.remove(sha256);
                self.remove(sha256);
            }
        }
    }

    /// Removes the blob `sha256` unless a cassette names it (a download that was not
    /// recorded after its blob was written).
    pub(super) fn drop_if_unnamed(&self, sha256: &str) {
        let counts = self.counts.lock().expect("never poisoned");
        if !counts.contains_key(sha256) {
            self.remove(sha256);
        }
    }

    fn remove(&self, sha256: &str) {
        let path = blob_path(&self.folder, sha256);
        match std::fs::remove_file(&path) {
            Ok(()) => info!(blob = %path.display(), "removed a blob no cassette names any more"),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => {
                warn!(blob = %path.display(), "cannot remove a blob no cassette names any more: {err}")
            }
        }
    }
}
