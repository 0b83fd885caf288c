//! Reading what a request carries: its body (within the listener's limits and the
//! process-wide body budget), the rest of a REST call, a JSON-RPC invoke, a SOAP envelope.

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::request::Parts;
use hyper::body::Body as _;
use hyper::body::Incoming;

use crate::answers::{refusal, ApiError, Refusal};
use crate::body::{collect, CollectError};
use crate::protocol::jsonrpc::envelope::parse;
use crate::protocol::jsonrpc::{recognise, Fault, Invoke, Target};
use crate::protocol::rest::recognise::PendingCall;
use crate::protocol::soap::{self, SoapRequest};
use crate::server::{BodyLimit, Limits};
use crate::vapi::Call;
use tracing::debug;

/// Finishes recognising a call: reads its body when recognition needs it or when
/// `keep_body` asks for it (to forward it), then completes the call.
pub(crate) async fn read_call(
    pending: PendingCall,
    parts: &Parts,
    body: Incoming,
    keep_body: bool,
) -> Result<(Call, Bytes), Refusal> {
    let bytes = if (keep_body || pending.needs_body()) && !body.is_end_stream() {
        read_body(body, parts)
            .await
            .map_err(|error| (error, pending.provisional_style(&parts.headers)))?
    } else {
        Bytes::new()
    };
    let call = pending
        .complete(parts.uri.query(), &parts.headers, &bytes)
        .map_err(refusal)?;
    Ok((call, bytes))
}

/// Reads a whole request body, at most the [`BodyLimit`] the listener set (1 MiB if
/// none), into one buffer reserved from the process-wide body budget.
pub(crate) async fn read_body(body: Incoming, parts: &Parts) -> Result<Bytes, ApiError> {
    let (limit, budget) = match parts.extensions.get::<BodyLimit>() {
        Some(limits) => (limits.max_body_bytes, &limits.budget),
        None => BodyLimit::default_limits(),
    };
    let declared = parts
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    match collect(body, limit, Some(budget), declared).await {
        Ok(bytes) => Ok(bytes),
        Err(CollectError::TooLarge(limit)) => Err(ApiError::body_too_large(limit)),
        Err(CollectError::OverBudget(max)) => Err(ApiError::bodies_over_budget(max)),
        Err(CollectError::Body(err)) => Err(ApiError::body_unreadable(&err.to_string())),
    }
}

/// The JSON-RPC call a body read with [`read_body`] makes: the invoke, borrowing from
/// the body, and what it asks for; or the fault saying why the body is not an invoke.
pub(crate) type RpcRead<'a> = Result<(Invoke<'a>, Result<Target, Fault>), Fault>;

/// Reads the invoke in a JSON-RPC call's body, and what it asks for.
pub(crate) fn read_invoke(bytes: &[u8]) -> RpcRead<'_> {
    let invoke = parse(bytes)?;
    let target = recognise(&invoke);
    Ok((invoke, target))
}

/// Reads a SOAP call's body (a body dsvcr refuses, as the `InvalidRequest` fault a SOAP
/// client reads); [`soap_request`] reads its envelope, which borrows from it.
pub(crate) async fn read_soap(parts: &Parts, body: Incoming) -> Result<Bytes, soap::Fault> {
    read_body(body, parts)
        .await
        .map_err(|error| crate::answers::soap::refused(&error))
}

/// The SOAP call a body read with [`read_soap`] makes (an envelope dsvcr cannot read, as
/// the `InvalidRequest` fault a SOAP client reads).
pub(crate) fn soap_request(bytes: &[u8]) -> Result<SoapRequest<'_>, soap::Fault> {
    soap::parse_request(bytes).map_err(|problem| {
        debug!("refused a SOAP request: {problem}");
        soap::Fault::invalid_request(&problem.to_string())
    })
}

/// The request's `Content-Length`, if it declares one.
pub(crate) fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse().ok())
}

/// The `--max-body-bytes` the listener set for this request.
pub(crate) fn body_limit(parts: &Parts) -> usize {
    parts
        .extensions
        .get::<BodyLimit>()
        .map_or(Limits::default().max_body_bytes, |limit| {
            limit.max_body_bytes
        })
}
