//! What in a cassette's text looks like a secret (credentials, session tokens, cookies,
//! private keys), for `dsvcr check`.

use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use regex::Regex;

/// One reason per kind of secret-looking content in `text`, in a fixed order.
pub(crate) fn secret_reasons(text: &str) -> Vec<String> {
    let patterns = patterns();
    let mut reasons = Vec::new();
    let mut found = |pattern: &Regex, reason: &str| {
        if pattern.is_match(text) {
            reasons.push(reason.to_owned());
        }
    };
    found(&patterns.authorization, "contains an Authorization header");
    found(&patterns.cookie, "contains a Cookie header");
    found(&patterns.set_cookie, "contains a Set-Cookie header");
    found(
        &patterns.session_header,
        "contains a vmware-api-session-id header or cookie",
    );
    found(&patterns.private_key, "contains a PEM private key");
    found(
        &patterns.soap_cookie,
        "contains a vmware_soap_session cookie",
    );
    found(
        &patterns.soap_session_scoped,
        "contains a session-scoped id holding its session key (session[KEY]…)",
    );
    found(
        &patterns.soap_secret_element,
        "contains a SOAP password, session id or token element with a value",
    );
    if let Some(credentials) = first_token(&patterns.basic, text, is_basic_credentials) {
        reasons.push(format!(
            "contains Basic credentials ({})",
            shown(credentials)
        ));
    }
    if let Some(token) = first_token(&patterns.bearer, text, is_bearer_token) {
        reasons.push(format!("contains a Bearer token ({})", shown(token)));
    }
    let session_token = patterns
        .hex_string
        .captures_iter(text)
        .find(|captures| captures.get(2).is_none())
        .and_then(|captures| captures.get(1));
    if let Some(token) = session_token {
        reasons.push(format!(
            "contains what looks like a session token ({})",
            shown(token.as_str())
        ));
    }
    reasons
}

struct Patterns {
    authorization: Regex,
    cookie: Regex,
    set_cookie: Regex,
    session_header: Regex,
    private_key: Regex,
    soap_cookie: Regex,
    soap_session_scoped: Regex,
    soap_secret_element: Regex,
    basic: Regex,
    bearer: Regex,
    hex_string: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| {
        let compile = |pattern: &str| Regex::new(pattern).expect("the secret patterns compile");
        Patterns {
            // A header name as a JSON string (`"authorization"`) or as a header line
            // (`Authorization: Basic …`), in any case.
            authorization: compile(r#"(?i)"authorization"|\bauthorization\s*:"#),
            // `Cookie` not preceded by `Set-` (nor part of a longer word).
            cookie: compile(r#"(?i)(?:^|[^\w-])cookie(?:"|\s*:)"#),
            set_cookie: compile(r#"(?i)"set-cookie"|\bset-cookie\s*:"#),
            session_header: compile(r"(?i)vmware-api-session-id"),
            private_key: compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----"),
            soap_cookie: compile(r"(?i)vmware_soap_session"),
            // What record keeps as `session[]…`: a key inside means it was not emptied.
            soap_session_scoped: compile(r"session\[[A-Za-z0-9_-]+\]"),
            soap_secret_element: compile(
                r"(?i)<(?:\w+:)?(?:password|sessionID|token)(?:\s[^>]*)?>[^<]",
            ),
            basic: compile(r"(?i)\bbasic\s+([A-Za-z0-9+/]{8,}={0,2})"),
            bearer: compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{8,}=*)"),
            // A JSON string of exactly 32 hex digits, and whether it is a key (`"…":`).
            hex_string: compile(r#""([0-9a-fA-F]{32})"(\s*:)?"#),
        }
    })
}

/// The first token `pattern` captures that `plausible` accepts.
fn first_token<'t>(pattern: &Regex, text: &'t str, plausible: fn(&str) -> bool) -> Option<&'t str> {
    pattern
        .captures_iter(text)
        .filter_map(|captures| captures.get(1))
        .map(|token| token.as_str())
        .find(|token| plausible(token))
}

/// `Basic` followed by valid base64 that decodes to `user:password`, or that holds
/// characters words do not (so `Basic authentication` is prose, not credentials).
fn is_basic_credentials(token: &str) -> bool {
    let Ok(decoded) = STANDARD_NO_PAD.decode(token.trim_end_matches('=')) else {
        return false;
    };
    decoded.contains(&b':') || token.contains(|c: char| c.is_ascii_digit() || "+/=".contains(c))
}

/// `Bearer` followed by something holding characters words do not (so `bearer
/// authentication.` is prose, not a token).
fn is_bearer_token(token: &str) -> bool {
    token.contains(|c: char| c.is_ascii_digit() || "-_~+/=".contains(c))
}

/// A secret shown in a reason: at most its first 4 characters, then `…`.
fn shown(secret: &str) -> String {
    let start: String = secret.chars().take(4).collect();
    format!("\"{start}…\"")
}
