//! The examples of `vapi-typed-models.md`, each checked there against VMware's Python SDK:
//! REST models recorded from govmomi's simulator typed exactly as the SDK decoded them,
//! the hand-made nested models read back and typed again, and models that cannot be typed.

use serde_json::{json, Value};

use super::*;
use crate::protocol::jsonrpc::decode::answer as decode_answer;
use crate::protocol::jsonrpc::render::result;
use crate::vapi::call::Answer;

const LIBRARY_ID: &str = "b38a8da9-aa73-4d6c-a1ce-2d52cb9441f8";
const ITEM_ID: &str = "2220ce9d-a6eb-4135-af52-60704789a3b3";

/// §3: the simulator's `GET /rest/com/vmware/content/library/id:…` value, its internal Go
/// fields (`Item`, `Subs`, `VMTX`) included.
fn recorded_library() -> Value {
    json!({"creation_time": "2026-12-06T23:23:56.232661281Z", "id": LIBRARY_ID,
        "last_modified_time": "2026-12-06T23:23:56.232661432Z", "name": "harness-lib",
        "storage_backings": [{"datastore_id": "govcsim-DC0-LocalDS_0@folder-5", "type": "DATASTORE"}],
        "type": "LOCAL",
        "Item": {ITEM_ID: {"creation_time": "2026-12-06T23:23:56.233301827Z",
            "File": [{"cached": true, "name": "disk.iso", "size": 18, "version": "1"}],
            "Template": null}},
        "Subs": {}, "VMTX": {}})
}

/// §3: the simulator's item value, with its `File` and `Template`.
fn recorded_item() -> Value {
    json!({"creation_time": "2026-12-06T23:23:56.233301827Z", "id": ITEM_ID,
        "last_modified_time": "2026-12-06T23:23:56.233302056Z", "library_id": LIBRARY_ID,
        "name": "harness-item", "type": "iso",
        "File": [{"cached": true, "name": "disk.iso", "size": 18, "version": "1"}],
        "Template": null})
}

/// The `result` of a JSON-RPC answer as the spec writes it.
fn spec_result(answer: &str) -> Value {
    let answer: Value = serde_json::from_str(answer).unwrap();
    answer["result"].clone()
}

