//! Record over vim25 SOAP: every call is forwarded. The session manager's calls (which
//! replay answers offline) are never taped, but what they carry (the password, the
//! session key) is remembered as secrets; every other call is taped under its canonical
//! key, its session-scoped ids without the session key.

use bytes::Bytes;
use http::request::Parts;
use http::{Response, StatusCode};
use hyper::body::Incoming;
use tracing::{debug, warn};

use super::{upstream_failure, Record, Taping};
use crate::answers::soap as soap_answers;
use crate::body::Body;
use crate::exchange::{without_session_keys, TapeKey};
use crate::front::{read_soap, soap_request};
use crate::protocol::soap::{self, soap_key, SessionCall, SoapRequest};
use crate::secrets::credentials::soap_cookie;
use crate::secrets::{login_secrets, Secrets};
use crate::upstream::response_from;
use crate::vapi::Style;

impl Record {
    /// Forwards one `POST /sdk`, taping it unless the session manager answers it.
    pub(super) async fn soap(&self, parts: Parts, body: Incoming) -> Response<Body> {
        let bytes = match read_soap(&parts, body).await {
            Ok(bytes) => bytes,
            Err(fault) => return soap_answers::fault(&fault),
        };
        let request = match soap_request(&bytes) {
            Ok(request) => request,
            Err(fault) => return soap_answers::fault(&fault),
        };
        if let Some(call) = SessionCall::of(&request) {
            // The request borrows the body; the upstream gets a handle on the same bytes.
            return self
                .soap_session(parts, bytes.clone(), &request, call)
                .await;
        }
        let style = Style::REST_JSON;
        if !self.tape {
            return self
                .exchange_unrecorded(parts, bytes, style)
                .await
                .unwrap_or_else(|(error, style)| error.into_response(style));
        }
        let caller = soap_cookie(&parts.headers).map(str::to_owned);
        let mut soap = soap_key(&request);
        let redacted = soap
            .arguments
            .iter_mut()
            .map(|argument| self.redactor.json(argument))
            .sum();
        let key = TapeKey::of_soap(&parts.method, &parts.uri, soap);
        let taping = Taping::Soap {
            caller: caller.as_deref(),
        };
        self.forward_and_tape(parts, bytes, (key, redacted), style, taping)
            .await
            .unwrap_or_else(|(error, style)| error.into_response(style))
    }

    /// Forwards a session manager's call, remembering the secrets it carries and hands
    /// out; nothing of it is taped.
    async fn soap_session(
        &self,
        parts: Parts,
        bytes: Bytes,
        request: &SoapRequest<'_>,
        call: SessionCall,
    ) -> Response<Body> {
        debug!(
            operation = call.label(),
            "forwarding a SOAP session call, untaped"
        );
        let mut secrets = Secrets::from_request(&parts.headers);
        for name in ["password", "sessionID"] {
            if let Some(value) = request.argument(name) {
                secrets.add(value, "SOAP session credentials");
            }
        }
        let (answer, answer_body) = match self.upstream.exchange(parts, bytes).await {
            Ok(exchanged) => exchanged,
            Err(err) => {
                warn!(
                    operation = call.label(),
                    "forwarding a SOAP session call failed: {err}"
                );
                return upstream_failure(&err).into_response(Style::REST_JSON);
            }
        };
        if answer.status == StatusCode::OK {
            secrets.extend(&session_secrets(&answer, &answer_body));
            self.remember(&secrets);
        }
        response_from(answer, answer_body)
    }
}

/// The session keys an answer hands out: its `Set-Cookie` values and a `UserSession`'s
/// `key`.
fn session_secrets(answer: &http::response::Parts, body: &[u8]) -> Secrets {
    let mut secrets = login_secrets(&answer.headers, b"");
    if let Ok(envelope) = soap::parse_tree(body) {
        soap::each_text_named(&envelope, "key", &mut |key| {
            secrets.add(key, "SOAP session key");
        });
    }
    secrets
}

/// What the tape keeps of a SOAP answer: a success, or a fault other than one about the
/// caller's session (which replay answers from its own sessions), with session-scoped
/// ids emptied of their session key.
pub(super) fn kept(head: &http::response::Parts, body: &Bytes) -> Option<Bytes> {
    let keep = match head.status {
        StatusCode::OK => true,
        StatusCode::INTERNAL_SERVER_ERROR => !soap::is_session_fault(body),
        _ => false,
    };
    if !keep {
        return None;
    }
    Some(match std::str::from_utf8(body) {
        Ok(text) => Bytes::from(without_session_keys(text)),
        Err(_) => body.clone(),
    })
}
