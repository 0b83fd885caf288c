//! The write path: adding recorded answers to cassettes, one file at a time, durably,
//! and only when the result is a file the loader accepts. The first write of a cassette in
//! a run writes its file whole; later answers go to its journal (`store/journal.rs`).

mod journal;

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::folder::{cassette_path, legacy_cassette_path, Cassettes};
use super::session_file::SUBFOLDER;
use super::{
    extend, write_atomically, CallCassette, Cassette, Create, Download, Recorded, TapeCassette,
    CALLS_SUBFOLDER, TAPE_SUBFOLDER,
};
use crate::exchange::{TapeAnswer, TapeKey};
use crate::redact::Redactor;
use crate::secrets::Secrets;
use crate::vapi::{Answer, CallKey, Form, Op, SessionId};
use journal::Journal;
use tracing::warn;

/// What a later recording of a key that already has a cassette does to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rerecord {
    /// Keep the recorded answers and add the new ones after them.
    Append,
    /// Start the cassette afresh with the first answer recorded in this run.
    Replace,
    /// Never touch a cassette that existed when the run started.
    Keep,
}

/// Where and how an answer was recorded.
#[derive(Clone, Debug)]
pub(crate) struct Provenance {
    pub(crate) at: String,
    pub(crate) upstream: String,
    /// The request form, for a `get`.
    pub(crate) form: Option<Form>,
}

/// What to add to the folder.
#[derive(Clone, Debug)]
pub(crate) enum Recording {
    /// An answer of an operation on one session (and file).
    Session {
        id: SessionId,
        op: Op,
        file: Option<String>,
        answer: Answer,
    },
    /// A create that answered a new session id.
    Created {
        id: SessionId,
        item: String,
        token: Option<String>,
    },
    /// A file's bytes, kept in a blob.
    Download { id: SessionId, download: Download },
    /// An answer of an operation that is not about one session.
    Call {
        op: Op,
        key: CallKey,
        answer: Answer,
    },
    /// A taped exchange.
    Tape { key: TapeKey, answer: TapeAnswer },
}

