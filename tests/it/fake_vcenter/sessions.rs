//! Download sessions and their files: create, poll, prepare, cancel, fail, delete.

use bytes::Bytes;
use serde_json::{json, Value};

use super::library;
use super::state::{random_hex, Shared, State};
use super::vapi::{Message, VapiError};

/// What a file name must escape to stay one path segment.
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?');

pub(super) const EXPIRATION: &str = "2026-11-29T10:05:00.000Z";

pub(super) struct DownloadSession {
    pub(crate) item_id: String,
    pub(crate) progress: i64,
    pub(crate) state: &'static str,
    pub(crate) error_message: Option<Message>,
    /// In the item's file order.
    pub(crate) files: Vec<FileState>,
}

pub(super) struct FileState {
    pub(crate) name: String,
    pub(crate) bytes: Bytes,
    pub(crate) status: &'static str,
    /// file.get polls since prepare.
    pub(crate) polls: u32,
    pub(crate) bytes_transferred: u64,
}

#[derive(Clone, Debug)]
pub(super) struct SessionModel {
    pub(crate) id: String,
    pub(crate) library_item_id: String,
    pub(crate) content_version: &'static str,
    pub(crate) client_progress: i64,
    pub(crate) state: &'static str,
    pub(crate) error_message: Option<Message>,
}

impl SessionModel {
    pub(crate) fn plain(&self) -> Value {
        let mut model = json!({
            "client_progress": self.client_progress,
            "expiration_time": EXPIRATION,
            "id": self.id,
            "library_item_content_version": self.content_version,
            "library_item_id": self.library_item_id,
            "state": self.state,
        });
        if let Some(message) = &self.error_message {
            model["error_message"] = message.plain();
        }
        model
    }
}

#[derive(Clone, Debug)]
pub(super) struct FileInfo {
    pub(crate) name: String,
    pub(crate) status: &'static str,
    pub(crate) bytes_transferred: u64,
    /// Known once the file is `PREPARED`.
    pub(crate) prepared: Option<Prepared>,
}

#[derive(Clone, Debug)]
pub(super) struct Prepared {
    pub(crate) size: u64,
    pub(crate) sha256: String,
    pub(crate) uri: String,
    pub(crate) thumbprint: Option<String>,
}

impl FileInfo {
    pub(crate) fn plain(&self) -> Value {
        let mut info = json!({
            "bytes_transferred": self.bytes_transferred,
            "name": self.name,
            "status": self.status,
        });
        if let Some(prepared) = &self.prepared {
            info["size"] = json!(prepared.size);
            info["checksum_info"] = json!({"algorithm": "SHA256", "checksum": prepared.sha256});
            let mut endpoint = json!({"uri": prepared.uri});
            if let Some(thumbprint) = &prepared.thumbprint {
                endpoint["ssl_certificate_thumbprint"] = json!(thumbprint);
            }
            info["download_endpoint"] = endpoint;
        }
        info
    }
}

/// The same client token for the same item returns the session it made before.
pub(super) fn create(
    shared: &Shared,
    item_id: &str,
    client_token: Option<&str>,
) -> Result<String, VapiError> {
    let (_, item) = library::item(&shared.libraries, item_id)?;
    let mut state = shared.lock();
    let key = client_token.map(|token| (token.to_owned(), item_id.to_owned()));
    if let Some(id) = key.as_ref().and_then(|key| state.client_tokens.get(key)) {
        return Ok(id.clone());
    }
    let id = uuid(shared);
    let files = item.files.iter().map(|file| FileState {
        name: file.name.clone(),
        bytes: file.bytes.clone(),
        status: "UNPREPARED",
        polls: 0,
        bytes_transferred: 0,
    });
    let session = DownloadSession {
        item_id: item_id.to_owned(),
        progress: 0,
        state: "ACTIVE",
        error_message: None,
        files: files.collect(),
    };
    state.sessions.insert(id.clone(), session);
    state.created.push(id.clone());
    if let Some(key) = key {
        state.client_tokens.insert(key, id.clone());
    }
    Ok(id)
}

