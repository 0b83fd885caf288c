//! Offline API sessions and `--require-session` in replay mode.

use base64::Engine;
use serde_json::json;

use crate::support::*;

const UNAUTHENTICATED: &str = r#"{"args":[],"default_message":"Authentication required.","id":"com.vmware.vapi.endpoint.method.authentication.required"}"#;

fn basic(user: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    format!("Basic {encoded}")
}

fn is_token(text: &str) -> bool {
    text.len() == 32
        && text
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

#[tokio::test]
async fn rest_login_info_and_logout() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let login = server
        .request("POST", "/rest/com/vmware/cis/session")
        .header("authorization", &basic("ci@vsphere.local", "anything"))
        .send()
        .await;
    assert_eq!(login.status, 200);
    let token = login.json()["value"].as_str().unwrap().to_owned();
    assert!(is_token(&token), "{token}");
    assert_eq!(
        login.header("set-cookie"),
        Some(format!("vmware-api-session-id={token};Path=/rest").as_str())
    );

    let info = server
        .request("POST", "/rest/com/vmware/cis/session?~action=get")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(info.status, 200);
    let value = info.json()["value"].clone();
    assert_eq!(value["user"], "ci@vsphere.local");
    assert!(value["created_time"].as_str().unwrap().ends_with('Z'));

    let by_cookie = server
        .request("POST", "/rest/com/vmware/cis/session?~action=get")
        .header("cookie", &format!("other=1; vmware-api-session-id={token}"))
        .send()
        .await;
    assert_eq!(by_cookie.status, 200);

    let logout = server
        .request("DELETE", "/rest/com/vmware/cis/session")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(logout.status, 200);
    assert_eq!(logout.text(), "");
    let after = server
        .request("POST", "/rest/com/vmware/cis/session?~action=get")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(after.status, 401, "the token stops working after logout");
}

#[tokio::test]
async fn header_authn_login_sets_no_cookie_and_tokens_are_fresh() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let mut tokens = Vec::new();
    for _ in 0..2 {
        let login = server
            .request("POST", "/rest/com/vmware/cis/session")
            .header("authorization", &basic("u", "p"))
            .header("vmware-use-header-authn", "true")
            .send()
            .await;
        assert_eq!(login.status, 200);
        assert_eq!(login.header("set-cookie"), None);
        tokens.push(login.json()["value"].as_str().unwrap().to_owned());
    }
    assert_ne!(tokens[0], tokens[1]);
}

#[tokio::test]
async fn api_login_info_and_logout() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let login = server
        .request("POST", "/api/session")
        .header("authorization", &basic("ansible", "secret"))
        .send()
        .await;
    assert_eq!(login.status, 201);
    let token = login.json().as_str().unwrap().to_owned();
    assert!(is_token(&token));
    assert_eq!(login.header("set-cookie"), None);
    let info = server
        .request("GET", "/api/session")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(info.status, 200);
    assert_eq!(info.json()["user"], "ansible");
    let logout = server
        .request("DELETE", "/api/session")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(logout.status, 204);
    let again = server
        .request("DELETE", "/api/session")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(again.status, 401);
}

#[tokio::test]
async fn logins_without_credentials_get_401_unauthenticated() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let rest = server.post("/rest/com/vmware/cis/session", "").await;
    assert_eq!(rest.status, 401);
    assert_eq!(
        rest.text(),
        format!(
            r#"{{"type":"com.vmware.vapi.std.errors.unauthenticated","value":{{"error_type":"UNAUTHENTICATED","messages":[{UNAUTHENTICATED}]}}}}"#
        )
    );
    let api = server
        .request("POST", "/api/session")
        .header("authorization", &basic("", "x"))
        .send()
        .await;
    assert_eq!(api.status, 401);
    assert_eq!(
        api.text(),
        format!(r#"{{"error_type":"UNAUTHENTICATED","messages":[{UNAUTHENTICATED}]}}"#)
    );
    let bearer = server
        .request("POST", "/api/session")
        .header("authorization", "Bearer abc")
        .send()
        .await;
    assert_eq!(bearer.status, 401);
}

