//! Reading the credentials a request carries: Basic credentials, the session token
//! (header or cookie) and the tokens a login answer hands out in `Set-Cookie`.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine;
use http::header::{COOKIE, SET_COOKIE};
use http::HeaderMap;

/// The header (and cookie) vCenter's session token travels in.
pub(crate) const SESSION_HEADER: &str = "vmware-api-session-id";

/// Basic credentials, padded or not, as text (`user:password`).
pub(crate) fn decode_basic(credentials: &str) -> Option<String> {
    let bytes = STANDARD
        .decode(credentials)
        .or_else(|_| STANDARD_NO_PAD.decode(credentials))
        .ok()?;
    String::from_utf8(bytes).ok()
}

/// The session token a request carries: the `vmware-api-session-id` header, else the
/// cookie of that name.
pub(crate) fn session_token(headers: &HeaderMap) -> Option<&str> {
    if let Some(token) = headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
        return Some(token.trim());
    }
    session_cookies(headers).next()
}

/// The values of the request's cookies named `vmware-api-session-id`.
pub(crate) fn session_cookies(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    cookies_named(headers, SESSION_HEADER)
}

/// The values of the request's cookies named `name`, trimmed (attribute tokens without a
/// value, such as `HttpOnly`, are skipped).
fn cookies_named<'h>(headers: &'h HeaderMap, name: &'h str) -> impl Iterator<Item = &'h str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .filter_map(|cookie| cookie.split_once('='))
        .filter(move |(cookie, _)| cookie.trim() == name)
        .map(|(_, value)| value.trim())
}

/// The cookie vim25 SOAP sessions travel in (its value is the session's key).
pub(crate) const SOAP_COOKIE: &str = "vmware_soap_session";

/// The SOAP session cookie a request carries, without the quotes vCenter puts around it.
/// pyvmomi sends back a whole `Set-Cookie` value (`vmware_soap_session="…"; Path=/;
/// HttpOnly`): only the pair named `vmware_soap_session` counts.
pub(crate) fn soap_cookie(headers: &HeaderMap) -> Option<&str> {
    cookies_named(headers, SOAP_COOKIE)
        .next()
        .map(|value| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

/// The value of each cookie an answer sets.
pub(crate) fn set_cookie_values(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .filter_map(|cookie| cookie.split(';').next()?.split_once('='))
        .map(|(_, value)| value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_soap_cookie_is_found_among_attributes_and_unquoted() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            r#"vmware_soap_session="52b1e7a0"; Path=/; HttpOnly; Secure;"#
                .parse()
                .unwrap(),
        );
        assert_eq!(soap_cookie(&headers), Some("52b1e7a0"));
        headers.insert(COOKIE, "other=1; vmware_soap_session=9df7".parse().unwrap());
        assert_eq!(soap_cookie(&headers), Some("9df7"));
        headers.insert(COOKIE, "".parse().unwrap());
        assert_eq!(soap_cookie(&headers), None);
    }

    #[test]
    fn tokens_come_from_the_header_before_the_cookie() {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            "a=1; vmware-api-session-id=from-cookie".parse().unwrap(),
        );
        assert_eq!(session_token(&headers), Some("from-cookie"));
        headers.insert(SESSION_HEADER, " from-header ".parse().unwrap());
        assert_eq!(session_token(&headers), Some("from-header"));
        let mut answer = HeaderMap::new();
        answer.append(
            SET_COOKIE,
            "vmware-api-session-id=t-1;Path=/rest".parse().unwrap(),
        );
        assert_eq!(set_cookie_values(&answer).collect::<Vec<_>>(), ["t-1"]);
    }

    #[test]
    fn basic_credentials_decode_padded_or_not() {
        assert_eq!(decode_basic("dXNlcjpwYXNz").as_deref(), Some("user:pass"));
        assert_eq!(decode_basic("dTpw").as_deref(), Some("u:p"));
        assert_eq!(decode_basic("dTpwYQ").as_deref(), Some("u:pa"));
        assert_eq!(decode_basic("dTpwYQ==").as_deref(), Some("u:pa"));
        assert_eq!(decode_basic("!!"), None);
    }
}
