//! The on-disk cassette formats.
//!
//! A **session cassette** is one pretty JSON file per download session id under
//! `<folder>/download-session/`, holding the session's create and a timeline of decoded
//! answers per (operation, file name):
//!
//! ```json
//! {
//!   "format": 2,
//!   "id": "1bc6aee4",
//!   "recorded": { "at": "2026-11-29T01:17:35Z", "upstream": "vcenter.lab" },
//!   "create": { "library_item_id": "ca5b6d9a", "order": 0 },
//!   "timelines": [
//!     { "operation": "com.vmware.content.library.item.downloadsession.file.get",
//!       "file_name": "disk.iso",
//!       "responses": [ { "status": 200, "repeat": 3, "file": { … } } ] }
//!   ]
//! }
//! ```
//!
//! Format 1 files (one `get` timeline, `"operation"` and `"responses"` at the top) load
//! unchanged; writing one writes format 2.
//!
//! A session cassette may also list the files whose bytes were downloaded, each kept
//! once as a content-addressed blob `<folder>/blobs/sha256/<hex>`:
//!
//! ```json
//!   "downloads": [
//!     { "file_name": "disk.iso", "status": 200, "size": 4096,
//!       "sha256": "9f86…", "content_type": "application/octet-stream" }
//!   ]
//! ```
//!
//! A **call cassette** under `<folder>/calls/` holds an operation that is not about one
//! session (a list, a create that failed, a library or item lookup), keyed by its
//! canonical input.

pub(crate) mod blobs;
mod check;
mod folder;
mod store;
mod tape;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::vapi::catalog::Key;
use crate::vapi::{Answer, CallKey, DownloadSession, FileInfo, Form, Op, SessionId, VapiError};

pub(crate) use check::check_folder;
pub(crate) use folder::{
    call_files, cassette_files, load_folder, tape_files, Cassettes, LoadError,
};
pub(crate) use store::{
    now_timestamp, Appended, Provenance, Recording, Rerecord, Store, StoreError,
};
pub(crate) use tape::{TapeCassette, TAPE_SUBFOLDER};
pub(crate) use write::write_atomically;

/// The cassette format version this build writes.
pub(crate) const FORMAT_VERSION: u32 = 2;
/// The oldest format this build reads.
const OLDEST_FORMAT: u32 = 1;

/// One download session's recordings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cassette {
    pub(crate) id: SessionId,
    pub(crate) recorded: Recorded,
    pub(crate) create: Option<Create>,
    pub(crate) timelines: Vec<Track>,
    /// The files whose bytes were recorded, by file name.
    pub(crate) downloads: Vec<Download>,
}

/// A file's bytes as downloaded from its endpoint: the blob holding them and the
/// headers replay answers with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Download {
    pub(crate) file_name: String,
    /// The upstream's status; only a whole body (200) is recorded.
    pub(crate) status: u16,
    pub(crate) size: u64,
    /// Lowercase hex SHA-256 of the bytes: the blob's name.
    pub(crate) sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
}

/// How the session came to be: the create call that answered its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Create {
    pub(crate) library_item_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_token: Option<String>,
    /// Its place among the recorded creates for the same library item, from 0.
    pub(crate) order: u32,
}

/// One operation's answers for a session (and one file, for file operations), in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Track {
    pub(crate) op: Op,
    pub(crate) file_name: Option<String>,
    pub(crate) responses: Vec<Entry>,
}

