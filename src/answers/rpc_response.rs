//! JSON-RPC answers as HTTP responses: always 200 for a vAPI answer, the error named in
//! the `vapi-error` header, and the envelope that echoes the request's id around the
//! `result` that replay, record and error answers write for a JSON-RPC call.

use http::header::HeaderValue;
use http::{Response, StatusCode};
use http_body_util::{BodyExt, Either};
use tracing::warn;

use super::{body_response, ApiError, SYNTHETIC_HEADER};
use crate::body::{full, Body};
use crate::protocol::jsonrpc::envelope::{enveloped as envelope_bytes, with_id, INVALID_REQUEST};
use crate::protocol::jsonrpc::recognise::STYLE;
use crate::protocol::jsonrpc::{Fault, RpcId};

/// Internal error: dsvcr could not produce the answer (the upstream failed, say).
const INTERNAL_ERROR: i64 = -32603;

/// A transport fault (-32700, -32600, -32601, -32602) in a 200.
pub(crate) fn fault(fault: &Fault) -> Response<Body> {
    let mut response = body_response(StatusCode::OK, fault.body(), STYLE);
    response.headers_mut().insert(
        SYNTHETIC_HEADER,
        HeaderValue::from_static("invalid-jsonrpc"),
    );
    response
}

/// A request dsvcr could not take (a body over the limit, an upstream that failed):
/// the error's own status, with a JSON-RPC fault naming the problem.
pub(crate) fn refused(id: &RpcId, error: ApiError) -> Response<Body> {
    let code = if error.status.is_client_error() {
        INVALID_REQUEST
    } else {
        INTERNAL_ERROR
    };
    let message = error
        .error
        .messages
        .first()
        .map(|message| message.default_message.clone())
        .unwrap_or_default();
    let mut response = body_response(
        error.status,
        Fault::new(id.clone(), code, message).body(),
        STYLE,
    );
    let reason = HeaderValue::from_static(error.reason);
    response.headers_mut().insert(SYNTHETIC_HEADER, reason);
    response
}

/// An upstream's answer to a JSON-RPC call, passed on with the request's id as the client
/// wrote it (an upstream that reads `1E2` as a number echoes `100.0`); an answer that is
/// content-encoded or not a JSON-RPC response passes unchanged, and so does every answer
/// when the request's id could not be read.
pub(crate) fn forwarded(
    id: &RpcId,
    answer: http::response::Parts,
    body: bytes::Bytes,
) -> Response<Body> {
    let encoded = answer
        .headers
        .get(http::header::CONTENT_ENCODING)
        .is_some_and(|encoding| encoding != "identity");
    let body = match (encoded, *id == RpcId::NULL) {
        (false, false) => with_id(&body, id).unwrap_or(body),
        _ => body,
    };
    crate::upstream::response_from(answer, body)
}

/// Puts the `result` a response holds into the JSON-RPC envelope with the request's id.
pub(crate) async fn enveloped(id: &RpcId, response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let result = match body {
        // Bytes dsvcr made are taken as they are, without collecting them as a stream.
        Either::Left(made) => made.into_inner().unwrap_or_default(),
        Either::Right(streamed) => match streamed.collect().await {
            Ok(result) => result.to_bytes(),
            Err(err) => {
                warn!("a JSON-RPC answer could not be read: {err}");
                let message = format!("the answer could not be read: {err}");
                return fault(&Fault::new(id.clone(), INTERNAL_ERROR, message));
            }
        },
    };
    parts.headers.remove(http::header::CONTENT_LENGTH);
    Response::from_parts(parts, full(envelope_bytes(id, &result)))
}
