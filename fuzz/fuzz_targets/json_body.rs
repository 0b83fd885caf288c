//! The JSON body parsers: form C's JSON body (through `recognise`, with a fixed
//! collection path and `~action=get`) and `decode::session` / `decode::error` (the
//! answers record mode decodes), on arbitrary bytes.
//!
//! None may panic. A decoded session re-renders as `/rest` and `/api` JSON that decodes
//! to the same session; a decoded error likewise.

#![no_main]

use bytes::Bytes;
use dsvcr::vapi::wire::Encoding;
use dsvcr::vapi::{decode, recognise, render, Form, Operation, SessionId};
use http::header::CONTENT_TYPE;
use http::{Method, Request};
use libfuzzer_sys::fuzz_target;

const COLLECTION: &str = "/rest/com/vmware/content/library/item/download-session?~action=get";

fuzz_target!(|data: &[u8]| {
    let request = Request::builder()
        .method(Method::POST)
        .uri(COLLECTION)
        .header(CONTENT_TYPE, "application/json")
        .body(Bytes::copy_from_slice(data))
        .expect("a valid request");
    match recognise(&request) {
        Ok(Operation::DownloadSessionGet(get)) => {
            assert!(matches!(
                get.form,
                Form::CollectionJsonBody | Form::CollectionXmlBody
            ));
            assert_eq!(SessionId::parse(get.id.as_str()).as_ref(), Ok(&get.id));
        }
        Ok(other) => panic!("a collection POST with ~action=get became {other:?}"),
        Err(rejection) => assert!(rejection.status.is_client_error()),
    }

    if let Ok(session) = decode::session(data) {
        for encoding in [Encoding::WrappedJson, Encoding::BareJson] {
            let rendered = render::session(&session, encoding);
            let back = decode::session(&rendered).unwrap_or_else(|err| {
                panic!(
                    "{encoding:?} does not decode: {err}\n{}",
                    String::from_utf8_lossy(&rendered)
                )
            });
            assert_eq!(back, session, "{encoding:?}");
        }
    }
    if let Ok(error) = decode::error(data) {
        for encoding in [Encoding::WrappedJson, Encoding::BareJson] {
            let rendered = render::error(&error, encoding);
            let back = decode::error(&rendered).unwrap_or_else(|err| {
                panic!(
                    "{encoding:?} does not decode: {err}\n{}",
                    String::from_utf8_lossy(&rendered)
                )
            });
            assert_eq!(back, error, "{encoding:?}");
        }
    }
});
