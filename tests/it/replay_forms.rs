//! Every request form, flavour and representation answered from a cassette.

use crate::support::*;
use serde_json::{json, Value};

/// The reference page's session, as the page prints it inside `{"value": …}`.
fn reference_model() -> Value {
    let page: Value = serde_json::from_str(include_str!("../data/get-result.json")).unwrap();
    page["value"].clone()
}

const REFERENCE_XML: &str = "<?xml version=\"1.0\" ?>\n<ns0:Get-Result xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><value><id>obj-103</id><library_item_id>obj-103</library_item_id><client_progress>10</client_progress><error_message><default_message>string</default_message><id>string</id><args-array><array-item>string</array-item><array-item>string</array-item></args-array></error_message><state>ACTIVE</state><expiration_time>2013-06-06T22:13:05</expiration_time><library_item_content_version>string</library_item_content_version></value></ns0:Get-Result>";

/// Method, path and body of every way to ask for `obj-103` with a `value`-wrapped answer.
fn wrapped_forms() -> Vec<(&'static str, String, &'static str)> {
    let mut forms = Vec::new();
    for prefix in [REST, REFERENCE] {
        forms.extend([
            ("GET", format!("{prefix}/id:obj-103"), ""),
            ("POST", format!("{prefix}/id:obj-103?~action=get"), ""),
            (
                "POST",
                format!("{prefix}?~action=get"),
                r#"{"download_session_id":"obj-103"}"#,
            ),
            (
                "POST",
                format!("{prefix}?~action=get&download_session_id=obj-103"),
                "",
            ),
        ]);
    }
    forms
}

#[tokio::test]
async fn every_form_answers_with_the_recorded_session_in_json() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    for (method, path, body) in wrapped_forms() {
        let response = server.request(method, &path).body(body).send().await;
        assert_eq!(response.status, 200, "{method} {path}");
        assert_eq!(
            response.content_type(),
            "application/json",
            "{method} {path}"
        );
        assert_eq!(
            response.json(),
            json!({ "value": reference_model() }),
            "{method} {path}"
        );
        assert_eq!(response.header("x-dsvcr-synthetic"), None);
    }
    let api = server.get(&format!("{API}/obj-103")).await;
    assert_eq!(api.status, 200);
    assert_eq!(api.content_type(), "application/json");
    assert_eq!(api.json(), reference_model(), "/api answers the bare model");
}

#[tokio::test]
async fn json_bytes_keep_the_reference_page_key_order() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let response = server.get(&format!("{REST}/id:obj-103")).await;
    assert_eq!(
        response.text(),
        r#"{"value":{"client_progress":10,"error_message":{"args":["string","string"],"default_message":"string","id":"string"},"expiration_time":"2013-06-06T22:13:05","id":"obj-103","library_item_content_version":"string","library_item_id":"obj-103","state":"ACTIVE"}}"#
    );
}

#[tokio::test]
async fn accept_xml_gets_the_reference_page_xml_in_every_form() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let mut forms = wrapped_forms();
    forms.push(("GET", format!("{API}/obj-103"), ""));
    for (method, path, body) in forms {
        let response = server
            .request(method, &path)
            .header("accept", "application/xml")
            .body(body)
            .send()
            .await;
        assert_eq!(response.status, 200, "{method} {path}");
        assert_eq!(response.content_type(), "application/xml");
        assert_eq!(response.text(), REFERENCE_XML, "{method} {path}");
    }
}

#[tokio::test]
async fn an_xml_body_without_accept_gets_xml_and_with_accept_json_gets_json() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    for prefix in [REST, REFERENCE] {
        let path = format!("{prefix}?~action=get");
        let xml = server.post(&path, XML_INPUT).await;
        assert_eq!(xml.status, 200);
        assert_eq!(xml.content_type(), "application/xml");
        assert_eq!(xml.text(), REFERENCE_XML);
        let json = server
            .request("POST", &path)
            .header("accept", "application/json")
            .header("content-type", "application/xml")
            .body(XML_INPUT)
            .send()
            .await;
        assert_eq!(json.json(), json!({ "value": reference_model() }));
    }
}

