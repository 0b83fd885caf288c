//! The REST side: `/rest` and `/api` paths mapped onto the shared operations.

use http::{HeaderMap, Method, StatusCode};
use serde_json::{json, Value};

use super::get;
use super::login;
use super::ops::{self, Operation, Output, DOWNLOAD_SESSION, FILE, ITEM, LIBRARY};
use super::state::Shared;
use super::vapi::VapiError;
use super::wire::{
    empty, error_reply, header_text, json_body, not_found_page, respond, unauthenticated,
    value_body, Flavor, Reply, JSON,
};

pub(super) const REST_SESSION: &str = "/rest/com/vmware/cis/session";
pub(super) const API_SESSION: &str = "/api/session";
pub(super) const REST_DS: &str = "/rest/com/vmware/content/library/item/download-session";
pub(super) const REST_FILE: &str = "/rest/com/vmware/content/library/item/downloadsession/file";
pub(super) const REST_ITEM: &str = "/rest/com/vmware/content/library/item";
pub(super) const REST_LIBRARY: &str = "/rest/com/vmware/content/library";
pub(super) const API_DS: &str = "/api/content/library/item/download-session";
pub(super) const API_ITEM: &str = "/api/content/library/item";
pub(super) const API_LIBRARY: &str = "/api/content/library";

enum Route {
    Login(Flavor),
    SessionInfo(Flavor),
    Logout(Flavor),
    /// download_session.get, with the harness's extras; `None` when form C carried no id.
    Get(Flavor, Option<String>),
    /// Any other operation; always needs a session.
    Call(Flavor, Result<Operation, VapiError>),
    NotFound,
}

/// Routes a request below a base path, given what follows the base.
type Router = fn(&Call, &str) -> Route;

/// One request, as the routes read it.
struct Call<'a> {
    method: &'a Method,
    path: &'a str,
    query: &'a [(String, String)],
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Call<'_> {
    fn param(&self, name: &str) -> Option<String> {
        self.query
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
    }

    fn action(&self, flavor: Flavor) -> Option<String> {
        self.param(match flavor {
            Flavor::Rest => "~action",
            Flavor::Api => "action",
        })
    }

    /// The client token of a create: `/rest` body, `/api` query, or `Client-Token` header.
    fn client_token(&self) -> Option<String> {
        self.param("client_token")
            .or_else(|| header_text(self.headers, "client-token").map(str::to_owned))
    }
}

pub(super) async fn handle(
    shared: &Shared,
    method: &Method,
    uri: &http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Reply {
    let (path, query) = super::wire::split_uri(uri);
    let call = Call {
        method,
        path: &path,
        query: &query,
        headers,
        body,
    };
    match route(&call) {
        Route::Login(flavor) => login::login(shared, flavor, headers),
        Route::SessionInfo(flavor) => login::session_info(shared, flavor, headers),
        Route::Logout(flavor) => login::logout(shared, flavor, headers),
        Route::Get(flavor, id) => get::get(shared, flavor, id, headers).await,
        Route::Call(flavor, operation) => {
            if shared.valid_session(headers).is_none() {
                return unauthenticated(flavor);
            }
            render(flavor, operation.and_then(|op| ops::invoke(shared, op)))
        }
        Route::NotFound => not_found_page(),
    }
}

fn render(flavor: Flavor, result: Result<Output, VapiError>) -> Reply {
    let output = match result {
        Ok(output) => output,
        Err(error) => return error_reply(flavor, &error),
    };
    match (flavor, output.plain()) {
        (Flavor::Rest, None) => empty(StatusCode::OK),
        (Flavor::Api, None) => empty(StatusCode::NO_CONTENT),
        (Flavor::Api, Some(value)) if matches!(output, Output::Created(_)) => {
            respond(StatusCode::CREATED, JSON, value.to_string())
        }
        (_, Some(value)) => respond(StatusCode::OK, JSON, value_body(flavor, value)),
    }
}

fn route(call: &Call) -> Route {
    let path = call.path;
    if path == REST_SESSION {
        return rest_session(call);
    }
    if path == API_SESSION {
        return api_session(call);
    }
    let routes: [(&str, Router); 7] = [
        (REST_DS, rest_download_session),
        (REST_FILE, rest_file),
        (REST_ITEM, |call, rest| {
            lookups(call, Flavor::Rest, ITEM, rest)
        }),
        (REST_LIBRARY, |call, rest| {
            lookups(call, Flavor::Rest, LIBRARY, rest)
        }),
        (API_DS, api_download_session),
        (API_ITEM, |call, rest| {
            lookups(call, Flavor::Api, ITEM, rest)
        }),
        (API_LIBRARY, |call, rest| {
            lookups(call, Flavor::Api, LIBRARY, rest)
        }),
    ];
    routes
        .iter()
        .find_map(|(base, route)| under(path, base).map(|rest| route(call, rest)))
        .unwrap_or(Route::NotFound)
}

/// What follows `base` in `path` (empty when equal), if `path` is `base` or below it.
fn under<'a>(path: &'a str, base: &str) -> Option<&'a str> {
    if path == base {
        return Some("");
    }
    path.strip_prefix(base)?.strip_prefix('/')
}

