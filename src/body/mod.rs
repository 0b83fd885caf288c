//! Response bodies: bytes dsvcr made, or a body streamed through from the other side
//! (record mode's pass-through), cut off when it stalls, or streamed from dsvcr's own
//! sources (a blob on disk, a download being recorded). Bodies read whole, within the
//! process-wide budget, are [`collect()`]'s.

mod collect;

pub(crate) use collect::{collect, BodyBudget, CollectError};

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

/// A streamed body. An incoming one (after bytes already read from it, if any) fails if
/// no data arrives for `idle`; one dsvcr feeds itself has no idle limit.
pub(crate) struct Streamed {
    prefix: Option<Bytes>,
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
        Self::after(Bytes::new(), inner, idle)
    }

    /// `prefix` (what was already read of `inner`), then the rest of `inner`.
    pub(crate) fn after(prefix: Bytes, inner: Incoming, idle: Duration) -> Self {
        Streamed {
            prefix: Some(prefix).filter(|prefix| !prefix.is_empty()),
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
            prefix: None,
            inner: inner.boxed_unsync(),
            idle: None,
        }
    }
}

/// Reads `body` until it ends or more than `limit` bytes have come: the bytes read, and
/// the rest of the body when it did not end within the limit.
pub(crate) async fn read_up_to(
    mut body: Incoming,
    limit: usize,
) -> Result<(Bytes, Option<Incoming>), hyper::Error> {
    use http_body_util::BodyExt;
    let mut read = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            read.extend_from_slice(&data);
            if read.len() > limit {
                return Ok((read.freeze(), Some(body)));
            }
        }
    }
    Ok((read.freeze(), None))
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
        if let Some(prefix) = this.prefix.take() {
            return Poll::Ready(Some(Ok(Frame::data(prefix))));
        }
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
        self.prefix.is_none() && self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        let before = self.prefix.as_ref().map_or(0, |prefix| prefix.len() as u64);
        let rest = self.inner.size_hint();
        let mut hint = SizeHint::new();
        hint.set_lower(rest.lower() + before);
        if let Some(upper) = rest.upper() {
            hint.set_upper(upper + before);
        }
        hint
    }
}
