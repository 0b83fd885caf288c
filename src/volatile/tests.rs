use serde_json::json;

use super::*;
use crate::exchange::SoapKey;

fn key(uri: &str, body: &str) -> TapeKey {
    TapeKey::of(&http::Method::POST, &uri.parse().unwrap(), body.as_bytes())
}

fn volatile(fields: &[&str], query: &[&str]) -> Volatile {
    Volatile::new(
        fields
            .iter()
            .map(|name| parse_field(name).unwrap())
            .collect(),
        query
            .iter()
            .map(|name| parse_query(name).unwrap())
            .collect(),
    )
}

fn applied(volatile: &Volatile, mut key: TapeKey) -> TapeKey {
    volatile.apply(&mut key);
    key
}

#[test]
fn a_name_is_left_out_at_any_depth_and_a_path_only_there() {
    let body = r#"{"requestId":"r1","meta":{"timestamp":1,"requestId":"r2","keep":true},"items":[{"requestId":"r3","timestamp":2}],"timestamp":3}"#;
    let key = key("/rest/vcenter/vm?ts=1&a=2&ts=3", body);
    let anywhere = applied(&volatile(&["requestId"], &[]), key.clone());
    assert_eq!(
        anywhere.body,
        Some(
            json!({"meta": {"timestamp": 1, "keep": true}, "items": [{"timestamp": 2}], "timestamp": 3})
        )
    );
    let path = applied(
        &volatile(&["meta.timestamp", "items.timestamp"], &[]),
        key.clone(),
    );
    assert_eq!(
        path.body,
        Some(
            json!({"requestId": "r1", "meta": {"requestId": "r2", "keep": true},
            "items": [{"requestId": "r3"}], "timestamp": 3})
        )
    );
    let query = applied(&volatile(&[], &["ts"]), key.clone());
    assert_eq!(query.query, vec![("a".to_owned(), "2".to_owned())]);
    assert_eq!(query.body, key.body, "the body is untouched");
    let nothing = applied(
        &volatile(&["Timestamp", "meta.absent.x"], &["TS"]),
        key.clone(),
    );
    assert_eq!(nothing, key, "names match exactly");
}

#[test]
fn requests_differing_only_in_ignored_inputs_key_the_same() {
    let volatile = volatile(&["ts"], &["nonce"]);
    let a = applied(&volatile, key("/x?nonce=1&q=a", r#"{"ts": 1, "v": 2}"#));
    let b = applied(&volatile, key("/x?q=a&nonce=9", r#"{"v":2,"ts":"later"}"#));
    let c = applied(&volatile, key("/x?q=a", r#"{"v":2}"#));
    assert_eq!(a.canonical(), b.canonical());
    assert_eq!(a.canonical(), c.canonical());
    assert_ne!(
        a.canonical(),
        applied(&volatile, key("/x?q=a", r#"{"v":3}"#)).canonical()
    );
}

#[test]
fn soap_keys_and_other_bodies_are_left_as_they_are() {
    let volatile = volatile(&["ts"], &["ts"]);
    let soap = SoapKey {
        operation: "RetrieveServiceContent".to_owned(),
        this: "ServiceInstance:ServiceInstance".to_owned(),
        arguments: Vec::new(),
    };
    let soap = TapeKey::of_soap(&http::Method::POST, &"/sdk?ts=1".parse().unwrap(), soap);
    assert_eq!(applied(&volatile, soap.clone()), soap);
    let text = key("/x", "ts=1");
    assert_eq!(applied(&volatile, text.clone()), text);
}

#[test]
fn bad_names_are_refused_with_the_rule() {
    for bad in ["", ".ts", "ts.", "a..b", "a b", "é", "a/b", "a\"b"] {
        assert_eq!(
            parse_field(bad),
            Err(format!("{bad:?} is not a field name or a dotted path of them (letters, digits, '_', '-', '$', '@' and ':', with '.' between the names of a path)")),
        );
    }
    assert_eq!(
        parse_field("meta.time_stamp-2"),
        Ok(Field::Path(vec![
            "meta".to_owned(),
            "time_stamp-2".to_owned()
        ]))
    );
    assert_eq!(parse_field("$id"), Ok(Field::Anywhere("$id".to_owned())));
    for bad in ["", "a=b", "a&b", "a b", "a%20b", "a+b", "#", "é"] {
        assert_eq!(
            parse_query(bad),
            Err(format!("{bad:?} is not a query parameter name (visible ASCII characters other than '&', '=', '#', '?', '%' and '+', the name as it reads decoded)")),
        );
    }
    for good in ["~action", "filter.names", "a[]", "_"] {
        assert_eq!(parse_query(good).as_deref(), Ok(good));
    }
}
