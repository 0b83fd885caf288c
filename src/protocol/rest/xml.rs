//! Reading the API's XML representation safely.
//!
//! vAPI XML maps onto JSON by a few conventions (seen on the reference page): an element
//! with child elements is an object, a leaf element is a string, and a list field `x`
//! is written `<x-array><array-item>…</array-item>…</x-array>`. Namespace prefixes are
//! ignored. A DOCTYPE is refused outright (so no entity can be declared or expanded),
//! nesting is bounded, and the caller bounds the size. As XML 1.0 requires, line ends
//! (`\r\n`, `\r`) are read as `\n`, and text holding a character XML cannot carry (a
//! control character other than tab, line feed and carriage return, U+FFFE, U+FFFF),
//! literally or by reference, is refused: dsvcr reads a document as any conforming
//! parser does, and whatever it reads can be written back as XML unchanged.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde_json::{Map, Value};

use crate::vapi::model::DownloadSession;

/// Deepest element nesting accepted; the API's documents need 6.
pub(crate) const MAX_DEPTH: usize = 32;

const ARRAY_SUFFIX: &str = "-array";
const ARRAY_ITEM: &str = "array-item";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum XmlError {
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("XML document type declarations are not accepted")]
    DocType,
    #[error("XML nesting deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("XML root element is <{found}>, expected <{expected}>")]
    WrongRoot { expected: String, found: String },
    #[error("XML document has no root element")]
    NoRoot,
    #[error("XML element <{0}> mixes text with child elements")]
    MixedContent(String),
    #[error("XML element <{0}> appears twice")]
    Duplicate(String),
    #[error("XML element <{0}> may only hold <array-item> elements")]
    NotAnArrayItem(String),
    #[error("XML element <array-item> outside an <…-array> element")]
    StrayArrayItem,
    #[error("XML content after the root element")]
    TrailingContent,
    #[error("XML document does not describe the expected value: {0}")]
    Shape(String),
    #[error("XML text holds {0:?}, a character XML 1.0 does not allow")]
    IllegalCharacter(char),
}

/// XML 1.0's `Char`: the characters a document may hold, literally or by reference.
pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Reads the `download_session_id` of a `Get-Input` document (form C's XML body).
pub(crate) fn parse_get_input(xml: &[u8]) -> Result<String, XmlError> {
    let mut fields = parse_document(xml, "Get-Input")?;
    match fields.remove("download_session_id") {
        Some(Value::String(id)) => Ok(id),
        Some(_) => Err(XmlError::Shape(
            "<download_session_id> must hold text".to_owned(),
        )),
        None => Err(XmlError::Shape(
            "<Get-Input> has no <download_session_id>".to_owned(),
        )),
    }
}

/// Reads the session of a `Get-Result` document (the operation's XML answer).
pub(crate) fn parse_get_result(xml: &[u8]) -> Result<DownloadSession, XmlError> {
    let mut fields = parse_document(xml, "Get-Result")?;
    let mut value = match fields.remove("value") {
        Some(Value::Object(value)) => value,
        _ => return Err(XmlError::Shape("<Get-Result> has no <value>".to_owned())),
    };
    if let Some(progress) = value.get_mut("client_progress") {
        *progress = integer_from_text(progress)?;
    }
    serde_json::from_value(Value::Object(value)).map_err(|err| XmlError::Shape(err.to_string()))
}

fn integer_from_text(text: &Value) -> Result<Value, XmlError> {
    text.as_str()
        .and_then(|text| text.trim().parse::<i64>().ok())
        .map(Value::from)
        .ok_or_else(|| XmlError::Shape(format!("<client_progress> is not an integer: {text}")))
}

/// Parses a document whose root element has the local name `root` into the fields of
/// that root, following the conventions in the module comment.
pub(crate) fn parse_document(xml: &[u8], root: &str) -> Result<Map<String, Value>, XmlError> {
    let xml = normalise_line_ends(xml);
    let mut reader = Reader::from_reader(xml.as_ref());
    let mut stack: Vec<Frame> = Vec::new();
    let mut finished: Option<Map<String, Value>> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| XmlError::Syntax(err.to_string()))?;
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            _ if finished.is_some() => {
                if !is_blank_text(&event) {
                    return Err(XmlError::TrailingContent);
                }
            }
            Event::Start(start) => open(&mut stack, &start, root)?,
            Event::Empty(start) => {
                open(&mut stack, &start, root)?;
                finished = close(&mut stack)?;
            }
            Event::End(_) => finished = close(&mut stack)?,
            Event::Text(text) => {
                let text = text
                    .unescape()
                    .map_err(|err| XmlError::Syntax(err.to_string()))?;
                push_text(&mut stack, &text)?;
            }
            Event::CData(data) => {
                let text = String::from_utf8(data.into_inner().into_owned())
                    .map_err(|err| XmlError::Syntax(err.to_string()))?;
                push_text(&mut stack, &text)?;
            }
        }
    }
    finished.ok_or(XmlError::NoRoot)
}

