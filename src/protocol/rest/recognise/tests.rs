use super::*;
use crate::vapi::model::ErrorKind;
use crate::vapi::rejection::MAX_MESSAGE_BYTES;
use bytes::Bytes;
use http::Request;
use http::StatusCode;

const REST: &str = "/rest/com/vmware/content/library/item/download-session";
const REFERENCE: &str = "/com/vmware/content/library/item/download-session";
const API: &str = "/api/content/library/item/download-session";
const XML_BODY: &str = include_str!("../../../../tests/data/get-input.xml");

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Bytes> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::from(body.to_owned())).unwrap()
}

/// A recognised get: its id, form and style.
#[derive(Debug, PartialEq, Eq)]
struct GetRequest {
    id: SessionId,
    form: Form,
    style: Style,
}

fn get(method: &str, uri: &str, body: &str) -> GetRequest {
    get_with(method, uri, &[], body)
}

fn call_with(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Call {
    match recognise(&request(method, uri, headers, body)) {
        Ok(Operation::Call(call)) => call,
        other => panic!("{method} {uri} was not recognised as a call: {other:?}"),
    }
}

fn get_with(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> GetRequest {
    let call = call_with(method, uri, headers, body);
    assert_eq!(call.op, Op::Get, "{method} {uri}");
    let CallKey::Session(id) = call.key else {
        panic!("a get is keyed by its session: {call:?}")
    };
    GetRequest {
        id,
        form: call.form.expect("gets have a form"),
        style: call.style,
    }
}

fn rejection(method: &str, uri: &str, body: &str) -> Rejection {
    match recognise(&request(method, uri, &[], body)) {
        Err(rejection) => rejection,
        other => panic!("{method} {uri} was not rejected: {other:?}"),
    }
}

fn style(flavour: Flavour, representation: Representation) -> Style {
    Style {
        flavour,
        representation,
    }
}

fn expect(id: &str, form: Form, flavour: Flavour, representation: Representation) -> GetRequest {
    GetRequest {
        id: SessionId::parse(id).unwrap(),
        form,
        style: style(flavour, representation),
    }
}

#[test]
fn every_form_in_every_flavour() {
    use Representation::{Json, Xml};
    for (prefix, flavour) in [(REST, Flavour::Rest), (REFERENCE, Flavour::Reference)] {
        let cases = [
            (
                "GET",
                format!("{prefix}/id:obj-103"),
                "",
                Form::GetById,
                Json,
            ),
            (
                "POST",
                format!("{prefix}/id:obj-103?~action=get"),
                "",
                Form::PostById,
                Json,
            ),
            (
                "POST",
                format!("{prefix}?~action=get"),
                r#"{"download_session_id":"obj-103"}"#,
                Form::CollectionJsonBody,
                Json,
            ),
            (
                "POST",
                format!("{prefix}?~action=get"),
                XML_BODY,
                Form::CollectionXmlBody,
                Xml,
            ),
            (
                "POST",
                format!("{prefix}?~action=get&download_session_id=obj-103"),
                "",
                Form::CollectionQuery,
                Json,
            ),
        ];
        for (method, uri, body, form, representation) in cases {
            assert_eq!(
                get(method, &uri, body),
                expect("obj-103", form, flavour, representation),
                "{method} {uri}"
            );
        }
    }
    assert_eq!(
        get("GET", &format!("{API}/obj-103"), ""),
        expect("obj-103", Form::Api, Flavour::Api, Json)
    );
}

#[test]
fn spelling_variants_are_seen_through() {
    let expected = |form| expect("obj-103", form, Flavour::Rest, Representation::Json);
    let cases = [
        ("GET", format!("{REST}/id%3Aobj-103"), "", Form::GetById),
        ("GET", format!("{REST}/id%3aobj-103"), "", Form::GetById),
        ("GET", format!("{REST}/id:obj-103/"), "", Form::GetById),
        (
            "GET",
            format!("{REST}/id:obj-103?foo=bar"),
            "",
            Form::GetById,
        ),
        (
            "POST",
            format!("{REST}/id:obj-103?%7Eaction=get"),
            "",
            Form::PostById,
        ),
        (
            "POST",
            format!("{REST}/id:obj-103/?x=1&~action=get&y=2"),
            "",
            Form::PostById,
        ),
        (
            "POST",
            format!("{REST}?download_session_id=obj-103&~action=get"),
            "",
            Form::CollectionQuery,
        ),
        (
            "POST",
            format!("{REST}/?%7Eaction=get&vmw-extra=1&download_session_id=obj%2D103"),
            "",
            Form::CollectionQuery,
        ),
        (
            "POST",
            format!("{REST}?~action=get"),
            "{\n  \"other\": [1, 2],\n  \"download_session_id\" :\t\"obj-103\"\n}\n",
            Form::CollectionJsonBody,
        ),
        (
            "POST",
            format!("{REST}?~action=get&download_session_id=obj-103"),
            r#"{"download_session_id":"obj-103"}"#,
            Form::CollectionJsonBody,
        ),
    ];
    for (method, uri, body, form) in cases {
        assert_eq!(get(method, &uri, body), expected(form), "{method} {uri}");
    }
    let other_prefix = XML_BODY.replace("ns0", "vmw");
    assert_eq!(
        get("POST", &format!("{REST}?~action=get"), &other_prefix),
        expect(
            "obj-103",
            Form::CollectionXmlBody,
            Flavour::Rest,
            Representation::Xml
        )
    );
}

#[test]
fn accept_decides_the_representation() {
    let uri = format!("{REST}/id:obj-103");
    let representation = |accept: &str| {
        get_with("GET", &uri, &[("accept", accept)], "")
            .style
            .representation
    };
    assert_eq!(representation("application/xml"), Representation::Xml);
    assert_eq!(representation("text/xml"), Representation::Xml);
    assert_eq!(representation("application/json"), Representation::Json);
    assert_eq!(representation("*/*"), Representation::Json);
    assert_eq!(
        representation("application/json;q=0.5, application/xml"),
        Representation::Xml
    );
    assert_eq!(
        representation("application/json, application/xml"),
        Representation::Json
    );
    let xml_body_json_accept = get_with(
        "POST",
        &format!("{REST}?~action=get"),
        &[("accept", "application/json")],
        XML_BODY,
    );
    assert_eq!(
        xml_body_json_accept.style.representation,
        Representation::Json
    );
}

#[test]
fn bad_ids_are_rejected_before_any_path_is_built() {
    for uri in [
        format!("{REST}/id:a%2Fb"),
        format!("{REST}/id:a/b"),
        format!("{REST}/id:.."),
        format!("{REST}/id:a%00b"),
        format!("{REST}/id:a%0Ab"),
        format!("{REST}/id:{}", "x".repeat(257)),
        format!("{API}/..%2F..%2Fetc"),
        format!("{API}/a%FFb"),
    ] {
        let rejected = rejection("GET", &uri, "");
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST, "{uri}");
        assert_eq!(rejected.message_id, "dsvcr.request.invalid_id", "{uri}");
    }
    let in_body = rejection(
        "POST",
        &format!("{REST}?~action=get"),
        r#"{"download_session_id":"../../etc/passwd"}"#,
    );
    assert_eq!(
        in_body.message,
        "download_session_id \"../../etc/passwd\" contains a path separator"
    );
}

#[test]
fn malformed_collection_requests_are_named() {
    let uri = format!("{REST}?~action=get");
    let cases = [
        ("", "dsvcr.request.missing_id"),
        ("   ", "dsvcr.request.missing_id"),
        ("{\"download_session_id\":", "dsvcr.request.malformed_json"),
        (
            "{\"download_session_id\":7}",
            "dsvcr.request.malformed_json",
        ),
        ("{}", "dsvcr.request.malformed_json"),
        ("[\"obj-103\"]", "dsvcr.request.malformed_json"),
        (
            "<Get-Input><download_session_id>x</Get-Input>",
            "dsvcr.request.malformed_xml",
        ),
        ("<Get-Input/>", "dsvcr.request.malformed_xml"),
    ];
    for (body, message_id) in cases {
        let rejected = rejection("POST", &uri, body);
        assert_eq!(rejected.message_id, message_id, "{body:?}");
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
        assert_eq!(rejected.kind, ErrorKind::InvalidArgument);
    }
    let conflicting = rejection(
        "POST",
        &format!("{uri}&download_session_id=obj-2"),
        r#"{"download_session_id":"obj-1"}"#,
    );
    assert_eq!(
        conflicting.message,
        "the body asks for download_session_id \"obj-1\" but the query asks for \"obj-2\""
    );
    let malformed_xml = rejection("POST", &uri, "<Get-Input>");
    assert_eq!(malformed_xml.style.representation, Representation::Xml);
}

#[test]
fn every_wrong_method_on_every_download_session_path_gets_405_listing_the_right_ones() {
    let not_allowed =
        |method: &str, uri: &str| match route(&method.parse().unwrap(), &uri.parse().unwrap())
            .unwrap()
        {
            Route::MethodNotAllowed { allow, flavour } => {
                Operation::MethodNotAllowed { allow, flavour }
            }
            _ => Operation::Other,
        };
    let rest_file = "/rest/com/vmware/content/library/item/downloadsession/file";
    let paths = [
        (REST.to_owned(), "GET, POST", Flavour::Rest),
        (
            format!("{REST}/id:obj-103"),
            "GET, POST, DELETE",
            Flavour::Rest,
        ),
        (
            format!("{REFERENCE}/id:obj-103"),
            "GET, POST, DELETE",
            Flavour::Reference,
        ),
        (rest_file.to_owned(), "GET", Flavour::Rest),
        (format!("{rest_file}/id:obj-103"), "POST", Flavour::Rest),
        (API.to_owned(), "GET, POST", Flavour::Api),
        (format!("{API}/obj-103"), "GET, POST, DELETE", Flavour::Api),
        (format!("{API}/obj-103/file"), "GET, POST", Flavour::Api),
    ];
    for (uri, allow, flavour) in paths {
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            let allowed = allow.split(", ").any(|allowed| allowed == method);
            let answer = not_allowed(method, &uri);
            if allowed {
                assert!(
                    !matches!(answer, Operation::MethodNotAllowed { .. }),
                    "{method} {uri}: {answer:?}"
                );
            } else {
                assert_eq!(
                    answer,
                    Operation::MethodNotAllowed { allow, flavour },
                    "{method} {uri}"
                );
            }
        }
    }
}

