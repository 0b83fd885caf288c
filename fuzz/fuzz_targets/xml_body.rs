//! The XML body parser: `Get-Input` (form C's XML body) and `Get-Result` (the XML
//! answer record mode decodes), on arbitrary bytes.
//!
//! Neither may panic. A `Get-Result` that parses renders back to XML that dsvcr and a
//! strict XML 1.0 parser both read as the same session (without `error_message.params`,
//! which XML does not carry); wherever that strict parser also accepts the input, dsvcr
//! reads what it reads; and a `Get-Input` id that parses is found again in a re-rendered
//! `Get-Input`.

#![no_main]

use dsvcr::vapi::render;
use dsvcr::vapi::wire::Encoding;
use dsvcr::vapi::xml;
use libfuzzer_sys::fuzz_target;

mod conforming;

fuzz_target!(|data: &[u8]| {
    if let Ok(id) = xml::parse_get_input(data) {
        let document = format!(
            "<ns0:Get-Input xmlns:ns0=\"x\"><download_session_id>{}</download_session_id></ns0:Get-Input>",
            escape(&id)
        );
        assert_eq!(xml::parse_get_input(document.as_bytes()).as_ref(), Ok(&id));
    }
    // Where a strict XML 1.0 parser also accepts the document, both read the same session.
    // (Only asked when dsvcr accepts it: the strict parser recurses without a depth bound
    // and checks duplicate attributes in quadratic time, which dsvcr does not.)
    if let Ok(ours) = xml::parse_get_result(data) {
        if let Ok(theirs) = conforming::session(data) {
            assert_eq!(ours, theirs, "dsvcr and a conforming parser disagree");
        }
    }
    if let Ok(mut session) = xml::parse_get_result(data) {
        if let Some(message) = &mut session.error_message {
            message.params = None;
        }
        let rendered = render::session(&session, Encoding::Xml);
        let back = xml::parse_get_result(&rendered).unwrap_or_else(|err| {
            panic!(
                "rendered XML does not parse back: {err}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(back, session, "{}", String::from_utf8_lossy(&rendered));
        let read = conforming::session(&rendered).unwrap_or_else(|err| {
            panic!(
                "a conforming parser refuses the XML: {err}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(read, session, "{}", String::from_utf8_lossy(&rendered));
    }
});

/// Character references for everything markup or line-end handling could change.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' | '>' | '&' | '\'' | '"' | '\r' => out.push_str(&format!("&#{};", c as u32)),
            _ => out.push(c),
        }
    }
    out
}
