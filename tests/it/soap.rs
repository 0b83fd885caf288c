//! vim25 SOAP (`POST /sdk`): recorded through dsvcr from the fake vCenter's SOAP side,
//! then replayed offline to a client logging in with other credentials: sessions from
//! the offline store, everything else from the tape, session-scoped ids fitted to the
//! caller's session, misses and bad input as SOAP faults.

use std::path::Path;
use std::process::ExitCode;

use serde_json::json;

use crate::fake_vcenter::*;
use crate::support::*;

const SDK: &str = "/sdk";

/// A SOAP request as govc writes it: `operation` on `_this`, then `arguments`.
fn govc(operation: &str, this: (&str, &str), arguments: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><{op} xmlns="urn:vim25"><_this type="{kind}">{id}</_this>{args}</{op}></Body></Envelope>"#
        ),
        op = operation,
        kind = this.0,
        id = this.1,
        args = arguments
    )
}

/// The same request as pyvmomi writes it: prefixed envelope, `versionId`s, whitespace.
fn pyvmomi(operation: &str, this: (&str, &str), arguments: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
            "\n",
            r#"<soapenv:Body><{op} xmlns="urn:vim25"><_this versionId="8.0" type="{kind}">{id}</_this>{args}</{op}></soapenv:Body>"#,
            "\n</soapenv:Envelope>"
        ),
        op = operation,
        kind = this.0,
        id = this.1,
        args = arguments
    )
}

fn login_body(user: &str, password: &str) -> String {
    govc(
        "Login",
        ("SessionManager", "SessionManager"),
        &format!(
            "<userName>{user}</userName><password>{password}</password><locale>en_US</locale>"
        ),
    )
}

fn datastore_name() -> String {
    format!(
        "<specSet><propSet><type>Datastore</type><pathSet>name</pathSet></propSet><objectSet><obj type=\"Datastore\">{DATASTORE}</obj><skip>false</skip></objectSet></specSet>"
    )
}

const CURRENT_SESSION: &str = "<specSet><propSet><type>SessionManager</type><pathSet>currentSession</pathSet></propSet><objectSet><obj type=\"SessionManager\">SessionManager</obj><skip>false</skip></objectSet></specSet>";

async fn soap(server: &TestServer, body: &str, cookie: Option<&str>) -> TestResponse {
    let request = server
        .request("POST", SDK)
        .header("content-type", "text/xml; charset=\"utf-8\"")
        .header("soapaction", "urn:vim25/8.0");
    let request = match cookie {
        Some(cookie) => request.header("cookie", &format!("vmware_soap_session={cookie}")),
        None => request,
    };
    request.body(body.to_owned()).send().await
}

/// Logs in and returns the session cookie's value.
async fn soap_login(server: &TestServer, user: &str, password: &str) -> String {
    let login = soap(server, &login_body(user, password), None).await;
    assert_eq!(login.status, 200, "{}", login.text());
    let cookie = login.header("set-cookie").expect("a login sets the cookie");
    let value = cookie
        .strip_prefix("vmware_soap_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("the SOAP cookie");
    value.to_owned()
}

fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text
        .find(open)
        .unwrap_or_else(|| panic!("{open} in {text}"))
        + open.len();
    let end = text[start..].find(close).unwrap() + start;
    &text[start..end]
}

/// Every file under `folder`, read as text.
fn all_files(folder: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    for entry in walk(folder) {
        let text = String::from_utf8_lossy(&std::fs::read(&entry).unwrap()).into_owned();
        files.push((entry.display().to_string(), text));
    }
    files
}

