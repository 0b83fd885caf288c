//! The store's side of journals (see `cassette::journal`): once a cassette has been written
//! whole in this run, each later answer is appended to its journal, and the journal is
//! folded back into the file when it outgrows it, when the file changed under the run,
//! and when the run ends.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::time::SystemTime;

use super::*;
use crate::cassette::journal::{self, Trust};
use crate::cassette::Entry;

/// A journal may grow to the size of its file, and to at least this, before it is folded:
/// each fold then writes at most about twice what was appended since the last one.
const MIN_JOURNAL_BYTES: u64 = 256 * 1024;

/// What the store knows of a cassette file it wrote whole in this run, and of its journal.
#[derive(Debug)]
pub(super) struct Journal {
    kind: Kind,
    /// The journal's first line, naming the file as written.
    header: Vec<u8>,
    base_len: u64,
    /// The file as written; another stamp means something else wrote it since.
    stamp: Option<Stamp>,
    /// Bytes in the journal file; 0 while there is none.
    len: u64,
    /// The size of each timeline, for what is reported.
    tails: HashMap<TrackId, Tail>,
}

/// A timeline: its operation and file name (none for call and tape cassettes).
type TrackId = (Option<Op>, Option<String>);

/// A timeline's entries and answers, and a digest of its last answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Tail {
    entries: usize,
    answers: u64,
    last: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<SystemTime>,
    #[cfg(unix)]
    inode: u64,
}

impl Stamp {
    fn of(path: &Path) -> Option<Stamp> {
        let metadata = std::fs::symlink_metadata(path).ok()?;
        Some(Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            inode: std::os::unix::fs::MetadataExt::ino(&metadata),
        })
    }
}

/// Why an answer did not go to the journal.
enum Missed {
    /// Not an error: the journal is full, or the file was changed by something else.
    Fold,
    Failed(io::Error),
}

impl Journal {
    /// The state after `bytes`, the cassette `doc`, were written whole to `path`.
    pub(super) fn after_write(path: &Path, bytes: &[u8], doc: &Doc) -> Journal {
        Journal {
            kind: doc.kind(),
            header: journal::header_line(bytes),
            base_len: bytes.len() as u64,
            stamp: Stamp::of(path),
            len: 0,
            tails: tails(doc),
        }
    }

    /// How a journal at the cassette's path is to be trusted: one this run wrote extends
    /// the file whatever happened to it since; another only if its header says so.
    pub(super) fn trust(journal: Option<&Journal>) -> Trust {
        match journal {
            Some(journal) if journal.len > 0 => Trust::Ours,
            _ => Trust::Header,
        }
    }

    /// The size of the timeline `doc` (one answer) was added to, once it was.
    fn added(&mut self, doc: &Doc) -> (usize, u64) {
        let (id, last) = only_tail(doc);
        let tail = self.tails.entry(id).or_insert(Tail {
            entries: 0,
            answers: 0,
            last: !last,
        });
        if tail.last != last {
            tail.entries += 1;
        }
        tail.answers += 1;
        tail.last = last;
        (tail.entries, tail.answers)
    }
}

impl Store {
    /// Adds a one-answer `recording` to the journal of the cassette at `path`, which this
    /// run has written whole (`slot.journal` is set), or folds the journal and the answer
    /// into the file when the journal is full or the file changed under the run.
    pub(super) async fn add_to_journal(
        &self,
        slot: &mut Slot,
        path: PathBuf,
        recording: Recording,
        provenance: &Provenance,
        secrets: &Secrets,
    ) -> Result<Appended, StoreError> {
        // The answer alone, as a cassette of its own: redacted, checked for secrets and
        // by the loader's rules (every one of which holds entry by entry), as a whole
        // file of it would be.
        let (alone, _, _) = self.apply(None, recording, provenance);
        let (bytes, redacted) = self.redacted(alone.to_file_bytes());
        if let Some(what) = secrets.found_in(&bytes) {
            return Err(StoreError::Secret { path, what });
        }
        let alone = alone
            .check(&path, &bytes)
            .map_err(|reason| StoreError::Invalid {
                path: path.clone(),
                reason,
            })?;
        let line = alone
            .only_answer_line()
            .expect("one recording is one answer");
        let state = slot
            .journal
            .as_mut()
            .expect("the cassette was written whole");
        let appended = match append_line(&path, state, line).await {
            Ok(len) => {
                state.len = len;
                let (entries, responses) = state.added(&alone);
                Appended {
                    path,
                    entries,
                    responses,
                    redacted,
                }
            }
            Err(missed) => {
                if let Missed::Failed(err) = &missed {
                    warn!(file = %path.display(), "appending to the journal failed ({err}); writing the cassette whole");
                }
                let (entries, responses) = self.fold(slot, &path, Some(&alone)).await?;
                Appended {
                    path,
                    entries,
                    responses,
                    redacted,
                }
            }
        };
        Ok(appended)
    }

