//! Request recognition: any method, path, query, `Accept`, `Content-Type` and body.
//!
//! `dsvcr::vapi::recognise` must never panic, must be deterministic, must agree with
//! the two-step `route` + `complete` the server uses, and a recognised get must carry
//! an id that is safe as a file name.

#![no_main]

use bytes::Bytes;
use dsvcr::vapi::{recognise, Flavour, Form, Operation, SessionId};
use http::header::HeaderName;
use http::{HeaderValue, Method, Request, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(request) = build(data) else {
        return;
    };
    let first = recognise(&request);
    assert_eq!(first, recognise(&request), "recognition is deterministic");

    match first {
        Ok(Operation::DownloadSessionGet(get)) => {
            let id = get.id.as_str();
            assert_eq!(SessionId::parse(id).as_ref(), Ok(&get.id), "{id:?}");
            assert!(!id.is_empty() && id.len() <= 256, "{id:?}");
            assert!(!id.contains(['/', '\\']), "{id:?}");
            assert!(!id.contains(".."), "{id:?}");
            assert!(!id.chars().any(char::is_control), "{id:?}");
            assert!(!id.starts_with('.'), "{id:?}");
            let path_flavour = Flavour::of_path(request.uri().path());
            assert_eq!(get.style.flavour, path_flavour);
            assert_eq!(get.form == Form::Api, get.style.flavour == Flavour::Api);
            if matches!(get.form, Form::CollectionJsonBody | Form::CollectionXmlBody) {
                assert!(request.method() == Method::POST);
                assert!(request.body().iter().any(|b| !b.is_ascii_whitespace()));
            }
            if get.form == Form::CollectionQuery {
                assert!(request.body().iter().all(u8::is_ascii_whitespace));
            }
        }
        Ok(_) => {}
        Err(rejection) => {
            assert!(rejection.status.is_client_error(), "{rejection:?}");
            // Rejections are answered and logged: they must not echo a whole body back.
            assert!(
                rejection.message.len() <= 1024,
                "{} bytes: {:.200}",
                rejection.message.len(),
                rejection.message
            );
        }
    }
});

/// Reads the input as a request in HTTP/1.1's text shape: `METHOD TARGET` on the first
/// line, then `Name: value` header lines, a blank line, and the body as raw bytes.
/// Seeds are then readable and the fuzzer mutates each part. A target `http` refuses is
/// percent-encoded; inputs that still make no request are skipped.
fn build(data: &[u8]) -> Option<Request<Bytes>> {
    let (head, body) = match find(data, b"\n\n") {
        Some(at) => (&data[..at], &data[at + 2..]),
        None => (data, &[][..]),
    };
    let mut lines = head.split(|b| *b == b'\n');
    let request_line = std::str::from_utf8(lines.next()?).ok()?;
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let method = Method::from_bytes(method.as_bytes()).ok()?;
    let uri = Uri::try_from(target)
        .or_else(|_| Uri::try_from(encode(target)))
        .ok()?;
    let mut builder = Request::builder().method(method).uri(uri);
    for line in lines {
        let colon = line.iter().position(|b| *b == b':')?;
        let name = HeaderName::from_bytes(&line[..colon]).ok()?;
        let value = line[colon + 1..]
            .strip_prefix(b" ")
            .unwrap_or(&line[colon + 1..]);
        builder = builder.header(name, HeaderValue::from_bytes(value).ok()?);
    }
    builder.body(Bytes::copy_from_slice(body)).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// Percent-encodes every byte outside the characters a request target may hold.
fn encode(target: &str) -> String {
    let mut out = String::with_capacity(target.len() * 3);
    for byte in target.bytes() {
        let allowed = byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/?%".contains(&byte);
        if allowed {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}