#[tokio::test]
async fn download_sessions_answer_anyone_by_default() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    assert_eq!(server.get(&format!("{REST}/id:obj-103")).await.status, 200);
}

#[tokio::test]
async fn require_session_admits_only_live_tokens() {
    let server = TestServer::replay_with(&shipped_cassettes(), &["--require-session"]).await;
    let path = format!("{REST}/id:obj-103");

    let missing = server.get(&path).await;
    assert_eq!(missing.status, 401);
    assert_eq!(
        missing.json()["type"],
        "com.vmware.vapi.std.errors.unauthenticated"
    );
    let api_missing = server.get(&format!("{API}/obj-103")).await;
    assert_eq!(
        api_missing.json(),
        json!({"error_type":"UNAUTHENTICATED","messages":[serde_json::from_str::<serde_json::Value>(UNAUTHENTICATED).unwrap()]})
    );
    let xml_missing = server
        .request("GET", &path)
        .header("accept", "application/xml")
        .send()
        .await;
    assert_eq!(xml_missing.status, 401);
    assert!(xml_missing
        .text()
        .contains("<error_type>UNAUTHENTICATED</error_type>"));
    let forged = server
        .request("GET", &path)
        .header("vmware-api-session-id", &"0".repeat(32))
        .send()
        .await;
    assert_eq!(forged.status, 401);

    let login = server
        .request("POST", "/rest/com/vmware/cis/session")
        .header("authorization", &basic("u", "p"))
        .send()
        .await;
    let token = login.json()["value"].as_str().unwrap().to_owned();
    let cookie = login
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let by_header = server
        .request("GET", &path)
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(by_header.status, 200);
    let by_cookie = server
        .request(
            "POST",
            &format!("{REST}?~action=get&download_session_id=obj-103"),
        )
        .header("cookie", &cookie)
        .send()
        .await;
    assert_eq!(by_cookie.status, 200);

    server
        .request("DELETE", "/rest/com/vmware/cis/session")
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    let logged_out = server
        .request("GET", &path)
        .header("vmware-api-session-id", &token)
        .send()
        .await;
    assert_eq!(logged_out.status, 401);
}

async fn api_login(server: &TestServer, authorization: &str) -> TestResponse {
    server
        .request("POST", "/api/session")
        .header("authorization", authorization)
        .send()
        .await
}

async fn api_info(server: &TestServer, token: &str) -> TestResponse {
    server
        .request("GET", "/api/session")
        .header("vmware-api-session-id", token)
        .send()
        .await
}

async fn token_of(server: &TestServer) -> String {
    let answer = api_login(server, &basic("flood", "p")).await;
    assert_eq!(answer.status, 201);
    answer.json().as_str().unwrap().to_owned()
}

#[tokio::test]
async fn logins_are_bounded_the_least_recently_used_session_makes_room() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let first = token_of(&server).await;
    let second = token_of(&server).await;
    assert_eq!(api_info(&server, &first).await.status, 200);
    // docs/clients.md ("Offline sessions") documents at most 4096 offline sessions.
    for _ in 2..4096 {
        token_of(&server).await;
    }
    let newest = token_of(&server).await;
    assert_eq!(
        api_info(&server, &second).await.status,
        401,
        "the least recently used session made room"
    );
    assert_eq!(api_info(&server, &first).await.status, 200);
    assert_eq!(api_info(&server, &newest).await.status, 200);
}

#[tokio::test]
async fn a_user_name_over_256_bytes_gets_401_and_unpadded_basic_is_read() {
    let server = TestServer::replay(&shipped_cassettes()).await;
    let longest = api_login(&server, &basic(&"u".repeat(256), "p")).await;
    assert_eq!(longest.status, 201);
    let over = api_login(&server, &basic(&"u".repeat(257), "p")).await;
    assert_eq!(over.status, 401);
    let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("ci:pw");
    let login = api_login(&server, &format!("Basic {unpadded}")).await;
    assert_eq!(login.status, 201);
    let info = api_info(&server, login.json().as_str().unwrap()).await;
    assert_eq!(info.json()["user"], "ci");
}
