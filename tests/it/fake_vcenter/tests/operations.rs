//! The ten download-session operations, once per REST flavour.

use http::StatusCode;
use serde_json::json;

use super::*;
use crate::fake_vcenter::rest::{API_DS, REST_DS, REST_FILE};
use crate::fake_vcenter::state::SESSION_HEADER;
use crate::fake_vcenter::{
    default_iso_bytes, FakeOptions, FakeTls, FakeVcenter, ISO_LEN, ISO_NAME, ITEM_ID, NOTES_NAME,
    NOTES_TEXT,
};

const EXPIRATION: &str = "2026-11-29T10:05:00.000Z";

fn model(id: &str, progress: i64, state: &str) -> Value {
    json!({
        "client_progress": progress,
        "expiration_time": EXPIRATION,
        "id": id,
        "library_item_content_version": "1",
        "library_item_id": ITEM_ID,
        "state": state,
    })
}

fn not_found(kind: &str, args: &[&str], text: &str) -> Value {
    json!({"error_type": "NOT_FOUND", "messages": [{
        "args": args,
        "default_message": text,
        "id": format!("com.vmware.vdcs.cls-main.{kind}_not_found"),
    }]})
}

fn rest_error(kind: &str, inner: Value) -> String {
    json!({"type": format!("com.vmware.vapi.std.errors.{kind}"), "value": inner}).to_string()
}

fn unprepared(name: &str) -> Value {
    json!({"bytes_transferred": 0, "name": name, "status": "UNPREPARED"})
}

