use super::*;

const REST: &str = "/rest/com/vmware/content/library/item/download-session";
const REFERENCE: &str = "/com/vmware/content/library/item/download-session";
const API: &str = "/api/content/library/item/download-session";
const XML_BODY: &str = include_str!("../../../tests/data/get-input.xml");

fn request(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Request<Bytes> {
    let mut builder = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(Bytes::from(body.to_owned())).unwrap()
}

fn get(method: &str, uri: &str, body: &str) -> GetRequest {
    get_with(method, uri, &[], body)
}

fn get_with(method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> GetRequest {
    match recognise(&request(method, uri, headers, body)) {
        Ok(Operation::DownloadSessionGet(get)) => get,
        other => panic!("{method} {uri} was not recognised as a get: {other:?}"),
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
fn other_methods_and_routes() {
    let not_allowed = |method: &str, uri: &str| recognise(&request(method, uri, &[], "")).unwrap();
    assert_eq!(
        not_allowed("DELETE", &format!("{REST}/id:obj-103")),
        Operation::MethodNotAllowed {
            allow: "GET, POST",
            flavour: Flavour::Rest
        }
    );
    assert_eq!(
        not_allowed("PUT", REST),
        Operation::MethodNotAllowed {
            allow: "POST",
            flavour: Flavour::Rest
        }
    );
    assert_eq!(
        not_allowed("PUT", API),
        Operation::MethodNotAllowed {
            allow: "GET, POST",
            flavour: Flavour::Api
        }
    );
    assert_eq!(
        not_allowed("POST", &format!("{API}/obj-103")),
        Operation::MethodNotAllowed {
            allow: "GET",
            flavour: Flavour::Api
        }
    );
    for (method, uri) in [
        ("POST", format!("{REST}/id:obj-103?~action=cancel")),
        ("POST", format!("{REST}/id:obj-103")),
        ("POST", REST.to_owned()),
        ("GET", REST.to_owned()),
        ("GET", API.to_owned()),
        ("GET", "/rest/com/vmware/content/library".to_owned()),
        ("GET", format!("{REST}/obj-103")),
        ("GET", "/rest/com/vmware/cis/session".to_owned()),
        ("GET", "/".to_owned()),
    ] {
        assert_eq!(
            recognise(&request(method, &uri, &[], "")).unwrap(),
            Operation::Other,
            "{method} {uri}"
        );
    }
}

#[test]
fn only_collection_gets_need_a_body() {
    let needs_body =
        |method: &str, uri: &str| match route(&method.parse().unwrap(), &uri.parse().unwrap())
            .unwrap()
        {
            Route::Get(get) => get.needs_body(),
            other => panic!("{other:?}"),
        };
    assert!(needs_body("POST", &format!("{REST}?~action=get")));
    assert!(!needs_body("GET", &format!("{REST}/id:x")));
    assert!(!needs_body("POST", &format!("{REST}/id:x?~action=get")));
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
