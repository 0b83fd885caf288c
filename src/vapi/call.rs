//! The protocol-neutral call a request is recognised as, and the answers operations
//! give. Replay, record and the run summary work on these, never on raw requests.

use http::StatusCode;

use super::catalog::{Op, Output};
use super::id::SessionId;
use super::model::{DownloadSession, FileInfo, VapiError};
use super::wire::{Flavour, Form, Style};

/// One recognised operation call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Call {
    pub(crate) op: Op,
    pub(crate) key: CallKey,
    /// How the answer must be written.
    pub(crate) style: Style,
    /// For `get`: which of the request forms asked (counted in the run summary).
    pub(crate) form: Option<Form>,
}

/// What identifies the recording a call is answered from.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum CallKey {
    /// A download session.
    Session(SessionId),
    /// One file of a download session.
    File(SessionId, String),
    /// A create: the library item, and the client token if one was sent.
    Create { item: String, token: Option<String> },
    /// A list, with its optional `library_item_id` filter.
    Items(Option<String>),
    /// A lookup's named inputs as canonical JSON (sorted keys, no whitespace), e.g.
    /// `{"spec":{"name":"harness-lib"}}`.
    Lookup(String),
}

impl CallKey {
    /// A lookup's key from its named inputs, given in name order (as a JSON object's
    /// members sort) and each once: every protocol's recognition writes it here, so that
    /// a lookup recorded over one protocol answers the same lookup over another.
    pub(crate) fn lookup<'a, V: serde::Serialize>(
        inputs: impl IntoIterator<Item = (&'a str, V)>,
    ) -> CallKey {
        let mut key = Vec::with_capacity(128);
        serde::Serializer::collect_map(&mut serde_json::Serializer::new(&mut key), inputs)
            .expect("JSON values are written");
        CallKey::Lookup(String::from_utf8(key).expect("JSON text is UTF-8"))
    }

    /// The download session the call is about, if any.
    pub(crate) fn session(&self) -> Option<&SessionId> {
        match self {
            CallKey::Session(id) | CallKey::File(id, _) => Some(id),
            CallKey::Create { .. } | CallKey::Items(_) | CallKey::Lookup(_) => None,
        }
    }

    pub(crate) fn file(&self) -> Option<&str> {
        match self {
            CallKey::File(_, file) => Some(file),
            _ => None,
        }
    }
}

impl std::fmt::Display for CallKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallKey::Session(id) => write!(f, "{id}"),
            CallKey::File(id, file) => write!(f, "{id} file {file:?}"),
            CallKey::Create { item, token: None } => write!(f, "library item {item}"),
            CallKey::Create {
                item,
                token: Some(token),
            } => write!(f, "library item {item} client token {token:?}"),
            CallKey::Items(None) => f.write_str("all sessions"),
            CallKey::Items(Some(item)) => write!(f, "library item {item}"),
            CallKey::Lookup(input) => f.write_str(input),
        }
    }
}

/// What an operation answered: its output, or a vAPI error with its HTTP status.
// Sessions are the common case, so boxing them would only add an allocation.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Session(DownloadSession),
    Id(SessionId),
    Ids(Vec<String>),
    File(FileInfo),
    Files(Vec<FileInfo>),
    Void,
    /// A model kept as vCenter sent it.
    Value(serde_json::Value),
    Error {
        status: u16,
        error: VapiError,
    },
}

impl Answer {
    /// The output shape of a successful answer; `None` for an error.
    pub(crate) fn output(&self) -> Option<Output> {
        Some(match self {
            Answer::Session(_) => Output::Session,
            Answer::Id(_) => Output::Id,
            Answer::Ids(_) => Output::Ids,
            Answer::File(_) => Output::File,
            Answer::Files(_) => Output::Files,
            Answer::Void => Output::Void,
            Answer::Value(_) => Output::Value,
            Answer::Error { .. } => return None,
        })
    }

    pub(crate) fn is_success(&self) -> bool {
        !matches!(self, Answer::Error { .. })
    }

    /// The status a cassette stores: 200 for any success, the error's own otherwise.
    pub(crate) fn recorded_status(&self) -> u16 {
        match self {
            Answer::Error { status, .. } => *status,
            _ => 200,
        }
    }

    /// The status on the wire: `/api` answers a create with 201 and a void operation
    /// with 204; everything else succeeds with 200.
    pub(crate) fn status(&self, flavour: Flavour) -> StatusCode {
        match (self, flavour) {
            // JSON-RPC clients read the body only after a 2xx: errors travel inside a 200.
            (_, Flavour::JsonRpc) => StatusCode::OK,
            (Answer::Error { status, .. }, _) => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
            (Answer::Id(_), Flavour::Api) => StatusCode::CREATED,
            (Answer::Void, Flavour::Api) => StatusCode::NO_CONTENT,
            _ => StatusCode::OK,
        }
    }
}

/// The API session operations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionOp {
    /// `POST /rest/com/vmware/cis/session`, `POST /api/session`
    Login,
    /// `POST /rest/com/vmware/cis/session?~action=get`, `GET /api/session`
    Info,
    /// `DELETE /rest/com/vmware/cis/session`, `DELETE /api/session`
    Logout,
}
