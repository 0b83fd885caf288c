//! dsvcr's own endpoints, under a prefix no vSphere path uses:
//! `GET /__dsvcr/health` and `POST /__dsvcr/reset[?id=S]`. They answer clients on
//! loopback only, unless `--admin-from-anywhere` is given: anyone else gets 403.
//! `/__dsvcr/files/…` is passed on: the services serve file bytes there.

use std::net::SocketAddr;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use serde::Serialize;
use serde_json::json;

use crate::access::{self, Outcome};
use crate::answers::{body_response, ApiError};
use crate::body::Body;
use crate::stats::{Health, Summary};
use crate::vapi::{SessionId, Style};

pub(crate) const PREFIX: &str = "/__dsvcr/";

/// Under [`PREFIX`]: the download endpoints (`crate::downloads`).
const FILES: &str = "files/";

/// What a service shows through the admin endpoints and the run summary.
pub(crate) trait Observable {
    fn health(&self) -> Health;
    /// Rewinds one timeline or all; `None` if `id` has no cassette.
    fn rewind(&self, id: Option<&SessionId>) -> Option<usize>;
    fn summary(&self) -> Summary;
}

/// The body of `GET /__dsvcr/health`: the counters, and the requests in flight.
#[derive(Serialize)]
struct HealthAnswer {
    #[serde(flatten)]
    health: Health,
    /// Requests (admin ones aside) received whose answer has not yet begun: one whose
    /// body is still arriving counts.
    in_flight: u64,
}

/// The admin endpoint a path names, without [`PREFIX`]; `None` for any other path,
/// download endpoints (`crate::downloads`) included.
pub(crate) fn endpoint(path: &str) -> Option<&str> {
    path.strip_prefix(PREFIX)
        .filter(|endpoint| !endpoint.starts_with(FILES))
}

/// Whether `client` may use the admin endpoints: it is on loopback (an IPv4 loopback
/// address mapped into IPv6 included), or `--admin-from-anywhere` allows everyone.
pub(crate) fn allowed(client: SocketAddr, admin_from_anywhere: bool) -> bool {
    admin_from_anywhere || is_loopback(client)
}

fn is_loopback(addr: SocketAddr) -> bool {
    match addr.ip() {
        std::net::IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        ip => ip.is_loopback(),
    }
}

/// The answer to an admin request for `endpoint` (see [`endpoint`]) about `service`,
/// which has `in_flight` requests in flight.
pub(crate) fn answer<B>(
    endpoint: &str,
    request: &Request<B>,
    allowed: bool,
    service: &impl Observable,
    in_flight: u64,
) -> Response<Body> {
    if !allowed {
        access::mark(Outcome::Refused);
        return ApiError::admin_not_from_loopback().into_response(Style::REST_JSON);
    }
    access::mark(Outcome::Admin);
    let endpoint = endpoint.trim_end_matches('/');
    let outcome = match (endpoint, request.method()) {
        ("health", &Method::GET) => Ok(json_ok(json!(HealthAnswer {
            health: service.health(),
            in_flight,
        }))),
        ("reset", &Method::POST) => reset(service, request.uri().query()),
        ("health", method) => Err(ApiError::method_not_allowed(method, "GET")),
        ("reset", method) => Err(ApiError::method_not_allowed(method, "POST")),
        (_, method) => Err(ApiError::no_recording(method, request.uri().path())),
    };
    outcome.unwrap_or_else(|error| error.into_response(Style::REST_JSON))
}

fn reset(service: &impl Observable, query: Option<&str>) -> Result<Response<Body>, ApiError> {
    let id = form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .find(|(key, _)| key == "id")
        .map(|(_, value)| SessionId::parse(&value))
        .transpose()
        .map_err(|err| ApiError::invalid_argument("dsvcr.admin.invalid_id", err.to_string()))?;
    let rewound = service
        .rewind(id.as_ref())
        .ok_or_else(|| ApiError::no_cassette_to_reset(id.as_ref()))?;
    Ok(json_ok(json!({ "rewound": rewound })))
}

fn json_ok(value: serde_json::Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(&value).expect("JSON values serialise"));
    body_response(StatusCode::OK, bytes, Style::REST_JSON)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_may_use_the_admin_endpoints_unless_allowed() {
        let allowed = |addr: &str, anywhere: bool| allowed(addr.parse().unwrap(), anywhere);
        assert!(allowed("127.0.0.1:5000", false));
        assert!(allowed("127.9.9.9:5000", false));
        assert!(allowed("[::1]:5000", false));
        assert!(allowed("[::ffff:127.0.0.1]:5000", false));
        assert!(!allowed("192.168.1.20:5000", false));
        assert!(!allowed("[::ffff:10.0.0.1]:5000", false));
        assert!(!allowed("[2001:db8::1]:5000", false));
        assert!(allowed("192.168.1.20:5000", true));
        let refused = ApiError::admin_not_from_loopback();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.reason, "admin-not-from-loopback");
    }
}