    /// Folds the journal of the cassette at `path` (and `extra`, one answer, if given) into
    /// the file: it is rewritten whole and the journal removed. Returns the size of the
    /// timeline `extra` went to.
    async fn fold(
        &self,
        slot: &mut Slot,
        path: &Path,
        extra: Option<&Doc>,
    ) -> Result<(usize, u64), StoreError> {
        let state = slot
            .journal
            .as_ref()
            .expect("the cassette was written whole");
        let trust = Journal::trust(Some(state));
        let doc = match read_doc(path, state.kind, trust).await? {
            Some(mut doc) => {
                if let Some(extra) = extra {
                    let line = extra.only_answer_line().expect("one answer");
                    doc.apply_line(&line[..line.len() - 1]).map_err(|reason| {
                        StoreError::Invalid {
                            path: path.to_owned(),
                            reason,
                        }
                    })?;
                }
                doc
            }
            // The file is gone (removed by hand): the answer starts it afresh.
            None => match extra {
                Some(extra) => extra.clone(),
                None => return Ok((0, 0)),
            },
        };
        let bytes = doc.to_file_bytes();
        doc.check(path, &bytes)
            .map_err(|reason| StoreError::Invalid {
                path: path.to_owned(),
                reason,
            })?;
        let counts = extra.map_or((0, 0), |extra| counts_of(&doc, &only_tail(extra).0));
        self.write_whole(slot, path, &bytes, &doc).await?;
        Ok(counts)
    }

    /// Writes `bytes` (the cassette `doc`) to `path` atomically and durably, then removes
    /// the journal, whose answers the file now holds.
    pub(super) async fn write_whole(
        &self,
        slot: &mut Slot,
        path: &Path,
        bytes: &[u8],
        doc: &Doc,
    ) -> Result<(), StoreError> {
        let target = path.to_owned();
        let owned = bytes.to_vec();
        let written = tokio::task::spawn_blocking(move || {
            write_atomically(&target, &owned)?;
            let journal = journal::journal_path(&target);
            if let Err(err) = journal::remove(&journal) {
                // The file holds its answers, and the journal names the old file: it is
                // ignored when loading, and removed when record starts.
                warn!(journal = %journal.display(), "cannot remove a folded journal: {err}");
            }
            Ok(())
        })
        .await
        .expect("the write task does not panic");
        if let Err(source) = written {
            // What is on disk is unknown to the store now: the next write reads it back.
            slot.journal = None;
            return Err(StoreError::Write {
                path: path.to_owned(),
                source,
            });
        }
        slot.journal = Some(Journal::after_write(path, bytes, doc));
        Ok(())
    }

    /// Folds every journal this run wrote into its file (at the end of a run), several at
    /// a time (each waits on its own fsyncs), starting none after `deadline`; returns how
    /// many were folded and how many are left.
    pub(crate) async fn fold_journals(
        self: Arc<Self>,
        deadline: tokio::time::Instant,
    ) -> (usize, usize) {
        let slots: Vec<(PathBuf, Arc<tokio::sync::Mutex<Slot>>)> = {
            let slots = self.slots.lock().expect("the slot map is never poisoned");
            slots
                .iter()
                .map(|(path, slot)| (path.clone(), slot.clone()))
                .collect()
        };
        let queue = Arc::new(Mutex::new(slots.into_iter()));
        let mut folders = tokio::task::JoinSet::new();
        for _ in 0..FOLDS_AT_ONCE {
            folders.spawn(self.clone().fold_from(queue.clone(), deadline));
        }
        let (mut folded, mut left) = (0, 0);
        while let Some(counts) = folders.join_next().await {
            let (done, not) = counts.expect("a fold task does not panic");
            folded += done;
            left += not;
        }
        (folded, left)
    }

