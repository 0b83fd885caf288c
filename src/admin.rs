//! dsvcr's own endpoints, under a prefix no vSphere path uses:
//! `GET /__dsvcr/health` and `POST /__dsvcr/reset[?id=S]`. They answer clients on
//! loopback only, unless `--admin-from-anywhere` is given: anyone else gets 403.
//! `/__dsvcr/files/…` is passed on: the services serve file bytes there.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde::Serialize;
use serde_json::json;

use crate::error::{body_response, ApiError};
use crate::server::{Body, Handler, Peer};
use crate::stats::{Health, Summary};
use crate::vapi::{ErrorKind, LocalizableMessage, SessionId, Style, VapiError};

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

/// A service with the admin endpoints in front of it, counting the service's requests
/// in flight.
pub(crate) struct WithAdmin<S> {
    service: Arc<S>,
    in_flight: AtomicU64,
}

impl<S> WithAdmin<S> {
    pub(crate) fn new(service: Arc<S>) -> Self {
        WithAdmin {
            service,
            in_flight: AtomicU64::new(0),
        }
    }
}

/// Counts one request in flight while it lives (a dropped, cancelled request included).
struct InFlight<'a>(&'a AtomicU64);

impl<'a> InFlight<'a> {
    fn enter(count: &'a AtomicU64) -> Self {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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

impl<S: Handler + Observable> Handler for WithAdmin<S> {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let endpoint = request.uri().path().strip_prefix(PREFIX);
        // Download endpoints are the service's own.
        let Some(endpoint) = endpoint.filter(|endpoint| !endpoint.starts_with(FILES)) else {
            let _counted = InFlight::enter(&self.in_flight);
            return self.service.handle(request).await;
        };
        if let Some(refused) = refusal_for(request.extensions().get::<Peer>()) {
            crate::access::mark(crate::access::Outcome::Refused);
            return refused.into_response(Style::REST_JSON);
        }
        crate::access::mark(crate::access::Outcome::Admin);
        let endpoint = endpoint.trim_end_matches('/');
        let outcome = match (endpoint, request.method()) {
            ("health", &Method::GET) => Ok(json_ok(json!(HealthAnswer {
                health: self.service.health(),
                in_flight: self.in_flight.load(Ordering::SeqCst),
            }))),
            ("reset", &Method::POST) => self.reset(request.uri().query()),
            ("health", method) => Err(ApiError::method_not_allowed(method, "GET")),
            ("reset", method) => Err(ApiError::method_not_allowed(method, "POST")),
            (_, method) => Err(ApiError::no_recording(method, request.uri().path())),
        };
        outcome.unwrap_or_else(|error| error.into_response(Style::REST_JSON))
    }
}

impl<S: Observable> WithAdmin<S> {
    fn reset(&self, query: Option<&str>) -> Result<Response<Body>, ApiError> {
        let id = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .find(|(key, _)| key == "id")
            .map(|(_, value)| SessionId::parse(&value))
            .transpose()
            .map_err(|err| ApiError::invalid_argument("dsvcr.admin.invalid_id", err.to_string()))?;
        let rewound = self
            .service
            .rewind(id.as_ref())
            .ok_or_else(|| ApiError::no_cassette_to_reset(id.as_ref()))?;
        Ok(json_ok(json!({ "rewound": rewound })))
    }
}

fn json_ok(value: serde_json::Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(&value).expect("JSON values serialise"));
    body_response(StatusCode::OK, bytes, Style::REST_JSON)
}

/// Why an admin request is refused, if it is: its client is not on loopback (or unknown)
/// and `--admin-from-anywhere` was not given.
fn refusal_for(peer: Option<&Peer>) -> Option<ApiError> {
    if peer.is_some_and(|peer| peer.admin_allowed) {
        return None;
    }
    let message = "dsvcr's admin endpoints answer clients on loopback only; start dsvcr with --admin-from-anywhere to allow others".to_owned();
    Some(ApiError {
        status: StatusCode::FORBIDDEN,
        error: VapiError::new(
            ErrorKind::Unauthorized,
            LocalizableMessage::new("dsvcr.admin.not_from_loopback", message, Vec::new()),
        ),
        reason: "admin-not-from-loopback",
        allow: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_peers_may_use_the_admin_endpoints_unless_allowed() {
        let allowed = |addr: &str, anywhere: bool| {
            let peer = Peer::new(addr.parse().unwrap(), anywhere);
            refusal_for(Some(&peer)).is_none()
        };
        assert!(allowed("127.0.0.1:5000", false));
        assert!(allowed("127.9.9.9:5000", false));
        assert!(allowed("[::1]:5000", false));
        assert!(allowed("[::ffff:127.0.0.1]:5000", false));
        assert!(!allowed("192.168.1.20:5000", false));
        assert!(!allowed("[::ffff:10.0.0.1]:5000", false));
        assert!(!allowed("[2001:db8::1]:5000", false));
        assert!(allowed("192.168.1.20:5000", true));
        let refused = refusal_for(None).expect("an unknown client is refused");
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        assert_eq!(refused.reason, "admin-not-from-loopback");
    }
}
