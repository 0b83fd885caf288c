//! The download endpoints: `GET`/`HEAD /cis-data/<session>/<file>` with the file's bytes, a
//! single `Range`, and fault switches that break the body on purpose.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{header, HeaderMap, Method, Response, StatusCode};
use http_body::{Body, Frame};
use http_body_util::BodyExt;

use super::sessions::{add_transferred, prepared_bytes};
use super::state::Shared;
use super::wire::{empty, header_text, not_found_page, BoxError, Reply};
use super::ByteFault;

pub(super) const DATA_PREFIX: &str = "/cis-data/";
const OCTETS: &str = "application/octet-stream";

#[derive(Debug, PartialEq, Eq)]
enum Ranged {
    Whole,
    /// First and last byte, inclusive.
    Part(u64, u64),
    Unsatisfiable,
}

/// `path` is decoded and starts with [`DATA_PREFIX`].
pub(super) fn serve(shared: &Shared, method: &Method, path: &str, headers: &HeaderMap) -> Reply {
    if method != Method::GET && method != Method::HEAD {
        let mut reply = empty(StatusCode::METHOD_NOT_ALLOWED);
        let allow = header::HeaderValue::from_static("GET, HEAD");
        reply.headers_mut().insert(header::ALLOW, allow);
        return reply;
    }
    let Some((session, file)) = path[DATA_PREFIX.len()..].split_once('/') else {
        return not_found_page();
    };
    if shared.valid_session(headers).is_none() {
        return empty(StatusCode::UNAUTHORIZED);
    }
    let (bytes, fault) = {
        let mut state = shared.lock();
        (prepared_bytes(&mut state, session, file), state.byte_fault)
    };
    let Some(bytes) = bytes else {
        return not_found_page();
    };
    let total = bytes.len() as u64;
    let (status, part) = match range(headers, total) {
        Ranged::Whole => (StatusCode::OK, None),
        Ranged::Part(first, last) => (StatusCode::PARTIAL_CONTENT, Some((first, last))),
        Ranged::Unsatisfiable => return unsatisfiable(total),
    };
    let body = match part {
        Some((first, last)) => bytes.slice(first as usize..=last as usize),
        None => bytes,
    };
    let mut reply = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, OCTETS)
        .header(header::CONTENT_LENGTH, body.len())
        .header(header::ACCEPT_RANGES, "bytes");
    if let Some((first, last)) = part {
        let value = format!("bytes {first}-{last}/{total}");
        reply = reply.header(header::CONTENT_RANGE, value);
    }
    if method == Method::HEAD {
        return reply.body(super::wire::full(Bytes::new())).unwrap();
    }
    if fault == ByteFault::None {
        add_transferred(&mut shared.lock(), session, file, body.len() as u64);
    }
    reply.body(FaultBody::new(body, fault).boxed()).unwrap()
}

fn unsatisfiable(total: u64) -> Reply {
    let mut reply = empty(StatusCode::RANGE_NOT_SATISFIABLE);
    let value = format!("bytes */{total}").parse().unwrap();
    reply.headers_mut().insert(header::CONTENT_RANGE, value);
    reply
}

/// One `bytes=` range; anything else (several ranges, other units, bad syntax) is ignored.
fn range(headers: &HeaderMap, total: u64) -> Ranged {
    let Some(spec) = header_text(headers, "range").and_then(|v| v.strip_prefix("bytes=")) else {
        return Ranged::Whole;
    };
    let Some((first, last)) = spec.split_once('-').filter(|_| !spec.contains(',')) else {
        return Ranged::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    if first.is_empty() {
        return match last.parse::<u64>() {
            Ok(0) => Ranged::Unsatisfiable,
            Ok(_) if total == 0 => Ranged::Unsatisfiable,
            Ok(suffix) => Ranged::Part(total.saturating_sub(suffix), total - 1),
            Err(_) => Ranged::Whole,
        };
    }
    let Ok(first) = first.parse::<u64>() else {
        return Ranged::Whole;
    };
    let last = match last {
        "" => u64::MAX,
        last => match last.parse::<u64>() {
            Ok(last) if last >= first => last,
            _ => return Ranged::Whole,
        },
    };
    if first >= total {
        return Ranged::Unsatisfiable;
    }
    Ranged::Part(first, last.min(total - 1))
}

/// The bytes in two halves, with the fault between them.
struct FaultBody {
    first: Option<Bytes>,
    second: Option<Bytes>,
    fault: ByteFault,
    /// Whether the cut has yielded once, so hyper flushed the first half before it.
    yielded: bool,
}

impl FaultBody {
    fn new(bytes: Bytes, fault: ByteFault) -> FaultBody {
        let half = bytes.len() / 2;
        FaultBody {
            first: Some(bytes.slice(..half)).filter(|b| !b.is_empty()),
            second: Some(bytes.slice(half..)).filter(|b| !b.is_empty()),
            fault,
            yielded: false,
        }
    }
}

impl Body for FaultBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        if let Some(first) = this.first.take() {
            return Poll::Ready(Some(Ok(Frame::data(first))));
        }
        match this.fault {
            // Hyper drops unflushed data when a body fails: yield once so the half goes out.
            ByteFault::CutShort if !this.yielded => {
                this.yielded = true;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            // Hyper closes the connection when a body fails.
            ByteFault::CutShort => {
                let cut = this
                    .second
                    .take()
                    .map(|_| Err("cut short by the fake".into()));
                Poll::Ready(cut)
            }
            ByteFault::None => {
                Poll::Ready(this.second.take().map(|second| Ok(Frame::data(second))))
            }
        }
    }
}
