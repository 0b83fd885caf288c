//! Replay over vAPI JSON-RPC: the catalogued operations from the same timelines as REST,
//! and API sessions from the same offline store.

use http::request::Parts;
use http::{Method, Response, StatusCode};
use hyper::body::Incoming;
use tracing::{debug, warn};

use super::Replay;
use crate::answers::rpc_response as rpc;
use crate::answers::{body_response, ApiError};
use crate::body::Body;
use crate::front::{read_body, read_invoke};
use crate::protocol::jsonrpc::recognise::STYLE;
use crate::protocol::jsonrpc::{render, Invoke, RpcId, Security, Target, ENDPOINT};
use crate::protocol::Unencodable;
use crate::timelines::Extra;
use crate::vapi::Call;
use crate::vapi::SessionOp;

impl Replay {
    /// Answers one `POST /api`.
    pub(super) async fn jsonrpc(&self, parts: &Parts, body: Incoming) -> Response<Body> {
        let bytes = match read_body(body, parts).await {
            Ok(bytes) => bytes,
            Err(error) => return rpc::refused(&RpcId::NULL, error),
        };
        let (invoke, target) = match read_invoke(&bytes) {
            Ok(read) => read,
            Err(fault) => return rpc::fault(&fault),
        };
        let result = match target {
            Ok(Target::Call(call)) => self.rpc_call(&call, &invoke, parts),
            Ok(Target::Session(op)) => self.rpc_session(op, &invoke.security),
            Ok(Target::Unknown) => self.rpc_unrecorded(&invoke),
            Err(fault) => return rpc::fault(&fault),
        };
        rpc::enveloped(&invoke.id, result).await
    }

    fn rpc_call(&self, call: &Call, invoke: &Invoke<'_>, parts: &Parts) -> Response<Body> {
        let live = match &invoke.security {
            Security::Session(token) => self.sessions.is_live_token(token),
            _ => false,
        };
        if self.options.require_session && !live {
            return ApiError::unauthenticated().into_response(STYLE);
        }
        self.answer(call, parts, &|| {
            invoke
                .input
                .as_ref()
                .map(Extra::of_fields)
                .unwrap_or_default()
        })
    }

    fn rpc_session(&self, op: SessionOp, security: &Security) -> Response<Body> {
        crate::access::mark(crate::access::Outcome::Session);
        let output = match (op, security) {
            (SessionOp::Login, Security::UserPass { user, password })
                if !user.is_empty() && !password.is_empty() =>
            {
                Some(render::secret(&self.sessions.open_for(user)))
            }
            (SessionOp::Info, Security::Session(token)) => self
                .sessions
                .use_token(token)
                .map(|info| render::session_info(&info)),
            (SessionOp::Logout, Security::Session(token)) => self
                .sessions
                .close(token)
                .then_some(serde_json::Value::Null),
            _ => None,
        };
        match output {
            Some(output) => body_response(StatusCode::OK, render::output_result(&output), STYLE),
            None => ApiError::unauthenticated().into_response(STYLE),
        }
    }

    fn rpc_unrecorded(&self, invoke: &Invoke<'_>) -> Response<Body> {
        let name = format!("{}.{}", invoke.service, invoke.operation);
        let route = format!("{ENDPOINT} {name}");
        if self.stats.unrecorded_route(&Method::POST, &route) {
            warn!(
                operation = name,
                "no cassette covers this JSON-RPC operation"
            );
        } else {
            debug!(operation = name, "unrecorded JSON-RPC operation again");
        }
        ApiError::operation_not_covered(&name).into_response(STYLE)
    }

    /// A recorded answer the caller's protocol cannot carry (a library or item model that
    /// does not fit its vAPI schema): dsvcr's own `internal_server_error`, counted as a
    /// miss, since the recording did not answer the call.
    pub(super) fn unencodable(&self, call: &Call, problem: &Unencodable) -> Response<Body> {
        let what = format!("{} {}: {problem}", call.op.label(), call.key);
        if self.stats.miss(what) {
            warn!(operation = call.op.label(), key = %call.key, "miss: the recorded answer cannot be typed: {problem}");
        } else {
            debug!(operation = call.op.label(), key = %call.key, "miss again: the recorded answer cannot be typed");
        }
        ApiError::unencodable(call, problem).into_response(call.style)
    }
}