/// Where and when a cassette was first recorded. `at` anchors time shifting.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Recorded {
    /// RFC 3339 UTC time of the first recorded response, e.g. `2026-11-29T01:17:35Z`.
    pub(crate) at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) upstream: Option<String>,
    /// The request form of the first answer, when it was a `get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) form: Option<Form>,
}

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
struct RawEntry {
    status: u16,
    #[serde(default = "one", skip_serializing_if = "is_one")]
    repeat: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session: Option<DownloadSession>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<FileInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    files: Option<Vec<FileInfo>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ids: Option<Vec<String>>,
    /// A model kept as vCenter sent it (library and item lookups).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    value: Option<serde_json::Value>,
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

/// Why a cassette file cannot be used.
#[derive(Debug, Clone)]
pub(crate) struct CassetteError {
    pub(crate) path: PathBuf,
    pub(crate) reason: String,
    /// The JSON parser's error, when the file is not the JSON the format describes.
    parse: Option<Arc<serde_json::Error>>,
}

impl CassetteError {
    pub(crate) fn new(path: &Path, problem: impl Into<Problem>) -> Self {
        let (reason, parse) = match problem.into() {
            Problem::Parse(err) => (err.to_string(), Some(Arc::new(err))),
            Problem::Invalid(reason) => (reason, None),
        };
        CassetteError {
            path: path.to_owned(),
            reason,
            parse,
        }
    }
}

impl PartialEq for CassetteError {
    fn eq(&self, other: &Self) -> bool {
        (&self.path, &self.reason) == (&other.path, &other.reason)
    }
}

impl Eq for CassetteError {}

impl fmt::Display for CassetteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for CassetteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.parse
            .as_deref()
            .map(|err| err as &(dyn std::error::Error + 'static))
    }
}

/// What is wrong with a cassette file's bytes.
#[derive(Debug)]
pub(crate) enum Problem {
    /// Not the JSON the format describes (the message is the parser's).
    Parse(serde_json::Error),
    /// JSON of the right shape whose content the format refuses.
    Invalid(String),
}

impl From<String> for Problem {
    fn from(reason: String) -> Self {
        Problem::Invalid(reason)
    }
}

impl From<serde_json::Error> for Problem {
    fn from(err: serde_json::Error) -> Self {
        Problem::Parse(err)
    }
}

/// Just the format version, read first to pick the parser.
#[derive(Deserialize)]
struct Version {
    format: u32,
}

/// Format 1: one `get` timeline.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatOne {
    #[allow(dead_code)]
    format: u32,
    operation: String,
    id: SessionId,
    recorded: Recorded,
    responses: Vec<Entry>,
}

/// Format 2, as spelled in the file.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FormatTwo {
    format: u32,
    id: SessionId,
    recorded: Recorded,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    create: Option<Create>,
    #[serde(default)]
    timelines: Vec<RawTrack>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    downloads: Vec<Download>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTrack {
    operation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file_name: Option<String>,
    responses: Vec<Entry>,
}

/// The format version of a file whose first member is `"format"` with a plain number,
/// found without parsing the rest; `None` for any other file. Both formats' structs also
/// read `format`, and a repeated member fails them, so a file they accept holds this
/// version and no other.
fn leading_format(bytes: &[u8]) -> Option<u32> {
    let skip_space = |at: usize| {
        at + bytes[at.min(bytes.len())..]
            .iter()
            .take_while(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r'))
            .count()
    };
    let mut at = skip_space(0);
    for expected in [&b"{"[..], b"\"format\"", b":"] {
        if !bytes.get(at..)?.starts_with(expected) {
            return None;
        }
        at = skip_space(at + expected.len());
    }
    let digits = bytes[at..]
        .iter()
        .take_while(|byte| byte.is_ascii_digit())
        .count();
    if !matches!(bytes.get(skip_space(at + digits)), Some(b',' | b'}')) {
        return None;
    }
    std::str::from_utf8(&bytes[at..at + digits])
        .ok()?
        .parse()
        .ok()
}

/// Parses a file of a kind only format 2 has (`kind` cassettes), checking its version
/// first so that an unknown one is named as such.
fn parse_format_two<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
    kind: &str,
) -> Result<T, Problem> {
    let version: Version = serde_json::from_slice(bytes)?;
    if version.format != FORMAT_VERSION {
        return Err(Problem::Invalid(format!(
            "format {} is not known for {kind} cassettes; this dsvcr reads format {FORMAT_VERSION}",
            version.format
        )));
    }
    Ok(serde_json::from_slice(bytes)?)
}

impl Cassette {
    /// A new cassette with no timeline yet.
    pub(crate) fn new(id: SessionId, recorded: Recorded) -> Self {
        Cassette {
            id,
            recorded,
            create: None,
            timelines: Vec::new(),
            downloads: Vec::new(),
        }
    }

