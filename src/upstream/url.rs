//! `--upstream`: the lab vCenter's base URL, parsed strictly so that a typo can never send
//! the client's credentials to some other port or host.

use std::ffi::OsStr;
use std::fmt;
use std::net::Ipv6Addr;
use std::str::FromStr;

use clap::builder::{TypedValueParser, ValueParserFactory};
use clap::error::ErrorKind;
use http::uri::{Authority, PathAndQuery, Scheme};
use http::Uri;

/// The upstream vCenter's base URL: `https://vcenter.example` or `http://…`, with an
/// optional port and path prefix that is put before every forwarded path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UpstreamUrl {
    scheme: Scheme,
    authority: Authority,
    prefix: String,
}

/// What is wrong with an `--upstream` value. No variant holds the user name or password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UpstreamUrlError {
    #[error("must start with https:// or http://")]
    Scheme,
    #[error("has no host")]
    NoHost,
    #[error("must not hold a user name or password (USER:PASSWORD@); dsvcr forwards each client's own credentials")]
    UserInfo,
    #[error("host {0:?} is not a host name or IP address")]
    Host(String),
    #[error("port {0:?} is not a number from 1 to 65535")]
    Port(String),
    #[error("must not have a query (?…)")]
    Query,
    #[error("must not have a fragment (#…)")]
    Fragment,
    #[error("path {0:?} is not a valid URL path")]
    Path(String),
}

impl FromStr for UpstreamUrl {
    type Err = UpstreamUrlError;

    fn from_str(text: &str) -> Result<Self, UpstreamUrlError> {
        let (scheme, rest) = split_scheme(text)?;
        let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(end);
        if authority.contains('@') {
            return Err(UpstreamUrlError::UserInfo);
        }
        let authority = parse_authority(authority)?;
        let prefix = parse_prefix(tail)?;
        Ok(UpstreamUrl {
            scheme,
            authority,
            prefix,
        })
    }
}

fn split_scheme(text: &str) -> Result<(Scheme, &str), UpstreamUrlError> {
    let (scheme, rest) = text.split_once("://").ok_or(UpstreamUrlError::Scheme)?;
    if scheme.eq_ignore_ascii_case("https") {
        Ok((Scheme::HTTPS, rest))
    } else if scheme.eq_ignore_ascii_case("http") {
        Ok((Scheme::HTTP, rest))
    } else {
        Err(UpstreamUrlError::Scheme)
    }
}

fn parse_authority(authority: &str) -> Result<Authority, UpstreamUrlError> {
    let (host, port) = split_port(authority)?;
    if host.is_empty() {
        return Err(UpstreamUrlError::NoHost);
    }
    if !is_host(host) {
        return Err(UpstreamUrlError::Host(host.to_owned()));
    }
    if let Some(port) = port {
        let valid = !port.is_empty()
            && port.bytes().all(|byte| byte.is_ascii_digit())
            && port.parse::<u16>().is_ok_and(|port| port != 0);
        if !valid {
            return Err(UpstreamUrlError::Port(port.to_owned()));
        }
    }
    Authority::from_str(authority).map_err(|_| UpstreamUrlError::Host(host.to_owned()))
}

/// `host` and the text after its `:`, if any; an IPv6 literal keeps its brackets.
fn split_port(authority: &str) -> Result<(&str, Option<&str>), UpstreamUrlError> {
    if authority.starts_with('[') {
        let close = authority
            .find(']')
            .ok_or_else(|| UpstreamUrlError::Host(authority.to_owned()))?;
        let (host, after) = authority.split_at(close + 1);
        return match after.strip_prefix(':') {
            Some(port) => Ok((host, Some(port))),
            None if after.is_empty() => Ok((host, None)),
            None => Err(UpstreamUrlError::Host(authority.to_owned())),
        };
    }
    Ok(match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    })
}

fn is_host(host: &str) -> bool {
    if let Some(literal) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return literal.parse::<Ipv6Addr>().is_ok();
    }
    host.bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_'))
}

fn parse_prefix(tail: &str) -> Result<String, UpstreamUrlError> {
    if tail.contains('#') {
        return Err(UpstreamUrlError::Fragment);
    }
    if tail.contains('?') {
        return Err(UpstreamUrlError::Query);
    }
    if !tail.is_empty() && PathAndQuery::from_str(tail).is_err() {
        return Err(UpstreamUrlError::Path(tail.to_owned()));
    }
    Ok(tail.trim_end_matches('/').to_owned())
}

impl fmt::Display for UpstreamUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}{}", self.scheme, self.authority, self.prefix)
    }
}

impl UpstreamUrl {
    pub(crate) fn host(&self) -> &str {
        self.authority.host()
    }

    /// Whether `uri` is on this URL's origin: the same scheme, host (ignoring case) and
    /// port (the scheme's default when none is written).
    pub(crate) fn is_same_origin(&self, uri: &Uri) -> bool {
        let default_port = |https: bool| if https { 443 } else { 80 };
        let Some(authority) = uri.authority() else {
            return false;
        };
        let https = match uri.scheme_str() {
            Some(scheme) if scheme.eq_ignore_ascii_case("https") => true,
            Some(scheme) if scheme.eq_ignore_ascii_case("http") => false,
            _ => return false,
        };
        https == self.is_https()
            && authority.host().eq_ignore_ascii_case(self.authority.host())
            && authority.port_u16().unwrap_or(default_port(https))
                == self.authority.port_u16().unwrap_or(default_port(https))
    }

