//! Credential memory: the secrets seen in earlier exchanges of a recording run (memory
//! only), so that no later cassette of the run holds them.

use std::sync::Mutex;

use http::{HeaderMap, StatusCode};

use super::credentials::set_cookie_values;
use super::Secrets;

/// Secrets remembered from logins, at most this many (oldest kept; they are only used
/// to check cassette bytes).
const MAX_REMEMBERED_SECRETS: usize = 4096;

/// Basic credentials and session tokens seen in earlier exchanges.
#[derive(Default)]
pub(crate) struct Remembered(Mutex<Secrets>);

impl Remembered {
    /// The secrets to keep out of cassettes: those in `headers`, and every earlier
    /// request's.
    pub(crate) fn with_request(&self, headers: &HeaderMap) -> Secrets {
        let mut secrets = Secrets::from_request(headers);
        secrets.extend(&self.0.lock().expect("never poisoned"));
        secrets
    }

    /// Remembers a request's credentials for the rest of the run unless vCenter refused
    /// them (401, 403): credentials any client can make up must not switch the gate off
    /// for others.
    pub(crate) fn remember_if_accepted(&self, headers: &HeaderMap, status: StatusCode) {
        if status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN {
            self.remember(&Secrets::from_request(headers));
        }
    }

    pub(crate) fn remember(&self, secrets: &Secrets) {
        let mut remembered = self.0.lock().expect("never poisoned");
        if remembered.len() < MAX_REMEMBERED_SECRETS {
            remembered.extend(secrets);
        }
    }
}

/// The token a login answer hands out, as a bare JSON string (`/api`), in
/// `{"value": …}` (`/rest`), or in a `Set-Cookie`.
pub(crate) fn login_secrets(headers: &HeaderMap, body: &[u8]) -> Secrets {
    let mut secrets = Secrets::default();
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::String(token)) => secrets.add(&token, "session token"),
        Ok(value) => {
            if let Some(token) = value.get("value").and_then(|v| v.as_str()) {
                secrets.add(token, "session token");
            }
        }
        Err(_) => {}
    }
    for value in set_cookie_values(headers) {
        secrets.add(value, "session token");
    }
    secrets
}
