//! Requests written as text, so that seeds are readable and the fuzzer mutates each part.

use bytes::Bytes;
use http::header::HeaderName;
use http::{HeaderValue, Method, Request, Uri};

/// Reads the input in HTTP/1.1's text shape: `METHOD TARGET` on the first line, then
/// `Name: value` header lines, a blank line, and the body as raw bytes. A target `http`
/// refuses is percent-encoded; inputs that still make no request give `None`.
pub(super) fn build(data: &[u8]) -> Option<Request<Bytes>> {
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
    // A file that ends its last header line with a newline has an empty line after it.
    for line in lines.filter(|line| !line.is_empty()) {
        let (name, value) = header(line)?;
        builder = builder.header(name, value);
    }
    builder.body(Bytes::copy_from_slice(body)).ok()
}

fn header(line: &[u8]) -> Option<(HeaderName, HeaderValue)> {
    let colon = line.iter().position(|b| *b == b':')?;
    let name = HeaderName::from_bytes(&line[..colon]).ok()?;
    let value = &line[colon + 1..];
    let value = value.strip_prefix(b" ").unwrap_or(value);
    Some((name, HeaderValue::from_bytes(value).ok()?))
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
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    if !out.starts_with('/') {
        out.insert(0, '/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_method_target_headers_and_body() {
        let request = build(b"POST /a?b=c\nAccept: text/xml\nX:y\n\n{\n\n}").unwrap();
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "/a?b=c");
        assert_eq!(request.headers()["accept"], "text/xml");
        assert_eq!(request.headers()["x"], "y");
        assert_eq!(request.body().as_ref(), b"{\n\n}");
    }

    #[test]
    fn encodes_a_target_http_refuses_and_skips_what_makes_no_request() {
        let request = build(b"GET a b\"c").unwrap();
        assert_eq!(request.uri(), "/a%20b%22c");
        assert!(build(b"G\xffT /").is_none());
        assert!(build(b"GET /\nno colon").is_none());
        assert_eq!(build(b"GET /x\n").unwrap().uri(), "/x");
    }
}