    pub(super) fn is_https(&self) -> bool {
        self.scheme == Scheme::HTTPS
    }

    /// The upstream URI for a request to `path_and_query` on dsvcr.
    pub(super) fn target(&self, path_and_query: Option<&PathAndQuery>) -> Uri {
        let path_and_query = path_and_query.map_or("/", PathAndQuery::as_str);
        Uri::builder()
            .scheme(self.scheme.clone())
            .authority(self.authority.clone())
            .path_and_query(format!("{}{path_and_query}", self.prefix))
            .build()
            .expect("a valid base URL and a valid path make a valid URI")
    }
}

/// clap's parser for `--upstream`: a usage error (exit 2) that names the flag and what is
/// wrong, and quotes the value with any user name and password masked.
#[derive(Clone, Debug)]
pub(crate) struct UpstreamUrlParser;

impl ValueParserFactory for UpstreamUrl {
    type Parser = UpstreamUrlParser;

    fn value_parser() -> UpstreamUrlParser {
        UpstreamUrlParser
    }
}

impl TypedValueParser for UpstreamUrlParser {
    type Value = UpstreamUrl;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<UpstreamUrl, clap::Error> {
        let text = value.to_string_lossy();
        text.parse().map_err(|err: UpstreamUrlError| {
            let flag = arg.map_or_else(|| "--upstream <URL>".to_owned(), ToString::to_string);
            let message = format!("invalid value '{}' for '{flag}': {err}", masked(&text));
            clap::Error::raw(ErrorKind::ValueValidation, message).format(&mut cmd.clone())
        })
    }
}

/// `text` with whatever stands before an `@` in its authority replaced by `***`.
fn masked(text: &str) -> String {
    let start = text.find("://").map_or(0, |at| at + 3);
    let end = text[start..]
        .find(['/', '?', '#'])
        .map_or(text.len(), |at| start + at);
    match text[start..end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> UpstreamUrlError {
        text.parse::<UpstreamUrl>().unwrap_err()
    }

    #[test]
    fn upstream_urls_keep_a_path_prefix() {
        let url: UpstreamUrl = "https://vc.lab:8443/proxy/".parse().unwrap();
        assert_eq!(url.to_string(), "https://vc.lab:8443/proxy");
        assert_eq!(url.host(), "vc.lab");
        let target = url.target(Some(&PathAndQuery::from_static("/rest/x?~action=get")));
        assert_eq!(target, "https://vc.lab:8443/proxy/rest/x?~action=get");
        let plain: UpstreamUrl = "http://127.0.0.1:9".parse().unwrap();
        assert_eq!(
            plain.target(Some(&PathAndQuery::from_static("/api/session"))),
            "http://127.0.0.1:9/api/session"
        );
    }

    #[test]
    fn good_upstream_urls_parse() {
        for (text, shown) in [
            ("https://vc.lab", "https://vc.lab"),
            ("HTTP://vc.lab/", "http://vc.lab"),
            ("https://vc.lab:1", "https://vc.lab:1"),
            ("https://vc.lab:65535/x", "https://vc.lab:65535/x"),
            ("http://[::1]:8080", "http://[::1]:8080"),
            ("http://[::1]", "http://[::1]"),
            ("https://vc_01.lab.example", "https://vc_01.lab.example"),
        ] {
            let url: UpstreamUrl = text.parse().unwrap();
            assert_eq!(url.to_string(), shown, "{text}");
        }
    }

    #[test]
    fn bad_upstream_urls_are_explained() {
        use UpstreamUrlError::*;
        for (text, expected) in [
            ("ftp://vc", Scheme),
            ("vc.lab", Scheme),
            ("vc.lab:443", Scheme),
            ("https://", NoHost),
            ("https://:443", NoHost),
            ("https:///rest", NoHost),
            ("http://user:pass@vc", UserInfo),
            ("http://user@vc", UserInfo),
            ("http://127.0.0.1:99999", Port("99999".into())),
            ("http://127.0.0.1:0", Port("0".into())),
            ("http://127.0.0.1:", Port("".into())),
            ("http://127.0.0.1:80a", Port("80a".into())),
            ("http://127.0.0.1:+80", Port("+80".into())),
            ("http://vc:1:2", Port("1:2".into())),
            ("http://[::1]:x", Port("x".into())),
            ("http://[::g]", Host("[::g]".into())),
            ("http://vc%20lab", Host("vc%20lab".into())),
            ("https://vc?x=1", Query),
            ("https://vc/p?x=1", Query),
            ("https://vc#top", Fragment),
            ("https://vc/p#top", Fragment),
            ("https://vc/a b", Path("/a b".into())),
        ] {
            assert_eq!(error(text), expected, "{text}");
        }
    }

    #[test]
    fn user_names_and_passwords_are_masked() {
        assert_eq!(
            masked("http://admin:s3cret@vc:443/x?y@z"),
            "http://***@vc:443/x?y@z"
        );
        assert_eq!(masked("http://vc/x@y"), "http://vc/x@y");
        assert_eq!(masked("a:b@c"), "***@c");
    }
}
