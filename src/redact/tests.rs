use serde_json::json;

use super::*;

const KEY: &str = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----";

#[test]
fn names_match_ignoring_case_underscores_and_dashes_and_only_whole() {
    let redactor = Redactor::default();
    for name in [
        "password",
        "PassWord",
        "client_secret",
        "Client-Secret",
        "access_token",
        "api_key",
        "apiKey",
        "X-API-Key",
        "private_key",
        "Authorization",
        "Set-Cookie",
        "vmware-api-session-id",
        "session_id",
    ] {
        assert!(redactor.is_secret(name), "{name}");
    }
    for name in [
        "client_token",
        "download_session_id",
        "passwords_count",
        "id",
        "user",
    ] {
        assert!(!redactor.is_secret(name), "{name}");
    }
    let custom = Redactor::new(&["Guest-PIN".to_owned()]);
    assert!(custom.is_secret("guest_pin") && custom.is_secret("GUESTPIN"));
    assert!(!redactor.is_secret("guest_pin"));
}

#[test]
fn json_is_redacted_at_any_depth_and_non_strings_whole() {
    let mut value = json!({
        "spec": {
            "name": "esx-1",
            "credentials": [{"user_name": "root", "password": "hunter2!"}],
            "oidc": {"client_secret": {"nested": 1}, "Access-Token": 42},
            "note": format!("key: {KEY} end"),
        },
        "pairs": [{"key": "api_key", "value": "abc"}, {"key": "size", "value": "7"}],
    });
    assert_eq!(Redactor::default().json(&mut value), 5);
    assert_eq!(
        value,
        json!({
            "spec": {
                "name": "esx-1",
                "credentials": [{"user_name": "root", "password": PLACEHOLDER}],
                "oidc": {"client_secret": PLACEHOLDER, "Access-Token": PLACEHOLDER},
                "note": format!("key: {PLACEHOLDER} end"),
            },
            "pairs": [{"key": "api_key", "value": PLACEHOLDER}, {"key": "size", "value": "7"}],
        })
    );
    assert_eq!(
        Redactor::default().json(&mut value),
        0,
        "redacting twice changes nothing"
    );
}

#[test]
fn an_unterminated_private_key_is_redacted_to_the_end() {
    let mut text = "a -----BEGIN PRIVATE KEY-----\nMIIE".to_owned();
    assert_eq!(redact_pem(&mut text), 1);
    assert_eq!(text, format!("a {PLACEHOLDER}"));
}

#[test]
fn forms_and_queries_keep_other_fields() {
    let redacted = Redactor::default().form(b"user=root&password=p%40ss&x=1");
    assert_eq!(redacted.count, 1);
    assert_eq!(
        String::from_utf8(redacted.value).unwrap(),
        "user=root&password=%3Credacted%3E&x=1"
    );
    let same = Redactor::default().form(b"user=root&x=1");
    assert_eq!((same.count, &same.value[..]), (0, &b"user=root&x=1"[..]));
}

#[test]
fn xml_elements_and_attributes_are_redacted() {
    let soap = r#"<Login xmlns="urn:vim25"><userName>root</userName><vim:password xmlns:vim="urn:vim25">s3cr<b>e</b>t</vim:password><x token="t0k"/></Login>"#;
    let redacted = Redactor::default().xml(soap).unwrap();
    assert_eq!(redacted.count, 2);
    assert_eq!(
        String::from_utf8(redacted.value).unwrap(),
        r#"<Login xmlns="urn:vim25"><userName>root</userName><vim:password xmlns:vim="urn:vim25">&lt;redacted&gt;</vim:password><x token="&lt;redacted&gt;"/></Login>"#
    );
    assert!(Redactor::default().xml("<a><b></a>").is_none());
}

#[test]
fn an_unparseable_body_is_kept_only_without_secret_looking_names() {
    let redactor = Redactor::default();
    let kept = redactor
        .body(Some("text/plain"), b"hello world", "the answer")
        .unwrap();
    assert_eq!((kept.count, &kept.value[..]), (0, &b"hello world"[..]));
    let err = redactor
        .body(Some("text/plain"), b"the PASS_WORD is x", "the answer")
        .unwrap_err();
    assert!(
        err.to_string().starts_with("the answer is not JSON"),
        "{err}"
    );
    let pem = redactor.body(None, KEY.as_bytes(), "the answer").unwrap();
    assert_eq!((pem.count, &pem.value[..]), (1, PLACEHOLDER.as_bytes()));
}

#[test]
fn tape_keys_are_made_from_the_redacted_request() {
    let redactor = Redactor::default();
    let key = |uri: &str, body: &str| {
        redactor
            .tape_key(
                &http::Method::POST,
                &uri.parse().unwrap(),
                &http::HeaderMap::new(),
                body.as_bytes(),
            )
            .unwrap()
    };
    let a = key("/api/x?api_key=one&a=1", r#"{"password":"one"}"#);
    let b = key("/api/x?a=1&api_key=two", r#"{"password":"two"}"#);
    assert_eq!(a.count, 2);
    assert_eq!(a.value, b.value);
    assert_eq!(
        a.value.canonical(),
        r#"{"method":"POST","path":"/api/x","query":[["a","1"],["api_key","<redacted>"]],"body":{"password":"<redacted>"}}"#
    );
}

#[test]
fn check_names_every_unredacted_kind() {
    let redactor = Redactor::default();
    let tape = json!({
        "request": {"query": [["api_key", "x"], ["a", "1"]], "body": {"password": PLACEHOLDER}},
        "responses": [
            {"status": 200, "json": {"token": {"a": 1}}},
            {"status": 200, "content_type": "application/x-www-form-urlencoded", "text": "secret=1"},
            {"status": 200, "content_type": "text/plain", "text": "your password is"},
        ],
    });
    assert_eq!(
        unredacted(&redactor, &tape),
        vec![
            "a taped answer is not JSON, a form or XML, and a secret-looking name appears in it, so it cannot be redacted and is not written (--no-tape forwards such exchanges untaped)".to_owned(),
            "a taped application/x-www-form-urlencoded answer holds a secret-named value that is not the placeholder \"<redacted>\"".to_owned(),
            "field \"token\" holds a value that is not the placeholder \"<redacted>\"".to_owned(),
            "query parameter \"api_key\" holds a value that is not the placeholder \"<redacted>\"".to_owned(),
        ]
    );
    let clean = json!({"request": {"query": [["api_key", PLACEHOLDER]]}, "responses": [{"json": {"password": PLACEHOLDER}}]});
    assert!(unredacted(&redactor, &clean).is_empty());
}