/// The outcome of [`Store::record`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Appended {
    pub(crate) path: PathBuf,
    /// Entries in the timeline written to (a repeated answer counts once).
    pub(crate) entries: usize,
    /// Answers in that timeline (counting repeats).
    pub(crate) responses: u64,
    /// Values the store redacted in the file (beyond those redacted before).
    pub(crate) redacted: usize,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum StoreError {
    #[error("refused to write {}: it would contain a {what} seen in this run", path.display())]
    Secret { path: PathBuf, what: &'static str },
    #[error("refused to write {}: the answer would make a cassette dsvcr cannot load: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    #[error("not written to {}: it existed when the run started and --rerecord keep leaves such cassettes alone", path.display())]
    Kept { path: PathBuf },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

#[derive(Clone, Debug)]
enum Doc {
    Session(Cassette),
    Call(CallCassette),
    Tape(TapeCassette),
}

/// Which kind of cassette a file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Session,
    Call,
    Tape,
}

impl Kind {
    fn of(recording: &Recording) -> Kind {
        match recording {
            Recording::Session { .. } | Recording::Created { .. } | Recording::Download { .. } => {
                Kind::Session
            }
            Recording::Call { .. } => Kind::Call,
            Recording::Tape { .. } => Kind::Tape,
        }
    }
}

impl Doc {
    fn kind(&self) -> Kind {
        match self {
            Doc::Session(_) => Kind::Session,
            Doc::Call(_) => Kind::Call,
            Doc::Tape(_) => Kind::Tape,
        }
    }

    fn apply_line(&mut self, line: &[u8]) -> Result<(), String> {
        use super::journal::Journaled;
        match self {
            Doc::Session(cassette) => cassette.apply_line(line),
            Doc::Call(cassette) => cassette.apply_line(line),
            Doc::Tape(cassette) => cassette.apply_line(line),
        }
    }

    fn only_answer_line(&self) -> Option<Vec<u8>> {
        use super::journal::Journaled;
        match self {
            Doc::Session(cassette) => cassette.only_answer_line(),
            Doc::Call(cassette) => cassette.only_answer_line(),
            Doc::Tape(cassette) => cassette.only_answer_line(),
        }
    }

    fn to_file_bytes(&self) -> Vec<u8> {
        match self {
            Doc::Session(cassette) => cassette.to_file_bytes(),
            Doc::Call(cassette) => cassette.to_file_bytes(),
            Doc::Tape(cassette) => cassette.to_file_bytes(),
        }
    }

    /// Reads `bytes` back with the loader's own rules.
    fn check(&self, path: &Path, bytes: &[u8]) -> Result<Doc, String> {
        let loaded = match self {
            Doc::Session(_) => Cassette::from_file_bytes(path, bytes).map(Doc::Session),
            Doc::Call(_) => CallCassette::from_file_bytes(path, bytes).map(Doc::Call),
            Doc::Tape(_) => TapeCassette::from_file_bytes(path, bytes).map(Doc::Tape),
        };
        loaded.map_err(|err| err.reason)
    }
}

/// One cassette file's state. Its document is not kept: it is read back from the file
/// for the next recording, so memory does not grow with what was recorded.
#[derive(Default)]
struct Slot {
    /// The file exists (it did at start, or this run wrote it).
    on_disk: bool,
    written_this_run: bool,
    /// Set once this run wrote the file whole: later answers go to its journal.
    journal: Option<Journal>,
}

/// The cassette folder being recorded into. Writes to one file are serialised; writes
/// to different files run side by side.
pub(crate) struct Store {
    folder: PathBuf,
    rerecord: Rerecord,
    slots: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<Slot>>>>,
    sessions: AtomicUsize,
    /// The order the next create of each library item gets.
    next_create: Mutex<HashMap<String, u32>>,
    redactor: Arc<Redactor>,
    blobs: super::references::BlobReferences,
}

impl Store {
    /// A store over `folder`, which must exist, holding the already loaded `cassettes`.
    pub(crate) fn new(folder: &Path, rerecord: Rerecord, cassettes: Cassettes) -> Self {
        let mut next_create: HashMap<String, u32> = HashMap::new();
        let mut slots = HashMap::new();
        let sessions = cassettes.sessions.len();
        let blobs = super::references::BlobReferences::new(folder, cassettes.sessions.iter());
        for cassette in cassettes.sessions {
            if let Some(create) = &cassette.create {
                let next = next_create
                    .entry(create.library_item_id.clone())
                    .or_default();
                *next = (*next).max(create.order + 1);
            }
            slots.insert(session_path(folder, &cassette.id), existing_slot());
        }
        for cassette in cassettes.calls {
            let path = call_path(folder, cassette.op, &cassette.key);
            slots.insert(path, existing_slot());
        }
        for cassette in cassettes.tapes {
            let path = folder
                .join(TAPE_SUBFOLDER)
                .join(cassette.request.file_name());
            slots.insert(path, existing_slot());
        }
        Store {
            folder: folder.to_owned(),
            rerecord,
            slots: Mutex::new(slots),
            sessions: AtomicUsize::new(sessions),
            next_create: Mutex::new(next_create),
            redactor: Arc::default(),
            blobs,
        }
    }

    /// Redacts every file written with `redactor`'s names.
    pub(crate) fn with_redactor(mut self, redactor: Arc<Redactor>) -> Self {
        self.redactor = redactor;
        self
    }

    /// The cassette folder.
    pub(crate) fn folder(&self) -> &Path {
        &self.folder
    }

    /// How many session ids have a cassette in the folder.
    pub(crate) fn cassette_count(&self) -> usize {
        self.sessions.load(Ordering::Relaxed)
    }

    /// Creates the cassette subfolders if needed and removes the temp files an
    /// interrupted earlier run left there; returns how many it removed.
    pub(crate) fn prepare_folder(folder: &Path) -> io::Result<usize> {
        let mut removed = 0;
        for subfolder in [SUBFOLDER, CALLS_SUBFOLDER, TAPE_SUBFOLDER] {
            let subfolder = folder.join(subfolder);
            std::fs::create_dir_all(&subfolder)?;
            removed += super::write::remove_stale_temp_files(&subfolder)?;
        }
        removed += super::blobs::remove_stale_temp_files(folder)?;
        Ok(removed)
    }

    /// The file a recording goes to.
    pub(crate) fn path_of(&self, recording: &Recording) -> PathBuf {
        match recording {
            Recording::Session { id, .. }
            | Recording::Created { id, .. }
            | Recording::Download { id, .. } => session_path(&self.folder, id),
            Recording::Call { op, key, .. } => call_path(&self.folder, *op, key),
            Recording::Tape { key, .. } => self.folder.join(TAPE_SUBFOLDER).join(key.file_name()),
        }
    }

    fn slot(&self, path: &Path) -> Arc<tokio::sync::Mutex<Slot>> {
        let mut slots = self.slots.lock().expect("the slot map is never poisoned");
        slots.entry(path.to_owned()).or_default().clone()
    }

    /// Adds `recording` to its cassette and makes it durable before returning: the first
    /// recording of the run into a file rewrites it whole; a later answer is appended to its
    /// journal (`store/journal.rs`). An answer equal to the last one of its timeline raises
    /// that entry's repeat count instead (when loaded, for a journal's).
    /// Nothing is written if the file would contain one of `secrets` or would not load.
    ///
    /// Not cancellation safe: a future dropped while the file is being replaced leaves
    /// the store's view of the cassette behind the file. Callers that may be cancelled
    /// run it in a task of its own.
    pub(crate) async fn record(
        &self,
        recording: Recording,
        provenance: &Provenance,
        secrets: &Secrets,
    ) -> Result<Appended, StoreError> {
        let path = self.path_of(&recording);
        let slot = self.slot(&path);
        let mut slot = slot.lock().await;
        if self.rerecord == Rerecord::Keep && slot.on_disk && !slot.written_this_run {
            if let Recording::Download { download, .. } = &recording {
                // Its blob was written first; nothing else may name it.
                self.blobs.drop_if_unnamed(&download.sha256);
            }
            return Err(StoreError::Kept { path });
        }
        if slot.journal.is_some() && journaled(&recording) {
            return self
                .add_to_journal(&mut slot, path, recording, provenance, secrets)
                .await;
        }
        let restart = self.rerecord == Rerecord::Replace && !slot.written_this_run;
        let trust = Journal::trust(slot.journal.as_ref());
        let before = if slot.on_disk {
            read_doc(&path, Kind::of(&recording), trust).await?
        } else {
            None
        };
        let named_before = match &before {
            Some(Doc::Session(cassette)) => cassette.downloads.clone(),
            _ => Vec::new(),
        };
        let existing = before.filter(|_| !restart);
        let (doc, entries, responses) = self.apply(existing, recording, provenance);
        let (bytes, redacted) = self.redacted(doc.to_file_bytes());
        if let Some(what) = secrets.found_in(&bytes) {
            return Err(StoreError::Secret { path, what });
        }
        let reloaded = doc
            .check(&path, &bytes)
            .map_err(|reason| StoreError::Invalid {
                path: path.clone(),
                reason,
            })?;
        // What the file holds is what later answers are added to.
        let doc = if redacted > 0 { reloaded } else { doc };
        self.write_whole(&mut slot, &path, &bytes, &doc).await?;
        if let Doc::Session(after) = &doc {
            self.blobs.replaced(&named_before, &after.downloads);
        }
        let new_session = matches!(doc, Doc::Session(_)) && !slot.on_disk;
        slot.on_disk = true;
        slot.written_this_run = true;
        if new_session {
            self.sessions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(Appended {
            path,
            entries,
            responses,
            redacted,
        })
    }

    /// A file's bytes with every secret-named field and private key redacted (a vAPI
    /// error's data or message can quote a request), and how many values were.
    fn redacted(&self, bytes: Vec<u8>) -> (Vec<u8>, usize) {
        let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
            return (bytes, 0);
        };
        match self.redactor.json(&mut value) {
            0 => (bytes, 0),
            count => (super::pretty(&value), count),
        }
    }

    /// The document with `recording` added, and the size of the timeline it went to.
    fn apply(
        &self,
        existing: Option<Doc>,
        recording: Recording,
        provenance: &Provenance,
    ) -> (Doc, usize, u64) {
        match recording {
            Recording::Session {
                id,
                op,
                file,
                answer,
            } => {
                let mut cassette = session_doc(existing, id, provenance);
                cassette.append(op, file.as_deref(), answer);
                let track = cassette.track(op, file.as_deref()).expect("just appended");
                let counts = counts(&track.responses);
                (Doc::Session(cassette), counts.0, counts.1)
            }
            Recording::Created { id, item, token } => {
                let mut cassette = session_doc(existing, id, provenance);
                if cassette.create.is_none() {
                    cassette.create = Some(Create {
                        order: self.take_create_order(&item),
                        library_item_id: item,
                        client_token: token,
                    });
                }
                (Doc::Session(cassette), 1, 1)
            }
            Recording::Download { id, download } => {
                let mut cassette = session_doc(existing, id, provenance);
                cassette.set_download(download);
                (Doc::Session(cassette), 1, 1)
            }
            Recording::Call { op, key, answer } => {
                let mut cassette = match existing {
                    Some(Doc::Call(cassette)) => cassette,
                    _ => CallCassette {
                        op,
                        key,
                        recorded: recorded(provenance),
                        responses: Vec::new(),
                    },
                };
                extend(&mut cassette.responses, answer);
                let counts = counts(&cassette.responses);
                (Doc::Call(cassette), counts.0, counts.1)
            }
            Recording::Tape { key, answer } => {
                let mut cassette = match existing {
                    Some(Doc::Tape(cassette)) => cassette,
                    _ => TapeCassette::new(key, recorded(provenance)),
                };
                cassette.append(answer);
                let entries = cassette.responses.len();
                let answers = cassette.responses.iter().map(|e| u64::from(e.repeat)).sum();
                (Doc::Tape(cassette), entries, answers)
            }
        }
    }

    fn take_create_order(&self, item: &str) -> u32 {
        let mut next = self.next_create.lock().expect("never poisoned");
        let order = next.entry(item.to_owned()).or_default();
        let taken = *order;
        *order += 1;
        taken
    }
}

/// The slot of a cassette that existed at start.
fn existing_slot() -> Arc<tokio::sync::Mutex<Slot>> {
    Arc::new(tokio::sync::Mutex::new(Slot {
        on_disk: true,
        written_this_run: false,
        journal: None,
    }))
}

/// Whether a recording is one answer, which a journal can hold.
fn journaled(recording: &Recording) -> bool {
    matches!(
        recording,
        Recording::Session { .. } | Recording::Call { .. } | Recording::Tape { .. }
    )
}

/// The cassette of `kind` at `path` with its journal applied, read back from its files
/// (`None` when the file has gone since).
async fn read_doc(
    path: &Path,
    kind: Kind,
    trust: super::journal::Trust,
) -> Result<Option<Doc>, StoreError> {
    let unreadable = |source| StoreError::Write {
        path: path.to_owned(),
        source,
    };
    let bytes = match tokio::fs::read(path).await {
        Ok(bytes) => bytes,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(unreadable(err)),
    };
    let journal_path = super::journal::journal_path(path);
    let journal = match tokio::fs::read(&journal_path).await {
        Ok(journal) => Some(journal),
        Err(err) if err.kind() == io::ErrorKind::NotFound => None,
        Err(err) => return Err(unreadable(err)),
    };
    let doc = match kind {
        Kind::Session => with_journal(path, &bytes, journal.as_deref(), trust).map(Doc::Session),
        Kind::Call => with_journal(path, &bytes, journal.as_deref(), trust).map(Doc::Call),
        Kind::Tape => with_journal(path, &bytes, journal.as_deref(), trust).map(Doc::Tape),
    };
    doc.map(Some).map_err(|err| {
        let problem = if err.path == path {
            err.reason
        } else {
            err.to_string()
        };
        let reason = format!("it no longer loads: {problem}");
        unreadable(io::Error::new(io::ErrorKind::InvalidData, reason))
    })
}

/// The cassette in `bytes` (the file at `path`) with `journal` applied.
fn with_journal<T: super::journal::Journaled>(
    path: &Path,
    bytes: &[u8],
    journal: Option<&[u8]>,
    trust: super::journal::Trust,
) -> Result<T, super::CassetteError> {
    let mut doc = T::from_file_bytes(path, bytes)?;
    if let Some(journal) = journal {
        let journal_path = super::journal::journal_path(path);
        super::journal::apply(&mut doc, bytes, journal, &journal_path, trust)?;
    }
    Ok(doc)
}

/// Where a session's cassette is written: where it already is, when an earlier dsvcr named
/// it the old way, else its own name.
fn session_path(folder: &Path, id: &SessionId) -> PathBuf {
    let current = cassette_path(folder, id);
    let legacy = legacy_cassette_path(folder, id);
    if legacy != current && !current.exists() && holds(&legacy, id) {
        legacy
    } else {
        current
    }
}

/// Whether the cassette at `path` is `id`'s. On a file system that ignores case,
/// `Obj-1.json` opens `obj-1.json`, another session's cassette, which must not be taken.
fn holds(path: &Path, id: &SessionId) -> bool {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| Cassette::from_file_bytes(path, &bytes).ok())
        .is_some_and(|cassette| cassette.id == *id)
}

