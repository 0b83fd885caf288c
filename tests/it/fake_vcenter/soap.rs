//! A small vim25 SOAP side (`POST /sdk`), shaped like govmomi's simulator: `Login` with the
//! fake's credentials sets `vmware_soap_session` (the `UserSession.key`), calls other than
//! `RetrieveServiceContent` and `Login` need a live cookie (else `NotAuthenticated`),
//! `CreatePropertyCollector` hands out a session-scoped id (`session[KEY]N`) that only
//! that session may use, and a datastore's `name` is read with `RetrieveProperties`.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, Response, StatusCode};
use regex::Regex;

use super::state::Shared;
use super::wire::{full, Reply};
use super::{FAKE_PASSWORD, FAKE_USER};

pub(crate) const SERVICE_CONTENT: &str = r#"<returnval><rootFolder type="Folder">group-d1</rootFolder><propertyCollector type="PropertyCollector">propertyCollector</propertyCollector><about><fullName>Fake vCenter 8.0</fullName><apiType>VirtualCenter</apiType><apiVersion>8.0</apiVersion></about><sessionManager type="SessionManager">SessionManager</sessionManager></returnval>"#;

/// The datastore whose name the fake answers.
pub(crate) const DATASTORE: &str = "datastore-11";
pub(crate) const DATASTORE_NAME: &str = "LabDS_0";

pub(super) fn handle(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Reply {
    let body = String::from_utf8_lossy(body);
    let operation = Regex::new(r#"<(?:\w+:)?Body>\s*<(\w+)"#).unwrap();
    let Some(operation) = operation.captures(&body).map(|c| c[1].to_owned()) else {
        return fault("InvalidRequest", "no operation", "");
    };
    let this = capture(&body, r#"<_this[^>]*>([^<]*)</_this>"#).unwrap_or_default();
    let cookie = cookie(headers);
    let live = cookie
        .as_ref()
        .filter(|key| shared.lock().soap_sessions.contains_key(*key))
        .cloned();
    match (operation.as_str(), live) {
        ("RetrieveServiceContent", _) => ok(&operation, SERVICE_CONTENT),
        ("Login", None) => login(shared, &body),
        ("Login", Some(_)) => fault("InvalidLogin", "Login failure", ""),
        (_, None) => fault(
            "NotAuthenticated",
            "",
            r#"<object type="SessionManager">SessionManager</object><privilegeId>System.View</privilegeId>"#,
        ),
        ("Logout", Some(key)) => {
            shared.lock().soap_sessions.remove(&key);
            ok(&operation, "")
        }
        ("RetrieveProperties", Some(_)) if body.contains(DATASTORE) => ok(
            &operation,
            &format!(
                r#"<returnval><obj type="Datastore">{DATASTORE}</obj><propSet><name>name</name><val xsi:type="xsd:string">{DATASTORE_NAME}</val></propSet></returnval>"#
            ),
        ),
        ("CreatePropertyCollector", Some(key)) => {
            let mut state = shared.lock();
            state.soap_collectors += 1;
            let id = format!("session[{key}]collector-{}", state.soap_collectors);
            ok(
                &operation,
                &format!(r#"<returnval type="PropertyCollector">{id}</returnval>"#),
            )
        }
        ("DestroyPropertyCollector", Some(key)) if this.starts_with(&format!("session[{key}]")) => {
            ok(&operation, "")
        }
        _ => fault(
            "ManagedObjectNotFound",
            "The object has already been deleted or has not been completely created",
            &format!("<obj>{this}</obj>"),
        ),
    }
}

fn login(shared: &Shared, body: &str) -> Reply {
    let user = capture(body, r"<userName>([^<]*)</userName>").unwrap_or_default();
    let password = capture(body, r"<password>([^<]*)</password>").unwrap_or_default();
    if user != FAKE_USER || password != FAKE_PASSWORD {
        return fault("InvalidLogin", "Login failure", "");
    }
    let key = {
        let mut state = shared.lock();
        state.soap_logins += 1;
        let key = format!("5oap-key-{:04}-lab", state.soap_logins);
        state.soap_sessions.insert(key.clone(), user.clone());
        key
    };
    let session = format!(
        "<returnval><key>{key}</key><userName>{user}</userName><fullName>{user}</fullName><callCount>1</callCount></returnval>"
    );
    let mut reply = ok("Login", &session);
    reply.headers_mut().insert(
        SET_COOKIE,
        format!("vmware_soap_session={key}; HttpOnly")
            .parse()
            .unwrap(),
    );
    reply
}

fn capture(text: &str, pattern: &str) -> Option<String> {
    Regex::new(pattern)
        .unwrap()
        .captures(text)
        .map(|c| c[1].to_owned())
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(name, _)| name.trim() == "vmware_soap_session")
        .map(|(_, value)| value.trim().trim_matches('"').to_owned())
}

fn envelope(inner: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>{inner}</soapenv:Body></soapenv:Envelope>"#
    )
}

fn xml(status: StatusCode, inner: &str) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", "text/xml; charset=utf-8")
        .body(full(envelope(inner)))
        .unwrap()
}

fn ok(operation: &str, returnval: &str) -> Reply {
    xml(
        StatusCode::OK,
        &format!(r#"<{operation}Response xmlns="urn:vim25">{returnval}</{operation}Response>"#),
    )
}

fn fault(kind: &str, message: &str, detail: &str) -> Reply {
    xml(
        StatusCode::INTERNAL_SERVER_ERROR,
        &format!(
            r#"<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>{message}</faultstring><detail><{kind}Fault xmlns="urn:vim25" xsi:type="{kind}">{detail}</{kind}Fault></detail></soapenv:Fault>"#
        ),
    )
}