/// `\r\n` and a lone `\r` as `\n`, as XML 1.0 reads a document before parsing it (a
/// `\r` written as `&#13;` is kept).
fn normalise_line_ends(xml: &[u8]) -> Cow<'_, [u8]> {
    if !xml.contains(&b'\r') {
        return Cow::Borrowed(xml);
    }
    let mut normalised = Vec::with_capacity(xml.len());
    let mut bytes = xml.iter().copied().peekable();
    while let Some(byte) = bytes.next() {
        if byte == b'\r' {
            bytes.next_if_eq(&b'\n');
            normalised.push(b'\n');
        } else {
            normalised.push(byte);
        }
    }
    Cow::Owned(normalised)
}

fn is_blank_text(event: &Event<'_>) -> bool {
    matches!(event, Event::Text(text) if text.iter().all(u8::is_ascii_whitespace))
}

/// An element being read.
struct Frame {
    name: String,
    text: String,
    content: Content,
}

enum Content {
    Leaf,
    Object(Map<String, Value>),
    Array(Vec<Value>),
}

fn open(stack: &mut Vec<Frame>, start: &BytesStart<'_>, root: &str) -> Result<(), XmlError> {
    if stack.len() >= MAX_DEPTH {
        return Err(XmlError::TooDeep);
    }
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    if stack.is_empty() && name != root {
        return Err(XmlError::WrongRoot {
            expected: root.to_owned(),
            found: name,
        });
    }
    let content = if name.ends_with(ARRAY_SUFFIX) {
        Content::Array(Vec::new())
    } else {
        Content::Leaf
    };
    stack.push(Frame {
        name,
        text: String::new(),
        content,
    });
    Ok(())
}

