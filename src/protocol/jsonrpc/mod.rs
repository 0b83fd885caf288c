//! vAPI JSON-RPC, the protocol VMware's own SDKs speak: every call is one `POST /api`
//! carrying a JSON-RPC 2.0 `invoke` that names the vAPI service and operation, and every
//! answer is a 200 whose `result` holds the output or the vAPI error in the typed value
//! encoding (`STRUCTURE`, `OPTIONAL`, `ERROR`, `SECRET`).
//!
//! A request is recognised as the same protocol-neutral [`crate::vapi::Call`] its REST forms
//! give, so both protocols share one catalog and one set of cassettes.

pub(crate) mod decode;
pub(crate) mod envelope;
mod input;
pub(crate) mod models;
mod object;
pub(crate) mod recognise;
pub(crate) mod render;
mod schema;
mod typed;

pub(crate) use envelope::{Fault, Invoke, RpcId, Security};
pub(crate) use recognise::{recognise, Target};

/// The path every JSON-RPC call is posted to.
pub(crate) const ENDPOINT: &str = "/api";

/// Whether a request is a JSON-RPC call: `POST /api` (one trailing slash allowed).
pub(crate) fn is_call(method: &http::Method, path: &str) -> bool {
    method == http::Method::POST && path.strip_suffix('/').unwrap_or(path) == ENDPOINT
}

/// The header vAPI's own server names an error in.
pub(crate) const ERROR_HEADER: &str = "vapi-error";

/// The `vapi-error` header the vAPI runtime's server writes: the error's canonical name,
/// e.g. `com.vmware.vapi.std.errors.not_found`.
pub(crate) fn error_header(error: &crate::vapi::VapiError) -> (&'static str, http::HeaderValue) {
    let name =
        http::HeaderValue::from_str(&error.kind.type_name()).expect("error names are header text");
    (ERROR_HEADER, name)
}

#[cfg(test)]
mod tests;
