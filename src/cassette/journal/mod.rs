//! Journals: the answers recorded into a cassette since its file was last written whole.
//!
//! Rewriting a whole cassette for every answer made recording quadratic in bytes written
//! (1000 polls of a changing answer wrote about 1 GiB for a 2.1 MB tape). While `record`
//! runs, the first write of a cassette in the run rewrites its file (atomically, as
//! always); every later answer is appended, as one line, to `<file>.journal` next to it
//! and made durable (fdatasync) before the client gets it. The journal is folded back
//! into the file (the file rewritten, the journal removed) when it grows larger than the
//! file, when something other than an answer is recorded (a create, a download), and when
//! the run ends, so a finished recording leaves only plain cassettes.
//!
//! A journal is JSON Lines. Its first line names the file it extends by the SHA-256 of
//! that file's bytes, `{"journal":1,"base_sha256":"<64 hex digits>"}`; each later line adds
//! one answer, spelled as in the cassette: `{"operation":…,"file_name"?:…,"response":{…}}`
//! in a session cassette's journal, `{"response":{…}}` in a call's or a tape's. Loading
//! applies the lines in order, as record added them (an answer equal to the last one of its
//! timeline raises its repeat count), to the file's cassette. A last line with no newline
//! was cut short by a crash before it was acknowledged, and is ignored; a journal whose
//! `base_sha256` is not its file's is ignored too: the file was rewritten after it (a fold
//! interrupted between renaming the new file into place and removing the journal), so the
//! file already holds its answers.

mod file;
mod lines;

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::reading::read_into;
use super::{CassetteError, LoadError, Problem};
use crate::exchange::sha256_hex;

pub(crate) use file::{append, create, fold_leftover_journals};
pub(crate) use lines::Journaled;

/// A journal is named after its cassette file with this added: `obj-1.json.journal`.
pub(crate) const SUFFIX: &str = ".journal";

/// The journal format this build writes and reads.
const JOURNAL_FORMAT: u32 = 1;

/// The journal of the cassette file at `base`.
pub(crate) fn journal_path(base: &Path) -> PathBuf {
    let mut name = base.as_os_str().to_owned();
    name.push(SUFFIX);
    PathBuf::from(name)
}

/// The first line of a journal.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    journal: u32,
    base_sha256: String,
}

/// The header line (with its newline) of a journal extending a file of `base` bytes.
pub(crate) fn header_line(base: &[u8]) -> Vec<u8> {
    let header = Header {
        journal: JOURNAL_FORMAT,
        base_sha256: sha256_hex(base),
    };
    let mut line = serde_json::to_vec(&header).expect("headers serialise");
    line.push(b'\n');
    line
}

/// Whose word decides that a journal extends its file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Trust {
    /// The header's digest must be the file's.
    Header,
    /// This run wrote the journal for the file and knows it extends it, even if the file
    /// was edited by hand since.
    Ours,
}

/// What a journal added to its cassette.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Applied {
    /// No journal, or none with a whole header.
    Nothing,
    /// This many answers.
    Answers(usize),
    /// A journal written for another version of the file, which is ignored.
    Stale,
}

/// Applies the whole lines of `journal` (the bytes of the journal at `path`) to `doc`,
/// the cassette of the file whose bytes are `base`.
pub(crate) fn apply<T: Journaled>(
    doc: &mut T,
    base: &[u8],
    journal: &[u8],
    path: &Path,
    trust: Trust,
) -> Result<Applied, CassetteError> {
    let fail = |line: usize, reason: String| {
        CassetteError::new(path, Problem::Invalid(format!("line {line}: {reason}")))
    };
    // Only what ends with a newline was written whole.
    let Some(end) = journal.iter().rposition(|byte| *byte == b'\n') else {
        return Ok(Applied::Nothing);
    };
    let mut lines = journal[..end].split(|byte| *byte == b'\n');
    let header = lines.next().unwrap_or_default();
    let header: Header = serde_json::from_slice(header)
        .map_err(|err| fail(1, format!("not a dsvcr journal header: {err}")))?;
    if header.journal != JOURNAL_FORMAT {
        return Err(fail(
            1,
            format!(
                "journal format {} is not known; this dsvcr reads journal format {JOURNAL_FORMAT}",
                header.journal
            ),
        ));
    }
    if trust == Trust::Header && header.base_sha256 != sha256_hex(base) {
        return Ok(Applied::Stale);
    }
    let mut answers = 0;
    for (index, line) in lines.enumerate() {
        doc.apply_line(line)
            .map_err(|reason| fail(index + 2, reason))?;
        answers += 1;
    }
    Ok(Applied::Answers(answers))
}

/// The cassette in the file at `path` (whose bytes are `bytes`) with its journal, if it
/// has one, applied: how every mode loads a cassette. A journal over `limit` bytes is
/// refused like a file over it; the folded cassette must pass every rule of its file.
pub(crate) fn load<T: Journaled>(path: &Path, bytes: &[u8], limit: u64) -> Result<T, LoadError> {
    load_noting(path, bytes, limit).map(|(doc, _)| doc)
}

/// As [`load`], saying what the journal added.
pub(crate) fn load_noting<T: Journaled>(
    path: &Path,
    bytes: &[u8],
    limit: u64,
) -> Result<(T, Applied), LoadError> {
    let mut doc = T::from_file_bytes(path, bytes)?;
    let journal_path = journal_path(path);
    let Some(journal) = read_journal(&journal_path, limit)? else {
        return Ok((doc, Applied::Nothing));
    };
    let applied = apply(&mut doc, bytes, &journal, &journal_path, Trust::Header)?;
    match applied {
        Applied::Answers(count) if count > 0 => Ok((validated(doc, path, &journal_path)?, applied)),
        Applied::Stale => {
            tracing::warn!(
                journal = %crate::text::escape_controls(&journal_path.display().to_string()),
                "ignored: it extends another version of its cassette file (a fold cut short after the file was rewritten with its answers)"
            );
            Ok((doc, applied))
        }
        Applied::Answers(_) | Applied::Nothing => Ok((doc, applied)),
    }
}

/// `doc`, once its file's rules hold for it as it will be written; a failure is the
/// journal's (the file alone loaded).
pub(crate) fn validated<T: Journaled>(
    doc: T,
    path: &Path,
    journal_path: &Path,
) -> Result<T, CassetteError> {
    T::from_file_bytes(path, &doc.to_file_bytes()).map_err(|err| {
        CassetteError::new(
            journal_path,
            Problem::Invalid(format!(
                "its answers make a cassette dsvcr cannot load: {}",
                err.reason
            )),
        )
    })
}

/// The journal's bytes, `None` when there is none.
pub(crate) fn read_journal(path: &Path, limit: u64) -> Result<Option<Vec<u8>>, LoadError> {
    let mut buffer = Vec::new();
    match read_into(path, &mut buffer, limit) {
        Ok(bytes) => {
            let len = bytes.len();
            buffer.truncate(len);
            Ok(Some(buffer))
        }
        Err(LoadError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(err) => Err(err),
    }
}

/// Removes the journal at `path` if there is one.
pub(crate) fn remove(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(err) if err.kind() != io::ErrorKind::NotFound => Err(err),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