    /// Folds the journals of the cassettes taken from `queue` until it is empty.
    async fn fold_from(
        self: Arc<Self>,
        queue: Queue,
        deadline: tokio::time::Instant,
    ) -> (usize, usize) {
        let (mut folded, mut left) = (0, 0);
        loop {
            let next = queue.lock().expect("the queue is never poisoned").next();
            let Some((path, slot)) = next else {
                return (folded, left);
            };
            // A write still running holds its slot: its journal is left to loading.
            let Ok(mut slot) = tokio::time::timeout_at(deadline, slot.lock_owned()).await else {
                left += 1;
                continue;
            };
            if slot.journal.as_ref().is_none_or(|journal| journal.len == 0) {
                continue;
            }
            if tokio::time::Instant::now() >= deadline {
                left += 1;
                continue;
            }
            match self.fold(&mut slot, &path, None).await {
                Ok(_) => folded += 1,
                Err(err) => {
                    // The journal stays: loading applies it.
                    warn!("cannot fold the journal of {}: {err}", path.display());
                    left += 1;
                }
            }
        }
    }
}

/// How many journals are folded at once at the end of a run.
const FOLDS_AT_ONCE: usize = 8;

/// The cassettes whose journals are still to be folded.
type Queue = Arc<Mutex<std::vec::IntoIter<(PathBuf, Arc<tokio::sync::Mutex<Slot>>)>>>;

/// Appends `line` to the journal (creating it after a whole write), unless the journal
/// would outgrow its file or the file is no longer the one written.
async fn append_line(path: &Path, state: &Journal, line: Vec<u8>) -> Result<u64, Missed> {
    if state.len + line.len() as u64 > state.base_len.max(MIN_JOURNAL_BYTES) {
        return Err(Missed::Fold);
    }
    let (path, header, stamp, len) = (
        path.to_owned(),
        state.header.clone(),
        state.stamp,
        state.len,
    );
    tokio::task::spawn_blocking(move || {
        if stamp.is_none() || Stamp::of(&path) != stamp {
            return Err(Missed::Fold);
        }
        let journal = journal::journal_path(&path);
        let appended = if len == 0 {
            journal::create(&journal, &header, &line)
        } else {
            journal::append(&journal, len, &line)
        };
        appended.map_err(Missed::Failed)
    })
    .await
    .expect("the journal task does not panic")
}

/// Each timeline's size and last answer.
fn tails(doc: &Doc) -> HashMap<TrackId, Tail> {
    let mut tails = HashMap::new();
    match doc {
        Doc::Session(cassette) => {
            for track in &cassette.timelines {
                let id = (Some(track.op), track.file_name.clone());
                tails.insert(id, entries_tail(&track.responses));
            }
        }
        Doc::Call(cassette) => {
            tails.insert((None, None), entries_tail(&cassette.responses));
        }
        Doc::Tape(cassette) => {
            let last = cassette.responses.last().map(|entry| {
                digest(&crate::exchange::TapeEntry {
                    repeat: 1,
                    answer: entry.answer.clone(),
                })
            });
            let tail = Tail {
                entries: cassette.responses.len(),
                answers: cassette.responses.iter().map(|e| u64::from(e.repeat)).sum(),
                last: last.unwrap_or_default(),
            };
            tails.insert((None, None), tail);
        }
    }
    tails
}

fn entries_tail(responses: &[Entry]) -> Tail {
    let last = responses.last().map(|entry| {
        digest(&Entry {
            repeat: 1,
            answer: entry.answer.clone(),
        })
    });
    let (entries, answers) = counts(responses);
    Tail {
        entries,
        answers,
        last: last.unwrap_or_default(),
    }
}

/// The timeline of a one-answer cassette, and its answer's digest.
fn only_tail(doc: &Doc) -> (TrackId, u64) {
    let (id, tail) = tails(doc)
        .into_iter()
        .next()
        .expect("a one-answer cassette has a timeline");
    (id, tail.last)
}

fn counts_of(doc: &Doc, id: &TrackId) -> (usize, u64) {
    tails(doc)
        .get(id)
        .map_or((0, 0), |tail| (tail.entries, tail.answers))
}

/// A digest of an entry's JSON, to tell an answer from the one before.
fn digest<T: serde::Serialize>(entry: &T) -> u64 {
    let mut hasher = DefaultHasher::new();
    serde_json::to_vec(entry)
        .expect("entries serialise")
        .hash(&mut hasher);
    hasher.finish()
}