fn rendered(op: Op, model: Value) -> Value {
    let body = result(op, &Answer::Value(model)).unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[test]
fn the_recorded_library_is_typed_as_the_sdk_decoded_it() {
    let expected = spec_result(
        r#"{"jsonrpc":"2.0","id":"0","result":{"output":{"STRUCTURE":{"com.vmware.content.library_model":{"id":{"OPTIONAL":"b38a8da9-aa73-4d6c-a1ce-2d52cb9441f8"},"creation_time":{"OPTIONAL":"2026-12-06T23:23:56.232661281Z"},"last_modified_time":{"OPTIONAL":"2026-12-06T23:23:56.232661432Z"},"name":{"OPTIONAL":"harness-lib"},"storage_backings":{"OPTIONAL":[{"STRUCTURE":{"com.vmware.content.library.storage_backing":{"type":{"OPTIONAL":"DATASTORE"},"datastore_id":{"OPTIONAL":"govcsim-DC0-LocalDS_0@folder-5"}}}}]},"type":{"OPTIONAL":"LOCAL"}}}}}}"#,
    );
    assert_eq!(rendered(Op::LibraryGet, recorded_library()), expected);
}

#[test]
fn the_recorded_item_is_typed_as_the_sdk_decoded_it() {
    let expected = spec_result(
        r#"{"jsonrpc":"2.0","id":"1","result":{"output":{"STRUCTURE":{"com.vmware.content.library.item_model":{"id":{"OPTIONAL":"2220ce9d-a6eb-4135-af52-60704789a3b3"},"library_id":{"OPTIONAL":"b38a8da9-aa73-4d6c-a1ce-2d52cb9441f8"},"creation_time":{"OPTIONAL":"2026-12-06T23:23:56.233301827Z"},"last_modified_time":{"OPTIONAL":"2026-12-06T23:23:56.233302056Z"},"name":{"OPTIONAL":"harness-item"},"type":{"OPTIONAL":"iso"}}}}}}"#,
    );
    assert_eq!(rendered(Op::ItemGet, recorded_item()), expected);
}

#[test]
fn the_encoding_is_deterministic_bytes() {
    let once = result(Op::ItemGet, &Answer::Value(recorded_item())).unwrap();
    let again = result(Op::ItemGet, &Answer::Value(recorded_item())).unwrap();
    assert_eq!(once, again);
    assert_eq!(
        std::str::from_utf8(&once).unwrap(),
        r#"{"output":{"STRUCTURE":{"com.vmware.content.library.item_model":{"creation_time":{"OPTIONAL":"2026-12-06T23:23:56.233301827Z"},"id":{"OPTIONAL":"2220ce9d-a6eb-4135-af52-60704789a3b3"},"last_modified_time":{"OPTIONAL":"2026-12-06T23:23:56.233302056Z"},"library_id":{"OPTIONAL":"b38a8da9-aa73-4d6c-a1ce-2d52cb9441f8"},"name":{"OPTIONAL":"harness-item"},"type":{"OPTIONAL":"iso"}}}}}"#
    );
}

/// §3's hand-made library: nested structures and a secret.
const PUBLISHED_LIBRARY: &str = r#"{"output":{"STRUCTURE":{"com.vmware.content.library_model":{"id":{"OPTIONAL":"lib-1"},"name":{"OPTIONAL":"pub-lib"},"type":{"OPTIONAL":"LOCAL"},"version":{"OPTIONAL":"3"},"server_guid":{"OPTIONAL":"guid-1"},"publish_info":{"OPTIONAL":{"STRUCTURE":{"com.vmware.content.library.publish_info":{"authentication_method":{"OPTIONAL":"BASIC"},"published":{"OPTIONAL":true},"publish_url":{"OPTIONAL":"https://vc.example/cls/vcsp/lib/lib-1/lib.json"},"user_name":{"OPTIONAL":"vcsp"},"password":{"OPTIONAL":{"SECRET":"pw"}},"persist_json_enabled":{"OPTIONAL":false}}}}},"optimization_info":{"OPTIONAL":{"STRUCTURE":{"com.vmware.content.library.optimization_info":{"optimize_remote_publishing":{"OPTIONAL":false}}}}},"state_info":{"OPTIONAL":{"STRUCTURE":{"com.vmware.content.library.state_info":{"state":{"OPTIONAL":"ACTIVE"}}}}}}}}}"#;

/// §3's hand-made item: a required field inside an optional structure.
const CERTIFIED_ITEM: &str = r#"{"output":{"STRUCTURE":{"com.vmware.content.library.item_model":{"id":{"OPTIONAL":"item-1"},"cached":{"OPTIONAL":true},"size":{"OPTIONAL":37},"content_version":{"OPTIONAL":"2"},"metadata_version":{"OPTIONAL":"1"},"version":{"OPTIONAL":"1"},"security_compliance":{"OPTIONAL":true},"certificate_verification_info":{"OPTIONAL":{"STRUCTURE":{"com.vmware.content.library.item.certificate_verification_info":{"status":"NOT_AVAILABLE","cert_chain":{"OPTIONAL":["-----BEGIN CERTIFICATE-----…"]}}}}}}}}}"#;

fn upstream_answer(result: &str) -> Vec<u8> {
    format!(r#"{{"jsonrpc":"2.0","id":"0","result":{result}}}"#).into_bytes()
}

#[test]
fn nested_models_read_back_plain_and_type_again_the_same() {
    for (op, typed_result, plain) in [
        (
            Op::LibraryGet,
            PUBLISHED_LIBRARY,
            json!({"id": "lib-1", "name": "pub-lib", "type": "LOCAL", "version": "3",
                "server_guid": "guid-1",
                "publish_info": {"authentication_method": "BASIC", "published": true,
                    "publish_url": "https://vc.example/cls/vcsp/lib/lib-1/lib.json",
                    "user_name": "vcsp", "password": "pw", "persist_json_enabled": false},
                "optimization_info": {"optimize_remote_publishing": false},
                "state_info": {"state": "ACTIVE"}}),
        ),
        (
            Op::ItemGet,
            CERTIFIED_ITEM,
            json!({"id": "item-1", "cached": true, "size": 37, "content_version": "2",
                "metadata_version": "1", "version": "1", "security_compliance": true,
                "certificate_verification_info": {"status": "NOT_AVAILABLE",
                    "cert_chain": ["-----BEGIN CERTIFICATE-----…"]}}),
        ),
    ] {
        let read = decode_answer(op, &upstream_answer(typed_result)).unwrap();
        assert_eq!(read, Answer::Value(plain.clone()), "{op:?}");
        let expected: Value = serde_json::from_str(typed_result).unwrap();
        assert_eq!(rendered(op, plain), expected, "{op:?}");
    }
}

#[test]
fn a_typed_model_is_stored_as_the_rest_model() {
    // The runtime's own server writes every field, unset ones as OPTIONAL null; a newer
    // vCenter may add fields the schema does not know.
    let typed = r#"{"output":{"STRUCTURE":{"com.vmware.content.library.item_model":{"id":{"OPTIONAL":"item-1"},"description":{"OPTIONAL":null},"size":{"OPTIONAL":0},"type":{"OPTIONAL":"ovf"},"creation_time":{"OPTIONAL":"2026-12-06T23:23:56.232Z"},"extra":{"OPTIONAL":"x"},"unset_extra":{"OPTIONAL":null}}}}}"#;
    assert_eq!(
        decode_answer(Op::ItemGet, &upstream_answer(typed)).unwrap(),
        Answer::Value(json!({"id": "item-1", "size": 0, "type": "ovf",
            "creation_time": "2026-12-06T23:23:56.232Z", "extra": "x"}))
    );
    let not_a_model = r#"{"output":{"STRUCTURE":{"com.vmware.content.library.item_model":{"size":{"OPTIONAL":{"a":1}}}}}}"#;
    assert_eq!(
        decode_answer(Op::ItemGet, &upstream_answer(not_a_model))
            .unwrap_err()
            .to_string(),
        "not a library or item model: expected a plain value, not an object at size"
    );
}

#[test]
fn every_nested_structure_of_the_library_is_typed() {
    let plain = json!({
        "id": "lib-2", "description": "d", "last_sync_time": "2026-12-06T23:23:56+01:00",
        "type": "SUBSCRIBED", "security_policy_id": "p", "unset_security_policy_id": false,
        "storage_backings": [{"type": "OTHER", "storage_uri": "nfs://x/y"}],
        "publish_info": {"current_password": "old"},
        "subscription_info": {"authentication_method": "NONE", "automatic_sync_enabled": true,
            "on_demand": false, "password": "pw", "ssl_thumbprint": "aa:bb",
            "subscription_url": "https://vc/lib.json", "user_name": "u",
            "source_info": {"source_library": "lib-1", "subscription": "sub-1"},
            "ssl_certificate": "PEM"},
        "state_info": {"state": "MAINTENANCE", "message": "m"},
        "configuration_info": {"apply_library_usage_to_items": true},
    });
    let optional = |value: Value| json!({ "OPTIONAL": value });
    let typed = typed(Op::LibraryGet, &plain).unwrap();
    let fields = &typed["STRUCTURE"]["com.vmware.content.library_model"];
    assert_eq!(fields["description"], optional(json!("d")));
    assert_eq!(
        fields["last_sync_time"],
        optional(json!("2026-12-06T23:23:56+01:00"))
    );
    assert_eq!(fields["unset_security_policy_id"], optional(json!(false)));
    assert_eq!(
        fields["storage_backings"],
        optional(
            json!([{"STRUCTURE": {"com.vmware.content.library.storage_backing": {
            "type": {"OPTIONAL": "OTHER"}, "storage_uri": {"OPTIONAL": "nfs://x/y"}}}}])
        )
    );
    assert_eq!(
        fields["publish_info"],
        optional(
            json!({"STRUCTURE": {"com.vmware.content.library.publish_info": {
            "current_password": {"OPTIONAL": {"SECRET": "old"}}}}})
        )
    );
    assert_eq!(
        fields["subscription_info"],
        optional(
            json!({"STRUCTURE": {"com.vmware.content.library.subscription_info": {
            "authentication_method": {"OPTIONAL": "NONE"},
            "automatic_sync_enabled": {"OPTIONAL": true},
            "on_demand": {"OPTIONAL": false},
            "password": {"OPTIONAL": {"SECRET": "pw"}},
            "ssl_thumbprint": {"OPTIONAL": "aa:bb"},
            "subscription_url": {"OPTIONAL": "https://vc/lib.json"},
            "user_name": {"OPTIONAL": "u"},
            "source_info": {"OPTIONAL": {"STRUCTURE": {"com.vmware.content.library.source_info": {
                "source_library": {"OPTIONAL": "lib-1"}, "subscription": {"OPTIONAL": "sub-1"}}}}},
            "ssl_certificate": {"OPTIONAL": "PEM"}}}})
        )
    );
    assert_eq!(
        fields["state_info"],
        optional(
            json!({"STRUCTURE": {"com.vmware.content.library.state_info": {
            "state": {"OPTIONAL": "MAINTENANCE"}, "message": {"OPTIONAL": "m"}}}})
        )
    );
    assert_eq!(
        fields["configuration_info"],
        optional(
            json!({"STRUCTURE": {"com.vmware.content.library.configuration_info": {
            "apply_library_usage_to_items": {"OPTIONAL": true}}}})
        )
    );
    assert_eq!(plain_of(Op::LibraryGet, &typed), plain);
}

fn plain_of(op: Op, typed: &Value) -> Value {
    super::plain(op, typed).unwrap()
}

#[test]
fn times_without_a_zone_are_utc_and_enums_the_sdk_does_not_know_pass() {
    let typed = typed(
        Op::LibraryGet,
        &json!({"creation_time": "2013-06-06T22:13:05", "type": "FOO", "name": null}),
    )
    .unwrap();
    assert_eq!(
        typed,
        json!({"STRUCTURE": {"com.vmware.content.library_model": {
            "creation_time": {"OPTIONAL": "2013-06-06T22:13:05.000Z"},
            "type": {"OPTIONAL": "FOO"}}}})
    );
}

fn misfit(op: Op, plain: Value) -> (String, Option<String>) {
    let err = typed(op, &plain).unwrap_err();
    (err.to_string(), err.field())
}

#[test]
fn models_that_do_not_fit_say_where() {
    let uncertified = json!({"id": "item-1",
        "certificate_verification_info": {"cert_chain": ["PEM"]}});
    assert_eq!(
        misfit(Op::ItemGet, uncertified),
        (
            "the recorded model does not fit com.vmware.content.library.item_model: a required field is missing at certificate_verification_info.status".to_owned(),
            Some("certificate_verification_info.status".to_owned())
        )
    );
    let null_status = json!({"certificate_verification_info": {"status": null}});
    assert_eq!(
        misfit(Op::ItemGet, null_status).1.as_deref(),
        Some("certificate_verification_info.status")
    );
    for (time, why) in [
        ("2026-12-06 23:23:56.232Z", "a space for T"),
        ("2026-12-06T23:23:56.232z", "a lowercase z"),
        ("yesterday", "no date-time"),
    ] {
        assert_eq!(
            misfit(Op::LibraryGet, json!({"creation_time": time})),
            (
                format!("the recorded model does not fit com.vmware.content.library_model: {time:?} is not a date-time like 2026-12-06T23:23:56.232Z (YYYY-MM-DDThh:mm:ss, optional fraction, Z or ±hh:mm) at creation_time"),
                Some("creation_time".to_owned())
            ),
            "{why}"
        );
    }
    assert_eq!(
        misfit(Op::ItemGet, json!(["a model in a list"])),
        (
            "the recorded model does not fit com.vmware.content.library.item_model: expected an object, not a list".to_owned(),
            None
        )
    );
    assert_eq!(
        misfit(Op::ItemGet, json!({"size": "37"})).0,
        "the recorded model does not fit com.vmware.content.library.item_model: expected a whole number, not a string at size"
    );
    assert_eq!(
        misfit(Op::LibraryGet, json!({"storage_backings": [{"type": 1}]})).0,
        "the recorded model does not fit com.vmware.content.library_model: expected a string such as DATASTORE or OTHER, not a number at storage_backings.0.type"
    );
    assert_eq!(
        misfit(Op::LibraryGet, json!({"publish_info": "yes"}))
            .1
            .as_deref(),
        Some("publish_info")
    );
    assert_eq!(
        typed(Op::Get, &json!({})).unwrap_err().to_string(),
        "dsvcr has no vAPI schema for the output of com.vmware.content.library.item.download_session.get"
    );
}

#[test]
fn lists_and_finds_are_bare_arrays_of_strings() {
    for op in [Op::LibraryList, Op::LibraryFind, Op::ItemList, Op::ItemFind] {
        let found = result(op, &Answer::Ids(vec![LIBRARY_ID.to_owned()])).unwrap();
        assert_eq!(
            std::str::from_utf8(&found).unwrap(),
            r#"{"output":["b38a8da9-aa73-4d6c-a1ce-2d52cb9441f8"]}"#
        );
        let none = result(op, &Answer::Ids(Vec::new())).unwrap();
        assert_eq!(std::str::from_utf8(&none).unwrap(), r#"{"output":[]}"#);
        let read = decode_answer(op, &upstream_answer(r#"{"output":["a","b"]}"#)).unwrap();
        assert_eq!(read, Answer::Ids(vec!["a".to_owned(), "b".to_owned()]));
    }
}
