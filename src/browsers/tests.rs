use super::*;

fn parts(method: &str, path: &str, headers: &[(&str, &str)]) -> http::Request<()> {
    let mut builder = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(()).unwrap()
}

fn loopback() -> Policy {
    Policy {
        loopback_listener: true,
        ..Policy::default()
    }
}

fn status(policy: &Policy, method: &str, path: &str, headers: &[(&str, &str)]) -> u16 {
    policy
        .refusal(&parts(method, path, headers))
        .map_or(200, |refused| refused.status.as_u16())
}

#[test]
fn a_loopback_listener_answers_loopback_hosts_only_unless_allowed() {
    let policy = loopback();
    for host in [
        "127.0.0.1:8080",
        "localhost:8080",
        "LOCALHOST",
        "[::1]:8080",
        "127.0.0.2",
        "dsvcr.localhost:1",
        "localhost.:80",
        "127.0.0.1",
        "localhost",
        "localhost:1",
    ] {
        assert_eq!(
            status(&policy, "GET", "/api", &[("host", host)]),
            200,
            "{host}"
        );
    }
    for host in [
        "evil.example:8080",
        "192.168.1.5:8080",
        "0.0.0.0",
        "",
        "a b",
        "127.0.0.1:",
        "127.0.0.1:80x",
        "127.0.0.1.evil.example",
        "localhost:",
        "localhostx:80",
    ] {
        assert_eq!(
            status(&policy, "GET", "/api", &[("host", host)]),
            421,
            "{host}"
        );
    }
    let allowed = Policy {
        hosts: vec!["dsvcr".to_owned()],
        ..loopback()
    };
    assert_eq!(
        status(&allowed, "GET", "/api", &[("host", "DSVCR:8080")]),
        200
    );
    let refused = loopback()
        .refusal(&parts("GET", "/api", &[("host", "evil.example:8080")]))
        .unwrap();
    assert_eq!(refused.reason, "host-not-allowed");
    assert_eq!(
        refused.error.messages[0].default_message,
        "Host \"evil.example:8080\" is not allowed: dsvcr answers requests naming it by a loopback name or address; start it with --allow-host evil.example to allow this one"
    );
}

#[test]
fn another_listener_answers_every_host_unless_narrowed() {
    let open = Policy::default();
    assert_eq!(status(&open, "GET", "/api", &[("host", "dsvcr:8080")]), 200);
    let narrowed = Policy {
        hosts: vec!["dsvcr".to_owned()],
        ..Policy::default()
    };
    assert_eq!(
        status(&narrowed, "GET", "/api", &[("host", "dsvcr:8080")]),
        200
    );
    assert_eq!(
        status(&narrowed, "GET", "/api", &[("host", "127.0.0.1")]),
        200
    );
    assert_eq!(
        status(&narrowed, "GET", "/api", &[("host", "evil.example")]),
        421
    );
}

#[test]
fn an_origin_not_allowed_may_only_get_outside_the_admin_endpoints() {
    let policy = loopback();
    let from = |method: &str, path: &str, origin: &str| {
        status(
            &policy,
            method,
            path,
            &[("host", "127.0.0.1:1"), ("origin", origin)],
        )
    };
    assert_eq!(from("GET", "/api/x", "https://evil.example"), 200);
    assert_eq!(from("HEAD", "/api/x", "https://evil.example"), 200);
    assert_eq!(from("POST", "/api/x", "https://evil.example"), 403);
    assert_eq!(from("GET", "/__dsvcr/health", "null"), 403);
    assert_eq!(from("POST", "/__dsvcr/reset", "http://127.0.0.1:1"), 403);
    assert_eq!(
        status(&policy, "POST", "/api/x", &[("host", "127.0.0.1:1")]),
        200
    );
    let allowed = Policy {
        origins: vec!["http://localhost:3000".to_owned()],
        ..loopback()
    };
    let post = &[("host", "127.0.0.1:1"), ("origin", "http://LOCALHOST:3000")];
    assert_eq!(status(&allowed, "POST", "/api/x", post), 200);
}

#[test]
fn allow_values_are_checked() {
    assert_eq!(parse_host("DSVCR.example."), Ok("dsvcr.example".to_owned()));
    assert_eq!(parse_host("[::1]"), Ok("::1".to_owned()));
    assert_eq!(parse_host("10.0.0.1"), Ok("10.0.0.1".to_owned()));
    for bad in ["dsvcr:8080", "http://dsvcr", "a/b", "", "-a", "a..b", "a b"] {
        assert!(parse_host(bad).is_err(), "{bad}");
    }
    assert_eq!(
        parse_origin("http://LocalHost:3000/"),
        Ok("http://localhost:3000".to_owned())
    );
    for bad in ["localhost:3000", "ftp://a", "http://a/b", "http://u@a"] {
        assert!(parse_origin(bad).is_err(), "{bad}");
    }
}
