//! Offline sessions for replay mode, one store for every protocol: REST login, session
//! info and logout in both flavours, JSON-RPC's, vim25 SOAP's (`Login`, `Logout`,
//! `currentSession`), and the token check behind `--require-session`.

mod by_age;

use by_age::{ByAge, LastUsed};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::header::{HeaderValue, AUTHORIZATION, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};
use ring::rand::{SecureRandom, SystemRandom};
use serde::Serialize;

use crate::answers::{body_response, ApiError};
use crate::body::{full, Body};
use crate::cassette::now_timestamp;
use crate::protocol::soap::UserSession;
use crate::secrets::credentials::{decode_basic, session_token as token_of, SESSION_HEADER};
use crate::vapi::SessionOp;
use crate::vapi::{Flavour, Style};

/// Most sessions live at once; a login beyond drops the least recently used one.
pub(crate) const MAX_SESSIONS: usize = 4096;

/// A session unused for this long is gone, as on vCenter (its default idle timeout).
pub(crate) const SESSION_IDLE_EXPIRY: Duration = Duration::from_secs(30 * 60);

/// Longest user name a login may carry (401 beyond).
pub(crate) const MAX_USER_BYTES: usize = 256;

/// How many sessions may live, and for how long unused.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionLimits {
    pub(crate) max_sessions: usize,
    pub(crate) idle_expiry: Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        SessionLimits {
            max_sessions: MAX_SESSIONS,
            idle_expiry: SESSION_IDLE_EXPIRY,
        }
    }
}

/// The live sessions this server handed out, at most [`SessionLimits::max_sessions`].
pub(crate) struct Sessions {
    live: Mutex<ByAge<Live>>,
    limits: SessionLimits,
    random: SystemRandom,
}

struct Live {
    info: SessionInfo,
    last_used: Instant,
    /// What a vim25 SOAP session adds; `None` for an API (REST, JSON-RPC) session. A
    /// session is used only by the protocol that opened it, as on vCenter.
    soap: Option<SoapState>,
}

impl LastUsed for Live {
    fn last_used(&self) -> Instant {
        self.last_used
    }
}

/// What a SOAP session's `UserSession` shows beyond its user.
#[derive(Clone, Debug)]
struct SoapState {
    login_time: String,
    last_active_time: String,
    locale: String,
    ip_address: String,
    user_agent: String,
    call_count: u64,
}

/// Who asks for a SOAP session: what its `UserSession` reports.
#[derive(Clone, Debug, Default)]
pub(crate) struct SoapLogin {
    pub(crate) user: String,
    pub(crate) locale: Option<String>,
    pub(crate) ip_address: String,
    pub(crate) user_agent: String,
}

/// What `…/session?~action=get` and `GET /api/session` answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub(crate) struct SessionInfo {
    pub(crate) created_time: String,
    pub(crate) last_accessed_time: String,
    pub(crate) user: String,
}

impl Default for Sessions {
    fn default() -> Self {
        Self::with_limits(SessionLimits::default())
    }
}

impl Sessions {
    pub(crate) fn with_limits(limits: SessionLimits) -> Self {
        Sessions {
            live: Mutex::new(ByAge::default()),
            limits,
            random: SystemRandom::new(),
        }
    }

    /// Answers a session operation.
    pub(crate) fn handle(
        &self,
        op: SessionOp,
        flavour: Flavour,
        headers: &HeaderMap,
    ) -> Response<Body> {
        let style = Style::json(flavour);
        let outcome = match op {
            SessionOp::Login => self.login(flavour, headers),
            SessionOp::Info => self.info(flavour, headers),
            SessionOp::Logout => self.logout(flavour, headers),
        };
        outcome.unwrap_or_else(|error| error.into_response(style))
    }

    /// Whether the request carries a live token (header or cookie); using it keeps the
    /// session alive.
    pub(crate) fn is_live(&self, headers: &HeaderMap) -> bool {
        token_of(headers).is_some_and(|token| self.touch(token, Instant::now()).is_some())
    }