    /// The timeline of `op` (for `file`), if recorded.
    pub(crate) fn track(&self, op: Op, file: Option<&str>) -> Option<&Track> {
        self.timelines
            .iter()
            .find(|track| track.op == op && track.file_name.as_deref() == file)
    }

    /// Appends `answer` to the timeline of `op` (for `file`), raising the last entry's
    /// repeat count when it is the same answer again.
    pub(crate) fn append(&mut self, op: Op, file: Option<&str>, answer: Answer) {
        let position = self
            .timelines
            .iter()
            .position(|track| track.op == op && track.file_name.as_deref() == file);
        let track = match position {
            Some(index) => &mut self.timelines[index],
            None => {
                self.timelines.push(Track {
                    op,
                    file_name: file.map(str::to_owned),
                    responses: Vec::new(),
                });
                self.timelines.sort_by(|a, b| {
                    (a.op, a.file_name.as_deref()).cmp(&(b.op, b.file_name.as_deref()))
                });
                self.timelines
                    .iter_mut()
                    .find(|track| track.op == op && track.file_name.as_deref() == file)
                    .expect("just added")
            }
        };
        extend(&mut track.responses, answer);
    }

    /// Parses and validates a cassette file's bytes; `path` is the file they came from.
    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |problem| CassetteError::new(path, problem);
        // A UTF-8 file that leads with its format (as every written one does) is parsed
        // once, its text checked once rather than string by string; any other, and any
        // that fails, goes the long way, for the same error.
        let fast = std::str::from_utf8(bytes)
            .ok()
            .and_then(|text| match leading_format(bytes) {
                Some(1) => Self::from_format_one(serde_json::from_str(text).ok()?).ok(),
                Some(2) => Self::from_format_two(serde_json::from_str(text).ok()?).ok(),
                _ => None,
            });
        let cassette = match fast {
            Some(cassette) => cassette,
            None => Self::from_any_format(bytes).map_err(fail)?,
        };
        let stem = path.file_stem().and_then(|stem| stem.to_str());
        if !stem.is_some_and(|stem| cassette.id.is_file_stem(stem)) {
            return Err(fail(Problem::Invalid(format!(
                "holds id {:?}, so its file name must be {}.json",
                cassette.id.as_str(),
                cassette.id.file_stem()
            ))));
        }
        cassette.validate().map_err(|reason| fail(reason.into()))?;
        Ok(cassette)
    }

    /// Reads the format version first, then parses the file as that format.
    fn from_any_format(bytes: &[u8]) -> Result<Self, Problem> {
        let version: Version = serde_json::from_slice(bytes)?;
        Ok(match version.format {
            1 => Self::from_format_one(serde_json::from_slice(bytes)?)?,
            2 => Self::from_format_two(serde_json::from_slice(bytes)?)?,
            other => Err(format!(
                "format {other} is not known; this dsvcr reads formats {OLDEST_FORMAT} to {FORMAT_VERSION}"
            ))?,
        })
    }

    fn from_format_one(mut one: FormatOne) -> Result<Self, String> {
        if one.operation != Op::Get.full_name() {
            return Err(format!(
                "operation {:?} is not {:?}",
                one.operation,
                Op::Get.full_name()
            ));
        }
        // serde grows the timeline from room for 4 entries; most hold one, and a large
        // folder is held in memory whole while it loads.
        one.responses.shrink_to_fit();
        Ok(Cassette {
            id: one.id,
            recorded: one.recorded,
            create: None,
            timelines: vec![Track {
                op: Op::Get,
                file_name: None,
                responses: one.responses,
            }],
            downloads: Vec::new(),
        })
    }

    fn from_format_two(two: FormatTwo) -> Result<Self, String> {
        let timelines = two
            .timelines
            .into_iter()
            .enumerate()
            .map(|(index, raw)| {
                let op = Op::from_full_name(&raw.operation).ok_or_else(|| {
                    format!(
                        "timelines[{index}].operation {:?} is not an operation dsvcr knows",
                        raw.operation
                    )
                })?;
                let mut responses = raw.responses;
                responses.shrink_to_fit();
                Ok(Track {
                    op,
                    file_name: raw.file_name,
                    responses,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Cassette {
            id: two.id,
            recorded: two.recorded,
            create: two.create,
            timelines,
            downloads: two.downloads,
        })
    }

    fn validate(&self) -> Result<(), String> {
        validate_recorded(&self.recorded)?;
        if self.timelines.is_empty() && self.create.is_none() {
            return Err(
                "timelines is empty and there is no create; a cassette needs one".to_owned(),
            );
        }
        if let Some(create) = &self.create {
            if create.library_item_id.is_empty() {
                return Err("create.library_item_id is empty".to_owned());
            }
        }
        for (index, track) in self.timelines.iter().enumerate() {
            self.validate_track(track)
                .map_err(|reason| format!("timelines[{index}] ({}): {reason}", track.op.label()))?;
        }
        for (index, track) in self.timelines.iter().enumerate() {
            if self.timelines[..index]
                .iter()
                .any(|earlier| earlier.op == track.op && earlier.file_name == track.file_name)
            {
                return Err(format!(
                    "timelines[{index}] repeats the timeline of {} for the same file",
                    track.op.label()
                ));
            }
        }
        for (index, download) in self.downloads.iter().enumerate() {
            validate_download(download)
                .map_err(|reason| format!("downloads[{index}]: {reason}"))?;
            if self.downloads[..index]
                .iter()
                .any(|earlier| earlier.file_name == download.file_name)
            {
                return Err(format!(
                    "downloads[{index}] repeats file {:?}",
                    download.file_name
                ));
            }
        }
        Ok(())
    }

    /// Records `download` as the bytes of its file, replacing an earlier one.
    pub(crate) fn set_download(&mut self, download: Download) {
        self.downloads
            .retain(|earlier| earlier.file_name != download.file_name);
        self.downloads.push(download);
        self.downloads.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    }

    fn validate_track(&self, track: &Track) -> Result<(), String> {
        match (track.op.key(), &track.file_name) {
            (Key::Session, None) => {}
            (Key::SessionFile, Some(name)) if !name.is_empty() => {}
            (Key::SessionFile, _) => return Err("needs a non-empty file_name".to_owned()),
            (Key::Session, Some(_)) => return Err("takes no file_name".to_owned()),
            (Key::Create | Key::ItemFilter | Key::Lookup, _) => {
                return Err("is not an operation on one session".to_owned())
            }
        }
        validate_responses(track.op, &track.responses, |answer| {
            self.validate_answer(answer, track.file_name.as_deref())
        })
    }

    fn validate_answer(&self, answer: &Answer, file: Option<&str>) -> Result<(), String> {
        match answer {
            Answer::Session(session) => self.validate_session(session),
            Answer::File(info) => match file {
                Some(file) if info.name != file => Err(format!(
                    "file name {:?} is not the timeline's file_name {file:?}",
                    info.name
                )),
                _ => validate_file(info),
            },
            Answer::Files(files) => files.iter().try_for_each(validate_file),
            _ => Ok(()),
        }
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
            crate::timeshift::check(time).map_err(|reason| format!("expiration_time: {reason}"))?;
        }
        Ok(())
    }

    /// The file's bytes: format 2, pretty JSON, stable key order, one trailing newline.
    pub(crate) fn to_file_bytes(&self) -> Vec<u8> {
        let two = FormatTwo {
            format: FORMAT_VERSION,
            id: self.id.clone(),
            recorded: self.recorded.clone(),
            create: self.create.clone(),
            timelines: self
                .timelines
                .iter()
                .map(|track| RawTrack {
                    operation: track.op.full_name().to_owned(),
                    file_name: track.file_name.clone(),
                    responses: track.responses.clone(),
                })
                .collect(),
            downloads: self.downloads.clone(),
        };
        pretty(&two)
    }
}

fn validate_file(info: &FileInfo) -> Result<(), String> {
    if info.name.is_empty() {
        return Err("a file info has an empty name".to_owned());
    }
    for (field, value) in [
        ("size", info.size),
        ("bytes_transferred", info.bytes_transferred),
    ] {
        if let Some(value) = value.filter(|value| *value < 0) {
            return Err(format!("file {:?}: {field} {value} is negative", info.name));
        }
    }
    Ok(())
}

fn validate_download(download: &Download) -> Result<(), String> {
    if download.file_name.is_empty() {
        return Err("file_name is empty".to_owned());
    }
    if download.status != 200 {
        return Err(format!(
            "status {} is not 200; only whole bodies are recorded",
            download.status
        ));
    }
    if !blobs::is_digest(&download.sha256) {
        return Err(format!(
            "sha256 {:?} is not 64 lowercase hex digits",
            download.sha256
        ));
    }
    if let Some(kind) = &download.content_type {
        http::HeaderValue::from_str(kind)
            .map_err(|_| format!("content_type {kind:?} is not a valid header value"))?;
    }
    Ok(())
}

/// Every entry is an error or the operation's own output, and there is at least one.
fn validate_responses(
    op: Op,
    responses: &[Entry],
    mut check: impl FnMut(&Answer) -> Result<(), String>,
) -> Result<(), String> {
    if responses.is_empty() {
        return Err("responses is empty; a timeline needs at least one".to_owned());
    }
    for (index, entry) in responses.iter().enumerate() {
        let fits = match entry.answer.output() {
            None => true,
            Some(output) => output == op.output(),
        };
        if !fits {
            return Err(format!(
                "responses[{index}] is not what {} answers",
                op.label()
            ));
        }
        check(&entry.answer).map_err(|reason| format!("responses[{index}]: {reason}"))?;
    }
    Ok(())
}

fn validate_recorded(recorded: &Recorded) -> Result<(), String> {
    if crate::timeshift::parse_utc(&recorded.at).is_none() {
        return Err(format!(
            "recorded.at {:?} is not an RFC 3339 UTC time like 2026-11-29T01:17:35Z",
            recorded.at
        ));
    }
    Ok(())
}

fn pretty<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("cassettes serialise to JSON");
    bytes.push(b'\n');
    bytes
}

