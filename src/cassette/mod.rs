//! The on-disk cassette format: one pretty JSON file per download session id under
//! `<folder>/download-session/`, holding the decoded session model as an ordered
//! timeline of responses.
//!
//! ```json
//! {
//!   "format": 1,
//!   "operation": "com.vmware.content.library.item.download_session.get",
//!   "id": "obj-103",
//!   "recorded": { "at": "2013-06-06T22:08:05Z", "upstream": "vcenter.lab", "form": "A" },
//!   "responses": [
//!     { "status": 200, "session": { "client_progress": 10, … } },
//!     { "status": 200, "repeat": 3, "session": { "client_progress": 100, … } }
//!   ]
//! }
//! ```

mod check;
mod folder;
mod store;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::vapi::{DownloadSession, Form, SessionId, VapiError, DOWNLOAD_SESSION_GET};

pub use check::{check_folder, CheckReport, Problem};
pub use folder::{cassette_path, load_folder, LoadError, SUBFOLDER};
pub use store::{now_timestamp, Appended, Provenance, Rerecord, Store, StoreError};
pub use write::{remove_stale_temp_files, write_atomically};

/// The cassette format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// One download session's recorded answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cassette {
    pub format: u32,
    pub operation: String,
    pub id: SessionId,
    pub recorded: Recorded,
    pub responses: Vec<Entry>,
}

/// Where and when a cassette was first recorded. `at` anchors time shifting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// RFC 3339 UTC time of the first recorded response, e.g. `2026-11-29T01:17:35Z`.
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upstream: Option<String>,
    /// The request form the first response was recorded through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<Form>,
}

/// One answer in a timeline, served `repeat` times in a row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawEntry", into = "RawEntry")]
pub struct Entry {
    pub repeat: u32,
    pub response: Recording,
}

/// What vCenter answered: the session, or a vAPI error with its HTTP status.
// Sessions are the common case, so boxing them would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recording {
    Session(DownloadSession),
    Error { status: u16, error: VapiError },
}

impl Recording {
    pub fn status(&self) -> u16 {
        match self {
            Recording::Session(_) => 200,
            Recording::Error { status, .. } => *status,
        }
    }
}

/// The entry as it is spelled in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntry {
    status: u16,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<DownloadSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<VapiError>,
}

fn one() -> u32 {
    1
}

fn is_one(repeat: &u32) -> bool {
    *repeat == 1
}

impl TryFrom<RawEntry> for Entry {
    type Error = String;

    fn try_from(raw: RawEntry) -> Result<Self, String> {
        if raw.repeat == 0 {
            return Err("repeat must be at least 1".to_owned());
        }
        let response = match (raw.status, raw.session, raw.error) {
            (200, Some(session), None) => Recording::Session(session),
            (status, None, Some(error)) if (400..=599).contains(&status) => {
                Recording::Error { status, error }
            }
            (200, _, _) => {
                return Err("a status 200 response needs a session and no error".to_owned())
            }
            (status, _, _) if (400..=599).contains(&status) => {
                return Err(format!(
                    "a status {status} response needs an error and no session"
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
            response,
        })
    }
}

impl From<Entry> for RawEntry {
    fn from(entry: Entry) -> Self {
        let status = entry.response.status();
        let (session, error) = match entry.response {
            Recording::Session(session) => (Some(session), None),
            Recording::Error { error, .. } => (None, Some(error)),
        };
        RawEntry {
            status,
            repeat: entry.repeat,
            session,
            error,
        }
    }
}

/// Why a cassette file cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CassetteError {
    pub path: PathBuf,
    pub reason: String,
}

impl fmt::Display for CassetteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for CassetteError {}

impl Cassette {
    /// A new cassette with one response.
    pub fn new(id: SessionId, recorded: Recorded, response: Recording) -> Self {
        Cassette {
            format: FORMAT_VERSION,
            operation: DOWNLOAD_SESSION_GET.to_owned(),
            id,
            recorded,
            responses: vec![Entry {
                repeat: 1,
                response,
            }],
        }
    }

    /// Parses and validates a cassette file's bytes; `path` is the file they came from.
    pub fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |reason: String| CassetteError {
            path: path.to_owned(),
            reason,
        };
        let mut cassette: Cassette =
            serde_json::from_slice(bytes).map_err(|err| fail(err.to_string()))?;
        // serde grows the timeline from room for 4 entries; most hold one, and a large
        // folder is held in memory whole while it loads.
        cassette.responses.shrink_to_fit();
        let stem = path.file_stem().and_then(|stem| stem.to_str());
        if stem != Some(cassette.id.file_stem().as_str()) {
            return Err(fail(format!(
                "holds id {:?}, so its file name must be {}.json",
                cassette.id.as_str(),
                cassette.id.file_stem()
            )));
        }
        cassette.validate().map_err(fail)?;
        Ok(cassette)
    }

    fn validate(&self) -> Result<(), String> {
        if self.format != FORMAT_VERSION {
            return Err(format!(
                "format {} is not known; this dsvcr reads format {FORMAT_VERSION}",
                self.format
            ));
        }
        if self.operation != DOWNLOAD_SESSION_GET {
            return Err(format!(
                "operation {:?} is not {DOWNLOAD_SESSION_GET:?}",
                self.operation
            ));
        }
        if !is_utc_timestamp(&self.recorded.at) {
            return Err(format!(
                "recorded.at {:?} is not an RFC 3339 UTC time like 2026-11-29T01:17:35Z",
                self.recorded.at
            ));
        }
        if self.responses.is_empty() {
            return Err("responses is empty; a cassette needs at least one".to_owned());
        }
        for (index, entry) in self.responses.iter().enumerate() {
            if let Recording::Session(session) = &entry.response {
                self.validate_session(session)
                    .map_err(|reason| format!("responses[{index}].session: {reason}"))?;
            }
        }
        Ok(())
    }

    fn validate_session(&self, session: &DownloadSession) -> Result<(), String> {
        if let Some(id) = session.id.as_deref().filter(|id| *id != self.id.as_str()) {
            return Err(format!(
                "id {id:?} is not the cassette's id {:?}",
                self.id.as_str()
            ));
        }
        if let Some(progress) = session.client_progress.filter(|p| !(0..=100).contains(p)) {
            return Err(format!(
                "client_progress {progress} is not between 0 and 100"
            ));
        }
        if let Some(time) = &session.expiration_time {
            // Date-times are ASCII; `\d` in a pattern would also match other scripts' digits.
            if !time.is_ascii() {
                return Err(format!(
                    "expiration_time: {time:?} is not a date-time: it holds non-ASCII characters"
                ));
            }
            crate::timeshift::shift(time, time::Duration::ZERO)
                .map_err(|reason| format!("expiration_time: {reason}"))?;
        }
        Ok(())
    }

    /// The file's bytes: pretty JSON, stable key order, one trailing newline.
    pub fn to_file_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("cassettes serialise to JSON");
        bytes.push(b'\n');
        bytes
    }
}

fn is_utc_timestamp(text: &str) -> bool {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN
        .get_or_init(|| {
            // `[0-9]`, not `\d`, which also matches other scripts' digits.
            Regex::new(r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?Z$")
                .expect("the timestamp pattern compiles")
        })
        .is_match(text)
}

#[cfg(test)]
mod tests;
