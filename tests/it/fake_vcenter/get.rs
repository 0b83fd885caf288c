//! download_session.get on the REST side, with the seed harness's extras: special ids that
//! misbehave on purpose, XML answers, form C's id in a query or body, and scripted sessions.

use std::time::Duration;

use http::{header, HeaderMap, StatusCode};

use super::ops::{self, Operation, Output};
use super::sessions::{SessionModel, EXPIRATION};
use super::state::Shared;
use super::vapi::VapiError;
use super::wire::{error_reply, respond, unauthenticated, value_body, Flavor, Reply, JSON};

const SLOW_DELAY: Duration = Duration::from_secs(30);

/// `id` is `None` when form C carried none. Scripted and unknown ids need a session only
/// under `require_session`; created sessions always do.
pub(super) async fn get(
    shared: &Shared,
    flavor: Flavor,
    id: Option<String>,
    headers: &HeaderMap,
) -> Reply {
    let Some(id) = id else {
        return error_reply(flavor, &VapiError::bare("invalid_argument"));
    };
    count_get(shared, &id);
    if let Some(reply) = special(flavor, &id).await {
        return reply;
    }
    let needs_session = shared.require_session || shared.lock().sessions.contains_key(&id);
    if needs_session && shared.valid_session(headers).is_none() {
        return unauthenticated(flavor);
    }
    let model = match ops::invoke(shared, Operation::Get(id.clone())) {
        Ok(Output::Session(model)) => model,
        Ok(_) => unreachable!("get answers a session"),
        Err(_) if id == "slow" => return respond(StatusCode::OK, JSON, slow_body(flavor)),
        Err(error) => return error_reply(flavor, &error),
    };
    if flavor == Flavor::Rest && wants_xml(headers) {
        return respond(StatusCode::OK, "application/xml", xml(&model));
    }
    respond(StatusCode::OK, JSON, value_body(flavor, model.plain()))
}

pub(super) fn count_get(shared: &Shared, id: &str) {
    *shared.lock().gets.entry(id.to_owned()).or_insert(0) += 1;
}

/// Ids that behave the same whatever the options; `slow` answers after a long pause.
async fn special(flavor: Flavor, id: &str) -> Option<Reply> {
    match id {
        "fail-500" => Some(error_reply(
            flavor,
            &VapiError::bare("internal_server_error"),
        )),
        "html-page" => Some(respond(
            StatusCode::OK,
            "text/html",
            "<html><body>Service unavailable</body></html>",
        )),
        "truncated" => {
            let body = match flavor {
                Flavor::Rest => r#"{"value":{"client_progress":"#,
                Flavor::Api => r#"{"client_progress":"#,
            };
            Some(respond(StatusCode::OK, JSON, body))
        }
        "slow" => {
            tokio::time::sleep(SLOW_DELAY).await;
            None
        }
        _ => None,
    }
}

fn slow_body(flavor: Flavor) -> String {
    let model = SessionModel {
        id: "slow".to_owned(),
        library_item_id: "item-slow".to_owned(),
        content_version: "2",
        client_progress: 10,
        state: "ACTIVE",
        error_message: None,
    };
    value_body(flavor, model.plain())
}

fn wants_xml(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("xml"))
}

fn xml(model: &SessionModel) -> String {
    let id = xml_escape(&model.id);
    let item = xml_escape(&model.library_item_id);
    let error = model.error_message.as_ref().map_or(String::new(), |message| {
        let args: String = message
            .args
            .iter()
            .map(|arg| format!("<array-item>{}</array-item>", xml_escape(arg)))
            .collect();
        format!(
            "<error_message><id>{}</id><default_message>{}</default_message><args-array>{args}</args-array></error_message>",
            xml_escape(&message.id),
            xml_escape(&message.default_message)
        )
    });
    format!(
        "<?xml version=\"1.0\" ?>\n<ns0:Get-Result xmlns:ns0=\"http://vmware.com/content/library/item/download_session\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"><value><id>{id}</id><library_item_id>{item}</library_item_id><client_progress>{}</client_progress><state>{}</state><expiration_time>{EXPIRATION}</expiration_time><library_item_content_version>{}</library_item_content_version>{error}</value></ns0:Get-Result>",
        model.client_progress, model.state, model.content_version
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The id from a form-C body: JSON `{"download_session_id":"S"}` or XML
/// `<download_session_id>S</download_session_id>` (any namespace prefix).
pub(super) fn id_from_body(body: &[u8]) -> Option<String> {
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
        return value
            .get("download_session_id")
            .and_then(|id| id.as_str())
            .map(str::to_owned);
    }
    let text = std::str::from_utf8(body).ok()?;
    let pattern = regex::Regex::new(
        r"<(?:[A-Za-z_][\w.-]*:)?download_session_id(?:\s[^>]*)?>\s*([^<]*?)\s*</",
    )
    .unwrap();
    let id = pattern.captures(text)?.get(1)?.as_str();
    Some(
        id.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}
