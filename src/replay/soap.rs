//! Replay over vim25 SOAP: the session manager's calls from the offline session store
//! (any credentials log in), everything else from the tape under its canonical key,
//! with session-scoped ids made to fit the caller's session.

use std::net::{IpAddr, SocketAddr};

use http::header::{HeaderValue, AUTHORIZATION, SET_COOKIE, USER_AGENT};
use http::request::Parts;
use http::{HeaderMap, Method, Response};
use hyper::body::Incoming;
use tracing::{debug, warn};

use super::Replay;
use crate::access::{self, Outcome};
use crate::answers::soap as soap_answers;
use crate::body::Body;
use crate::exchange::TapeKey;
use crate::front::{read_soap, soap_request};
use crate::protocol::soap::{
    self, current_session, session_is_active, soap_key, Fault, SessionCall, SoapRequest,
    UserSession,
};
use crate::secrets::credentials::{soap_cookie, SOAP_COOKIE};
use crate::sessions::SoapLogin;

impl Replay {
    /// Answers one `POST /sdk`.
    pub(super) async fn soap(
        &self,
        parts: &Parts,
        body: Incoming,
        client: SocketAddr,
    ) -> Response<Body> {
        let bytes = match read_soap(parts, body).await {
            Ok(bytes) => bytes,
            Err(fault) => return soap_answers::fault(&fault),
        };
        let request = match soap_request(&bytes) {
            Ok(request) => request,
            Err(fault) => return soap_answers::fault(&fault),
        };
        let cookie = soap_cookie(&parts.headers);
        if let Some(call) = SessionCall::of(&request) {
            return self.soap_session(call, &request, &parts.headers, cookie, client);
        }
        let caller = cookie.and_then(|key| self.sessions.soap_session(key));
        if self.options.require_session && caller.is_none() && !needs_no_session(&request) {
            return soap_answers::fault(&Fault::not_authenticated());
        }
        self.soap_taped(parts, &request, caller.as_ref())
    }

    fn soap_taped(
        &self,
        parts: &Parts,
        request: &SoapRequest<'_>,
        caller: Option<&UserSession>,
    ) -> Response<Body> {
        let mut soap = soap_key(request);
        // Keyed as record keyed it: with `--redact`'s names redacted too.
        for argument in &mut soap.arguments {
            self.redactor.json(argument);
        }
        let key = TapeKey::of_soap(&parts.method, &parts.uri, soap);
        let taped = if self.options.tape {
            self.timelines.taped(&key)
        } else {
            None
        };
        match taped {
            Some(answer) => {
                self.stats.hit();
                access::mark(Outcome::Taped);
                debug!(request = %key, "taped");
                answer.soap_response(caller.map(|session| session.key.as_str()))
            }
            None => {
                let route = format!("{} {}", parts.uri.path(), request.operation);
                if self.stats.unrecorded_route(&Method::POST, &route) {
                    warn!(operation = &*request.operation, this = %request.this, "no cassette covers this SOAP call");
                } else {
                    debug!(
                        operation = &*request.operation,
                        "unrecorded SOAP call again"
                    );
                }
                soap_answers::fault(&Fault::not_recorded(
                    &request.operation,
                    &request.this.kind,
                    &request.this.value,
                ))
            }
        }
    }