fn call_path(folder: &Path, op: Op, key: &CallKey) -> PathBuf {
    folder
        .join(CALLS_SUBFOLDER)
        .join(CallCassette::file_name(op, key))
}

fn session_doc(existing: Option<Doc>, id: SessionId, provenance: &Provenance) -> Cassette {
    match existing {
        Some(Doc::Session(cassette)) => cassette,
        _ => Cassette::new(id, recorded(provenance)),
    }
}

fn counts(responses: &[super::Entry]) -> (usize, u64) {
    (
        responses.len(),
        responses.iter().map(|entry| u64::from(entry.repeat)).sum(),
    )
}

fn recorded(provenance: &Provenance) -> Recorded {
    Recorded {
        at: provenance.at.clone(),
        upstream: Some(provenance.upstream.clone()),
        form: provenance.form,
    }
}

/// Now, as a cassette timestamp (RFC 3339 UTC, whole seconds).
pub(crate) fn now_timestamp() -> String {
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond");
    now.format(&time::format_description::well_known::Rfc3339)
        .expect("UTC times format as RFC 3339")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cassette_bytes(id: &SessionId) -> Vec<u8> {
        let mut cassette = Cassette::new(
            id.clone(),
            Recorded {
                at: "2026-11-02T10:00:00Z".to_owned(),
                upstream: None,
                form: None,
            },
        );
        cassette.create = Some(Create {
            library_item_id: "item-1".to_owned(),
            client_token: None,
            order: 0,
        });
        cassette.to_file_bytes()
    }

    /// `Obj-1`'s old name is `Obj-1.json`. Where that name opens another session's
    /// cassette (as `obj-1.json` does on a file system that ignores case, simulated here
    /// by writing obj-1's cassette under that name), the new session gets its own name.
    #[test]
    fn a_legacy_name_is_reused_only_for_the_cassette_of_that_id() {
        let folder = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(folder.path().join(SUBFOLDER)).unwrap();
        let upper = SessionId::parse("Obj-1").unwrap();
        let lower = SessionId::parse("obj-1").unwrap();
        let legacy = legacy_cassette_path(folder.path(), &upper);
        let current = cassette_path(folder.path(), &upper);
        assert_ne!(legacy, current);

        std::fs::write(&legacy, cassette_bytes(&lower)).unwrap();
        assert_eq!(session_path(folder.path(), &upper), current);

        std::fs::write(&legacy, cassette_bytes(&upper)).unwrap();
        assert_eq!(session_path(folder.path(), &upper), legacy);
    }
}