pub(crate) fn extend(responses: &mut Vec<Entry>, answer: Answer) {
    match responses.last_mut() {
        Some(last) if last.answer == answer => last.repeat += 1,
        _ => responses.push(Entry { repeat: 1, answer }),
    }
}

/// The answers of an operation that is not about one session (a list, a create that
/// failed, a library or item lookup), keyed by its canonical input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CallCassette {
    pub(crate) op: Op,
    pub(crate) key: CallKey,
    pub(crate) recorded: Recorded,
    pub(crate) responses: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCallCassette {
    format: u32,
    operation: String,
    /// The call's key as named inputs, e.g. `{"library_item_id": "L"}` or `{"spec": {…}}`.
    key: serde_json::Map<String, serde_json::Value>,
    recorded: Recorded,
    responses: Vec<Entry>,
}

/// Call cassettes live in this subfolder of the cassette folder.
pub(crate) const CALLS_SUBFOLDER: &str = "calls";

impl CallCassette {
    /// The key a call cassette is stored under: the call's, less what does not select
    /// a recording (a failed create's client token).
    pub(crate) fn key_of(op: Op, key: &CallKey) -> Option<CallKey> {
        match (op, key) {
            (Op::List, CallKey::Items(item)) => Some(CallKey::Items(item.clone())),
            (Op::Create, CallKey::Create { item, .. }) => Some(CallKey::Create {
                item: item.clone(),
                token: None,
            }),
            (_, CallKey::Lookup(input)) => Some(CallKey::Lookup(input.clone())),
            _ => None,
        }
    }