#[tokio::test]
async fn fake_vcenter_rest_flavour_serves_the_ten_operations() {
    let fake = FakeVcenter::start(FakeOptions {
        prepare_polls: 2,
        ..FakeOptions::default()
    })
    .await;
    let client = plain_client();
    let url = fake.url();
    let ds = format!("{url}{REST_DS}");
    let file = format!("{url}{REST_FILE}");
    let create = r#"{"create_spec":{"library_item_id":"ca5b6d9a-7e8f-4a0b-9c1d-2e3f4a5b6c7d"}}"#;

    let (status, _, body) = send(&client, "POST", &ds, &[], create).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        body,
        r#"{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{"error_type":"UNAUTHENTICATED","messages":[]}}"#
    );
    let token = rest_login(&client, &url).await;
    let auth = [(SESSION_HEADER, token.as_str())];

    // create: a fresh id each time, the same one for a repeated client token.
    let (status, _, body) = send(&client, "POST", &ds, &auth, create).await;
    let first = fake.created_sessions()[0].clone();
    assert_eq!(
        (status, body),
        (StatusCode::OK, format!(r#"{{"value":"{first}"}}"#))
    );
    let with_token =
        format!(r#"{{"client_token":"tok-1","create_spec":{{"library_item_id":"{ITEM_ID}"}}}}"#);
    let (_, _, body) = send(&client, "POST", &ds, &auth, &with_token).await;
    let second = fake.created_sessions()[1].clone();
    assert_ne!(first, second);
    assert_eq!(body, format!(r#"{{"value":"{second}"}}"#));
    let (_, _, again) = send(&client, "POST", &ds, &auth, &with_token).await;
    assert_eq!(again, body);
    assert_eq!(fake.created_sessions(), vec![first.clone(), second.clone()]);
    let missing = r#"{"create_spec":{"library_item_id":"no-such-item"}}"#;
    let (status, _, body) = send(&client, "POST", &ds, &auth, missing).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let args = ["no-such-item"];
    let text = "Library item no-such-item does not exist.";
    assert_eq!(
        body,
        rest_error("not_found", not_found("library_item", &args, text))
    );

    // get and list.
    let one = format!("{ds}/id:{first}");
    let (status, _, body) = send(&client, "GET", &one, &auth, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"value": model(&first, 0, "ACTIVE")}).to_string()
    );
    let (_, _, body) = send(&client, "GET", &ds, &auth, "").await;
    assert_eq!(body, json!({"value": [first, second]}).to_string());
    let other = format!("{ds}?library_item_id=other");
    let (_, _, body) = send(&client, "GET", &other, &auth, "").await;
    assert_eq!(body, r#"{"value":[]}"#);

    // file.list, then prepare walks PREPARE_REQUESTED, PREPARING, PREPARED over two polls.
    let list = format!("{file}?download_session_id={first}");
    let (status, _, body) = send(&client, "GET", &list, &auth, "").await;
    assert_eq!(status, StatusCode::OK);
    let files = json!({"value": [unprepared(ISO_NAME), unprepared(NOTES_NAME)]});
    assert_eq!(body, files.to_string());
    let iso = r#"{"file_name":"disk.iso"}"#;
    let prepare = format!("{file}/id:{first}?~action=prepare");
    let poll = format!("{file}/id:{first}?~action=get");
    let (_, _, body) = send(&client, "POST", &prepare, &auth, iso).await;
    assert_eq!(json(&body)["value"]["status"], "PREPARE_REQUESTED");
    assert_eq!(json(&body)["value"].as_object().unwrap().len(), 3, "{body}");
    let (_, _, body) = send(&client, "POST", &poll, &auth, iso).await;
    assert_eq!(json(&body)["value"]["status"], "PREPARING");
    let (status, _, body) = send(&client, "POST", &poll, &auth, iso).await;
    assert_eq!(status, StatusCode::OK);
    let prepared = json!({"value": {
        "bytes_transferred": 0,
        "checksum_info": {"algorithm": "SHA256", "checksum": sha256_hex(&default_iso_bytes())},
        "download_endpoint": {"uri": format!("{url}/cis-data/{first}/disk.iso")},
        "name": "disk.iso",
        "size": ISO_LEN,
        "status": "PREPARED",
    }});
    assert_eq!(body, prepared.to_string());
    assert_eq!(
        fake.download_uri(&first, ISO_NAME),
        format!("{url}/cis-data/{first}/disk.iso")
    );
    let (status, _, body) = send(&client, "POST", &poll, &auth, r#"{"file_name":"x.bin"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = format!("File x.bin does not exist in download session {first}.");
    let inner = not_found("file", &["x.bin", &first], &text);
    assert_eq!(body, rest_error("not_found", inner));

    // keep_alive sets client_progress; fail and cancel end a session; delete removes it.
    let action = |id: &str, action: &str| format!("{ds}/id:{id}?~action={action}");
    let (status, _, body) = send(
        &client,
        "POST",
        &action(&first, "keep-alive"),
        &auth,
        r#"{"progress":42}"#,
    )
    .await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(
        fake.session_model(&first),
        Some(model(&first, 42, "ACTIVE"))
    );
    let failure = r#"{"client_error_message":"disk full"}"#;
    let (status, _, body) = send(&client, "POST", &action(&second, "fail"), &auth, failure).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    let mut failed = model(&second, 0, "ERROR");
    failed["error_message"] = json!({
        "args": [], "default_message": "disk full", "id": "com.vmware.vdcs.cls-main.client_error"
    });
    let (_, _, body) = send(&client, "GET", &format!("{ds}/id:{second}"), &auth, "").await;
    assert_eq!(body, json!({"value": failed}).to_string());
    let (status, _, body) = send(&client, "POST", &action(&second, "cancel"), &auth, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let not_active = json!({"error_type": "NOT_ALLOWED_IN_CURRENT_STATE", "messages": [{
        "args": [second, "ERROR"],
        "default_message": format!("Download session {second} is ERROR, not ACTIVE."),
        "id": "com.vmware.vdcs.cls-main.download_session_not_active",
    }]});
    assert_eq!(body, rest_error("not_allowed_in_current_state", not_active));
    let (status, _, body) = send(&client, "POST", &action(&first, "cancel"), &auth, "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(
        fake.session_model(&first),
        Some(model(&first, 42, "CANCELED"))
    );
    let (status, _, body) = send(&client, "DELETE", &one, &auth, "").await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, ""));
    assert_eq!(fake.session_model(&first), None);
    let gone = rest_error(
        "not_found",
        not_found(
            "download_session",
            &[&first],
            &format!("Download session {first} does not exist."),
        ),
    );
    for (method, target) in [
        ("GET", one.clone()),
        ("DELETE", one.clone()),
        ("POST", action(&first, "keep-alive")),
    ] {
        let (status, _, body) = send(&client, method, &target, &auth, "").await;
        assert_eq!(
            (status, body),
            (StatusCode::NOT_FOUND, gone.clone()),
            "{method} {target}"
        );
    }
    let (_, _, body) = send(&client, "GET", &ds, &auth, "").await;
    assert_eq!(body, json!({"value": [second]}).to_string());
    assert_eq!(fake.count("POST", REST_DS), 5);
    assert_eq!(fake.gets_for(&first), 2);
    fake.stop().await;
}

#[tokio::test]
async fn fake_vcenter_api_flavour_serves_the_ten_operations() {
    let fake = FakeVcenter::start(FakeOptions {
        tls: Some(FakeTls::Valid),
        ..FakeOptions::default()
    })
    .await;
    let client = https_client(fake.ca_pem_path().unwrap());
    let url = fake.url();
    let ds = format!("{url}{API_DS}");
    let spec = format!(r#"{{"library_item_id":"{ITEM_ID}"}}"#);

    let (status, _, body) = send(&client, "GET", &ds, &[], "").await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, r#"{"error_type":"UNAUTHENTICATED","messages":[]}"#);
    let token = rest_login(&client, &url).await;
    let auth = [(SESSION_HEADER, token.as_str())];

    // create: 201, the client token from the header or the query.
    let header_token = [auth[0], ("client-token", "tok-9")];
    let (status, _, body) = send(&client, "POST", &ds, &header_token, &spec).await;
    let first = fake.created_sessions()[0].clone();
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, format!(r#""{first}""#))
    );
    let by_query = format!("{ds}?client_token=tok-9");
    let (status, _, body) = send(&client, "POST", &by_query, &auth, &spec).await;
    assert_eq!(
        (status, body),
        (StatusCode::CREATED, format!(r#""{first}""#))
    );
    let (_, _, body) = send(&client, "POST", &ds, &auth, &spec).await;
    let second = fake.created_sessions()[1].clone();
    assert_eq!(body, format!(r#""{second}""#));
    assert_eq!(fake.created_sessions().len(), 2);
    let (status, _, body) =
        send(&client, "POST", &ds, &auth, r#"{"library_item_id":"nope"}"#).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = "Library item nope does not exist.";
    assert_eq!(body, not_found("library_item", &["nope"], text).to_string());

    // get, list, file.list, prepare (at once), file.get.
    let one = format!("{ds}/{first}");
    let (status, _, body) = send(&client, "GET", &one, &auth, "").await;
    assert_eq!(
        (status, body),
        (StatusCode::OK, model(&first, 0, "ACTIVE").to_string())
    );
    let (_, _, body) = send(
        &client,
        "GET",
        &format!("{ds}?library_item_id={ITEM_ID}"),
        &auth,
        "",
    )
    .await;
    assert_eq!(body, json!([first, second]).to_string());
    let files = format!("{one}/file");
    let (status, _, body) = send(&client, "GET", &files, &auth, "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!([unprepared(ISO_NAME), unprepared(NOTES_NAME)]).to_string()
    );
    let thumbprint = fake.leaf_thumbprint().unwrap();
    assert_eq!(thumbprint.len(), 59, "{thumbprint}");
    let prepared = json!({
        "bytes_transferred": 0,
        "checksum_info": {"algorithm": "SHA256", "checksum": sha256_hex(NOTES_TEXT.as_bytes())},
        "download_endpoint": {
            "ssl_certificate_thumbprint": thumbprint,
            "uri": format!("{url}/cis-data/{first}/notes.txt"),
        },
        "name": "notes.txt",
        "size": NOTES_TEXT.len(),
        "status": "PREPARED",
    })
    .to_string();
    let prepare = format!("{files}?action=prepare");
    let (status, _, body) = send(
        &client,
        "POST",
        &prepare,
        &auth,
        r#"{"file_name":"notes.txt","endpoint_type":"HTTPS"}"#,
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, prepared.clone()));
    let (status, _, body) = send(
        &client,
        "GET",
        &format!("{files}?file_name=notes.txt"),
        &auth,
        "",
    )
    .await;
    assert_eq!((status, body), (StatusCode::OK, prepared));

    // keep_alive, fail, cancel, delete: 204 with no body.
    let act = |id: &str, action: &str| format!("{ds}/{id}?action={action}");
    for (method, target, body) in [
        ("POST", act(&first, "keep-alive"), r#"{"progress":7}"#),
        ("POST", act(&first, "cancel"), ""),
        (
            "POST",
            act(&second, "fail"),
            r#"{"client_error_message":"bad disk"}"#,
        ),
        ("DELETE", format!("{ds}/{second}"), ""),
    ] {
        let (status, _, answer) = send(&client, method, &target, &auth, body).await;
        assert_eq!(
            (status, answer.as_str()),
            (StatusCode::NO_CONTENT, ""),
            "{target}"
        );
    }
    assert_eq!(
        fake.session_model(&first),
        Some(model(&first, 7, "CANCELED"))
    );
    assert_eq!(fake.session_model(&second), None);
    let (status, _, body) = send(&client, "POST", &act(&first, "cancel"), &auth, "").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json(&body)["error_type"], "NOT_ALLOWED_IN_CURRENT_STATE");
    let (status, _, body) = send(&client, "GET", &format!("{ds}/{second}/file"), &auth, "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let text = format!("Download session {second} does not exist.");
    assert_eq!(
        body,
        not_found("download_session", &[&second], &text).to_string()
    );
    assert_eq!(fake.count("POST", API_DS), 4);
    fake.stop().await;
}
