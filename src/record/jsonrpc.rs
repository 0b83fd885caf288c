//! Record over vAPI JSON-RPC: every `POST /api` is forwarded unchanged (but for
//! `Accept-Encoding` on catalogued calls); a catalogued call's answer is decoded from its
//! body (results and vAPI errors both arrive in a 200) and recorded into the same
//! cassettes as REST. Passwords and tokens in the bodies are learnt by the secret gate.

use bytes::Bytes;
use http::header::ACCEPT_ENCODING;
use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use tracing::{debug, warn};

use super::{identity_encoded, place, NotRecordable, Record};
use crate::answers::rpc_response as rpc;
use crate::answers::{body_response, reply, upstream_failure};
use crate::body::Body;
use crate::cassette::Recording;
use crate::front::{read_body, read_invoke};
use crate::protocol::jsonrpc::decode::{self, RpcDecodeError};
use crate::protocol::jsonrpc::{Invoke, RpcId, Security, Target};
use crate::secrets::Secrets;
use crate::timelines::Extra;
use crate::vapi::SessionOp;
use crate::vapi::{Answer, Call};

impl Record {
    /// Forwards one `POST /api`, recording it when it is a catalogued call.
    pub(super) async fn jsonrpc(&self, parts: Parts, body: Incoming) -> Response<Body> {
        let bytes = match read_body(body, &parts).await {
            Ok(bytes) => bytes,
            Err(error) => {
                crate::access::mark(crate::access::Outcome::Refused);
                return rpc::refused(&RpcId::NULL, error);
            }
        };
        let (invoke, target) = match read_invoke(&bytes) {
            Ok(read) => read,
            Err(fault) => {
                // vCenter is the authority on what it accepts: ask it, record nothing.
                debug!("forwarded unrecorded: {}", fault.message);
                return self.rpc_forward(parts, bytes, &fault.id, None).await;
            }
        };
        let own = request_secrets(&parts, &invoke);
        match target {
            Ok(Target::Call(call)) => {
                let mut secrets = self.secrets_of(&parts);
                secrets.extend(&own);
                self.rpc_record(parts, bytes.clone(), &invoke.id, call, secrets)
                    .await
            }
            Ok(Target::Session(SessionOp::Login)) => {
                self.rpc_forward(parts, bytes.clone(), &invoke.id, Some(own))
                    .await
            }
            Ok(_) => {
                self.rpc_forward(parts, bytes.clone(), &invoke.id, None)
                    .await
            }
            Err(fault) => {
                debug!("forwarded unrecorded: {}", fault.message);
                self.rpc_forward(parts, bytes.clone(), &invoke.id, None)
                    .await
            }
        }
    }

    /// Forwards a call unrecorded. A login's secrets (`login`: the request's credentials
    /// and password) are remembered with the token its answer hands out once vCenter has
    /// accepted it, as a REST login's are, so that no later cassette of the run holds them.
    async fn rpc_forward(
        &self,
        parts: Parts,
        bytes: Bytes,
        id: &RpcId,
        login: Option<Secrets>,
    ) -> Response<Body> {
        match self.upstream.exchange(parts, bytes).await {
            Ok((answer, body)) => {
                let token = login
                    .is_some()
                    .then(|| decode::login_token(&body))
                    .flatten();
                if let (Some(mut learnt), Some(token)) = (login, token) {
                    learnt.add(&token, "session token");
                    self.remember(&learnt);
                }
                rpc::forwarded(id, answer, body)
            }
            Err(err) => {
                warn!("forwarding a JSON-RPC call failed: {err}");
                rpc::refused(id, upstream_failure(&err))
            }
        }
    }

    async fn rpc_record(
        &self,
        mut parts: Parts,
        bytes: Bytes,
        id: &RpcId,
        call: Call,
        secrets: Secrets,
    ) -> Response<Body> {
        self.stats.request(&call);
        if let Some(known) = self.known.as_ref().filter(|known| known.covers(&call)) {
            if let Ok(found) = known.answer(&call, &Extra::default) {
                match reply(found, &call) {
                    Ok(response) => {
                        self.stats.hit();
                        return rpc::enveloped(id, response).await;
                    }
                    // vCenter answers what the recording cannot: a new episode.
                    Err(problem) => {
                        warn!(operation = call.op.label(), key = %call.key, "the recorded answer cannot be typed, so the upstream is asked: {problem}");
                    }
                }
            }
        }
        let origin = self.bytes.listener.origin(&parts);
        // Ask for an identity-encoded answer, which can be decoded and recorded.
        parts.headers.remove(ACCEPT_ENCODING);
        let (answer, body) = match self.upstream.exchange(parts, bytes).await {
            Ok(exchanged) => exchanged,
            Err(err) => {
                warn!(operation = call.op.label(), key = %call.key, "not recorded: {err}");
                return rpc::refused(id, upstream_failure(&err));
            }
        };
        match rpc_recording_of(&call, &answer, &body) {
            Ok(recording) => {
                let rewritten = self.rewritten(&call, &recording, &origin);
                if let Err(error) = self.keep(&call, recording, secrets).await {
                    return rpc::enveloped(id, error.into_response(call.style)).await;
                }
                if let Some(result) = rewritten {
                    // The file's endpoint points at dsvcr, as on REST.
                    let response = body_response(StatusCode::OK, result, call.style);
                    return rpc::enveloped(id, response).await;
                }
            }
            Err(not) => self.not_recorded(&call, not),
        }
        rpc::forwarded(id, answer, body)
    }
}

/// What of an upstream JSON-RPC answer to `call` is worth recording: a decodable output,
/// or a vAPI error that belongs to the call (not `unauthenticated`, `unauthorized` or a
/// server error, which REST answers with 401, 403 or 5xx).
fn rpc_recording_of(
    call: &Call,
    answer: &http::response::Parts,
    body: &Bytes,
) -> Result<Recording, NotRecordable> {
    identity_encoded(answer)?;
    if answer.status != StatusCode::OK {
        return Err(NotRecordable::by_design(format!(
            "upstream answered {}, which is never recorded",
            answer.status
        )));
    }
    match decode::answer(call.op, body) {
        Ok(Answer::Error { status, error }) if status == 401 || status == 403 || status >= 500 => {
            Err(NotRecordable::by_design(format!(
                "upstream answered {}, which is never recorded",
                error.kind.name()
            )))
        }
        Ok(answer) => Ok(place(call, answer)),
        Err(fault @ RpcDecodeError::Fault { .. }) => Err(NotRecordable::by_design(format!(
            "upstream answered {fault}, which is never recorded"
        ))),
        Err(err) => Err(NotRecordable::problem(format!(
            "cannot decode the JSON-RPC answer as what {} answers: {err}",
            call.op.label()
        ))),
    }
}

/// The secrets a JSON-RPC request carries: its headers' credentials and the password or
/// token in its security context.
fn request_secrets(parts: &Parts, invoke: &Invoke<'_>) -> Secrets {
    let mut own = Secrets::from_request(&parts.headers);
    match &invoke.security {
        Security::UserPass { password, .. } => own.add(password, "JSON-RPC password"),
        Security::Session(token) => own.add(token, "session token"),
        Security::None => {}
    }
    own
}
