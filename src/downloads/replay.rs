//! Replay's byte endpoints: `GET`/`HEAD /__dsvcr/files/<session>/<file>` answered from
//! the recorded blob, streamed from disk, with a single `Range` served as 206.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use http::header::{HeaderValue, ACCEPT_RANGES, CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use http::{request, Method, Response, StatusCode};
use http_body_util::Either;

use super::budget::{DownloadBudget, Permits, Permitted};
use super::endpoint::Listener;
use super::file_body::FileBody;
use super::range::{wanted, Wanted};
use crate::answers::ApiError;
use crate::body::{full, Body, Streamed};
use crate::cassette::blobs::blob_path;
use crate::cassette::Cassette;
use crate::vapi::SessionId;

/// The recorded bytes of every file, by session and file name.
#[derive(Default)]
pub(crate) struct Replayed {
    pub(crate) listener: Listener,
    files: HashMap<(SessionId, String), Stored>,
    budget: DownloadBudget,
}

struct Stored {
    blob: PathBuf,
    size: u64,
    content_type: Option<HeaderValue>,
}

impl Replayed {
    /// The downloads `cassettes` (loaded from `folder`) list.
    pub(crate) fn new(folder: &Path, cassettes: &[Cassette], listener: Listener) -> Self {
        let files = cassettes
            .iter()
            .flat_map(|cassette| {
                cassette.downloads.iter().map(|download| {
                    let stored = Stored {
                        blob: blob_path(folder, &download.sha256),
                        size: download.size,
                        content_type: download
                            .content_type
                            .as_deref()
                            .and_then(|kind| HeaderValue::from_str(kind).ok()),
                    };
                    ((cassette.id.clone(), download.file_name.clone()), stored)
                })
            })
            .collect();
        Replayed {
            listener,
            files,
            budget: DownloadBudget::default(),
        }
    }

    /// Serves downloads within `budget`.
    pub(crate) fn with_budget(mut self, budget: DownloadBudget) -> Self {
        self.budget = budget;
        self
    }

    /// The answer to a request for `file` of `session`; `Err` when nothing was recorded.
    pub(crate) async fn answer(
        &self,
        parts: &request::Parts,
        session: SessionId,
        file: String,
    ) -> Result<Response<Body>, ApiError> {
        if parts.method != Method::GET && parts.method != Method::HEAD {
            return Err(ApiError::method_not_allowed(&parts.method, "GET, HEAD"));
        }
        let stored = self.files.get(&(session, file)).ok_or_else(|| {
            ApiError::unknown_download(parts.uri.path(), "no cassette holds its bytes")
        })?;
        let (status, first, len) = match wanted(&parts.headers, stored.size) {
            Wanted::Whole => (StatusCode::OK, 0, stored.size),
            Wanted::Part { first, last } => (StatusCode::PARTIAL_CONTENT, first, last - first + 1),
            Wanted::Unsatisfiable => return Ok(unsatisfiable(stored.size)),
        };
        let streams = parts.method != Method::HEAD && len > 0;
        let permits = if streams {
            self.budget.download()?
        } else {
            Permits::default()
        };
        let permits = permits.and(self.budget.open_blob()?);
        // A HEAD, too, says the bytes can be had: the blob must be there and whole.
        let body = open_blob(stored, first, len).await?;
        let body = if streams {
            let body = body.in_pieces_of(self.budget.piece_bytes());
            Either::Right(Streamed::local(Permitted::new(body, permits)))
        } else {
            full(bytes::Bytes::new())
        };
        let mut response = Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
        headers.insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        if let Some(kind) = &stored.content_type {
            headers.insert(CONTENT_TYPE, kind.clone());
        }
        if status == StatusCode::PARTIAL_CONTENT {
            let range = format!("bytes {first}-{}/{}", first + len - 1, stored.size);
            headers.insert(
                CONTENT_RANGE,
                HeaderValue::from_str(&range).expect("digits"),
            );
        }
        Ok(response)
    }
}

/// The blob behind `stored`, checked against the recorded size; a blob deleted, cut or
/// made unreadable since start-up is logged as an error and answered 500 naming it.
async fn open_blob(stored: &Stored, first: u64, len: u64) -> Result<FileBody, ApiError> {
    let opened = FileBody::open_sized(&stored.blob, stored.size, first, len).await;
    opened.map_err(|err| {
        let message = format!(
            "cannot serve the recorded bytes from blob {}: {err}",
            stored.blob.display()
        );
        tracing::error!("{message}");
        ApiError::blob_unreadable(message)
    })
}

fn unsatisfiable(size: u64) -> Response<Body> {
    let mut response = Response::new(full(bytes::Bytes::new()));
    *response.status_mut() = StatusCode::RANGE_NOT_SATISFIABLE;
    let range = HeaderValue::from_str(&format!("bytes */{size}")).expect("digits");
    response.headers_mut().insert(CONTENT_RANGE, range);
    response
}
