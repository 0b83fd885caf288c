//! Session login, info and logout on `/rest/com/vmware/cis/session` and `/api/session`.

use base64::Engine as _;
use http::{header, HeaderMap, StatusCode};
use serde_json::json;

use super::state::{now_text, Shared};
use super::wire::{empty, respond, unauthenticated, value_body, Flavor, Reply, JSON};
use super::{FAKE_PASSWORD, FAKE_USER};

pub(super) fn login(shared: &Shared, flavor: Flavor, headers: &HeaderMap) -> Reply {
    if !basic_ok(headers) {
        return unauthenticated(flavor);
    }
    let token = shared.issue_token();
    match flavor {
        Flavor::Rest => {
            let header_authn = headers
                .get("vmware-use-header-authn")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            let mut response = respond(StatusCode::OK, JSON, value_body(flavor, json!(token)));
            if !header_authn {
                let cookie = format!("vmware-api-session-id={token};Path=/rest");
                response
                    .headers_mut()
                    .insert(header::SET_COOKIE, cookie.parse().unwrap());
            }
            response
        }
        Flavor::Api => respond(StatusCode::CREATED, JSON, value_body(flavor, json!(token))),
    }
}

pub(super) fn session_info(shared: &Shared, flavor: Flavor, headers: &HeaderMap) -> Reply {
    let Some((_, created)) = shared.valid_session(headers) else {
        return unauthenticated(flavor);
    };
    let info =
        json!({"user": FAKE_USER, "created_time": created, "last_accessed_time": now_text()});
    respond(StatusCode::OK, JSON, value_body(flavor, info))
}

pub(super) fn logout(shared: &Shared, flavor: Flavor, headers: &HeaderMap) -> Reply {
    let Some((token, _)) = shared.valid_session(headers) else {
        return unauthenticated(flavor);
    };
    shared.lock().live.remove(&token);
    match flavor {
        Flavor::Rest => empty(StatusCode::OK),
        Flavor::Api => empty(StatusCode::NO_CONTENT),
    }
}

pub(super) fn credentials_ok(user: &str, password: &str) -> bool {
    user == FAKE_USER && password == FAKE_PASSWORD
}

fn basic_ok(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let Some((scheme, encoded)) = value.trim().split_once(' ') else {
        return false;
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
        return false;
    };
    let text = String::from_utf8_lossy(&decoded);
    text.split_once(':')
        .is_some_and(|(user, password)| credentials_ok(user, password))
}
