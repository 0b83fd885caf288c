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
//!
//! Any cassette file may have a **journal** next to it, `<file>.journal`: the answers
//! recorded into it since it was last written whole, one JSON line each (`journal`).

pub(crate) mod blob_file;
pub(crate) mod blobs;
mod call_file;
mod check;
mod duplicates;
mod entry;
mod error;
mod folder;
mod format;
pub(crate) mod journal;
mod oversized;
mod reading;
mod references;
mod report;
mod session_file;
mod store;
mod tape_file;
mod write;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::vapi::catalog::Key;
use crate::vapi::{Answer, CallKey, DownloadSession, FileInfo, Form, Op, SessionId, VapiError};

pub(crate) use call_file::*;
pub(crate) use check::check_folder_with;
pub(crate) use entry::*;
pub(crate) use error::*;
use format::*;
use session_file::*;

#[cfg(test)]
pub(crate) use folder::load_folder;
pub(crate) use folder::{
    call_files, cassette_files, load_folder_within, tape_files, Cassettes, MAX_CASSETTE_BYTES,
};
pub(crate) use reading::LoadError;
pub(crate) use store::{
    now_timestamp, Appended, Provenance, Recording, Rerecord, Store, StoreError,
};
pub(crate) use tape_file::{rekeyed, TapeCassette, TAPE_SUBFOLDER};
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

fn pretty<T: Serialize>(value: &T) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("cassettes serialise to JSON");
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests;
