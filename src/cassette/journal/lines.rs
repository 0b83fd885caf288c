//! A journal's lines, one answer each, for each kind of cassette.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::super::{extend, CallCassette, Cassette, CassetteError, Entry, TapeCassette};
use crate::exchange::TapeEntry;
use crate::vapi::Op;

/// A kind of cassette file that can have a journal.
pub(crate) trait Journaled: Sized {
    /// Parses and validates the file's bytes, as the loader does.
    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError>;
    /// The file's bytes.
    fn to_file_bytes(&self) -> Vec<u8>;
    /// Adds the answer of one journal line (without its newline), as record added it.
    fn apply_line(&mut self, line: &[u8]) -> Result<(), String>;
    /// The journal line (with its newline) that adds this cassette's one answer; `None`
    /// when it holds anything else.
    fn only_answer_line(&self) -> Option<Vec<u8>>;
}

/// An answer to one of a session's timelines.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionLine {
    operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_name: Option<String>,
    response: Entry,
}

/// An answer to a call cassette's timeline.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CallLine {
    response: Entry,
}

/// An answer to a tape's timeline.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct TapeLine {
    response: TapeEntry,
}

impl Journaled for Cassette {
    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        Cassette::from_file_bytes(path, bytes)
    }

    fn to_file_bytes(&self) -> Vec<u8> {
        Cassette::to_file_bytes(self)
    }

    fn apply_line(&mut self, line: &[u8]) -> Result<(), String> {
        let line: SessionLine = serde_json::from_slice(line).map_err(|err| err.to_string())?;
        let op = Op::from_full_name(&line.operation).ok_or_else(|| {
            format!(
                "operation {:?} is not an operation dsvcr knows",
                line.operation
            )
        })?;
        let Entry { repeat, answer } = line.response;
        let file = line.file_name.as_deref();
        self.append(op, file, answer);
        let track = self
            .timelines
            .iter_mut()
            .find(|track| track.op == op && track.file_name.as_deref() == file)
            .expect("just appended to");
        repeat_more(
            track.responses.last_mut().map(|last| &mut last.repeat),
            repeat,
        )
    }

    fn only_answer_line(&self) -> Option<Vec<u8>> {
        let [track] = &self.timelines[..] else {
            return None;
        };
        let [entry] = &track.responses[..] else {
            return None;
        };
        if self.create.is_some() || !self.downloads.is_empty() || entry.repeat != 1 {
            return None;
        }
        Some(line(&SessionLine {
            operation: track.op.full_name().to_owned(),
            file_name: track.file_name.clone(),
            response: entry.clone(),
        }))
    }
}

impl Journaled for CallCassette {
    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        CallCassette::from_file_bytes(path, bytes)
    }

    fn to_file_bytes(&self) -> Vec<u8> {
        CallCassette::to_file_bytes(self)
    }

    fn apply_line(&mut self, line: &[u8]) -> Result<(), String> {
        let line: CallLine = serde_json::from_slice(line).map_err(|err| err.to_string())?;
        let Entry { repeat, answer } = line.response;
        extend(&mut self.responses, answer);
        repeat_more(
            self.responses.last_mut().map(|last| &mut last.repeat),
            repeat,
        )
    }

    fn only_answer_line(&self) -> Option<Vec<u8>> {
        match &self.responses[..] {
            [entry] if entry.repeat == 1 => Some(line(&CallLine {
                response: entry.clone(),
            })),
            _ => None,
        }
    }
}

impl Journaled for TapeCassette {
    fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        TapeCassette::from_file_bytes(path, bytes)
    }

    fn to_file_bytes(&self) -> Vec<u8> {
        TapeCassette::to_file_bytes(self)
    }

    fn apply_line(&mut self, line: &[u8]) -> Result<(), String> {
        let line: TapeLine = serde_json::from_slice(line).map_err(|err| err.to_string())?;
        let TapeEntry { repeat, answer } = line.response;
        self.append(answer);
        repeat_more(
            self.responses.last_mut().map(|last| &mut last.repeat),
            repeat,
        )
    }

    fn only_answer_line(&self) -> Option<Vec<u8>> {
        match &self.responses[..] {
            [entry] if entry.repeat == 1 => Some(line(&TapeLine {
                response: entry.clone(),
            })),
            _ => None,
        }
    }
}

/// An entry of `repeat` answers was added as one: the entry it went to (`last`, which
/// counted it once) counts the rest.
fn repeat_more(last: Option<&mut u32>, repeat: u32) -> Result<(), String> {
    let last = last.expect("an answer was just added");
    let total = last
        .checked_add(repeat - 1)
        .ok_or_else(|| format!("the repeat count overflows: {repeat} more after {last}"))?;
    *last = total;
    Ok(())
}

/// A line: compact JSON (which never holds a raw newline) and a newline.
fn line<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(value).expect("journal lines serialise");
    bytes.push(b'\n');
    bytes
}
