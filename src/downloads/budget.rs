//! Process-wide budgets for file downloads: how many are served at once, how many blob
//! files are open at once, and how many bytes one download buffers. Beyond a budget a
//! download gets 503 with `Retry-After` at once; API calls are never refused for it.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::StatusCode;
use http_body::{Body as HttpBody, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::answers::ApiError;
use crate::server::DownloadLimits;
use crate::vapi::{ErrorKind, LocalizableMessage, VapiError};

/// The budgets shared by every download of the process.
#[derive(Clone, Debug)]
pub(crate) struct DownloadBudget {
    limits: DownloadLimits,
    downloads: Arc<Semaphore>,
    open_blobs: Arc<Semaphore>,
}

impl Default for DownloadBudget {
    fn default() -> Self {
        DownloadBudget::new(DownloadLimits::default())
    }
}

/// What a download holds until its body is done or dropped.
#[derive(Debug, Default)]
pub(crate) struct Permits {
    _held: Vec<OwnedSemaphorePermit>,
}

impl Permits {
    pub(crate) fn and(mut self, more: Permits) -> Permits {
        self._held.extend(more._held);
        self
    }
}

impl DownloadBudget {
    pub(crate) fn new(limits: DownloadLimits) -> Self {
        DownloadBudget {
            limits,
            downloads: Arc::new(Semaphore::new(limits.max_downloads)),
            open_blobs: Arc::new(Semaphore::new(limits.max_open_blobs)),
        }
    }

    /// The size of one read of a blob: half the per-download buffer, one read ahead.
    pub(crate) fn piece_bytes(&self) -> u64 {
        (self.limits.buffer_bytes as u64 / 2).max(4096)
    }

    /// A place among the downloads served at once, or 503.
    pub(crate) fn download(&self) -> Result<Permits, ApiError> {
        take(&self.downloads).ok_or_else(|| {
            exhausted(
                "download-budget-exhausted",
                "dsvcr.download.budget_exhausted",
                format!(
                    "dsvcr is already serving {} downloads, its limit (--max-downloads); try again",
                    self.limits.max_downloads
                ),
            )
        })
    }

    /// A place among the blob files open at once, or 503.
    pub(crate) fn open_blob(&self) -> Result<Permits, ApiError> {
        take(&self.open_blobs).ok_or_else(|| {
            exhausted(
                "open-blob-budget-exhausted",
                "dsvcr.download.open_blob_budget_exhausted",
                format!(
                    "dsvcr already has {} blob files open, its limit (--max-open-blobs); try again",
                    self.limits.max_open_blobs
                ),
            )
        })
    }
}

fn take(semaphore: &Arc<Semaphore>) -> Option<Permits> {
    let permit = semaphore.clone().try_acquire_owned().ok()?;
    Some(Permits {
        _held: vec![permit],
    })
}

/// 503 (dsvcr's error answers with this status carry `Retry-After`).
fn exhausted(reason: &'static str, message_id: &str, message: String) -> ApiError {
    ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        error: VapiError::new(
            ErrorKind::ServiceUnavailable,
            LocalizableMessage::new(message_id, message, Vec::new()),
        ),
        reason,
        allow: None,
    }
}

/// A body that holds its download's permits until it is done or dropped.
pub(crate) struct Permitted<B> {
    body: B,
    permits: Option<Permits>,
}

impl<B> Permitted<B> {
    pub(crate) fn new(body: B, permits: Permits) -> Self {
        Permitted {
            body,
            permits: Some(permits),
        }
    }
}

impl<B: HttpBody + Unpin> HttpBody for Permitted<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let polled = Pin::new(&mut self.body).poll_frame(cx);
        let done = match &polled {
            Poll::Ready(None | Some(Err(_))) => true,
            Poll::Ready(Some(Ok(_))) => self.body.is_end_stream(),
            Poll::Pending => false,
        };
        if done {
            // The places go back with the last bytes, before the client has them.
            self.permits = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_beyond_its_limit_and_frees_a_place_when_a_permit_drops() {
        let budget = DownloadBudget::new(DownloadLimits {
            max_downloads: 2,
            max_open_blobs: 1,
            buffer_bytes: 64 * 1024,
        });
        let first = budget.download().unwrap();
        let second = budget.download().unwrap();
        let refused = budget.download().unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.reason, "download-budget-exhausted");
        assert_eq!(
            refused.error.messages[0].default_message,
            "dsvcr is already serving 2 downloads, its limit (--max-downloads); try again"
        );
        drop(first);
        let third = budget.download().unwrap();
        let blob = budget.open_blob().unwrap();
        assert_eq!(
            budget.open_blob().unwrap_err().reason,
            "open-blob-budget-exhausted"
        );
        drop((second, third, blob));
        assert!(budget.open_blob().is_ok());
        assert_eq!(budget.piece_bytes(), 32 * 1024);
    }
}