/// The library API has operations the catalog leaves out (item delete, library update,
/// copy…): on library and item paths they are other routes (the tape's, or unrecorded),
/// never a 405 vCenter would not give.
#[test]
fn library_and_item_operations_outside_the_catalog_are_other_routes() {
    for (method, uri) in [
        ("DELETE", "/api/content/library/item/abc"),
        ("PATCH", "/api/content/library/abc"),
        ("POST", "/api/content/library/item/abc?action=copy"),
        ("DELETE", "/rest/com/vmware/content/library/item/id:abc"),
        ("PUT", "/rest/com/vmware/content/library/id:abc"),
        ("DELETE", "/com/vmware/content/library/item/id:abc"),
    ] {
        let route = route(&method.parse().unwrap(), &uri.parse().unwrap()).unwrap();
        assert_eq!(route, Route::Other, "{method} {uri}");
    }
}

#[test]
fn other_routes() {
    for (method, uri) in [
        ("POST", format!("{REST}/id:obj-103?~action=explode")),
        ("POST", format!("{REST}/id:obj-103")),
        ("POST", format!("{REST}?~action=find")),
        ("GET", "/rest/com/vmware/content/libraries".to_owned()),
        ("GET", "/rest/com/vmware/content/library/L-1".to_owned()),
        (
            "GET",
            "/rest/com/vmware/content/library/id:L-1/extra".to_owned(),
        ),
        (
            "POST",
            "/rest/com/vmware/content/library?~action=create".to_owned(),
        ),
        ("GET", format!("{REST}/obj-103")),
        ("GET", "/rest/com/vmware/cis/session".to_owned()),
        ("GET", "/".to_owned()),
        ("POST", format!("{API}/obj-103/file?action=get")),
    ] {
        assert_eq!(
            recognise(&request(method, &uri, &[], "")).unwrap(),
            Operation::Other,
            "{method} {uri}"
        );
    }
}

