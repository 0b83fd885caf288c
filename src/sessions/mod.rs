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
use time::OffsetDateTime;

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
    random: Mutex<RandomPool>,
}

struct Live {
    user: String,
    last_used: Instant,
    /// A session is used only by the protocol that opened it, as on vCenter.
    protocol: Protocol,
}

/// What a session shows beyond its user, by the protocol that opened it.
enum Protocol {
    /// REST or JSON-RPC: what session info shows.
    Api {
        created_time: String,
        last_accessed_time: String,
    },
    /// vim25 SOAP: what its `UserSession` shows.
    Soap(SoapState),
}

impl Protocol {
    fn is_soap(&self) -> bool {
        matches!(self, Protocol::Soap(_))
    }
}

impl LastUsed for Live {
    fn last_used(&self) -> Instant {
        self.last_used
    }
}

/// What a SOAP session's `UserSession` shows beyond its user and key.
#[derive(Clone, Debug)]
struct SoapState {
    login_time: OffsetDateTime,
    last_active_time: OffsetDateTime,
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
            random: Mutex::new(RandomPool::default()),
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
        self.touch_kind(token, now, false, |user, protocol| match protocol {
            Protocol::Api {
                created_time,
                last_accessed_time,
            } => {
                *last_accessed_time = now_timestamp();
                Some(SessionInfo {
                    created_time: created_time.clone(),
                    last_accessed_time: last_accessed_time.clone(),
                    user: user.to_owned(),
                })
            }
            Protocol::Soap(_) => None,
        })
    }

    /// Uses the live session of `token` opened by the given protocol (SOAP or not): marks
    /// it as used at `now` and reads it with `read`; an expired one is dropped.
    fn touch_kind<R>(
        &self,
        token: &str,
        now: Instant,
        soap: bool,
        read: impl FnOnce(&str, &mut Protocol) -> Option<R>,
    ) -> Option<R> {
        let mut live = self.live();
        let session = live.get_mut(token)?;
        if session.protocol.is_soap() != soap {
            return None;
        }
        if now.saturating_duration_since(session.last_used) >= self.limits.idle_expiry {
            live.remove(token);
            return None;
        }
        session.last_used = now;
        read(&session.user, &mut session.protocol)
    }

    /// Adds a session for `user`, dropping expired ones, and the least recently used one
    /// if still at the bound.
    fn open(&self, token: String, user: String, now: Instant) {
        let created = now_timestamp();
        let protocol = Protocol::Api {
            created_time: created.clone(),
            last_accessed_time: created,
        };
        self.open_kind(token, user, now, protocol);
    }

    /// Adds a session of the given protocol.
    fn open_kind(&self, token: String, user: String, now: Instant, protocol: Protocol) {
        let mut live = self.live();
        live.make_room(self.limits.max_sessions);
        live.insert(
            token,
            Live {
                user,
                last_used: now,
                protocol,
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

    /// Opens a SOAP session (`Login`, `LoginByToken`) and hands it, as its `UserSession`
    /// shows it, to `answer`, which writes the login's answer from it (its key is the
    /// cookie's value); the store then keeps what `answer` read, without a copy.
    pub(crate) fn soap_login<R>(
        &self,
        login: SoapLogin,
        answer: impl FnOnce(&UserSession) -> R,
    ) -> R {
        let now = OffsetDateTime::now_utc();
        let session = UserSession {
            key: self.new_uuid(),
            user_name: login.user,
            login_time: now,
            last_active_time: now,
            locale: login.locale.unwrap_or_else(|| "en_US".to_owned()),
            ip_address: login.ip_address,
            user_agent: login.user_agent,
            call_count: 1,
        };
        let answered = answer(&session);
        let UserSession {
            key,
            user_name,
            login_time,
            last_active_time,
            locale,
            ip_address,
            user_agent,
            call_count,
        } = session;
        let state = SoapState {
            login_time,
            last_active_time,
            locale,
            ip_address,
            user_agent,
            call_count,
        };
        self.open_kind(key, user_name, Instant::now(), Protocol::Soap(state));
        answered
    }

    /// The live SOAP session whose key is `key`, counting this call; `None` if it is not
    /// live.
    pub(crate) fn soap_session(&self, key: &str) -> Option<UserSession> {
        self.touch_kind(key, Instant::now(), true, |user, protocol| match protocol {
            Protocol::Soap(state) => {
                state.call_count += 1;
                state.last_active_time = OffsetDateTime::now_utc();
                Some(user_session(key, user, state))
            }
            Protocol::Api { .. } => None,
        })
    }

    /// Ends a live SOAP session; false if `key` is not live.
    pub(crate) fn soap_logout(&self, key: &str) -> bool {
        self.touch_kind(key, Instant::now(), true, |_, _| Some(()))
            .is_some()
            && self.live().remove(key).is_some()
    }

    fn random(&self, bytes: &mut [u8; 16]) {
        self.random.lock().expect("never poisoned").fill(bytes);
    }

    /// A fresh random UUID (version 4), the form of the simulator's session keys.
    fn new_uuid(&self) -> String {
        let mut bytes = [0u8; 16];
        self.random(&mut bytes);
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
        self.random(&mut bytes);
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

fn user_session(key: &str, user: &str, state: &SoapState) -> UserSession {
    UserSession {
        key: key.to_owned(),
        user_name: user.to_owned(),
        login_time: state.login_time,
        last_active_time: state.last_active_time,
        locale: state.locale.clone(),
        ip_address: state.ip_address.clone(),
        user_agent: state.user_agent.clone(),
        call_count: state.call_count,
    }
}

/// Random bytes for tokens and keys, read from the system's source a block at a time: a
/// `getrandom` call per login was a syscall more than any other request makes. Bytes
/// handed out are wiped from the block, so it holds only keys not yet made.
struct RandomPool {
    source: SystemRandom,
    block: [u8; 512],
    used: usize,
}

impl Default for RandomPool {
    fn default() -> Self {
        RandomPool {
            source: SystemRandom::new(),
            block: [0; 512],
            used: 512,
        }
    }
}

impl RandomPool {
    fn fill(&mut self, out: &mut [u8]) {
        if self.block.len() - self.used < out.len() {
            self.source
                .fill(&mut self.block)
                .expect("the system random source works");
            self.used = 0;
        }
        let taken = &mut self.block[self.used..self.used + out.len()];
        out.copy_from_slice(taken);
        taken.fill(0);
        self.used += out.len();
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
        let login = SoapLogin {
            user: "ci@vsphere.local".into(),
            locale: None,
            ip_address: "127.0.0.1".into(),
            user_agent: "govc/0.24.0".into(),
        };
        let session = sessions.soap_login(login, UserSession::clone);
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
    fn keys_drawn_across_random_blocks_are_all_distinct() {
        let sessions = tiny();
        let mut keys: Vec<String> = (0..100).map(|_| sessions.new_uuid()).collect();
        keys.extend((0..100).map(|_| sessions.new_token()));
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), 200);
        assert!(keys
            .iter()
            .all(|key| key.bytes().any(|byte| byte != b'0' && byte != b'-')));
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