fn walk(folder: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn soap_calls_recorded_from_the_lab_replay_to_other_credentials() {
    let fake = FakeVcenter::start(FakeOptions::default()).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let content = soap(
        &recorder,
        &govc(
            "RetrieveServiceContent",
            ("ServiceInstance", "ServiceInstance"),
            "",
        ),
        None,
    )
    .await;
    assert_eq!(content.status, 200);
    let lab_key = soap_login(&recorder, FAKE_USER, FAKE_PASSWORD).await;
    let name = soap(
        &recorder,
        &govc(
            "RetrieveProperties",
            ("PropertyCollector", "propertyCollector"),
            &datastore_name(),
        ),
        Some(&lab_key),
    )
    .await;
    assert!(name.text().contains(DATASTORE_NAME), "{}", name.text());
    let collector = soap(
        &recorder,
        &govc(
            "CreatePropertyCollector",
            ("PropertyCollector", "propertyCollector"),
            "",
        ),
        Some(&lab_key),
    )
    .await;
    let lab_collector = between(
        collector.text(),
        r#"<returnval type="PropertyCollector">"#,
        "<",
    );
    assert_eq!(lab_collector, format!("session[{lab_key}]collector-1"));
    let destroyed = soap(
        &recorder,
        &govc(
            "DestroyPropertyCollector",
            ("PropertyCollector", lab_collector),
            "",
        ),
        Some(&lab_key),
    )
    .await;
    assert_eq!(destroyed.status, 200, "{}", destroyed.text());
    let logout = soap(
        &recorder,
        &govc("Logout", ("SessionManager", "SessionManager"), ""),
        Some(&lab_key),
    )
    .await;
    assert_eq!(logout.status, 200);
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);

    // Session-manager calls are not taped; nothing secret reaches disk.
    let mut taped: Vec<String> = std::fs::read_dir(folder.path().join("tape"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .map(|name| name[..name.rfind('-').unwrap()].to_owned())
        .collect();
    taped.sort();
    assert_eq!(
        taped,
        [
            "soap-createpropertycollector",
            "soap-destroypropertycollector",
            "soap-retrieveproperties",
            "soap-retrieveservicecontent"
        ]
    );
    for (path, text) in all_files(folder.path()) {
        for secret in [FAKE_PASSWORD, lab_key.as_str(), "vmware_soap_session"] {
            assert!(!text.contains(secret), "{path} holds {secret}: {text}");
        }
    }
    let (code, problems, _) =
        crate::process::run_to_exit(&["check", folder.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{problems}");
    let tape = std::fs::read_dir(folder.path().join("tape"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| {
            path.to_str()
                .unwrap()
                .contains("soap-destroypropertycollector")
        })
        .unwrap();
    let tape: serde_json::Value = serde_json::from_slice(&std::fs::read(tape).unwrap()).unwrap();
    assert_eq!(
        tape["request"],
        json!({
            "method": "POST",
            "path": "/sdk",
            "soap": {"operation": "DestroyPropertyCollector", "this": "PropertyCollector:session[]collector-1"}
        })
    );

    // Replay, offline, to another user, in pyvmomi's spelling.
    drop(fake);
    let replay =
        TestServer::replay_with(folder.path(), &["--fail-on-miss", "--require-session"]).await;
    let before_login = soap(
        &replay,
        &pyvmomi(
            "RetrieveProperties",
            ("PropertyCollector", "propertyCollector"),
            &datastore_name(),
        ),
        None,
    )
    .await;
    assert_eq!(before_login.status, 500);
    assert!(
        before_login
            .text()
            .contains(r#"xsi:type="NotAuthenticated""#),
        "{}",
        before_login.text()
    );
    let content_again = soap(
        &replay,
        &pyvmomi(
            "RetrieveServiceContent",
            ("ServiceInstance", "ServiceInstance"),
            "",
        ),
        None,
    )
    .await;
    assert_eq!(
        (content_again.status.as_u16(), content_again.text()),
        (200, content.text())
    );
    let key = soap_login(&replay, "ci-robot@vsphere.local", "Another-CI-Secret").await;
    assert_ne!(key, lab_key);
    let current = soap(
        &replay,
        &pyvmomi(
            "RetrieveProperties",
            ("PropertyCollector", "propertyCollector"),
            CURRENT_SESSION,
        ),
        Some(&key),
    )
    .await;
    assert_eq!(
        between(current.text(), "<userName>", "<"),
        "ci-robot@vsphere.local"
    );
    assert_eq!(between(current.text(), "<key>", "<"), key);
    assert_eq!(between(current.text(), "<callCount>", "<"), "2");
    let name_again = soap(
        &replay,
        &pyvmomi(
            "RetrieveProperties",
            ("PropertyCollector", "propertyCollector"),
            &datastore_name(),
        ),
        Some(&key),
    )
    .await;
    assert_eq!(name_again.text(), name.text());
    let collector_again = soap(
        &replay,
        &pyvmomi(
            "CreatePropertyCollector",
            ("PropertyCollector", "propertyCollector"),
            "",
        ),
        Some(&key),
    )
    .await;
    let mine = between(
        collector_again.text(),
        r#"<returnval type="PropertyCollector">"#,
        "<",
    );
    assert_eq!(
        mine,
        format!("session[{key}]collector-1"),
        "fitted to the caller's session"
    );
    let destroyed_again = soap(
        &replay,
        &pyvmomi("DestroyPropertyCollector", ("PropertyCollector", mine), ""),
        Some(&key),
    )
    .await;
    assert_eq!(destroyed_again.status, 200, "{}", destroyed_again.text());
    let logout = soap(
        &replay,
        &govc("Logout", ("SessionManager", "SessionManager"), ""),
        Some(&key),
    )
    .await;
    assert_eq!(logout.status, 200);
    let after = soap(
        &replay,
        &govc(
            "RetrieveProperties",
            ("PropertyCollector", "propertyCollector"),
            CURRENT_SESSION,
        ),
        Some(&key),
    )
    .await;
    assert!(
        after
            .text()
            .contains("<missingSet><path>currentSession</path>"),
        "{}",
        after.text()
    );
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn an_unrecorded_soap_call_is_a_fault_named_in_the_summary() {
    let replay = TestServer::replay_with(&shipped_cassettes(), &["--fail-on-miss"]).await;
    let key = soap_login(&replay, "ci", "pw").await;
    let missing = soap(
        &replay,
        &govc(
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            &format!("{}<options></options>", datastore_name()),
        ),
        Some(&key),
    )
    .await;
    assert_eq!(missing.status, 500);
    assert_eq!(missing.content_type(), "text/xml; charset=utf-8");
    assert_eq!(missing.header("x-dsvcr-synthetic"), Some("no-recording"));
    assert_eq!(
        between(missing.text(), "<soapenv:Body>", "</soapenv:Body>"),
        concat!(
            "<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>dsvcr has no recording of RetrievePropertiesEx on PropertyCollector:propertyCollector (record it, or check the cassettes)</faultstring>",
            r#"<detail><ManagedObjectNotFoundFault xmlns="urn:vim25" xsi:type="ManagedObjectNotFound"><obj type="PropertyCollector">propertyCollector</obj></ManagedObjectNotFoundFault></detail></soapenv:Fault>"#
        )
    );
    let health = replay.get("/__dsvcr/health").await.json();
    assert_eq!(health["unrecorded"], json!(1));
    assert_eq!(replay.shut_down().await, ExitCode::from(dsvcr::EXIT_MISSED));
}

#[tokio::test]
async fn the_summary_names_the_soap_operation_that_missed() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.json");
    let replay = TestServer::replay_with(
        &shipped_cassettes(),
        &["--summary", summary.to_str().unwrap()],
    )
    .await;
    let answer = soap(
        &replay,
        &govc(
            "RetrieveServiceContent",
            ("ServiceInstance", "ServiceInstance"),
            "",
        ),
        None,
    )
    .await;
    assert_eq!(answer.status, 500);
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(summary).unwrap()).unwrap();
    assert_eq!(
        summary["unrecorded_routes"],
        json!(["POST /sdk RetrieveServiceContent"])
    );
}

#[tokio::test]
async fn offline_soap_sessions_follow_vcenter() {
    let replay = TestServer::replay(&shipped_cassettes()).await;
    let logout = soap(
        &replay,
        &govc("Logout", ("SessionManager", "SessionManager"), ""),
        None,
    )
    .await;
    assert_eq!(logout.status, 500);
    assert!(
        logout
            .text()
            .contains(r#"<NotAuthenticatedFault xmlns="urn:vim25" xsi:type="NotAuthenticated">"#),
        "{}",
        logout.text()
    );
    assert_eq!(
        logout.header("x-dsvcr-synthetic"),
        None,
        "vCenter's own answer"
    );
    let empty_password = soap(&replay, &login_body("ci", ""), None).await;
    assert!(
        empty_password.text().contains(r#"xsi:type="InvalidLogin""#),
        "{}",
        empty_password.text()
    );

    let login = soap(&replay, &login_body("ci@vsphere.local", "pw"), None).await;
    let cookie = login.header("set-cookie").unwrap().to_owned();
    assert!(cookie.ends_with("; Path=/; HttpOnly"), "{cookie}");
    let key = between(login.text(), "<key>", "<").to_owned();
    assert_eq!(
        cookie,
        format!("vmware_soap_session={key}; Path=/; HttpOnly")
    );
    let again = soap(&replay, &login_body("ci@vsphere.local", "pw"), Some(&key)).await;
    assert!(
        again.text().contains(r#"xsi:type="InvalidLogin""#),
        "a login on a live session"
    );

    // pyvmomi sends the whole Set-Cookie value back, quoted or not.
    let fetch = replay
        .request("POST", SDK)
        .header(
            "cookie",
            &format!("vmware_soap_session=\"{key}\"; Path=/; HttpOnly"),
        )
        .body(pyvmomi(
            "Fetch",
            ("SessionManager", "SessionManager"),
            "<prop versionId=\"8.0\">currentSession</prop>",
        ))
        .send()
        .await;
    assert_eq!(fetch.status, 200, "{}", fetch.text());
    assert!(fetch.text().contains(r#"<FetchResponse xmlns="urn:vim25"><returnval xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="UserSession"><key>"#), "{}", fetch.text());
    let ex = soap(
        &replay,
        &govc(
            "RetrievePropertiesEx",
            ("PropertyCollector", "propertyCollector"),
            &format!("{CURRENT_SESSION}<options></options>"),
        ),
        Some(&key),
    )
    .await;
    assert!(ex.text().contains("<RetrievePropertiesExResponse xmlns=\"urn:vim25\"><returnval><objects><obj type=\"SessionManager\">SessionManager</obj><propSet><name>currentSession</name>"), "{}", ex.text());

    let active = |session: String, user: &str| {
        govc(
            "SessionIsActive",
            ("SessionManager", "SessionManager"),
            &format!("<sessionID>{session}</sessionID><userName>{user}</userName>"),
        )
    };
    let yes = soap(
        &replay,
        &active(key.clone(), "ci@vsphere.local"),
        Some(&key),
    )
    .await;
    assert!(
        yes.text().contains("<returnval>true</returnval>"),
        "{}",
        yes.text()
    );
    let other_user = soap(&replay, &active(key.clone(), "someone-else"), Some(&key)).await;
    assert!(
        other_user.text().contains("<returnval>false</returnval>"),
        "{}",
        other_user.text()
    );

    let saml = concat!(
        r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Header><wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="_fake"><saml2:Subject><saml2:NameID>token-user@vsphere.local</saml2:NameID></saml2:Subject></saml2:Assertion></wsse:Security></soapenv:Header>"#,
        r#"<soapenv:Body><LoginByToken xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></LoginByToken></soapenv:Body></soapenv:Envelope>"#
    );
    let by_token = soap(&replay, saml, None).await;
    assert_eq!(by_token.status, 200, "{}", by_token.text());
    assert!(by_token
        .text()
        .contains("<LoginByTokenResponse xmlns=\"urn:vim25\"><returnval><key>"));
    assert_eq!(
        between(by_token.text(), "<userName>", "<"),
        "token-user@vsphere.local"
    );
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn bad_soap_requests_get_invalid_request_faults() {
    let replay = TestServer::replay(&shipped_cassettes()).await;
    let cases = [
        ("{\"json\": true}", "malformed XML"),
        ("<a><b></a>", "malformed XML"),
        (
            "<!DOCTYPE x [<!ENTITY e \"boom\">]><x>&e;</x>",
            "XML document type declarations are not accepted",
        ),
        (
            "<plain/>",
            "the body is not a SOAP envelope: the root element is plain",
        ),
        (
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"></Envelope>"#,
            "the SOAP envelope has no Body",
        ),
        (
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body></Body></Envelope>"#,
            "the SOAP Body names no operation",
        ),
        (
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Logout xmlns="urn:vim25"/></Body></Envelope>"#,
            "the operation Logout has no _this",
        ),
    ];
    for (body, problem) in cases {
        let answer = soap(&replay, body, None).await;
        assert_eq!(answer.status, 500, "{body}");
        assert_eq!(
            answer.header("x-dsvcr-synthetic"),
            Some("invalid-request"),
            "{body}"
        );
        let message = between(answer.text(), "<faultstring>", "</faultstring>");
        assert!(message.starts_with(problem), "{body}: {message}");
        assert!(answer
            .text()
            .contains(r#"<InvalidRequestFault xmlns="urn:vim25" xsi:type="InvalidRequest">"#));
    }
    let deep = format!(
        r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Op xmlns="urn:vim25"><_this type="T">t</_this>{}{}</Op></Body></Envelope>"#,
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    let answer = soap(&replay, &deep, None).await;
    assert_eq!(
        between(answer.text(), "<faultstring>", "</faultstring>"),
        "XML nesting deeper than 64 elements"
    );
    assert_eq!(replay.shut_down().await, ExitCode::SUCCESS);
}

#[tokio::test]
async fn a_bad_soap_request_is_not_forwarded_or_taped_in_record() {
    let fake = FakeVcenter::start(FakeOptions::default()).await;
    let folder = tempfile::tempdir().unwrap();
    let recorder = RecordSetup::to(&fake.url()).start(folder.path()).await;
    let answer = soap(&recorder, "<Envelope/>", None).await;
    assert_eq!(answer.status, 500);
    assert_eq!(answer.header("x-dsvcr-synthetic"), Some("invalid-request"));
    // A call without a session: vCenter's NotAuthenticated is passed on, never taped.
    let refused = soap(
        &recorder,
        &govc(
            "CreatePropertyCollector",
            ("PropertyCollector", "propertyCollector"),
            "",
        ),
        None,
    )
    .await;
    assert!(
        refused.text().contains(r#"xsi:type="NotAuthenticated""#),
        "{}",
        refused.text()
    );
    assert_eq!(recorder.shut_down().await, ExitCode::SUCCESS);
    let tape = folder.path().join("tape");
    let taped = std::fs::read_dir(&tape).map_or(0, |files| files.count());
    assert_eq!(taped, 0, "nothing taped");
    assert_eq!(
        fake.requests()
            .iter()
            .filter(|r| r.path_and_query == SDK)
            .count(),
        1
    );
}
