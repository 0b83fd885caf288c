//! Offline API sessions for replay mode: login, session info and logout in both
//! flavours, and the token check behind `--require-session`.

use std::collections::HashMap;
use std::sync::Mutex;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, COOKIE, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;

use crate::cassette::now_timestamp;
use crate::error::{body_response, ApiError};
use crate::secrets::SESSION_HEADER;
use crate::server::{full, Body};
use crate::vapi::recognise::SessionOp;
use crate::vapi::{Flavour, Style};

/// The live sessions this server handed out.
pub struct Sessions {
    live: Mutex<HashMap<String, SessionInfo>>,
    random: SystemRandom,
}

/// What `…/session?~action=get` and `GET /api/session` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub created_time: String,
    pub last_accessed_time: String,
    pub user: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Sessions {
            live: Mutex::new(HashMap::new()),
            random: SystemRandom::new(),
        }
    }
}

impl Sessions {
    /// Answers a session operation.
    pub fn handle(&self, op: SessionOp, flavour: Flavour, headers: &HeaderMap) -> Response<Body> {
        let style = Style::json(flavour);
        let outcome = match op {
            SessionOp::Login => self.login(flavour, headers),
            SessionOp::Info => self.info(flavour, headers),
            SessionOp::Logout => self.logout(flavour, headers),
        };
        outcome.unwrap_or_else(|error| error.into_response(style))
    }

    /// Whether the request carries a live token (header or cookie).
    pub fn is_live(&self, headers: &HeaderMap) -> bool {
        token_of(headers).is_some_and(|token| self.live().contains_key(token))
    }

    fn live(&self) -> std::sync::MutexGuard<'_, HashMap<String, SessionInfo>> {
        self.live.lock().expect("never poisoned")
    }

    fn login(&self, flavour: Flavour, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let user = basic_user(headers).ok_or_else(ApiError::unauthenticated)?;
        let token = self.new_token();
        let now = now_timestamp();
        self.live().insert(
            token.clone(),
            SessionInfo {
                created_time: now.clone(),
                last_accessed_time: now,
                user,
            },
        );
        let body = json_bytes(&serde_json::Value::String(token.clone()), flavour);
        if flavour == Flavour::Api {
            return Ok(json_response(StatusCode::CREATED, body));
        }
        let mut response = json_response(StatusCode::OK, body);
        let header_authn = headers
            .get("vmware-use-header-authn")
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.eq_ignore_ascii_case("true"));
        if !header_authn {
            let cookie = format!("{SESSION_HEADER}={token};Path=/rest");
            let cookie = HeaderValue::from_str(&cookie).expect("hex tokens are valid header text");
            response.headers_mut().insert(SET_COOKIE, cookie);
        }
        Ok(response)
    }

    fn info(&self, flavour: Flavour, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let token = token_of(headers).ok_or_else(ApiError::unauthenticated)?;
        let mut live = self.live();
        let info = live.get_mut(token).ok_or_else(ApiError::unauthenticated)?;
        info.last_accessed_time = now_timestamp();
        let value = serde_json::to_value(&*info).expect("session info serialises");
        Ok(json_response(StatusCode::OK, json_bytes(&value, flavour)))
    }

    fn logout(&self, flavour: Flavour, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let token = token_of(headers).ok_or_else(ApiError::unauthenticated)?;
        self.live()
            .remove(token)
            .ok_or_else(ApiError::unauthenticated)?;
        let status = match flavour {
            Flavour::Api => StatusCode::NO_CONTENT,
            Flavour::Rest | Flavour::Reference | Flavour::JsonRpc => StatusCode::OK,
        };
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = status;
        Ok(response)
    }

    /// Opens a session for `user` (a JSON-RPC login) and returns its token.
    pub(crate) fn open(&self, user: &str) -> String {
        let token = self.new_token();
        let now = now_timestamp();
        let info = SessionInfo {
            created_time: now.clone(),
            last_accessed_time: now,
            user: user.to_owned(),
        };
        self.live().insert(token.clone(), info);
        token
    }

    /// A live session's info, its last access set to now; `None` if `token` is not live.
    pub(crate) fn touch(&self, token: &str) -> Option<SessionInfo> {
        let mut live = self.live();
        let info = live.get_mut(token)?;
        info.last_accessed_time = now_timestamp();
        Some(info.clone())
    }

    /// Ends a live session; false if `token` is not live.
    pub(crate) fn close(&self, token: &str) -> bool {
        self.live().remove(token).is_some()
    }

    /// Whether `token` is a live session's.
    pub(crate) fn is_live_token(&self, token: &str) -> bool {
        self.live().contains_key(token)
    }

    /// 32 lowercase hex digits, like vCenter's tokens.
    fn new_token(&self) -> String {
        let mut bytes = [0u8; 16];
        self.random
            .fill(&mut bytes)
            .expect("the system random source works");
        bytes.iter().map(|byte| format!("{byte:02x}")).collect()
    }
}

fn json_bytes(value: &serde_json::Value, flavour: Flavour) -> Bytes {
    let body = if flavour.wraps_value() {
        serde_json::json!({ "value": value })
    } else {
        value.clone()
    };
    Bytes::from(serde_json::to_vec(&body).expect("JSON values serialise"))
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    body_response(status, body, Style::REST_JSON)
}

/// The user of a `Basic` `Authorization` header with a non-empty user and password.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(credentials.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    (!user.is_empty() && !password.is_empty()).then(|| user.to_owned())
}

/// The session token a request carries: the `vmware-api-session-id` header, else the
/// cookie of that name.
pub fn token_of(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(token.trim());
    }
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.split_once('='))
        .find(|(name, _)| name.trim() == SESSION_HEADER)
        .map(|(_, value)| value.trim())
}
