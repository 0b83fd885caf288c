//! Tape cassettes: one file per taped request under `<folder>/tape/`, holding the
//! request's key and the timeline of answers it got.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    parse_format_two, pretty, validate_recorded, CassetteError, Problem, Recorded, FORMAT_VERSION,
};
use crate::exchange::{TapeAnswer, TapeEntry, TapeKey};

/// Tape cassettes live in this subfolder of the cassette folder.
pub(crate) const TAPE_SUBFOLDER: &str = "tape";

/// A taped request and its answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TapeCassette {
    format: u32,
    pub(crate) request: TapeKey,
    pub(crate) recorded: Recorded,
    pub(crate) responses: Vec<TapeEntry>,
}

impl TapeCassette {
    pub(crate) fn new(request: TapeKey, recorded: Recorded) -> Self {
        TapeCassette {
            format: FORMAT_VERSION,
            request,
            recorded,
            responses: Vec::new(),
        }
    }

    /// Adds `answer`, raising the last entry's repeat count when it is the same again.
    pub(crate) fn append(&mut self, answer: TapeAnswer) {
        match self.responses.last_mut() {
            Some(last) if last.answer == answer => last.repeat += 1,
            _ => self.responses.push(TapeEntry { repeat: 1, answer }),
        }
    }

    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |problem: Problem| CassetteError::new(path, problem);
        let cassette: TapeCassette = parse_format_two(bytes, "tape").map_err(fail)?;
        validate_recorded(&cassette.recorded).map_err(|reason| fail(reason.into()))?;
        if cassette.responses.is_empty() {
            return Err(fail(Problem::Invalid(
                "responses is empty; a tape needs at least one answer".to_owned(),
            )));
        }
        let expected = cassette.request.file_name();
        if path.file_name().and_then(|name| name.to_str()) != Some(expected.as_str()) {
            return Err(fail(Problem::Invalid(format!(
                "tapes {}, so its file name must be {expected}",
                cassette.request
            ))));
        }
        Ok(cassette)
    }

    pub(crate) fn to_file_bytes(&self) -> Vec<u8> {
        pretty(self)
    }
}
