//! The wire protocols: one codec per protocol, each turning its requests into the
//! vocabulary's protocol-neutral calls and rendering answers back in the caller's style.
//! This module picks the codec that writes each encoding; the front door's table picks
//! the codec that recognises each request.

pub(crate) mod jsonrpc;
pub(crate) mod rest;
pub(crate) mod soap;

use bytes::Bytes;
use http::header::HeaderValue;
use http::StatusCode;

pub(crate) use jsonrpc::models::Unencodable;

use crate::vapi::wire::Encoding;
use crate::vapi::{Answer, Op, Style, VapiError};

/// A header an answer carries in its protocol, besides its body.
pub(crate) type Header = (&'static str, HeaderValue);

/// The body of `op`'s answer in `encoding`, written by the codec that owns the encoding.
/// Only a library or item model written for JSON-RPC can fail: it must fit its vAPI
/// schema.
pub(crate) fn answer(op: Op, answer: &Answer, encoding: Encoding) -> Result<Bytes, Unencodable> {
    match encoding {
        Encoding::JsonRpc => jsonrpc::render::result(op, answer),
        Encoding::WrappedJson | Encoding::BareJson | Encoding::Xml => {
            Ok(rest::render::answer(answer, encoding))
        }
    }
}

/// The header naming the error an answer holds, in protocols that name it in one
/// (JSON-RPC's `vapi-error`); `None` for a success or another protocol.
pub(crate) fn answer_header(answer: &Answer, style: Style) -> Option<Header> {
    match (answer, style.encoding()) {
        (Answer::Error { error, .. }, Encoding::JsonRpc) => Some(jsonrpc::error_header(error)),
        _ => None,
    }
}

/// A vAPI error answered in `style`: the status it goes out with (`status`, but 200 on
/// JSON-RPC, which answers every call with 200), its body, and the header naming it
/// where the protocol has one.
pub(crate) fn error(
    error: &VapiError,
    status: StatusCode,
    style: Style,
) -> (StatusCode, Bytes, Option<Header>) {
    match style.encoding() {
        Encoding::JsonRpc => (
            StatusCode::OK,
            jsonrpc::render::error_result(error),
            Some(jsonrpc::error_header(error)),
        ),
        encoding @ (Encoding::WrappedJson | Encoding::BareJson | Encoding::Xml) => {
            (status, rest::render::error(error, encoding), None)
        }
    }
}