    /// The key as named inputs.
    fn key_object(key: &CallKey) -> serde_json::Map<String, serde_json::Value> {
        let item = |item: &str| {
            let mut object = serde_json::Map::new();
            object.insert("library_item_id".to_owned(), item.into());
            object
        };
        match key {
            CallKey::Items(None) => serde_json::Map::new(),
            CallKey::Items(Some(id)) | CallKey::Create { item: id, .. } => item(id),
            CallKey::Lookup(input) => match serde_json::from_str(input) {
                Ok(serde_json::Value::Object(object)) => object,
                _ => serde_json::Map::new(),
            },
            CallKey::Session(id) => item(id.as_str()),
            CallKey::File(id, _) => item(id.as_str()),
        }
    }

    /// The file name: the operation's label and a hash of its canonical key, so that any
    /// key is a safe, short, case-distinct name.
    pub(crate) fn file_name(op: Op, key: &CallKey) -> String {
        let canonical = serde_json::Value::Object(Self::key_object(key)).to_string();
        let digest = ring::digest::digest(&ring::digest::SHA256, canonical.as_bytes());
        let hex: String = digest.as_ref()[..8]
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        format!("{}-{hex}.json", op.label())
    }

    pub(crate) fn from_file_bytes(path: &Path, bytes: &[u8]) -> Result<Self, CassetteError> {
        let fail = |problem| CassetteError::new(path, problem);
        let raw: RawCallCassette = parse_format_two(bytes, "call").map_err(fail)?;
        let cassette = Self::from_raw(raw).map_err(|reason| fail(reason.into()))?;
        let name = path.file_name().and_then(|name| name.to_str());
        let expected = Self::file_name(cassette.op, &cassette.key);
        if name != Some(expected.as_str()) {
            return Err(fail(Problem::Invalid(format!(
                "holds {} for {}, so its file name must be {expected}",
                cassette.op.label(),
                cassette.key
            ))));
        }
        Ok(cassette)
    }

