//! `soap`: the vim25 SOAP request reader on arbitrary bytes.
//!
//! It may not panic. Wherever the plain reader reads the input, quick-xml's reader reads
//! the same tree. A request it reads is also well-formed XML to a strict XML 1.0
//! parser, whose root is the SOAP envelope and whose `Body`'s first element is the
//! operation dsvcr found; its canonical key serialises and reads back equal, names a
//! safe tape file, and its session-scoped ids round-trip through the caller's key.

use roxmltree::Document;

use crate::exchange::{with_session_key, without_session_keys, SoapKey, TapeKey};
use crate::protocol::soap::{parse_request, plain_reads_alike, soap_key, SoapRequest};

/// What dsvcr read from the input.
// Read by the seed tests; the fuzz targets only need the checks.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Default)]
pub(super) struct Read<'a> {
    pub(super) request: Option<SoapRequest<'a>>,
}

pub(super) fn check(data: &[u8]) -> Read<'_> {
    assert!(
        plain_reads_alike(data),
        "the plain reader and quick-xml's read the document differently"
    );
    let request = parse_request(data).ok();
    if let Some(request) = &request {
        check_against_a_conforming_parser(data, request);
        check_key(request);
    }
    Read { request }
}

fn check_against_a_conforming_parser(data: &[u8], request: &SoapRequest<'_>) {
    let text = std::str::from_utf8(data).expect("dsvcr reads UTF-8 SOAP only");
    let document = Document::parse(text).expect("a strict parser accepts what dsvcr reads");
    let root = document.root_element();
    assert_eq!(root.tag_name().name(), "Envelope");
    let body = root
        .children()
        .find(|child| child.is_element() && child.tag_name().name() == "Body")
        .expect("a Body");
    let operation = body
        .children()
        .find(roxmltree::Node::is_element)
        .expect("an operation");
    assert_eq!(operation.tag_name().name(), request.operation);
}

fn check_key(request: &SoapRequest<'_>) {
    let key = soap_key(request);
    let text = serde_json::to_string(&key).expect("keys serialise");
    let back: SoapKey = serde_json::from_str(&text).expect("keys read back");
    assert_eq!(back, key);
    let tape = TapeKey::of_soap(&http::Method::POST, &"/sdk".parse().unwrap(), key.clone());
    let name = tape.file_name();
    assert!(name.len() <= 100, "{name}");
    assert!(
        name.bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.".contains(&byte)),
        "{name}"
    );
    assert!(!name.starts_with('.'), "{name}");
    let emptied = without_session_keys(&key.this);
    assert_eq!(emptied, key.this, "keys hold no session key");
    let filled = with_session_key(&emptied, "52b1e7a0-9df7");
    assert_eq!(without_session_keys(&filled), emptied);
}