fn rest_session(call: &Call) -> Route {
    match (call.method, call.action(Flavor::Rest).as_deref()) {
        (&Method::POST, None) => Route::Login(Flavor::Rest),
        (&Method::POST, Some("get")) => Route::SessionInfo(Flavor::Rest),
        (&Method::DELETE, None) => Route::Logout(Flavor::Rest),
        _ => Route::NotFound,
    }
}

fn api_session(call: &Call) -> Route {
    match *call.method {
        Method::POST => Route::Login(Flavor::Api),
        Method::GET => Route::SessionInfo(Flavor::Api),
        Method::DELETE => Route::Logout(Flavor::Api),
        _ => Route::NotFound,
    }
}

/// The operation `service.operation` with the body's fields plus `extra` (which win).
fn invoke_with(
    call: &Call,
    flavor: Flavor,
    (service, operation): (&str, &str),
    body: Option<&str>,
    extra: &[(&str, Option<String>)],
) -> Route {
    let input = match body {
        Some(field) => json_body(call.body).map(|body| json!({ field: body })),
        None => json_body(call.body),
    };
    let parsed = input.and_then(|mut input| {
        if !input.is_object() {
            return Err(VapiError::invalid_argument("body"));
        }
        for (name, value) in extra {
            if let Some(value) = value {
                input[*name] = Value::from(value.as_str());
            }
        }
        ops::parse(service, operation, &input)
    });
    Route::Call(flavor, parsed)
}

fn single_id<'a>(rest: &'a str, prefix: &str) -> Option<&'a str> {
    rest.strip_prefix(prefix)
        .filter(|id| !id.is_empty() && !id.contains('/'))
}

fn rest_download_session(call: &Call, rest: &str) -> Route {
    let flavor = Flavor::Rest;
    let action = call.action(flavor);
    let ds = |operation| (DOWNLOAD_SESSION, operation);
    if rest.is_empty() {
        return match (call.method, action.as_deref()) {
            (&Method::POST, None) => invoke_with(
                call,
                flavor,
                ds("create"),
                None,
                &[("client_token", call.client_token())],
            ),
            (&Method::POST, Some("get")) => Route::Get(
                flavor,
                call.param("download_session_id")
                    .or_else(|| get::id_from_body(call.body)),
            ),
            (&Method::GET, None) => {
                let item = call.param("library_item_id");
                invoke_with(call, flavor, ds("list"), None, &[("library_item_id", item)])
            }
            _ => Route::NotFound,
        };
    }
    let Some(id) = single_id(rest, "id:") else {
        return Route::NotFound;
    };
    let id_field = [("download_session_id", Some(id.to_owned()))];
    match (call.method, action.as_deref()) {
        (&Method::GET, None | Some("get")) | (&Method::POST, Some("get")) => {
            Route::Get(flavor, Some(id.to_owned()))
        }
        (&Method::POST, Some("keep-alive")) => {
            invoke_with(call, flavor, ds("keep_alive"), None, &id_field)
        }
        (&Method::POST, Some("cancel")) => invoke_with(call, flavor, ds("cancel"), None, &id_field),
        (&Method::POST, Some("fail")) => invoke_with(call, flavor, ds("fail"), None, &id_field),
        (&Method::DELETE, None) => invoke_with(call, flavor, ds("delete"), None, &id_field),
        _ => Route::NotFound,
    }
}