    /// How many sessions are live (expired ones may still be counted until the next
    /// login at the bound).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.live().len()
    }

    fn live(&self) -> std::sync::MutexGuard<'_, ByAge<Live>> {
        self.live.lock().expect("never poisoned")
    }

    /// The session of `token` if it has not expired, marked as used at `now`; an expired
    /// one is dropped.
    fn touch(&self, token: &str, now: Instant) -> Option<SessionInfo> {
        self.touch_kind(token, now, false).map(|(info, _)| info)
    }

    /// [`Self::touch`] for a session of the given protocol (SOAP or not); a SOAP
    /// session's use is counted.
    fn touch_kind(
        &self,
        token: &str,
        now: Instant,
        soap: bool,
    ) -> Option<(SessionInfo, Option<SoapState>)> {
        let mut live = self.live();
        let session = live.get_mut(token)?;
        if session.soap.is_some() != soap {
            return None;
        }
        if now.saturating_duration_since(session.last_used) >= self.limits.idle_expiry {
            live.remove(token);
            return None;
        }
        session.last_used = now;
        session.info.last_accessed_time = now_timestamp();
        if let Some(state) = &mut session.soap {
            state.call_count += 1;
            state.last_active_time = soap_timestamp();
        }
        Some((session.info.clone(), session.soap.clone()))
    }

    /// Adds a session for `user`, dropping expired ones, and the least recently used one
    /// if still at the bound.
    fn open(&self, token: String, user: String, now: Instant) {
        self.open_kind(token, user, now, now_timestamp(), None);
    }

    /// Adds a session made at `created` (as its protocol writes times).
    fn open_kind(
        &self,
        token: String,
        user: String,
        now: Instant,
        created: String,
        soap: Option<SoapState>,
    ) {
        let mut live = self.live();
        live.make_room(self.limits.max_sessions);
        let info = SessionInfo {
            created_time: created.clone(),
            last_accessed_time: created,
            user,
        };
        live.insert(
            token,
            Live {
                info,
                last_used: now,
                soap,
            },
        );
    }

    fn login(&self, flavour: Flavour, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let user = basic_user(headers).ok_or_else(ApiError::unauthenticated)?;
        let token = self.new_token();
        self.open(token.clone(), user, Instant::now());
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
        let info = self
            .touch(token, Instant::now())
            .ok_or_else(ApiError::unauthenticated)?;
        let value = serde_json::to_value(&info).expect("session info serialises");
        Ok(json_response(StatusCode::OK, json_bytes(&value, flavour)))
    }

    fn logout(&self, flavour: Flavour, headers: &HeaderMap) -> Result<Response<Body>, ApiError> {
        let token = token_of(headers).ok_or_else(ApiError::unauthenticated)?;
        self.touch(token, Instant::now())
            .ok_or_else(ApiError::unauthenticated)?;
        self.live().remove(token);
        let status = match flavour {
            Flavour::Api => StatusCode::NO_CONTENT,
            Flavour::Rest | Flavour::Reference | Flavour::JsonRpc => StatusCode::OK,
        };
        let mut response = Response::new(full(Bytes::new()));
        *response.status_mut() = status;
        Ok(response)
    }

    /// Opens a session for `user` (a JSON-RPC login), within the same bounds as every
    /// login, and returns its token.
    pub(crate) fn open_for(&self, user: &str) -> String {
        let token = self.new_token();
        self.open(token.clone(), user.to_owned(), Instant::now());
        token
    }

    /// A live session's info, marked as used now; `None` if `token` is not live.
    pub(crate) fn use_token(&self, token: &str) -> Option<SessionInfo> {
        self.touch(token, Instant::now())
    }

    /// Ends a live session; false if `token` is not live.
    pub(crate) fn close(&self, token: &str) -> bool {
        self.touch(token, Instant::now()).is_some() && self.live().remove(token).is_some()
    }

    /// Whether `token` is a live session's (using it keeps it alive).
    pub(crate) fn is_live_token(&self, token: &str) -> bool {
        self.touch(token, Instant::now()).is_some()
    }

    /// Opens a SOAP session (`Login`, `LoginByToken`) and returns it as its
    /// `UserSession` shows it; its key is the cookie's value.
    pub(crate) fn soap_login(&self, login: SoapLogin) -> UserSession {
        let key = self.new_uuid();
        let now = soap_timestamp();
        let state = SoapState {
            login_time: now.clone(),
            last_active_time: now,
            locale: login.locale.unwrap_or_else(|| "en_US".to_owned()),
            ip_address: login.ip_address,
            user_agent: login.user_agent,
            call_count: 1,
        };
        let created = state.login_time.clone();
        self.open_kind(
            key.clone(),
            login.user.clone(),
            Instant::now(),
            created,
            Some(state.clone()),
        );
        user_session(key, login.user, state)
    }

    /// The live SOAP session whose key is `key`, counting this call; `None` if it is not
    /// live.
    pub(crate) fn soap_session(&self, key: &str) -> Option<UserSession> {
        let (info, state) = self.touch_kind(key, Instant::now(), true)?;
        Some(user_session(key.to_owned(), info.user, state?))
    }

    /// Ends a live SOAP session; false if `key` is not live.
    pub(crate) fn soap_logout(&self, key: &str) -> bool {
        self.touch_kind(key, Instant::now(), true).is_some() && self.live().remove(key).is_some()
    }

    /// A fresh random UUID (version 4), the form of the simulator's session keys.
    fn new_uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        self.random
            .fill(&mut bytes)
            .expect("the system random source works");
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex(&bytes);
        let mut uuid = String::with_capacity(36);
        for (at, part) in [(0, 8), (8, 12), (12, 16), (16, 20), (20, 32)] {
            if at > 0 {
                uuid.push('-');
            }
            uuid.push_str(&hex[at..part]);
        }
        uuid
    }

    /// 32 lowercase hex digits, like vCenter's tokens.
    fn new_token(&self) -> String {
        let mut bytes = [0u8; 16];
        self.random
            .fill(&mut bytes)
            .expect("the system random source works");
        hex(&bytes)
    }
}