#[tokio::test]
async fn spelling_variants_reach_the_same_cassette() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let other_prefix = XML_INPUT.replace("ns0", "dl");
    let variants = [
        ("GET", format!("{REST}/id%3Aobj-103"), String::new()),
        ("GET", format!("{REST}/id:obj-103/"), String::new()),
        (
            "GET",
            format!("{REST}/id:obj-103?vmw-trace=1"),
            String::new(),
        ),
        ("GET", format!("{API}/obj-103/"), String::new()),
        (
            "POST",
            format!("{REST}/id%3Aobj-103?%7Eaction=get"),
            String::new(),
        ),
        (
            "POST",
            format!("{REST}/id:obj-103?a=1&~action=get&b=2"),
            String::new(),
        ),
        (
            "POST",
            format!("{REST}?download_session_id=obj-103&x=y&%7Eaction=get"),
            String::new(),
        ),
        (
            "POST",
            format!("{REST}/?~action=get"),
            "{ \"extra\" : true ,\n\t\"download_session_id\" : \"obj-103\" }".to_owned(),
        ),
        ("POST", format!("{REST}?~action=get"), other_prefix),
    ];
    for (method, path, body) in variants {
        let response = server
            .request(method, &path)
            .header("accept", "application/json")
            .body(body)
            .send()
            .await;
        assert_eq!(response.status, 200, "{method} {path}: {}", response.text());
        let model = if path.starts_with(API) {
            response.json()
        } else {
            response.json()["value"].clone()
        };
        assert_eq!(model, reference_model(), "{method} {path}");
    }
}

#[tokio::test]
async fn a_timeline_replays_in_order_across_forms_then_repeats_the_last() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let progress = |value: Value| value["client_progress"].as_i64().unwrap();
    let mut seen = Vec::new();
    seen.push(progress(
        server.get(&format!("{REST}/id:obj-105")).await.json()["value"].clone(),
    ));
    seen.push(progress(server.get(&format!("{API}/obj-105")).await.json()));
    seen.push(progress(
        server
            .post(
                &format!("{REST}?~action=get"),
                r#"{"download_session_id":"obj-105"}"#,
            )
            .await
            .json()["value"]
            .clone(),
    ));
    for _ in 0..3 {
        seen.push(progress(
            server
                .post(&format!("{REFERENCE}/id:obj-105?~action=get"), "")
                .await
                .json()["value"]
                .clone(),
        ));
    }
    assert_eq!(seen, [10, 50, 50, 100, 100, 100]);
}

#[tokio::test]
async fn the_error_state_session_carries_its_error_message() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let model = server.get(&format!("{API}/obj-104")).await.json();
    assert_eq!(model["state"], "ERROR");
    assert_eq!(
        model["error_message"],
        json!({
            "args": ["photon-5.0.ova", "obj-104"],
            "default_message": "The file photon-5.0.ova could not be read for download session obj-104.",
            "id": "com.vmware.vdcs.cls-main.file_read_error"
        })
    );
}

#[tokio::test]
async fn a_recorded_not_found_is_replayed_and_becomes_the_template_for_misses() {
    let recorded_404 = err(
        404,
        "not_found",
        (
            "com.vmware.vdcs.cls-main.download_session_not_found",
            "Download session gone-1 was not found.",
            &["gone-1"],
        ),
    );
    let folder = folder_with(&[
        cassette("gone-1", vec![(1, recorded_404)]),
        cassette("obj-1", vec![(1, ok(session("obj-1", 5)))]),
    ]);
    let server = TestServer::replay(folder.path()).await;

    let recorded = server.get(&format!("{REST}/id:gone-1")).await;
    assert_eq!(recorded.status, 404);
    assert_eq!(
        recorded.header("x-dsvcr-synthetic"),
        None,
        "a recorded answer is not synthetic"
    );
    assert_eq!(
        recorded.text(),
        r#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"error_type":"NOT_FOUND","messages":[{"args":["gone-1"],"default_message":"Download session gone-1 was not found.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}}"#
    );

    let miss = server.get(&format!("{REST}/id:never-seen")).await;
    assert_eq!(miss.status, 404);
    assert_eq!(miss.header("x-dsvcr-synthetic"), Some("no-cassette"));
    assert_eq!(
        miss.text(),
        r#"{"type":"com.vmware.vapi.std.errors.not_found","value":{"error_type":"NOT_FOUND","messages":[{"args":["never-seen"],"default_message":"Download session never-seen was not found.","id":"com.vmware.vdcs.cls-main.download_session_not_found"}]}}"#
    );
}

#[tokio::test]
async fn answers_come_from_memory_not_the_disk() {
    let folder = folder_with(&[cassette("obj-1", vec![(1, ok(session("obj-1", 5)))])]);
    let server = TestServer::replay(folder.path()).await;
    std::fs::remove_dir_all(folder.path()).unwrap();
    let response = server.get(&format!("{API}/obj-1")).await;
    assert_eq!(response.status, 200);
    assert_eq!(response.json()["client_progress"], 5);
}

#[tokio::test]
async fn a_recorded_not_found_that_does_not_name_its_id_is_not_a_template() {
    let generic_404 = err(
        404,
        "not_found",
        ("com.vmware.vapi.rest.httpNotFound", "Not found.", &[]),
    );
    let folder = folder_with(&[cassette("gone-1", vec![(1, generic_404)])]);
    let server = TestServer::replay(folder.path()).await;
    let miss = server.get(&format!("{API}/obj-9")).await;
    assert_eq!(
        miss.vapi_message(),
        "No download session with id obj-9 exists (dsvcr has no cassette for it).",
        "the message still names the missing id"
    );
}