/// One request per operation, flavour and spelling variant, and the call each must be.
#[test]
fn every_operation_in_every_flavour_and_variant() {
    let rest_file = "/rest/com/vmware/content/library/item/downloadsession/file";
    let reference_file = "/com/vmware/content/library/item/downloadsession/file";
    let id = || SessionId::parse("obj-103").unwrap();
    let session = || CallKey::Session(id());
    let file = || CallKey::File(id(), "disk.iso".to_owned());
    let create = |token: Option<&str>| CallKey::Create {
        item: "item-1".to_owned(),
        token: token.map(str::to_owned),
    };
    type Case<'a> = (
        &'a str,
        String,
        Vec<(&'a str, &'a str)>,
        String,
        Op,
        CallKey,
    );
    let mut cases: Vec<Case> = Vec::new();
    for (prefix, files) in [(REST, rest_file), (REFERENCE, reference_file)] {
        let item = |suffix: &str| format!("{prefix}/id:obj-103{suffix}");
        let spelled = |suffix: &str| format!("{prefix}/id%3Aobj-103/{suffix}");
        cases.extend([
            ("POST", prefix.to_owned(), vec![], r#"{"create_spec":{"library_item_id":"item-1"}}"#.to_owned(), Op::Create, create(None)),
            ("POST", format!("{prefix}/?x=1"), vec![], "{ \"client_token\" : \"t-1\",\n \"create_spec\": {\"library_item_id\":\"item-1\"} }".to_owned(), Op::Create, create(Some("t-1"))),
            ("GET", prefix.to_owned(), vec![], String::new(), Op::List, CallKey::Items(None)),
            ("GET", format!("{prefix}?library_item_id=item-1"), vec![], String::new(), Op::List, CallKey::Items(Some("item-1".to_owned()))),
            ("POST", item("?~action=keep-alive"), vec![], r#"{"progress":50}"#.to_owned(), Op::KeepAlive, session()),
            ("POST", spelled("?%7Eaction=keep-alive&x=1"), vec![], String::new(), Op::KeepAlive, session()),
            ("POST", item("?~action=cancel"), vec![], String::new(), Op::Cancel, session()),
            ("DELETE", item(""), vec![], String::new(), Op::Delete, session()),
            ("DELETE", spelled(""), vec![], String::new(), Op::Delete, session()),
            ("POST", item("?~action=fail"), vec![], r#"{"client_error_message":"broke"}"#.to_owned(), Op::Fail, session()),
            ("POST", item("?~action=fail"), vec![], String::new(), Op::Fail, session()),
            ("GET", format!("{files}?download_session_id=obj-103"), vec![], String::new(), Op::FileList, session()),
            ("GET", format!("{files}/?x=2&download_session_id=obj%2D103"), vec![], String::new(), Op::FileList, session()),
            ("POST", format!("{files}/id:obj-103?~action=get"), vec![], r#"{"file_name":"disk.iso"}"#.to_owned(), Op::FileGet, file()),
            ("POST", format!("{files}/id%3Aobj-103/?%7Eaction=get"), vec![], "{\n\"file_name\" : \"disk.iso\", \"x\": 1}".to_owned(), Op::FileGet, file()),
            ("POST", format!("{files}/id:obj-103?~action=prepare"), vec![], r#"{"endpoint_type":"HTTPS","file_name":"disk.iso"}"#.to_owned(), Op::FilePrepare, file()),
        ]);
    }
    cases.extend([
        (
            "POST",
            API.to_owned(),
            vec![],
            r#"{"library_item_id":"item-1"}"#.to_owned(),
            Op::Create,
            create(None),
        ),
        (
            "POST",
            format!("{API}?client_token=t-1"),
            vec![],
            r#"{"library_item_id":"item-1"}"#.to_owned(),
            Op::Create,
            create(Some("t-1")),
        ),
        (
            "POST",
            API.to_owned(),
            vec![("client-token", "t-1")],
            r#"{"library_item_id":"item-1"}"#.to_owned(),
            Op::Create,
            create(Some("t-1")),
        ),
        (
            "GET",
            format!("{API}/"),
            vec![],
            String::new(),
            Op::List,
            CallKey::Items(None),
        ),
        (
            "GET",
            format!("{API}?library_item_id=item-1"),
            vec![],
            String::new(),
            Op::List,
            CallKey::Items(Some("item-1".to_owned())),
        ),
        (
            "POST",
            format!("{API}/obj-103?action=keep-alive"),
            vec![],
            String::new(),
            Op::KeepAlive,
            session(),
        ),
        (
            "POST",
            format!("{API}/obj-103?action=cancel"),
            vec![],
            String::new(),
            Op::Cancel,
            session(),
        ),
        (
            "DELETE",
            format!("{API}/obj-103/"),
            vec![],
            String::new(),
            Op::Delete,
            session(),
        ),
        (
            "POST",
            format!("{API}/obj-103?action=fail"),
            vec![],
            r#"{"client_error_message":"x"}"#.to_owned(),
            Op::Fail,
            session(),
        ),
        (
            "GET",
            format!("{API}/obj-103/file"),
            vec![],
            String::new(),
            Op::FileList,
            session(),
        ),
        (
            "GET",
            format!("{API}/obj%2D103/file/"),
            vec![],
            String::new(),
            Op::FileList,
            session(),
        ),
        (
            "GET",
            format!("{API}/obj-103/file?file_name=disk.iso"),
            vec![],
            String::new(),
            Op::FileGet,
            file(),
        ),
        (
            "GET",
            format!("{API}/obj-103/file?x=1&file_name=disk%2Eiso"),
            vec![],
            String::new(),
            Op::FileGet,
            file(),
        ),
        (
            "POST",
            format!("{API}/obj-103/file?action=prepare"),
            vec![],
            r#"{"file_name":"disk.iso"}"#.to_owned(),
            Op::FilePrepare,
            file(),
        ),
    ]);
    for (method, uri, headers, body, op, key) in cases {
        let call = call_with(method, &uri, &headers, &body);
        assert_eq!((call.op, &call.key), (op, &key), "{method} {uri} {body}");
        assert_eq!(
            call.style.representation,
            Representation::Json,
            "{method} {uri}"
        );
        assert_eq!(call.form, None, "only gets have a form: {method} {uri}");
    }
}

/// The content-library lookups, keyed by their inputs in canonical JSON.
#[test]
fn every_lookup_in_every_flavour_and_variant() {
    let rest = "/rest/com/vmware/content/library";
    let reference = "/com/vmware/content/library";
    let api = "/api/content/library";
    let spec = r#"{"spec":{"name":"harness-lib"}}"#;
    let item_spec = r#"{"spec":{"library_id":"L-1","name":"harness-item"}}"#;
    let mut cases: Vec<(&str, String, String, Op, &str)> = Vec::new();
    for prefix in [rest, reference] {
        cases.extend([
            (
                "GET",
                prefix.to_owned(),
                String::new(),
                Op::LibraryList,
                "{}",
            ),
            (
                "GET",
                format!("{prefix}/"),
                String::new(),
                Op::LibraryList,
                "{}",
            ),
            (
                "GET",
                format!("{prefix}/id:L-1"),
                String::new(),
                Op::LibraryGet,
                r#"{"library_id":"L-1"}"#,
            ),
            (
                "GET",
                format!("{prefix}/id%3AL-1/?x=1"),
                String::new(),
                Op::LibraryGet,
                r#"{"library_id":"L-1"}"#,
            ),
            (
                "POST",
                format!("{prefix}?~action=find"),
                r#"{"spec":{"name":"harness-lib"}}"#.to_owned(),
                Op::LibraryFind,
                spec,
            ),
            (
                "POST",
                format!("{prefix}?%7Eaction=find&x=1"),
                "{\n  \"spec\" : { \"name\": \"harness-lib\" }\n}".to_owned(),
                Op::LibraryFind,
                spec,
            ),
            (
                "GET",
                format!("{prefix}/item?library_id=L-1"),
                String::new(),
                Op::ItemList,
                r#"{"library_id":"L-1"}"#,
            ),
            (
                "GET",
                format!("{prefix}/item/id:I-1"),
                String::new(),
                Op::ItemGet,
                r#"{"library_item_id":"I-1"}"#,
            ),
            (
                "POST",
                format!("{prefix}/item?~action=find"),
                r#"{"spec":{"name":"harness-item","library_id":"L-1"}}"#.to_owned(),
                Op::ItemFind,
                item_spec,
            ),
        ]);
    }
    cases.extend([
        ("GET", api.to_owned(), String::new(), Op::LibraryList, "{}"),
        (
            "GET",
            format!("{api}/L-1"),
            String::new(),
            Op::LibraryGet,
            r#"{"library_id":"L-1"}"#,
        ),
        (
            "POST",
            format!("{api}?action=find"),
            r#"{"name":"harness-lib"}"#.to_owned(),
            Op::LibraryFind,
            spec,
        ),
        (
            "GET",
            format!("{api}/item?x=2&library_id=L-1"),
            String::new(),
            Op::ItemList,
            r#"{"library_id":"L-1"}"#,
        ),
        (
            "GET",
            format!("{api}/item/I-1/"),
            String::new(),
            Op::ItemGet,
            r#"{"library_item_id":"I-1"}"#,
        ),
        (
            "POST",
            format!("{api}/item?action=find"),
            r#"{ "name": "harness-item", "library_id": "L-1" }"#.to_owned(),
            Op::ItemFind,
            item_spec,
        ),
    ]);
    for (method, uri, body, op, key) in cases {
        let call = call_with(method, &uri, &[], &body);
        assert_eq!(
            (call.op, call.key),
            (op, CallKey::Lookup(key.to_owned())),
            "{method} {uri} {body}"
        );
    }
    let missing = rejection("POST", &format!("{rest}?~action=find"), "{}");
    assert_eq!(missing.message, "no spec in the JSON body");
}

#[test]
fn missing_or_malformed_inputs_are_named() {
    let rest_file = "/rest/com/vmware/content/library/item/downloadsession/file";
    let cases = [
        (
            "POST",
            REST.to_owned(),
            "{}",
            "no library_item_id in the JSON body",
        ),
        (
            "POST",
            REST.to_owned(),
            r#"{"create_spec":"x"}"#,
            "create_spec in the JSON body must be an object",
        ),
        (
            "POST",
            REST.to_owned(),
            r#"{"create_spec":{"library_item_id":7}}"#,
            "create_spec.library_item_id in the JSON body must be a string, not 7",
        ),
        (
            "POST",
            API.to_owned(),
            "[1]",
            "the JSON body must be an object",
        ),
        (
            "POST",
            API.to_owned(),
            "<x/>",
            "this operation takes a JSON body; XML is published for download_session.get only",
        ),
        (
            "POST",
            format!("{rest_file}/id:obj-1?~action=get"),
            "",
            "no file_name in the JSON body",
        ),
        (
            "POST",
            format!("{rest_file}/id:obj-1?~action=get"),
            r#"{"file_name":""}"#,
            "file_name is empty",
        ),
        (
            "GET",
            rest_file.to_owned(),
            "",
            "no download_session_id in the query",
        ),
        (
            "GET",
            format!("{rest_file}?download_session_id=a/b"),
            "",
            "download_session_id \"a/b\" contains a path separator",
        ),
        (
            "GET",
            format!("{API}/obj-1/file?file_name=a&file_name=b"),
            "",
            "the query gives file_name more than once, with different values",
        ),
    ];
    for (method, uri, body, message) in cases {
        let rejected = rejection(method, &uri, body);
        assert_eq!(rejected.message, message, "{method} {uri} {body}");
        assert_eq!(rejected.status, StatusCode::BAD_REQUEST);
    }
}

#[test]
fn only_collection_gets_need_a_body() {
    let needs_body =
        |method: &str, uri: &str| match route(&method.parse().unwrap(), &uri.parse().unwrap())
            .unwrap()
        {
            Route::Call(pending) => pending.needs_body(),
            other => panic!("{other:?}"),
        };
    assert!(needs_body("POST", &format!("{REST}?~action=get")));
    assert!(!needs_body("GET", &format!("{REST}/id:x")));
    assert!(!needs_body("POST", &format!("{REST}/id:x?~action=get")));
    assert!(!needs_body("DELETE", &format!("{API}/x")));
    assert!(needs_body("POST", &format!("{API}/x/file?action=prepare")));
}

#[test]
fn session_operations_in_both_flavours() {
    let cases = [
        (
            "POST",
            "/rest/com/vmware/cis/session",
            SessionOp::Login,
            Flavour::Rest,
        ),
        (
            "POST",
            "/rest/com/vmware/cis/session?~action=get",
            SessionOp::Info,
            Flavour::Rest,
        ),
        (
            "DELETE",
            "/rest/com/vmware/cis/session",
            SessionOp::Logout,
            Flavour::Rest,
        ),
        ("POST", "/api/session", SessionOp::Login, Flavour::Api),
        ("GET", "/api/session/", SessionOp::Info, Flavour::Api),
        ("DELETE", "/api/session", SessionOp::Logout, Flavour::Api),
    ];
    for (method, uri, op, flavour) in cases {
        assert_eq!(
            recognise(&request(method, uri, &[], "")).unwrap(),
            Operation::Session { op, flavour },
            "{method} {uri}"
        );
    }
}

/// Found by fuzzing (`recognise`): a rejection quoted the request in full, e.g. an XML
/// root element name of any length, so a large body made a large answer and log line.
#[test]
fn rejection_messages_quote_only_the_start_of_the_request() {
    let long_root = format!("<{0}>x</{0}>", "é".repeat(40_000));
    let uri = format!("{REST}?~action=get");
    let message = rejection("POST", &uri, &long_root).message;
    assert!(
        message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8(),
        "{}",
        message.len()
    );
    assert!(message.starts_with("XML root element is <éé"), "{message}");
    assert!(message.ends_with('…'), "{message}");

    let huge_value = format!("{{\"download_session_id\":[{}1]}}", "1,".repeat(100_000));
    let message = rejection("POST", &uri, &huge_value).message;
    assert!(
        message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8(),
        "{}",
        message.len()
    );

    let short = rejection("POST", &uri, "<Other/>").message;
    assert_eq!(short, "XML root element is <Other>, expected <Get-Input>");
}

#[test]
fn the_literal_prefixes_spell_the_segments_they_stand_for() {
    assert_eq!(REST_PREFIX.join("/"), REST_LITERAL);
    assert_eq!(REFERENCE_PREFIX.join("/"), REFERENCE_LITERAL);
    assert_eq!(API_PREFIX.join("/"), API_LITERAL);
    assert_eq!([ITEMS, SESSIONS].join("/"), ITEMS_SESSIONS);
}

#[test]
fn a_percent_encoded_prefix_is_recognised_like_a_literal_one() {
    let id = |path: &'static str| resource_of(path).map(|(flavour, r)| (flavour, r.shape, r.id));
    let literal = id("/rest/com/vmware/content/library/item/download-session/id:obj-1");
    assert_eq!(
        literal,
        Some((Flavour::Rest, Shape::Session, Some(Cow::Borrowed("obj-1"))))
    );
    assert_eq!(
        id("/rest/com/vm%77are/content/library/item/download%2Dsession/id:obj-1"),
        literal
    );
    assert_eq!(
        id("/rest/com/vmware/content/library/item/download-session/id%3Aobj%2D1"),
        literal
    );
    assert_eq!(
        id("/rest/com/vmware/content/libraryx/item/download-session/id:obj-1"),
        None
    );
    assert_eq!(
        id("/rest/com/vmware/content/library/item/download-sessions/id:obj-1"),
        None
    );
}