    fn soap_session(
        &self,
        call: SessionCall,
        request: &SoapRequest<'_>,
        headers: &HeaderMap,
        cookie: Option<&str>,
        client: SocketAddr,
    ) -> Response<Body> {
        debug!(operation = call.label(), "SOAP session call");
        access::mark(Outcome::Session);
        match call {
            SessionCall::Login { by_token } => {
                if cookie.is_some_and(|key| self.sessions.soap_session(key).is_some()) {
                    // The simulator's answer to a login on a live session.
                    return soap_answers::fault(&Fault::invalid_login());
                }
                let user = if by_token {
                    token_user(request, headers)
                } else {
                    password_user(request)
                };
                let Some(user) = user else {
                    return soap_answers::fault(&Fault::invalid_login());
                };
                let login = SoapLogin {
                    user,
                    locale: request.argument("locale").map(str::to_owned),
                    ip_address: ip_text(client.ip().to_canonical()),
                    user_agent: header_text(headers, USER_AGENT.as_str()),
                };
                self.sessions.soap_login(login, |session| {
                    with_cookie(soap::login(&request.operation, session), &session.key)
                })
            }
            SessionCall::Logout => match cookie {
                Some(key) if self.sessions.soap_logout(key) => soap::success("Logout", None),
                _ => soap_answers::fault(&Fault::not_authenticated()),
            },
            SessionCall::IsActive => {
                if cookie
                    .and_then(|key| self.sessions.soap_session(key))
                    .is_none()
                {
                    return soap_answers::fault(&Fault::not_authenticated());
                }
                let asked = request.argument("sessionID").unwrap_or_default();
                let user = request.argument("userName").unwrap_or_default();
                let active = self
                    .sessions
                    .soap_session(asked)
                    .is_some_and(|session| session.user_name == user);
                session_is_active(active)
            }
            SessionCall::Current(read) => {
                let session = cookie.and_then(|key| self.sessions.soap_session(key));
                current_session(read, session.as_ref())
                    .unwrap_or_else(|fault| soap_answers::fault(&fault))
            }
        }
    }
}

/// Calls vCenter serves before a login: reading the service content (what every client
/// asks first).
fn needs_no_session(request: &SoapRequest<'_>) -> bool {
    request.operation == "RetrieveServiceContent"
}

/// The user of a `Login`: any user name with a non-empty password logs in offline.
fn password_user(request: &SoapRequest<'_>) -> Option<String> {
    let user = request.argument("userName")?;
    let password = request.argument("password")?;
    let fits =
        !user.is_empty() && user.len() <= crate::sessions::MAX_USER_BYTES && !password.is_empty();
    fits.then(|| user.to_owned())
}

/// The user of a `LoginByToken`: the SAML assertion's subject, or a bearer JWT's `sub`.
fn token_user(request: &SoapRequest<'_>, headers: &HeaderMap) -> Option<String> {
    let user = soap::token_subject(request).or_else(|| {
        let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.trim().split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| soap::jwt_subject(token.trim()))?
    })?;
    (user.len() <= crate::sessions::MAX_USER_BYTES).then_some(user)
}

fn header_text(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// `response` setting the session cookie, as the simulator does (no `Secure`: clients
/// reach dsvcr over plain HTTP too, where a secure cookie is never sent back).
fn with_cookie(mut response: Response<Body>, key: &str) -> Response<Body> {
    const ATTRIBUTES: &str = "; Path=/; HttpOnly";
    let mut cookie = String::with_capacity(SOAP_COOKIE.len() + 1 + key.len() + ATTRIBUTES.len());
    for part in [SOAP_COOKIE, "=", key, ATTRIBUTES] {
        cookie.push_str(part);
    }
    let cookie = HeaderValue::try_from(cookie).expect("session keys are valid header text");
    response.headers_mut().insert(SET_COOKIE, cookie);
    response
}

/// An address as `UserSession.ipAddress` shows it; an IPv4 one written without the
/// formatting machinery (a login's most expensive field).
fn ip_text(ip: IpAddr) -> String {
    let IpAddr::V4(ip) = ip else {
        return ip.to_string();
    };
    let mut text = String::with_capacity(15);
    for (at, octet) in ip.octets().into_iter().enumerate() {
        if at > 0 {
            text.push('.');
        }
        if octet >= 100 {
            text.push(char::from(b'0' + octet / 100));
        }
        if octet >= 10 {
            text.push(char::from(b'0' + octet / 10 % 10));
        }
        text.push(char::from(b'0' + octet % 10));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_std_writes_them() {
        for ip in [
            "0.0.0.0",
            "127.0.0.1",
            "10.20.199.255",
            "9.99.100.101",
            "::1",
            "fe80::1",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(ip_text(ip), ip.to_string());
        }
    }
}
