//! Response bodies: bytes dsvcr made, or a body streamed through from the other side
//! (record mode's pass-through), cut off when it stalls, or streamed from dsvcr's own
//! sources (a blob on disk, a download being recorded).

use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

/// A body: bytes dsvcr made, or a body streamed through from the other side.
pub(crate) type Body = Either<Full<Bytes>, Streamed>;

pub(crate) fn full(bytes: Bytes) -> Body {
    Either::Left(Full::new(bytes))
}

pub(crate) type BoxError = Box<dyn Error + Send + Sync>;

/// A streamed body; an incoming one fails if no data arrives for `idle`.
pub(crate) struct Streamed {
    inner: UnsyncBoxBody<Bytes, BoxError>,
    /// `None` for a body dsvcr feeds itself.
    idle: Option<Idle>,
}

struct Idle {
    limit: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl Streamed {
    pub(crate) fn new(inner: Incoming, idle: Duration) -> Self {
        Streamed {
            inner: inner.map_err(Into::into).boxed_unsync(),
            idle: Some(Idle {
                limit: idle,
                deadline: Box::pin(tokio::time::sleep(idle)),
            }),
        }
    }

    /// A body dsvcr feeds itself, with no idle limit.
    pub(crate) fn local(
        inner: impl HttpBody<Data = Bytes, Error = BoxError> + Send + 'static,
    ) -> Self {
        Streamed {
            inner: inner.boxed_unsync(),
            idle: None,
        }
    }
}

/// The error a stalled body ends with.
#[derive(Debug)]
pub(crate) struct Stalled(pub Duration);

impl fmt::Display for Stalled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no data for {:?}; the body was cut off", self.0)
    }
}

impl Error for Stalled {}

impl HttpBody for Streamed {
    type Data = Bytes;
    type Error = Box<dyn Error + Send + Sync>;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            if let Some(idle) = this.idle.as_mut() {
                idle.deadline.as_mut().reset(Instant::now() + idle.limit);
            }
            return Poll::Ready(frame);
        }
        let Some(idle) = this.idle.as_mut() else {
            return Poll::Pending;
        };
        match idle.deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(Stalled(idle.limit).into()))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
