use super::*;

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, value.parse().unwrap());
    }
    map
}

#[test]
fn basic_credentials_and_session_tokens_are_collected() {
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
    assert!(secrets.found_in(basic.as_bytes()).is_some());
    assert_eq!(
        secrets.found_in(b"token 0123456789abcdef"),
        Some("session token")
    );
    assert_eq!(secrets.found_in(b"feedfacecafe"), Some("session token"));
    assert_eq!(secrets.found_in(b"short"), None, "too short to check");
    assert_eq!(secrets.found_in(b"{\"state\":\"ACTIVE\"}"), None);
}

/// Any client can set any cookie: only the session cookie's value is a secret.
#[test]
fn other_cookies_are_not_secrets() {
    let secrets = Secrets::from_request(&headers(&[(
        "cookie",
        "x=format; theme=responses; vmware-api-session-id=feedfacecafe",
    )]));
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets.found_in(br#"{"format":1,"responses":[]}"#), None);
}

#[test]
fn unpadded_basic_credentials_are_learned() {
    let unpadded = STANDARD_NO_PAD.encode("ci:Secr3t-pw!");
    assert!(!unpadded.ends_with('='));
    assert!(
        STANDARD.decode(&unpadded).is_err(),
        "the padded decoder refuses it"
    );
    let secrets =
        Secrets::from_request(&headers(&[("authorization", &format!("Basic {unpadded}"))]));
    assert_eq!(secrets.found_in(b"id Secr3t-pw!"), Some("Basic password"));
}

#[test]
fn encoded_forms_are_found() {
    let mut secrets = Secrets::default();
    secrets.add("p@ss word/+?é", "Basic password");
    secrets.add("0123456789abcdef0123456789abcdef", "session token");
    let found = |text: &str| secrets.found_in(text.as_bytes());
    for form in [
        "p@ss word/+?é".to_owned(),
        "p%40ss%20word%2F%2B%3F%C3%A9".to_owned(),
        "p%40ss%20word%2f%2b%3f%c3%a9".to_owned(),
        "p%40ss+word%2F%2B%3F%C3%A9".to_owned(),
        STANDARD.encode("p@ss word/+?é"),
        URL_SAFE_NO_PAD.encode("p@ss word/+?é"),
    ] {
        assert_eq!(
            found(&format!("x={form}&y")),
            Some("Basic password"),
            "{form}"
        );
    }
    assert_eq!(
        found("id 0123456789ABCDEF0123456789ABCDEF"),
        Some("session token")
    );
    assert_eq!(found("0123456789abcdef0123456789abcdeX"), None);
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

#[test]
fn memory_is_bounded() {
    let mut secrets = Secrets::default();
    for n in 0..MAX_SECRETS + 10 {
        secrets.add(&format!("token-{n:08}"), "session token");
    }
    assert_eq!(secrets.len(), MAX_SECRETS);
    let long = "L".repeat(1000) + "tail";
    let mut one = Secrets::default();
    one.add(&long, "Basic password");
    assert_eq!(one.values().next().unwrap().0.len(), MAX_SECRET_BYTES);
    assert_eq!(one.found_in(long.as_bytes()), Some("Basic password"));
}

/// How record mode uses a set: a request's own secrets, already remembered, extended
/// with the remembered ones. The remembered layer and its automaton are shared.
#[test]
fn extending_with_a_superset_shares_its_automaton() {
    let mut remembered = Secrets::default();
    for n in 0..100 {
        remembered.add(&format!("token-{n:08}"), "session token");
    }
    assert_eq!(
        remembered.found_in(b"token-00000042"),
        Some("session token")
    );
    let mut request = Secrets::default();
    request.add("token-00000007", "session token");
    request.extend(&remembered);
    assert_eq!(request.layers.len(), 1);
    assert!(Arc::ptr_eq(&request.layers[0], &remembered.layers[0]));
    assert!(request.layers[0].searcher.get().is_some(), "not rebuilt");

    let mut fresh = Secrets::default();
    fresh.add("not-remembered-1", "session token");
    fresh.extend(&remembered);
    assert_eq!(fresh.len(), 101);
    assert!(Arc::ptr_eq(&fresh.layers[0], &remembered.layers[0]));
    assert_eq!(fresh.found_in(b"not-remembered-1"), Some("session token"));
    assert_eq!(fresh.found_in(b"token-00000099"), Some("session token"));

    let mut login = Secrets::default();
    login.add("not-remembered-1", "session token");
    remembered.extend(&login);
    assert_eq!(remembered.len(), 101);
    assert_eq!(remembered.layers.len(), 1);
    assert!(
        remembered.layers[0].searcher.get().is_none(),
        "grown: rebuilt"
    );
}

/// A measurement for RELIABILITY.md (`cargo test --release --lib -- --ignored
/// gate_cost`): one search of a cassette's bytes with 4096 remembered 32-byte tokens.
#[test]
#[ignore = "a measurement for RELIABILITY.md"]
fn gate_cost_with_4096_remembered_secrets() {
    let mut secrets = Secrets::default();
    for n in 0..4096 {
        secrets.add(&format!("{n:032x}"), "session token");
    }
    let cassette = include_bytes!("../../cassettes/download-session/obj-106.json");
    assert_eq!(secrets.found_in(cassette), None);
    let searches = 500;
    let started = std::time::Instant::now();
    for _ in 0..searches {
        assert_eq!(secrets.found_in(cassette), None);
    }
    let search = started.elapsed() / searches;
    println!(
        "found_in over {} bytes with 4096 secrets: {search:?}",
        cassette.len()
    );
    assert!(search < std::time::Duration::from_millis(1), "{search:?}");
}