/// `bytes` as lowercase hex digits.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        text.push(char::from(DIGITS[usize::from(byte >> 4)]));
        text.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    text
}

fn user_session(key: String, user: String, state: SoapState) -> UserSession {
    UserSession {
        key,
        user_name: user,
        login_time: state.login_time,
        last_active_time: state.last_active_time,
        locale: state.locale,
        ip_address: state.ip_address,
        user_agent: state.user_agent,
        call_count: state.call_count,
    }
}

/// Now in UTC with nanoseconds, as vim25's `dateTime`s are written.
fn soap_timestamp() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .expect("UTC times format as RFC 3339")
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

/// The user of a `Basic` `Authorization` header (padded or not) with a non-empty user of
/// at most [`MAX_USER_BYTES`] and a non-empty password.
fn basic_user(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, credentials) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = decode_basic(credentials.trim())?;
    let (user, password) = decoded.split_once(':')?;
    let fits = !user.is_empty() && user.len() <= MAX_USER_BYTES && !password.is_empty();
    fits.then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> Sessions {
        Sessions::with_limits(SessionLimits {
            max_sessions: 3,
            idle_expiry: Duration::from_secs(60),
        })
    }

    #[test]
    fn a_login_at_the_bound_drops_the_least_recently_used_session() {
        let sessions = tiny();
        let start = Instant::now();
        for (n, token) in ["a", "b", "c"].into_iter().enumerate() {
            sessions.open(
                token.into(),
                "u".into(),
                start + Duration::from_secs(n as u64),
            );
        }
        assert!(sessions
            .touch("a", start + Duration::from_secs(3))
            .is_some());
        sessions.open("d".into(), "u".into(), start + Duration::from_secs(4));
        assert_eq!(sessions.len(), 3);
        let at = start + Duration::from_secs(5);
        assert!(sessions.touch("b", at).is_none(), "least recently used");
        for token in ["a", "c", "d"] {
            assert!(sessions.touch(token, at).is_some(), "{token}");
        }
    }

    #[test]
    fn soap_sessions_count_calls_and_stay_apart_from_api_tokens() {
        let sessions = tiny();
        let session = sessions.soap_login(SoapLogin {
            user: "ci@vsphere.local".into(),
            locale: None,
            ip_address: "127.0.0.1".into(),
            user_agent: "govc/0.24.0".into(),
        });
        assert_eq!(session.key.len(), 36, "{}", session.key);
        assert_eq!((session.call_count, session.locale.as_str()), (1, "en_US"));
        let again = sessions.soap_session(&session.key).unwrap();
        assert_eq!(again.call_count, 2);
        assert_eq!(again.user_name, "ci@vsphere.local");
        assert_eq!(again.login_time, session.login_time);
        assert!(!sessions.is_live_token(&session.key), "not an API token");
        let token = sessions.open_for("u");
        assert!(sessions.soap_session(&token).is_none(), "not a SOAP key");
        assert!(sessions.soap_logout(&session.key));
        assert!(sessions.soap_session(&session.key).is_none());
        assert!(!sessions.soap_logout(&session.key));
    }

    #[test]
    fn an_idle_session_expires_and_expired_ones_make_room_first() {
        let sessions = tiny();
        let start = Instant::now();
        sessions.open("old".into(), "u".into(), start);
        sessions.open("a".into(), "u".into(), start + Duration::from_secs(30));
        sessions.open("b".into(), "u".into(), start + Duration::from_secs(31));
        assert!(sessions
            .touch("a", start + Duration::from_secs(89))
            .is_some());
        assert!(sessions
            .touch("b", start + Duration::from_secs(91))
            .is_none());
        sessions.open("c".into(), "u".into(), start + Duration::from_secs(92));
        sessions.open("d".into(), "u".into(), start + Duration::from_secs(93));
        assert_eq!(sessions.len(), 3, "old and b expired");
        assert!(sessions
            .touch("a", start + Duration::from_secs(94))
            .is_some());
    }
}
