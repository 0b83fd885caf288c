//! The content-library lookups (get/list/find of libraries and items) on both flavours.

use http::StatusCode;
use serde_json::json;

use super::*;
use crate::fake_vcenter::rest::{API_ITEM, API_LIBRARY, REST_ITEM, REST_LIBRARY};
use crate::fake_vcenter::state::SESSION_HEADER;
use crate::fake_vcenter::{
    default_libraries, FakeFile, FakeItem, FakeLibrary, FakeOptions, FakeVcenter, ITEM_ID,
    ITEM_NAME, LIBRARY_ID, LIBRARY_NAME,
};

fn two_libraries() -> Vec<FakeLibrary> {
    let mut libraries = default_libraries();
    libraries.push(FakeLibrary {
        id: "lib-2".to_owned(),
        name: "other-lib".to_owned(),
        items: vec![FakeItem {
            id: "item-2".to_owned(),
            name: ITEM_NAME.to_owned(),
            kind: "ovf".to_owned(),
            files: vec![FakeFile::new("vm.ovf", "<Envelope/>")],
        }],
    });
    libraries
}

#[tokio::test]
async fn fake_vcenter_serves_library_lookups_on_both_flavours() {
    let fake = FakeVcenter::start(FakeOptions {
        libraries: two_libraries(),
        ..FakeOptions::default()
    })
    .await;
    let client = plain_client();
    let url = fake.url();
    let (status, _, _) = send(&client, "GET", &format!("{url}{REST_LIBRARY}"), &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let token = rest_login(&client, &url).await;
    let auth = [(SESSION_HEADER, token.as_str())];
    let library = json!({"id": LIBRARY_ID, "name": LIBRARY_NAME, "type": "LOCAL"});
    let item = json!({"id": ITEM_ID, "library_id": LIBRARY_ID, "name": ITEM_NAME, "type": "iso"});
    let other_item =
        json!({"id": "item-2", "library_id": "lib-2", "name": ITEM_NAME, "type": "ovf"});
    let find_lib = r#"{"name":"harness-lib"}"#;
    let find_item = format!(r#"{{"library_id":"{LIBRARY_ID}","name":"harness-item"}}"#);
    let any_item = r#"{"name":"harness-item"}"#;

    // (method, path, body, expected value), the /rest form first, its /api twin second.
    let rest = |path: &str| format!("{url}{path}");
    let cases = [
        (
            "POST",
            rest(&format!("{REST_LIBRARY}?~action=find")),
            format!(r#"{{"spec":{find_lib}}}"#),
            json!([LIBRARY_ID]),
        ),
        (
            "POST",
            rest(&format!("{API_LIBRARY}?action=find")),
            find_lib.to_owned(),
            json!([LIBRARY_ID]),
        ),
        (
            "GET",
            rest(&format!("{REST_LIBRARY}/id:{LIBRARY_ID}")),
            String::new(),
            library.clone(),
        ),
        (
            "GET",
            rest(&format!("{API_LIBRARY}/{LIBRARY_ID}")),
            String::new(),
            library,
        ),
        (
            "GET",
            rest(REST_LIBRARY),
            String::new(),
            json!([LIBRARY_ID, "lib-2"]),
        ),
        (
            "GET",
            rest(API_LIBRARY),
            String::new(),
            json!([LIBRARY_ID, "lib-2"]),
        ),
        (
            "POST",
            rest(&format!("{REST_ITEM}?~action=find")),
            format!(r#"{{"spec":{find_item}}}"#),
            json!([ITEM_ID]),
        ),
        (
            "POST",
            rest(&format!("{API_ITEM}?action=find")),
            find_item.clone(),
            json!([ITEM_ID]),
        ),
        (
            "POST",
            rest(&format!("{REST_ITEM}?~action=find")),
            format!(r#"{{"spec":{any_item}}}"#),
            json!([ITEM_ID, "item-2"]),
        ),
        (
            "POST",
            rest(&format!("{API_ITEM}?action=find")),
            any_item.to_owned(),
            json!([ITEM_ID, "item-2"]),
        ),
        (
            "GET",
            rest(&format!("{REST_ITEM}/id:{ITEM_ID}")),
            String::new(),
            item.clone(),
        ),
        (
            "GET",
            rest(&format!("{API_ITEM}/{ITEM_ID}")),
            String::new(),
            item,
        ),
        (
            "GET",
            rest(&format!("{API_ITEM}/item-2")),
            String::new(),
            other_item,
        ),
        (
            "GET",
            rest(&format!("{REST_ITEM}?library_id=lib-2")),
            String::new(),
            json!(["item-2"]),
        ),
        (
            "GET",
            rest(&format!("{API_ITEM}?library_id={LIBRARY_ID}")),
            String::new(),
            json!([ITEM_ID]),
        ),
    ];
    for (method, target, body, value) in cases {
        let (status, _, answer) = send(&client, method, &target, &auth, &body).await;
        assert_eq!(status, StatusCode::OK, "{method} {target}: {answer}");
        let expected = if target.contains("/rest/") {
            json!({ "value": value })
        } else {
            value
        };
        assert_eq!(answer, expected.to_string(), "{method} {target}");
    }

    let missing_library = json!({"error_type": "NOT_FOUND", "messages": [{
        "args": ["nope"],
        "default_message": "Library nope does not exist.",
        "id": "com.vmware.vdcs.cls-main.library_not_found",
    }]});
    let (status, _, body) = send(
        &client,
        "GET",
        &rest(&format!("{API_LIBRARY}/nope")),
        &auth,
        "",
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, missing_library.to_string())
    );
    let (status, _, body) = send(
        &client,
        "GET",
        &rest(&format!("{REST_ITEM}/id:nope")),
        &auth,
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let missing_item = json!({"type": "com.vmware.vapi.std.errors.not_found", "value": {
        "error_type": "NOT_FOUND",
        "messages": [{
            "args": ["nope"],
            "default_message": "Library item nope does not exist.",
            "id": "com.vmware.vdcs.cls-main.library_item_not_found",
        }],
    }});
    assert_eq!(body, missing_item.to_string());
    let unknown = r#"{"spec":{"name":"nothing"}}"#;
    let (_, _, body) = send(
        &client,
        "POST",
        &rest(&format!("{REST_LIBRARY}?~action=find")),
        &auth,
        unknown,
    )
    .await;
    assert_eq!(body, r#"{"value":[]}"#);
    assert_eq!(fake.count("POST", REST_ITEM), 2);
    fake.stop().await;
}
