//! `xml_body`: the XML body parser, `Get-Input` (form C's XML body) and `Get-Result`
//! (the XML answer record mode decodes), on arbitrary bytes.
//!
//! Neither may panic. A `Get-Result` that parses renders back to XML that dsvcr and a
//! strict XML 1.0 parser both read as the same session (without `error_message.params`,
//! which XML does not carry); wherever that strict parser also accepts the input, dsvcr
//! reads what it reads; and a `Get-Input` id that parses is found again in a re-rendered
//! `Get-Input`.

use super::conforming;
use crate::protocol::rest::{render, xml};
use crate::vapi::wire::Encoding;
use crate::vapi::DownloadSession;

/// What dsvcr read from the input.
// Read by the seed tests; the fuzz targets only need the checks.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Default)]
pub(super) struct Read {
    pub(super) get_input: Option<String>,
    pub(super) get_result: Option<DownloadSession>,
}

pub(super) fn check(data: &[u8]) -> Read {
    let get_input = xml::parse_get_input(data).ok();
    if let Some(id) = &get_input {
        check_get_input(id);
    }
    let get_result = xml::parse_get_result(data).ok();
    if let Some(session) = &get_result {
        // Asked only when dsvcr accepts the input: the strict parser recurses without a
        // depth bound and checks duplicate attributes in quadratic time.
        if let Ok(theirs) = conforming::session(data) {
            assert_eq!(session, &theirs, "dsvcr and a conforming parser disagree");
        }
        check_rendered(session.clone());
    }
    Read {
        get_input,
        get_result,
    }
}

fn check_get_input(id: &str) {
    let document = format!(
        "<ns0:Get-Input xmlns:ns0=\"x\"><download_session_id>{}</download_session_id></ns0:Get-Input>",
        escape(id)
    );
    assert_eq!(xml::parse_get_input(document.as_bytes()).as_deref(), Ok(id));
}

fn check_rendered(mut session: DownloadSession) {
    if let Some(message) = &mut session.error_message {
        message.params = None;
    }
    let rendered = render::session(&session, Encoding::Xml);
    let shown = String::from_utf8_lossy(&rendered);
    let back = xml::parse_get_result(&rendered)
        .unwrap_or_else(|err| panic!("rendered XML does not parse back: {err}\n{shown}"));
    assert_eq!(back, session, "{shown}");
    let read = conforming::session(&rendered)
        .unwrap_or_else(|err| panic!("a conforming parser refuses the XML: {err}\n{shown}"));
    assert_eq!(read, session, "{shown}");
}

/// Character references for everything markup or line-end handling could change.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '<' | '>' | '&' | '\'' | '"' | '\r' => out.push_str(&format!("&#{};", u32::from(c))),
            _ => out.push(c),
        }
    }
    out
}