fn uuid(shared: &Shared) -> String {
    let hex = random_hex(shared, 16);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// A created session, else a scripted one (each get takes the next `client_progress`).
pub(super) fn get(shared: &Shared, id: &str) -> Result<SessionModel, VapiError> {
    let mut state = shared.lock();
    if let Some(session) = state.sessions.get(id) {
        return Ok(model(id, session));
    }
    let script = shared
        .scripts
        .get(id)
        .ok_or_else(|| VapiError::session_not_found(id))?;
    let step = state.steps.entry(id.to_owned()).or_insert(0);
    let progress = script.get(*step).or(script.last()).copied().unwrap_or(0);
    *step += 1;
    Ok(SessionModel {
        id: id.to_owned(),
        library_item_id: format!("item-{id}"),
        content_version: "2",
        client_progress: progress,
        state: "ACTIVE",
        error_message: None,
    })
}

pub(super) fn model(id: &str, session: &DownloadSession) -> SessionModel {
    SessionModel {
        id: id.to_owned(),
        library_item_id: session.item_id.clone(),
        content_version: "1",
        client_progress: session.progress,
        state: session.state,
        error_message: session.error_message.clone(),
    }
}

/// Live created sessions in creation order, optionally only those of one item.
pub(super) fn list(shared: &Shared, item_id: Option<&str>) -> Vec<String> {
    let state = shared.lock();
    let matches = |id: &&String| {
        state
            .sessions
            .get(*id)
            .is_some_and(|session| item_id.is_none_or(|item| session.item_id == item))
    };
    state.created.iter().filter(matches).cloned().collect()
}

fn with_session<T>(
    shared: &Shared,
    id: &str,
    change: impl FnOnce(&mut DownloadSession) -> Result<T, VapiError>,
) -> Result<T, VapiError> {
    let mut state = shared.lock();
    let session = state
        .sessions
        .get_mut(id)
        .ok_or_else(|| VapiError::session_not_found(id))?;
    change(session)
}

pub(super) fn keep_alive(
    shared: &Shared,
    id: &str,
    progress: Option<i64>,
) -> Result<(), VapiError> {
    if progress.is_some_and(|p| !(0..=100).contains(&p)) {
        return Err(VapiError::invalid_argument("progress"));
    }
    with_session(shared, id, |session| {
        if let Some(progress) = progress {
            session.progress = progress;
        }
        Ok(())
    })
}

pub(super) fn cancel(shared: &Shared, id: &str) -> Result<(), VapiError> {
    with_session(shared, id, |session| {
        if session.state != "ACTIVE" {
            return Err(VapiError::not_active(id, session.state));
        }
        session.state = "CANCELED";
        Ok(())
    })
}

pub(super) fn fail(shared: &Shared, id: &str, message: &str) -> Result<(), VapiError> {
    with_session(shared, id, |session| {
        session.state = "ERROR";
        session.error_message = Some(Message::new(
            "com.vmware.vdcs.cls-main.client_error",
            message.to_owned(),
            &[],
        ));
        Ok(())
    })
}

pub(super) fn delete(shared: &Shared, id: &str) -> Result<(), VapiError> {
    let mut state = shared.lock();
    state
        .sessions
        .remove(id)
        .map(|_| ())
        .ok_or_else(|| VapiError::session_not_found(id))
}

pub(super) fn file_list(shared: &Shared, id: &str) -> Result<Vec<FileInfo>, VapiError> {
    with_session(shared, id, |session| {
        Ok(session
            .files
            .iter()
            .map(|file| info(shared, id, file))
            .collect())
    })
}

/// A poll: a file being prepared moves one step towards `PREPARED`.
pub(super) fn file_get(shared: &Shared, id: &str, name: &str) -> Result<FileInfo, VapiError> {
    with_file(shared, id, name, |file| {
        if matches!(file.status, "PREPARE_REQUESTED" | "PREPARING") {
            file.polls += 1;
            file.status = if file.polls >= shared.prepare_polls {
                "PREPARED"
            } else {
                "PREPARING"
            };
        }
    })
}

pub(super) fn file_prepare(shared: &Shared, id: &str, name: &str) -> Result<FileInfo, VapiError> {
    with_file(shared, id, name, |file| {
        if file.status == "UNPREPARED" {
            file.polls = 0;
            file.status = if shared.prepare_polls == 0 {
                "PREPARED"
            } else {
                "PREPARE_REQUESTED"
            };
        }
    })
}

fn with_file(
    shared: &Shared,
    id: &str,
    name: &str,
    change: impl FnOnce(&mut FileState),
) -> Result<FileInfo, VapiError> {
    with_session(shared, id, |session| {
        let file = session
            .files
            .iter_mut()
            .find(|file| file.name == name)
            .ok_or_else(|| VapiError::file_not_found(id, name))?;
        change(file);
        Ok(info(shared, id, file))
    })
}

fn info(shared: &Shared, id: &str, file: &FileState) -> FileInfo {
    let prepared = (file.status == "PREPARED").then(|| Prepared {
        size: file.bytes.len() as u64,
        sha256: super::tls::hex(ring::digest::digest(&ring::digest::SHA256, &file.bytes).as_ref()),
        uri: endpoint_uri(&shared.base_url, id, &file.name),
        thumbprint: shared.thumbprint.clone(),
    });
    FileInfo {
        name: file.name.clone(),
        status: file.status,
        bytes_transferred: file.bytes_transferred,
        prepared,
    }
}

pub(super) fn endpoint_uri(base_url: &str, session: &str, file: &str) -> String {
    let segment = percent_encoding::utf8_percent_encode(file, SEGMENT);
    format!("{base_url}/cis-data/{session}/{segment}")
}

/// The bytes of a prepared file of an `ACTIVE` session; `None` when there is no such file.
pub(super) fn prepared_bytes(state: &mut State, id: &str, name: &str) -> Option<Bytes> {
    let session = state.sessions.get(id).filter(|s| s.state == "ACTIVE")?;
    let file = session.files.iter().find(|file| file.name == name)?;
    (file.status == "PREPARED").then(|| file.bytes.clone())
}

/// Counts bytes the byte endpoint sent in full.
pub(super) fn add_transferred(state: &mut State, id: &str, name: &str, sent: u64) {
    let file = state
        .sessions
        .get_mut(id)
        .and_then(|session| session.files.iter_mut().find(|file| file.name == name));
    if let Some(file) = file {
        file.bytes_transferred += sent;
    }
}