    fn from_raw(raw: RawCallCassette) -> Result<Self, String> {
        let op = Op::from_full_name(&raw.operation).ok_or_else(|| {
            format!(
                "operation {:?} is not an operation dsvcr knows",
                raw.operation
            )
        })?;
        let key = Self::key_from(op, raw.key)?;
        validate_recorded(&raw.recorded)?;
        validate_responses(op, &raw.responses, |answer| match (op, answer) {
            // Successful creates live in the session cassette of the id they answered.
            (Op::Create, Answer::Error { .. }) => Ok(()),
            (Op::Create, _) => {
                Err("a successful create belongs in its session's cassette".to_owned())
            }
            _ => Ok(()),
        })?;
        Ok(CallCassette {
            op,
            key,
            recorded: raw.recorded,
            responses: raw.responses,
        })
    }

    fn key_from(
        op: Op,
        mut key: serde_json::Map<String, serde_json::Value>,
    ) -> Result<CallKey, String> {
        let item = key.remove("library_item_id");
        let item = match item {
            None => None,
            Some(serde_json::Value::String(item)) => Some(item),
            Some(other) => {
                return Err(format!("key.library_item_id must be a string, not {other}"))
            }
        };
        match (op.key(), item) {
            (Key::ItemFilter, item) if key.is_empty() => Ok(CallKey::Items(item)),
            (Key::Create, Some(item)) if key.is_empty() => {
                Ok(CallKey::Create { item, token: None })
            }
            (Key::Lookup, item) => {
                if let Some(item) = item {
                    key.insert("library_item_id".to_owned(), item.into());
                }
                Ok(CallKey::Lookup(serde_json::Value::Object(key).to_string()))
            }
            (Key::Create, _) => {
                Err("a create's key is its library_item_id, and only that".to_owned())
            }
            (Key::ItemFilter, _) => {
                Err("a list's key is its library_item_id filter, and only that".to_owned())
            }
            (Key::Session | Key::SessionFile, _) => Err(format!(
                "{} is recorded in session cassettes, not call cassettes",
                op.label()
            )),
        }
    }

    pub(crate) fn to_file_bytes(&self) -> Vec<u8> {
        pretty(&RawCallCassette {
            format: FORMAT_VERSION,
            operation: self.op.full_name().to_owned(),
            key: Self::key_object(&self.key),
            recorded: self.recorded.clone(),
            responses: self.responses.clone(),
        })
    }
}

#[cfg(test)]
mod tests;
