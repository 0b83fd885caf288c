//! dsvcr's own endpoints, under a prefix no vSphere path uses:
//! `GET /__dsvcr/health` and `POST /__dsvcr/reset[?id=S]`. `/__dsvcr/files/…` is passed
//! on: the services serve file bytes there.

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use serde_json::json;

use crate::error::{body_response, ApiError};
use crate::server::{Body, Handler};
use crate::stats::{Health, Summary};
use crate::vapi::{SessionId, Style};

pub const PREFIX: &str = "/__dsvcr/";

/// Under [`PREFIX`]: the download endpoints (`crate::downloads`).
const FILES: &str = "files/";

/// What a service shows through the admin endpoints and the run summary.
pub trait Observable {
    fn health(&self) -> Health;
    /// Rewinds one timeline or all; `None` if `id` has no cassette.
    fn rewind(&self, id: Option<&SessionId>) -> Option<usize>;
    fn summary(&self) -> Summary;
}

/// A service with the admin endpoints in front of it.
pub struct WithAdmin<S>(pub Arc<S>);

impl<S: Handler + Observable> Handler for WithAdmin<S> {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let endpoint = request.uri().path().strip_prefix(PREFIX);
        // Download endpoints are the service's own.
        let Some(endpoint) = endpoint.filter(|endpoint| !endpoint.starts_with(FILES)) else {
            return self.0.handle(request).await;
        };
        let endpoint = endpoint.trim_end_matches('/');
        let outcome = match (endpoint, request.method()) {
            ("health", &Method::GET) => Ok(json_ok(json!(self.0.health()))),
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
            .0
            .rewind(id.as_ref())
            .ok_or_else(|| ApiError::no_cassette_to_reset(id.as_ref()))?;
        Ok(json_ok(json!({ "rewound": rewound })))
    }
}

fn json_ok(value: serde_json::Value) -> Response<Body> {
    let bytes = Bytes::from(serde_json::to_vec(&value).expect("JSON values serialise"));
    body_response(StatusCode::OK, bytes, Style::REST_JSON)
}
