//! Bodies read whole: one contiguous buffer per body (however many frames it came in),
//! and a process-wide budget on the bytes buffered for request bodies.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;
use http_body::Body;
use http_body_util::BodyExt;

/// Bytes buffered for request bodies across the whole process, at most `max`.
#[derive(Clone, Debug)]
pub(crate) struct BodyBudget(Arc<Budget>);

#[derive(Debug)]
struct Budget {
    used: AtomicUsize,
    max: usize,
}

impl BodyBudget {
    pub(crate) fn new(max: usize) -> Self {
        BodyBudget(Arc::new(Budget {
            used: AtomicUsize::new(0),
            max,
        }))
    }

    /// The budget of every listener started with the default limits.
    pub(crate) fn shared_default(max: usize) -> &'static BodyBudget {
        static DEFAULT: OnceLock<BodyBudget> = OnceLock::new();
        DEFAULT.get_or_init(|| BodyBudget::new(max))
    }

    pub(crate) fn max(&self) -> usize {
        self.0.max
    }

    /// Bytes reserved right now.
    #[cfg(test)]
    pub(crate) fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    fn take(&self, bytes: usize) -> bool {
        self.0
            .used
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |used| {
                used.checked_add(bytes).filter(|total| *total <= self.0.max)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: usize) {
        self.0.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Part of a budget, held for as long as the bytes it covers.
#[derive(Debug)]
struct Reservation {
    budget: BodyBudget,
    bytes: usize,
}

impl Reservation {
    fn resize(&mut self, bytes: usize) -> Result<(), OverBudget> {
        if bytes > self.bytes {
            if !self.budget.take(bytes - self.bytes) {
                return Err(OverBudget(self.budget.max()));
            }
        } else {
            self.budget.give_back(self.bytes - bytes);
        }
        self.bytes = bytes;
        Ok(())
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.give_back(self.bytes);
    }
}

/// The budget's size.
#[derive(Debug)]
struct OverBudget(usize);

/// Why a body could not be read whole.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CollectError<E> {
    #[error("the body is larger than {0} bytes")]
    TooLarge(usize),
    #[error("buffering the body would exceed the {0} bytes allowed for all bodies at once")]
    OverBudget(usize),
    #[error("the body could not be read: {0}")]
    Body(#[source] E),
}

/// A buffer and the budget it holds, freed together when the last `Bytes` goes.
struct Held {
    buffer: Vec<u8>,
    _reservation: Option<Reservation>,
}

impl AsRef<[u8]> for Held {
    fn as_ref(&self) -> &[u8] {
        &self.buffer
    }
}

/// Reads `body` whole into one buffer of at most `limit` bytes, whatever its framing (a
/// body of one-byte chunks costs its bytes, not a frame each). With a budget, the buffer's
/// capacity is reserved from it before it is allocated, and stays reserved for as long as
/// the returned bytes live. `expected` (a declared length) sizes the buffer up front.
pub(crate) async fn collect<B>(
    mut body: B,
    limit: usize,
    budget: Option<&BodyBudget>,
    expected: Option<u64>,
) -> Result<Bytes, CollectError<B::Error>>
where
    B: Body<Data = Bytes> + Unpin,
{
    if body.is_end_stream() {
        return Ok(Bytes::new());
    }
    let mut reservation = budget.map(|budget| Reservation {
        budget: budget.clone(),
        bytes: 0,
    });
    let mut buffer = Vec::new();
    if let Some(expected) = expected {
        let expected = usize::try_from(expected).unwrap_or(usize::MAX);
        if expected > limit {
            return Err(CollectError::TooLarge(limit));
        }
        grow(&mut buffer, &mut reservation, expected)?;
    }
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame.map_err(CollectError::Body)?.into_data() else {
            continue;
        };
        let length = buffer.len() + data.len();
        if length > limit {
            return Err(CollectError::TooLarge(limit));
        }
        if length > buffer.capacity() {
            let doubled = length.max(buffer.capacity().saturating_mul(2)).min(limit);
            // Near the budget's end, room for exactly this frame may still be there.
            if grow::<B::Error>(&mut buffer, &mut reservation, doubled).is_err() {
                grow(&mut buffer, &mut reservation, length)?;
            }
        }
        buffer.extend_from_slice(&data);
    }
    if buffer.is_empty() {
        return Ok(Bytes::new());
    }
    if buffer.capacity() > buffer.len() {
        buffer.shrink_to_fit();
        if let Some(reservation) = reservation.as_mut() {
            reservation
                .resize(buffer.capacity())
                .expect("shrinking always fits");
        }
    }
    Ok(Bytes::from_owner(Held {
        buffer,
        _reservation: reservation,
    }))
}

/// Makes room for `capacity` bytes, reserving them first.
fn grow<E>(
    buffer: &mut Vec<u8>,
    reservation: &mut Option<Reservation>,
    capacity: usize,
) -> Result<(), CollectError<E>> {
    if let Some(reservation) = reservation.as_mut() {
        reservation
            .resize(capacity)
            .map_err(|OverBudget(max)| CollectError::OverBudget(max))?;
    }
    buffer.reserve_exact(capacity - buffer.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body::Frame;
    use std::convert::Infallible;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body of `left` one-byte frames.
    struct OneByteFrames {
        left: usize,
    }

    impl Body for OneByteFrames {
        type Data = Bytes;
        type Error = Infallible;

        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            self.left -= 1;
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(b"x")))))
        }
    }

    #[tokio::test]
    async fn one_byte_frames_cost_their_bytes_for_as_long_as_they_are_held() {
        let budget = BodyBudget::new(100_000);
        let body = OneByteFrames { left: 70_000 };
        let bytes = collect(body, 1 << 20, Some(&budget), None).await.unwrap();
        assert_eq!(bytes.len(), 70_000);
        assert_eq!(
            budget.used(),
            70_000,
            "one buffer, exactly the body's bytes"
        );
        let shared = bytes.clone();
        drop(bytes);
        assert_eq!(budget.used(), 70_000);
        drop(shared);
        assert_eq!(budget.used(), 0);
    }

    #[tokio::test]
    async fn a_body_that_would_exceed_the_budget_is_refused() {
        let budget = BodyBudget::new(1000);
        let held = collect(OneByteFrames { left: 600 }, 1000, Some(&budget), Some(600))
            .await
            .unwrap();
        let refused = collect(OneByteFrames { left: 500 }, 1000, Some(&budget), Some(500)).await;
        assert!(matches!(refused, Err(CollectError::OverBudget(1000))));
        let refused = collect(OneByteFrames { left: 500 }, 1000, Some(&budget), None).await;
        assert!(matches!(refused, Err(CollectError::OverBudget(1000))));
        assert_eq!(budget.used(), 600, "refused bodies hold nothing");
        drop(held);
        let fits = collect(OneByteFrames { left: 500 }, 1000, Some(&budget), None).await;
        assert_eq!(fits.unwrap().len(), 500);
    }

    #[tokio::test]
    async fn the_length_limit_holds_with_and_without_a_declared_length() {
        let over = collect(OneByteFrames { left: 11 }, 10, None, None).await;
        assert!(matches!(over, Err(CollectError::TooLarge(10))));
        let declared = collect(OneByteFrames { left: 0 }, 10, None, Some(11)).await;
        assert!(matches!(declared, Err(CollectError::TooLarge(10))));
    }
}
