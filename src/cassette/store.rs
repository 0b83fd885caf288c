//! The write path: appending recorded responses to cassettes, one id at a time, durably.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::{cassette_path, write_atomically, Cassette, Entry, Recorded, Recording, SUBFOLDER};
use crate::secrets::Secrets;
use crate::vapi::{Form, SessionId};

/// What a later recording of an id that already has a cassette does to its timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rerecord {
    /// Keep the recorded responses and add the new ones after them.
    Append,
    /// Start the timeline afresh with the first response recorded in this run.
    Replace,
}

/// Where and how a response was recorded.
#[derive(Clone, Debug)]
pub struct Provenance {
    pub at: String,
    pub upstream: String,
    pub form: Form,
}

/// The outcome of [`Store::append`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Appended {
    pub path: PathBuf,
    /// The HTTP status of the response appended.
    pub status: u16,
    /// Entries in the timeline (a repeated response counts once).
    pub entries: usize,
    /// Responses in the timeline (counting repeats).
    pub responses: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("refused to write {}: it would contain a {what} seen in this exchange", path.display())]
    Secret { path: PathBuf, what: &'static str },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// The cassette folder being recorded into. Writes to one id are serialised; writes to
/// different ids run side by side.
pub struct Store {
    folder: PathBuf,
    rerecord: Rerecord,
    slots: Mutex<HashMap<SessionId, Arc<tokio::sync::Mutex<Slot>>>>,
    cassettes: AtomicUsize,
}

#[derive(Default)]
struct Slot {
    cassette: Option<Cassette>,
    written_this_run: bool,
}

impl Store {
    /// A store over `folder`, which must exist, holding the already loaded `cassettes`.
    pub fn new(folder: &Path, rerecord: Rerecord, cassettes: Vec<Cassette>) -> Self {
        let count = cassettes.len();
        let slots = cassettes
            .into_iter()
            .map(|cassette| {
                let slot = Slot {
                    cassette: Some(cassette.clone()),
                    written_this_run: false,
                };
                (cassette.id, Arc::new(tokio::sync::Mutex::new(slot)))
            })
            .collect();
        Store {
            folder: folder.to_owned(),
            rerecord,
            slots: Mutex::new(slots),
            cassettes: AtomicUsize::new(count),
        }
    }

    /// How many ids have a cassette in the folder.
    pub fn cassette_count(&self) -> usize {
        self.cassettes.load(Ordering::Relaxed)
    }

    /// Creates `folder/download-session/` if needed and removes the temp files an
    /// interrupted earlier run left there; returns how many it removed.
    pub fn prepare_folder(folder: &Path) -> io::Result<usize> {
        let subfolder = folder.join(SUBFOLDER);
        std::fs::create_dir_all(&subfolder)?;
        super::remove_stale_temp_files(&subfolder)
    }

    fn slot(&self, id: &SessionId) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().expect("the slot map is never poisoned");
        slots.entry(id.clone()).or_default().clone()
    }

    /// Adds `response` to `id`'s timeline and makes it durable before returning. A
    /// response equal to the last one raises that entry's repeat count instead. Nothing
    /// is written if the file would contain one of `secrets`.
    ///
    /// Not cancellation safe: a future dropped while the file is being replaced leaves
    /// the store's view of the cassette behind the file. Callers that may be cancelled
    /// run it in a task of its own.
    pub async fn append(
        &self,
        id: &SessionId,
        response: Recording,
        provenance: &Provenance,
        secrets: &Secrets,
    ) -> Result<Appended, StoreError> {
        let status = response.status();
        let slot = self.slot(id);
        let mut slot = slot.lock().await;
        let restart = self.rerecord == Rerecord::Replace && !slot.written_this_run;
        let cassette = match slot.cassette.clone() {
            Some(mut cassette) if !restart => {
                extend(&mut cassette, response);
                cassette
            }
            _ => Cassette::new(id.clone(), recorded(provenance), response),
        };
        let path = cassette_path(&self.folder, id);
        let bytes = cassette.to_file_bytes();
        if let Some(what) = secrets.found_in(&bytes) {
            return Err(StoreError::Secret { path, what });
        }
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&target, &bytes))
            .await
            .expect("the write task does not panic")
            .map_err(|source| StoreError::Write {
                path: path.clone(),
                source,
            })?;
        let appended = Appended {
            path,
            status,
            entries: cassette.responses.len(),
            responses: cassette.responses.iter().map(|e| u64::from(e.repeat)).sum(),
        };
        if slot.cassette.replace(cassette).is_none() {
            self.cassettes.fetch_add(1, Ordering::Relaxed);
        }
        slot.written_this_run = true;
        Ok(appended)
    }
}

fn recorded(provenance: &Provenance) -> Recorded {
    Recorded {
        at: provenance.at.clone(),
        upstream: Some(provenance.upstream.clone()),
        form: Some(provenance.form),
    }
}

fn extend(cassette: &mut Cassette, response: Recording) {
    match cassette.responses.last_mut() {
        Some(last) if last.response == response => last.repeat += 1,
        _ => cassette.responses.push(Entry {
            repeat: 1,
            response,
        }),
    }
}

/// Now, as a cassette timestamp (RFC 3339 UTC, whole seconds).
pub fn now_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond");
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC times format as RFC 3339")
}
