//! Keeping web pages from driving dsvcr: a `Host` check against DNS rebinding, an
//! `Origin` check against cross-site requests, and sandboxing headers on taped answers
//! (which may be HTML a page could otherwise run as dsvcr's own).
//!
//! Clients that are not browsers (curl, govmomi, the Python SDK) send the `Host` they
//! dialled, a loopback address or `localhost` on a loopback listener, and no `Origin`:
//! the defaults let them through.

use std::net::IpAddr;

use http::header::{HOST, ORIGIN};
use http::{Method, StatusCode};

use crate::answers::ApiError;
use crate::vapi::{ErrorKind, LocalizableMessage, VapiError};

/// `--allow-host` and `--allow-origin`, and whether the listener is on loopback.
#[derive(Clone, Debug, Default)]
pub(crate) struct Policy {
    pub(crate) loopback_listener: bool,
    /// Host names and addresses allowed besides loopback ones, lowercase.
    pub(crate) hosts: Vec<String>,
    /// Origins allowed (`scheme://host[:port]`), lowercase.
    pub(crate) origins: Vec<String>,
}

/// Parses an `--allow-host` value: a host name or an IP address, without a port.
pub(crate) fn parse_host(text: &str) -> Result<String, String> {
    let host = text.trim_end_matches('.').to_ascii_lowercase();
    let address = host.trim_start_matches('[').trim_end_matches(']');
    if address.parse::<IpAddr>().is_ok() || is_host_name(&host) {
        return Ok(address.to_owned());
    }
    Err(format!(
        "{text:?} is not a host name or IP address (no scheme, port or path)"
    ))
}

/// Parses an `--allow-origin` value: `http(s)://host[:port]`, as browsers send `Origin`.
pub(crate) fn parse_origin(text: &str) -> Result<String, String> {
    let origin = text.trim_end_matches('/').to_ascii_lowercase();
    let valid = origin.parse::<http::Uri>().is_ok_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https"))
            && uri.authority().is_some()
            && uri.path_and_query().is_none_or(|path| path.as_str() == "/")
    });
    if valid && !origin.contains('@') {
        Ok(origin)
    } else {
        Err(format!(
            "{text:?} is not an origin: expected http(s)://HOST[:PORT], as browsers send it"
        ))
    }
}

fn is_host_name(host: &str) -> bool {
    host.len() <= 253
        && host.split('.').all(|label| {
            (1..=63).contains(&label.len())
                && label
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-')
        })
}

impl Policy {
    /// Why `parts` is refused, if it is: a `Host` not allowed (421), then an `Origin` not
    /// allowed on an admin endpoint or a request that is not a GET or HEAD (403).
    pub(crate) fn refusal<B>(&self, request: &http::Request<B>) -> Option<ApiError> {
        if let Some(host) = host_of(request).filter(|host| !self.host_allowed(host)) {
            let host = String::from_utf8_lossy(host);
            let message = format!(
                "Host {host:?} is not allowed: dsvcr answers requests naming it by a loopback name or address{}; start it with --allow-host {} to allow this one",
                if self.loopback_listener { "" } else { " or an --allow-host name" },
                host_name(&host).unwrap_or(&host).to_ascii_lowercase()
            );
            return Some(refused(
                StatusCode::MISDIRECTED_REQUEST,
                "host-not-allowed",
                message,
            ));
        }
        let safe = request.method() == Method::GET || request.method() == Method::HEAD;
        if safe && !request.uri().path().starts_with(crate::admin::PREFIX) {
            return None;
        }
        let origin = request.headers().get(ORIGIN)?;
        let origin = origin.to_str().unwrap_or("").to_ascii_lowercase();
        if self.origins.contains(&origin) {
            return None;
        }
        let message = format!(
            "Origin {origin:?} is not allowed: a web page may not drive dsvcr; start it with --allow-origin {origin} to allow this one"
        );
        Some(refused(
            StatusCode::FORBIDDEN,
            "origin-not-allowed",
            message,
        ))
    }

    /// Checked on every request, so without allocating.
    fn host_allowed(&self, host: &[u8]) -> bool {
        if is_plain_loopback(host) {
            return true;
        }
        let Some(name) = std::str::from_utf8(host).ok().and_then(host_name) else {
            return false;
        };
        if self
            .hosts
            .iter()
            .any(|allowed| allowed.eq_ignore_ascii_case(name))
        {
            return true;
        }
        // The usual name first, spelled as clients send it: parsing it costs more than the
        // rest of the check.
        let loopback = name == "127.0.0.1"
            || name.eq_ignore_ascii_case("localhost")
            || name
                .len()
                .checked_sub(".localhost".len())
                .and_then(|at| name.get(at..))
                .is_some_and(|tail| tail.eq_ignore_ascii_case(".localhost"))
            || name.parse::<IpAddr>().is_ok_and(is_loopback);
        loopback || (!self.loopback_listener && self.hosts.is_empty())
    }
}

/// Whether an authority is `127.0.0.1` or `localhost`, with a port or without, spelled as
/// clients send it: a loopback name every listener answers, recognised without parsing.
fn is_plain_loopback(authority: &[u8]) -> bool {
    let port = authority
        .strip_prefix(b"127.0.0.1")
        .or_else(|| authority.strip_prefix(b"localhost"));
    match port {
        Some([]) => true,
        Some([b':', digits @ ..]) => !digits.is_empty() && digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// The authority a request names: HTTP/2's `:authority` (or an absolute URI), else `Host`.
fn host_of<B>(request: &http::Request<B>) -> Option<&[u8]> {
    if let Some(authority) = request.uri().authority() {
        return Some(authority.as_str().as_bytes());
    }
    Some(request.headers().get(HOST)?.as_bytes())
}

/// The host of an authority (`host[:port]`, `[v6][:port]`), without its port, brackets
/// and trailing dot; `None` when it is not a host name or address at all.
fn host_name(authority: &str) -> Option<&str> {
    let (host, port) = match authority.strip_prefix('[') {
        Some(rest) => {
            let (address, after) = rest.split_once(']')?;
            (address, after.strip_prefix(':'))
        }
        None => match authority.bytes().rposition(|byte| byte == b':') {
            Some(at) => (&authority[..at], Some(&authority[at + 1..])),
            None => (authority, None),
        },
    };
    if port.is_some_and(|port| port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let plain = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    (plain || (authority.starts_with('[') && host.parse::<IpAddr>().is_ok())).then_some(host)
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        ip => ip.is_loopback(),
    }
}

fn refused(status: StatusCode, reason: &'static str, message: String) -> ApiError {
    let id = if status == StatusCode::FORBIDDEN {
        "dsvcr.browsers.origin_not_allowed"
    } else {
        "dsvcr.browsers.host_not_allowed"
    };
    ApiError {
        status,
        error: VapiError::new(
            ErrorKind::Unauthorized,
            LocalizableMessage::new(id, message, Vec::new()),
        ),
        reason,
        allow: None,
    }
}

#[cfg(test)]
mod tests;