fn rest_file(call: &Call, rest: &str) -> Route {
    let flavor = Flavor::Rest;
    let action = call.action(flavor);
    if rest.is_empty() {
        if call.method != Method::GET || action.is_some() {
            return Route::NotFound;
        }
        let id = call.param("download_session_id");
        return invoke_with(
            call,
            flavor,
            (FILE, "list"),
            None,
            &[("download_session_id", id)],
        );
    }
    let Some(id) = single_id(rest, "id:") else {
        return Route::NotFound;
    };
    let id_field = [("download_session_id", Some(id.to_owned()))];
    match (call.method, action.as_deref()) {
        (&Method::POST, Some(op @ ("get" | "prepare"))) => {
            invoke_with(call, flavor, (FILE, op), None, &id_field)
        }
        _ => Route::NotFound,
    }
}

fn api_download_session(call: &Call, rest: &str) -> Route {
    let flavor = Flavor::Api;
    let action = call.action(flavor);
    let ds = |operation| (DOWNLOAD_SESSION, operation);
    let method = call.method;
    if rest.is_empty() {
        return match (method, action.as_deref()) {
            (&Method::POST, None) => {
                let token = [("client_token", call.client_token())];
                invoke_with(call, flavor, ds("create"), Some("create_spec"), &token)
            }
            (&Method::GET, None) => {
                let item = call.param("library_item_id");
                invoke_with(call, flavor, ds("list"), None, &[("library_item_id", item)])
            }
            _ => Route::NotFound,
        };
    }
    let (id, file) = match rest.split_once('/') {
        Some((id, "file")) => (id, true),
        Some(_) => return Route::NotFound,
        None => (rest, false),
    };
    let id_field = [("download_session_id", Some(id.to_owned()))];
    match (method, action.as_deref(), file) {
        (&Method::GET, None, false) => Route::Get(flavor, Some(id.to_owned())),
        (&Method::POST, Some("keep-alive"), false) => {
            invoke_with(call, flavor, ds("keep_alive"), None, &id_field)
        }
        (&Method::POST, Some(op @ ("cancel" | "fail")), false) => {
            invoke_with(call, flavor, ds(op), None, &id_field)
        }
        (&Method::DELETE, None, false) => invoke_with(call, flavor, ds("delete"), None, &id_field),
        (&Method::GET, None, true) => match call.param("file_name") {
            Some(name) => {
                let fields = [id_field[0].clone(), ("file_name", Some(name))];
                invoke_with(call, flavor, (FILE, "get"), None, &fields)
            }
            None => invoke_with(call, flavor, (FILE, "list"), None, &id_field),
        },
        (&Method::POST, Some("prepare"), true) => {
            invoke_with(call, flavor, (FILE, "prepare"), None, &id_field)
        }
        _ => Route::NotFound,
    }
}

/// get/list/find of `com.vmware.content.library` or `.item`, on either flavour.
fn lookups(call: &Call, flavor: Flavor, service: &str, rest: &str) -> Route {
    let action = call.action(flavor);
    let (id_name, prefix) = match (service, flavor) {
        (ITEM, Flavor::Rest) => ("library_item_id", "id:"),
        (ITEM, Flavor::Api) => ("library_item_id", ""),
        (_, Flavor::Rest) => ("library_id", "id:"),
        (_, Flavor::Api) => ("library_id", ""),
    };
    let find_body = match flavor {
        Flavor::Rest => None,
        Flavor::Api => Some("spec"),
    };
    match (call.method, action.as_deref(), rest.is_empty()) {
        (&Method::POST, Some("find"), true) => {
            invoke_with(call, flavor, (service, "find"), find_body, &[])
        }
        (&Method::GET, None, true) => {
            let library = [("library_id", call.param("library_id"))];
            let extra: &[_] = if service == ITEM { &library } else { &[] };
            invoke_with(call, flavor, (service, "list"), None, extra)
        }
        (&Method::GET, None, false) => match single_id(rest, prefix) {
            Some(id) => Route::Call(flavor, ops::parse(service, "get", &json!({ id_name: id }))),
            None => Route::NotFound,
        },
        _ => Route::NotFound,
    }
}
