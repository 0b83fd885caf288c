//! A download endpoint that names dsvcr itself: fetching it would make record connect to
//! itself, again and again, until every connection slot is taken. Such a link is refused
//! before any connection is made; a fetch that reaches dsvcr anyway (through an address
//! not recognised as its own) carries a marker and is refused on arrival.

use std::net::{IpAddr, SocketAddr};

use http::header::HeaderName;
use http::Uri;

/// Set on every fetch record makes of a download endpoint.
pub(crate) const FETCH_MARKER: HeaderName = HeaderName::from_static("x-dsvcr-fetch");

/// Whether `target` names the listener bound to `listener`, or the authority a client
/// reached dsvcr at (`client`: its `Host`).
pub(crate) fn names_listener(
    target: &Uri,
    listener: Option<SocketAddr>,
    client: Option<&str>,
) -> bool {
    let Some(authority) = target.authority() else {
        return false;
    };
    if client.is_some_and(|client| client.eq_ignore_ascii_case(authority.as_str())) {
        return true;
    }
    let Some(listener) = listener else {
        return false;
    };
    let default_port = if target.scheme_str() == Some("https") {
        443
    } else {
        80
    };
    if authority.port_u16().unwrap_or(default_port) != listener.port() {
        return false;
    }
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']');
    let ip = if host.eq_ignore_ascii_case("localhost") {
        Some(IpAddr::from([127, 0, 0, 1]))
    } else {
        host.parse::<IpAddr>().ok()
    };
    ip.is_some_and(|ip| {
        ip == listener.ip()
            || (ip.is_loopback() || ip.is_unspecified())
                && (listener.ip().is_loopback() || listener.ip().is_unspecified())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(target: &str, listener: &str, client: Option<&str>) -> bool {
        names_listener(
            &target.parse().unwrap(),
            Some(listener.parse().unwrap()),
            client,
        )
    }

    #[test]
    fn links_to_the_listener_are_recognised() {
        for target in [
            "http://127.0.0.1:8080/f",
            "https://localhost:8080/f",
            "http://127.0.0.2:8080/f",
            "http://0.0.0.0:8080/f",
            "http://[::1]:8080/f",
        ] {
            assert!(names(target, "127.0.0.1:8080", None), "{target}");
        }
        assert!(names("http://10.0.0.5:8080/f", "10.0.0.5:8080", None));
        assert!(names("http://127.0.0.1:8080/f", "0.0.0.0:8080", None));
        assert!(names(
            "http://dsvcr.lab:9000/f",
            "0.0.0.0:8080",
            Some("DSVCR.lab:9000")
        ));
        assert!(names("http://127.0.0.1/f", "127.0.0.1:80", None));
    }

    #[test]
    fn other_hosts_and_ports_are_not_the_listener() {
        for target in [
            "http://127.0.0.1:8081/f",
            "https://127.0.0.1/f",
            "http://10.0.0.6:8080/f",
            "https://vcenter.lab:8080/f",
        ] {
            assert!(
                !names(target, "127.0.0.1:8080", Some("127.0.0.1:8080")),
                "{target}"
            );
        }
        assert!(!names("http://10.0.0.5:8080/f", "127.0.0.1:8080", None));
    }
}
