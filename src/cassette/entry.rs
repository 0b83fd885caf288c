//! Timelines' entries: one answer served `repeat` times in a row.

use super::*;

/// One answer in a timeline, served `repeat` times in a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEntry", into = "RawEntry")]
pub(crate) struct Entry {
    pub(crate) repeat: u32,
    pub(crate) answer: Answer,
}

/// The entry as it is spelled in the file: a status, and the output under the name of
/// its shape (none for a void answer) or the error.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawEntry {
    pub(super) status: u16,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub(super) repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) session: Option<DownloadSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) file: Option<FileInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) files: Option<Vec<FileInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) ids: Option<Vec<String>>,
    /// A model kept as vCenter sent it (library and item lookups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) value: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<VapiError>,
}

pub(super) fn one() -> u32 {
    1
}

pub(super) fn is_one(repeat: &u32) -> bool {
    *repeat == 1
}

impl TryFrom<RawEntry> for Entry {
    type Error = String;

    fn try_from(raw: RawEntry) -> Result<Self, String> {
        if raw.repeat == 0 {
            return Err("repeat must be at least 1".to_owned());
        }
        let mut outputs = Vec::new();
        if let Some(session) = raw.session {
            outputs.push(Answer::Session(session));
        }
        if let Some(file) = raw.file {
            outputs.push(Answer::File(file));
        }
        if let Some(files) = raw.files {
            outputs.push(Answer::Files(files));
        }
        if let Some(ids) = raw.ids {
            outputs.push(Answer::Ids(ids));
        }
        if let Some(value) = raw.value {
            outputs.push(Answer::Value(value));
        }
        let answer = match (raw.status, raw.error, outputs.len()) {
            (200, None, 0) => Answer::Void,
            (200, None, 1) => outputs.pop().expect("one output"),
            (200, _, _) => {
                return Err(
                    "a status 200 response holds at most one of session, file, files, ids and value, and no error"
                        .to_owned(),
                )
            }
            (status, Some(error), 0) if (400..=599).contains(&status) => {
                Answer::Error { status, error }
            }
            (status, _, _) if (400..=599).contains(&status) => {
                return Err(format!(
                    "a status {status} response needs an error and nothing else"
                ))
            }
            (status, _, _) => {
                return Err(format!(
                    "status {status} is neither 200 nor an error status"
                ))
            }
        };
        Ok(Entry {
            repeat: raw.repeat,
            answer,
        })
    }
}

impl From<Entry> for RawEntry {
    fn from(entry: Entry) -> Self {
        let mut raw = RawEntry {
            status: entry.answer.recorded_status(),
            repeat: entry.repeat,
            session: None,
            file: None,
            files: None,
            ids: None,
            value: None,
            error: None,
        };
        match entry.answer {
            Answer::Session(session) => raw.session = Some(session),
            Answer::File(file) => raw.file = Some(file),
            Answer::Files(files) => raw.files = Some(files),
            Answer::Ids(ids) => raw.ids = Some(ids),
            Answer::Value(value) => raw.value = Some(value),
            // A create's id is the session cassette's own id; it is never an entry.
            Answer::Id(_) | Answer::Void => {}
            Answer::Error { error, .. } => raw.error = Some(error),
        }
        raw
    }
}

pub(crate) fn extend(responses: &mut Vec<Entry>, answer: Answer) {
    match responses.last_mut() {
        Some(last) if last.answer == answer => last.repeat += 1,
        _ => responses.push(Entry { repeat: 1, answer }),
    }
}
