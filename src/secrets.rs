//! Secrets seen in traffic (Basic credentials, session tokens), kept in memory only, so
//! that bytes about to be written can be checked for them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use http::header::{AUTHORIZATION, COOKIE};
use http::HeaderMap;

/// Shorter values are not checked: they would match ordinary cassette text by chance.
pub const MIN_SECRET_BYTES: usize = 6;

/// The header and cookie vSphere session tokens travel in.
pub const SESSION_HEADER: &str = "vmware-api-session-id";

/// A set of secret strings, each with what it is.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    values: Vec<(String, &'static str)>,
}

impl Secrets {
    /// The secrets a request carries: its `Authorization` credentials (for Basic, the
    /// encoded form, `user:password` and the password), its session token header and
    /// its cookie values.
    pub fn from_request(headers: &HeaderMap) -> Self {
        let mut secrets = Secrets::default();
        for value in headers.get_all(AUTHORIZATION) {
            let Ok(value) = value.to_str() else { continue };
            secrets.add_authorization(value);
        }
        for value in headers.get_all(SESSION_HEADER) {
            if let Ok(token) = value.to_str() {
                secrets.add(token.trim(), "session token");
            }
        }
        for value in headers.get_all(COOKIE) {
            let Ok(cookies) = value.to_str() else {
                continue;
            };
            for cookie in cookies.split(';') {
                if let Some((_, value)) = cookie.split_once('=') {
                    secrets.add(value.trim(), "cookie value");
                }
            }
        }
        secrets
    }

    fn add_authorization(&mut self, value: &str) {
        let Some((scheme, credentials)) = value.trim().split_once(' ') else {
            self.add(value, "authorization credentials");
            return;
        };
        let credentials = credentials.trim();
        self.add(credentials, "authorization credentials");
        if !scheme.eq_ignore_ascii_case("basic") {
            return;
        }
        let Some(decoded) = STANDARD
            .decode(credentials)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
        else {
            return;
        };
        if let Some((_, password)) = decoded.split_once(':') {
            self.add(password, "Basic password");
        }
        self.add(&decoded, "Basic credentials");
    }

    /// Remembers `value` as a secret unless it is too short to check.
    pub fn add(&mut self, value: &str, what: &'static str) {
        if value.len() >= MIN_SECRET_BYTES && !self.values.iter().any(|(known, _)| known == value) {
            self.values.push((value.to_owned(), what));
        }
    }

    pub fn extend(&mut self, other: &Secrets) {
        for (value, what) in &other.values {
            self.add(value, what);
        }
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// What kind of secret `bytes` contain, if any (as written, or JSON-escaped).
    pub fn found_in(&self, bytes: &[u8]) -> Option<&'static str> {
        let text = String::from_utf8_lossy(bytes);
        self.values.iter().find_map(|(value, what)| {
            let escaped = serde_json::to_string(value).expect("strings serialise");
            let escaped = &escaped[1..escaped.len() - 1];
            (text.contains(value.as_str()) || text.contains(escaped)).then_some(*what)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn basic_credentials_tokens_and_cookies_are_collected() {
        let basic = STANDARD.encode("admin@vsphere.local:Passw0rd!");
        let secrets = Secrets::from_request(&headers(&[
            ("authorization", &format!("Basic {basic}")),
            ("vmware-api-session-id", "0123456789abcdef"),
            ("cookie", "vmware-api-session-id=feedfacecafe; other=short"),
        ]));
        assert_eq!(
            secrets.found_in(b"{\"x\":\"Passw0rd!\"}"),
            Some("Basic password")
        );
        assert_eq!(
            secrets.found_in(basic.as_bytes()),
            Some("authorization credentials")
        );
        assert_eq!(
            secrets.found_in(b"token 0123456789abcdef"),
            Some("session token")
        );
        assert_eq!(secrets.found_in(b"feedfacecafe"), Some("cookie value"));
        assert_eq!(secrets.found_in(b"short"), None, "too short to check");
        assert_eq!(secrets.found_in(b"{\"state\":\"ACTIVE\"}"), None);
    }

    #[test]
    fn json_escaped_secrets_are_found() {
        let mut secrets = Secrets::default();
        secrets.add("pa\"ss\\word", "Basic password");
        assert_eq!(
            secrets.found_in(br#"{"a":"pa\"ss\\word"}"#),
            Some("Basic password")
        );
    }
}
