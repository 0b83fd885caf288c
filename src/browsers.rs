//! Keeping web pages from driving dsvcr: a `Host` check against DNS rebinding, an
//! `Origin` check against cross-site requests, and sandboxing headers on taped answers
//! (which may be HTML a page could otherwise run as dsvcr's own).
//!
//! Clients that are not browsers (curl, govmomi, the Python SDK) send the `Host` they
//! dialled, a loopback address or `localhost` on a loopback listener, and no `Origin`:
//! the defaults let them through.

use std::net::IpAddr;
use std::sync::Arc;

use http::header::{HeaderValue, CONTENT_SECURITY_POLICY, HOST, ORIGIN, X_CONTENT_TYPE_OPTIONS};
use http::{request, Method, Request, Response, StatusCode};
use hyper::body::Incoming;

use crate::body::Body;
use crate::error::ApiError;
use crate::server::Handler;
use crate::vapi::{ErrorKind, LocalizableMessage, Style, VapiError};

/// The admin endpoints' path prefix.
const ADMIN: &str = "/__dsvcr/";

/// What taped answers are sent with: never sniffed, and sandboxed if rendered (no
/// script, no same-origin access, nothing loaded).
const SANDBOX: &str = "sandbox; default-src 'none'";

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
    pub(crate) fn refusal(&self, parts: &request::Parts) -> Option<ApiError> {
        if let Some(host) = host_of(parts).filter(|host| !self.host_allowed(host)) {
            let message = format!(
                "Host {host:?} is not allowed: dsvcr answers requests naming it by a loopback name or address{}; start it with --allow-host {} to allow this one",
                if self.loopback_listener { "" } else { " or an --allow-host name" },
                bare_host(&host).unwrap_or_else(|| host.clone())
            );
            return Some(refused(
                StatusCode::MISDIRECTED_REQUEST,
                "host-not-allowed",
                message,
            ));
        }
        let origin = parts.headers.get(ORIGIN)?;
        let safe = parts.method == Method::GET || parts.method == Method::HEAD;
        if safe && !parts.uri.path().starts_with(ADMIN) {
            return None;
        }
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

    fn host_allowed(&self, host: &str) -> bool {
        let Some(name) = bare_host(host) else {
            return false;
        };
        if self.hosts.contains(&name) {
            return true;
        }
        let loopback = name == "localhost"
            || name.ends_with(".localhost")
            || name.parse::<IpAddr>().is_ok_and(is_loopback);
        loopback || (!self.loopback_listener && self.hosts.is_empty())
    }
}

/// The authority a request names: HTTP/2's `:authority` (or an absolute URI), else `Host`.
fn host_of(parts: &request::Parts) -> Option<String> {
    if let Some(authority) = parts.uri.authority() {
        return Some(authority.as_str().to_owned());
    }
    let host = parts.headers.get(HOST)?;
    Some(String::from_utf8_lossy(host.as_bytes()).into_owned())
}

/// `host` without its port, brackets and trailing dot, lowercase; None when it is not a
/// host at all.
fn bare_host(host: &str) -> Option<String> {
    let authority = host.parse::<http::uri::Authority>().ok()?;
    let name = authority.host().trim_end_matches('.').to_ascii_lowercase();
    Some(
        name.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    )
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

/// `response` with the headers that keep a browser from running it as dsvcr's page.
pub(crate) fn sandboxed(mut response: Response<Body>) -> Response<Body> {
    let headers = response.headers_mut();
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(SANDBOX));
    response
}

/// A service behind the browser checks, which run before anything else.
pub(crate) struct Guarded<S> {
    service: Arc<S>,
    policy: Policy,
}

impl<S> Guarded<S> {
    pub(crate) fn new(service: S, policy: Policy) -> Self {
        Guarded {
            service: Arc::new(service),
            policy,
        }
    }
}

impl<S: Handler> Handler for Guarded<S> {
    async fn handle(&self, request: Request<Incoming>) -> Response<Body> {
        let (parts, body) = request.into_parts();
        if let Some(refused) = self.policy.refusal(&parts) {
            return refused.into_response(Style::REST_JSON);
        }
        self.service.handle(Request::from_parts(parts, body)).await
    }
}

#[cfg(test)]
mod tests;
