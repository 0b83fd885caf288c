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

use crate::vapi::wire::Encoding;
use crate::vapi::{Answer, Style, VapiError};

/// A header an answer carries in its protocol, besides its body.
pub(crate) type Header = (&'static str, HeaderValue);

/// An answer's body in `encoding`, written by the codec that owns the encoding.
pub(crate) fn answer(answer: &Answer, encoding: Encoding) -> Bytes {
    match encoding {
        Encoding::JsonRpc => jsonrpc::render::result(answer),
        Encoding::WrappedJson | Encoding::BareJson | Encoding::Xml => {
            rest::render::answer(answer, encoding)
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
