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
    // 32 hex digits are also how MD5 checksums and content versions look: only the
    // value of a secret-named field is taken for a token.
    let session_token = patterns
        .hex_field
        .captures_iter(text)
        .find(|captures| is_secret_name(&captures[1]))
        .and_then(|captures| captures.get(2));
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
    hex_field: Regex,
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
            // A JSON field whose value is a string of exactly 32 hex digits, also inside
            // a JSON string (quotes escaped): its name, then its value.
            hex_field: compile(
                r#"\\?"([A-Za-z0-9_.\-]{1,100})\\?"\s*:\s*\\?"([0-9a-fA-F]{32})\\?""#,
            ),
        }
    })
}

/// Words in a field name that say its value is a secret (case ignored).
const SECRET_NAME_WORDS: [&str; 9] = [
    "token",
    "session",
    "secret",
    "passw",
    "cookie",
    "auth",
    "credential",
    "ticket",
    "apikey",
];

/// Whether a field of this name holds a secret: `token`, `session_id`, `vmware-api-session-id`,
/// `password`, `api_key`…, not `checksum` or `library_item_content_version`.
fn is_secret_name(name: &str) -> bool {
    let name: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    SECRET_NAME_WORDS.iter().any(|word| name.contains(word))
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