fn push_text(stack: &mut [Frame], text: &str) -> Result<(), XmlError> {
    if let Some(c) = text.chars().find(|c| !is_xml_char(*c)) {
        return Err(XmlError::IllegalCharacter(c));
    }
    match stack.last_mut() {
        Some(frame) => {
            frame.text.push_str(text);
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None => Err(XmlError::Syntax("text outside the root element".to_owned())),
    }
}

/// Closes the innermost element; returns the root's fields once the root closes.
fn close(stack: &mut Vec<Frame>) -> Result<Option<Map<String, Value>>, XmlError> {
    let frame = stack
        .pop()
        .ok_or_else(|| XmlError::Syntax("closing tag without an opening tag".to_owned()))?;
    let name = frame.name.clone();
    let value = frame.into_value()?;
    let Some(parent) = stack.last_mut() else {
        return match value {
            Value::Object(fields) => Ok(Some(fields)),
            Value::String(text) if text.trim().is_empty() => Ok(Some(Map::new())),
            _ => Err(XmlError::Shape(format!("<{name}> must hold elements"))),
        };
    };
    parent.adopt(name, value)?;
    Ok(None)
}

impl Frame {
    fn into_value(self) -> Result<Value, XmlError> {
        let blank = self.text.trim().is_empty();
        match self.content {
            Content::Leaf => Ok(Value::String(self.text)),
            Content::Object(fields) if blank => Ok(Value::Object(fields)),
            Content::Array(items) if blank => Ok(Value::Array(items)),
            Content::Object(_) | Content::Array(_) => Err(XmlError::MixedContent(self.name)),
        }
    }

    fn adopt(&mut self, child: String, value: Value) -> Result<(), XmlError> {
        if let Content::Array(items) = &mut self.content {
            if child != ARRAY_ITEM {
                return Err(XmlError::NotAnArrayItem(self.name.clone()));
            }
            items.push(value);
            return Ok(());
        }
        if child == ARRAY_ITEM {
            return Err(XmlError::StrayArrayItem);
        }
        if matches!(self.content, Content::Leaf) {
            self.content = Content::Object(Map::new());
        }
        let Content::Object(fields) = &mut self.content else {
            unreachable!("a leaf became an object above");
        };
        let key = child
            .strip_suffix(ARRAY_SUFFIX)
            .map(str::to_owned)
            .unwrap_or(child);
        if fields.contains_key(&key) {
            return Err(XmlError::Duplicate(key));
        }
        fields.insert(key, value);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vapi::model::SessionState;

    #[test]
    fn reads_the_reference_page_get_input() {
        let xml = include_bytes!("../../../tests/data/get-input.xml");
        assert_eq!(parse_get_input(xml).unwrap(), "obj-103");
    }

    #[test]
    fn any_namespace_prefix_is_accepted() {
        let xml = br#"<ds:Get-Input xmlns:ds="http://vmware.com/content/library/item/download_session"><download_session_id>obj-7</download_session_id></ds:Get-Input>"#;
        assert_eq!(parse_get_input(xml).unwrap(), "obj-7");
        let unprefixed = b"<Get-Input><download_session_id>obj-8</download_session_id></Get-Input>";
        assert_eq!(parse_get_input(unprefixed).unwrap(), "obj-8");
    }

    #[test]
    fn reads_the_reference_page_get_result() {
        let session =
            parse_get_result(include_bytes!("../../../tests/data/get-result.xml")).unwrap();
        assert_eq!(session.id.as_deref(), Some("obj-103"));
        assert_eq!(session.client_progress, Some(10));
        assert_eq!(session.state, SessionState::Active);
        let message = session.error_message.unwrap();
        assert_eq!(message.args, ["string", "string"]);
        assert_eq!(message.default_message, "string");
    }

    #[test]
    fn entities_are_unescaped_but_never_declared() {
        let xml = b"<Get-Input><download_session_id>a&amp;b</download_session_id></Get-Input>";
        assert_eq!(parse_get_input(xml).unwrap(), "a&b");
        let laughs = br#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><Get-Input><download_session_id>&lol2;</download_session_id></Get-Input>"#;
        assert_eq!(parse_get_input(laughs), Err(XmlError::DocType));
        let undeclared = b"<Get-Input><download_session_id>&lol;</download_session_id></Get-Input>";
        assert!(matches!(
            parse_get_input(undeclared),
            Err(XmlError::Syntax(_))
        ));
    }

    /// Found by fuzzing (`xml_body`): dsvcr accepted control characters no conforming
    /// parser accepts, and then wrote them back into XML. Found by review next to it:
    /// dsvcr kept a raw `\r` that a conforming parser reads as `\n`.
    #[test]
    fn text_is_read_as_a_conforming_parser_reads_it() {
        let crlf = b"<Get-Input>\r\n<download_session_id>a\r\nb\rc&#13;d\te</download_session_id>\r</Get-Input>";
        assert_eq!(parse_get_input(crlf).unwrap(), "a\nb\nc\rd\te");
        let cdata =
            b"<Get-Input><download_session_id><![CDATA[a\r\nb]]></download_session_id></Get-Input>";
        assert_eq!(parse_get_input(cdata).unwrap(), "a\nb");
        for (xml, refused) in [
            (&b"<Get-Input><download_session_id>a\x01b</download_session_id></Get-Input>"[..], '\u{1}'),
            (b"<Get-Input><download_session_id>a&#x1F;b</download_session_id></Get-Input>", '\u{1f}'),
            (b"<Get-Input><download_session_id><![CDATA[\x0c]]></download_session_id></Get-Input>", '\u{c}'),
            (b"<Get-Input><download_session_id>\xef\xbf\xbe</download_session_id></Get-Input>", '\u{fffe}'),
        ] {
            assert_eq!(
                parse_get_input(xml),
                Err(XmlError::IllegalCharacter(refused)),
                "{:?}",
                String::from_utf8_lossy(xml)
            );
        }
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!(
            "<Get-Input>{}{}</Get-Input>",
            "<a>".repeat(MAX_DEPTH),
            "</a>".repeat(MAX_DEPTH)
        );
        assert_eq!(parse_get_input(deep.as_bytes()), Err(XmlError::TooDeep));
    }

    #[test]
    fn malformed_documents_are_named() {
        let cases: [(&[u8], XmlError); 6] = [
            (b"", XmlError::NoRoot),
            (
                b"<Other><download_session_id>x</download_session_id></Other>",
                XmlError::WrongRoot {
                    expected: "Get-Input".into(),
                    found: "Other".into(),
                },
            ),
            (
                b"<Get-Input>x<download_session_id>y</download_session_id></Get-Input>",
                XmlError::MixedContent("Get-Input".into()),
            ),
            (
                b"<Get-Input><download_session_id>a</download_session_id><download_session_id>b</download_session_id></Get-Input>",
                XmlError::Duplicate("download_session_id".into()),
            ),
            (
                b"<Get-Input><download_session_id>a</download_session_id></Get-Input><x/>",
                XmlError::TrailingContent,
            ),
            (
                b"<Get-Input></Get-Input>",
                XmlError::Shape("<Get-Input> has no <download_session_id>".into()),
            ),
        ];
        for (xml, expected) in cases {
            assert_eq!(
                parse_get_input(xml),
                Err(expected),
                "{:?}",
                String::from_utf8_lossy(xml)
            );
        }
        assert!(matches!(
            parse_get_input(b"<Get-Input><download_session_id>a</Get-Input>"),
            Err(XmlError::Syntax(_))
        ));
    }
}
