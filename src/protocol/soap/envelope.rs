//! Reading a vim25 SOAP request: the envelope, the operation (the first child of `Body`),
//! its `_this` managed object and its arguments, with their namespaces resolved.
//!
//! Clients spell the same call differently (prefixes, `versionId` attributes, whitespace
//! between elements), so the request is read into a small element tree rather than
//! compared as bytes. A DOCTYPE is refused outright (no entity can be declared or
//! expanded), nesting is bounded, and the caller bounds the size.

use std::borrow::Cow;

use quick_xml::events::{BytesDecl, BytesStart, Event};
use quick_xml::Reader;

use super::tree::{
    add_text, check_characters, close, element, is_ncname, name_text, outside_the_root, push,
    Attributes, Element, EnvelopeError, Scope, ENVELOPE_NS,
};

/// A managed object reference: `<_this type="SessionManager">SessionManager</_this>`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct MoRef<'a> {
    pub(crate) kind: Cow<'a, str>,
    pub(crate) value: Cow<'a, str>,
}

impl std::fmt::Display for MoRef<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.kind, self.value)
    }
}

/// A SOAP request: its operation, the object it acts on and its arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SoapRequest<'a> {
    pub(crate) operation: Cow<'a, str>,
    pub(crate) namespace: Option<Cow<'static, str>>,
    pub(crate) this: MoRef<'a>,
    /// The operation's children after `_this`, in order.
    pub(crate) arguments: Vec<Element<'a>>,
    /// The `Header`, when the client sent one (a SAML token, an operation id).
    pub(crate) header: Option<Element<'a>>,
}

impl SoapRequest<'_> {
    pub(crate) fn argument(&self, name: &str) -> Option<&str> {
        self.arguments
            .iter()
            .find(|argument| argument.name == name)
            .map(|argument| argument.text.as_ref())
    }
}

/// Reads a SOAP request.
pub(crate) fn parse_request(xml: &[u8]) -> Result<SoapRequest<'_>, EnvelopeError> {
    let root = parse_tree(xml)?;
    if root.name != "Envelope" || root.namespace.as_deref() != Some(ENVELOPE_NS) {
        return Err(EnvelopeError::NotAnEnvelope(qualified(&root)));
    }
    let is = |child: &Element<'_>, name: &str| {
        child.name == name && child.namespace.as_deref() == Some(ENVELOPE_NS)
    };
    let mut body = None;
    let mut header = None;
    for child in root.children {
        if body.is_none() && is(&child, "Body") {
            body = Some(child);
        } else if header.is_none() && is(&child, "Header") {
            header = Some(child);
        }
    }
    let body = body.ok_or(EnvelopeError::NoBody)?;
    let operation = body
        .children
        .into_iter()
        .next()
        .ok_or(EnvelopeError::NoOperation)?;
    let mut arguments = operation.children;
    let Some(this_at) = arguments
        .iter()
        .position(|argument| argument.name == "_this")
    else {
        return Err(EnvelopeError::NoThis(operation.name.into_owned()));
    };
    let Element {
        attributes, text, ..
    } = arguments.remove(this_at);
    let kind = attributes
        .into_iter()
        .find(|(key, _)| *key == "type")
        .map(|(_, value)| value)
        .unwrap_or_default();
    Ok(SoapRequest {
        operation: operation.name,
        namespace: operation.namespace,
        this: MoRef { kind, value: text },
        arguments,
        header,
    })
}

fn qualified(element: &Element<'_>) -> String {
    match &element.namespace {
        Some(namespace) => format!("{{{namespace}}}{}", element.name),
        None => element.name.to_string(),
    }
}

/// Reads a whole document into its root element: the usual document in one pass
/// ([`super::plain`]), any other with quick-xml.
pub(crate) fn parse_tree(xml: &[u8]) -> Result<Element<'_>, EnvelopeError> {
    // Only UTF-8 is read (the declaration may name no other), anywhere in the document:
    // quick-xml passes the bytes of names it does not decode through unchecked.
    let text = std::str::from_utf8(xml)
        .map_err(|err| EnvelopeError::Syntax(format!("not UTF-8: {err}")))?;
    // Every character of the document, comments, instructions and the declaration
    // included, is checked here once; only what unescaping a reference makes (an owned
    // text or attribute value) is checked again where it is made.
    check_characters(text)?;
    match super::plain::tree(text) {
        Some(root) => Ok(root),
        None => read(xml),
    }
}

/// Reads a whole document, checked as UTF-8 of characters XML allows, with quick-xml:
/// every document the plain reader leaves, and what is wrong with it.
pub(super) fn read(xml: &[u8]) -> Result<Element<'_>, EnvelopeError> {
    let mut reader = Reader::from_reader(xml);
    // A comment may not hold `--` (nor end with `-`), which quick-xml checks only when
    // asked to.
    reader.config_mut().check_comments = true;
    let mut stack: Vec<Element<'_>> = Vec::new();
    let mut root: Option<Element<'_>> = None;
    let mut scope = Scope::default();
    let mut first = true;
    loop {
        let event = reader
            .read_event()
            .map_err(|err| EnvelopeError::Syntax(err.to_string()))?;
        let at_start = std::mem::replace(&mut first, false);
        match event {
            Event::Eof => break,
            Event::DocType(_) => return Err(EnvelopeError::DocType),
            Event::Decl(decl) => check_declaration(&decl, at_start)?,
            Event::Comment(_) => {}
            Event::PI(instruction) => check_instruction(&instruction)?,
            Event::Start(start) => {
                let element = open(&mut scope, &start, stack.len(), &root)?;
                push(&mut stack, element)?;
            }
            Event::Empty(start) => {
                let element = open(&mut scope, &start, stack.len(), &root)?;
                push(&mut stack, element)?;
                close(&mut stack, &mut root);
                scope.leave(stack.len());
            }
            Event::End(_) => {
                close(&mut stack, &mut root);
                scope.leave(stack.len());
            }
            Event::Text(text) => {
                // XML forbids `]]>` in character data outside a CDATA section.
                if text.windows(3).any(|window| window == b"]]>") {
                    return Err(EnvelopeError::Syntax(
                        "character data holds ']]>'".to_owned(),
                    ));
                }
                // Outside the root element only layout may stand, as written: XML's
                // whitespace, no reference (`&#13;`) and no other space (U+00A0).
                if stack.is_empty() {
                    if !text
                        .iter()
                        .all(|byte| matches!(byte, b' ' | b'\t' | b'\r' | b'\n'))
                    {
                        return Err(outside_the_root());
                    }
                    continue;
                }
                let text = text
                    .unescape()
                    .map_err(|err| EnvelopeError::Syntax(err.to_string()))?;
                if let Cow::Owned(made) = &text {
                    check_characters(made)?;
                }
                add_text(&mut stack, &text)?;
            }
            Event::CData(data) => {
                if stack.is_empty() {
                    return Err(outside_the_root());
                }
                let text = std::str::from_utf8(&data)
                    .map_err(|err| EnvelopeError::Syntax(err.to_string()))?;
                add_text(&mut stack, text)?;
            }
        }
    }
    if !stack.is_empty() {
        return Err(EnvelopeError::Syntax(
            "the document ends inside an element".to_owned(),
        ));
    }
    root.ok_or_else(|| EnvelopeError::Syntax("the document has no root element".to_owned()))
}

/// Whether the plain reader, wherever it reads `data` (a document of allowed characters),
/// reads what quick-xml's reader reads: the soap fuzz target's differential property.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn reads_alike(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return true;
    };
    if check_characters(text).is_err() {
        return true;
    }
    match super::plain::tree(text) {
        Some(plain) => read(data).as_ref() == Ok(&plain),
        None => true,
    }
}

/// The XML declaration, read as a conforming parser reads it (quick-xml takes whatever it
/// holds): only at the very start, `version` 1.0 or 1.1, then optionally `encoding` (UTF-8,
/// the one read) and `standalone`, nothing else.
fn check_declaration(decl: &BytesDecl<'_>, at_start: bool) -> Result<(), EnvelopeError> {
    static GRAMMAR: std::sync::OnceLock<regex::bytes::Regex> = std::sync::OnceLock::new();
    let grammar = GRAMMAR.get_or_init(|| {
        regex::bytes::Regex::new(concat!(
            r#"^xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.[01]"|'1\.[01]')"#,
            r#"(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"(?i:utf-8)"|'(?i:utf-8)'))?"#,
            r#"(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?"#,
            r#"[ \t\r\n]*$"#
        ))
        .expect("the declaration grammar compiles")
    });
    if !at_start {
        return Err(EnvelopeError::Syntax(
            "XML declaration: not at the start of the document".to_owned(),
        ));
    }
    if grammar.is_match(decl) {
        Ok(())
    } else {
        Err(EnvelopeError::Syntax(
            "XML declaration: only version 1.0 or 1.1, UTF-8 and standalone are read".to_owned(),
        ))
    }
}

/// A processing instruction's target must be an XML name other than `xml` (in any case),
/// which quick-xml does not check.
fn check_instruction(instruction: &quick_xml::events::BytesPI<'_>) -> Result<(), EnvelopeError> {
    let target = std::str::from_utf8(instruction.target()).unwrap_or("");
    let named = is_ncname(target) && !target.eq_ignore_ascii_case("xml");
    if named {
        Ok(())
    } else {
        Err(EnvelopeError::Syntax(format!(
            "processing instruction target {target:?} is not an XML name"
        )))
    }
}

/// Whether every attribute value's closing quote in a tag's raw attributes is followed by
/// whitespace or the tag's end, as XML requires (quick-xml reads `a="x"b="y"` as two).
fn attributes_separated(raw: &[u8]) -> bool {
    let mut quote = None;
    for (at, byte) in raw.iter().enumerate() {
        match quote {
            Some(open) if *byte == open => {
                quote = None;
                if raw
                    .get(at + 1)
                    .is_some_and(|next| !next.is_ascii_whitespace())
                {
                    return false;
                }
            }
            Some(_) => {}
            None if *byte == b'"' || *byte == b'\'' => quote = Some(*byte),
            None => {}
        }
    }
    true
}

fn open(
    scope: &mut Scope,
    start: &BytesStart<'_>,
    depth: usize,
    root: &Option<Element<'_>>,
) -> Result<Element<'static>, EnvelopeError> {
    if root.is_some() {
        return Err(EnvelopeError::Syntax(
            "content after the root element".to_owned(),
        ));
    }
    if !attributes_separated(start.attributes_raw()) {
        return Err(EnvelopeError::Syntax(
            "attributes not separated by whitespace".to_owned(),
        ));
    }
    let mut attributes = Attributes::default();
    for attribute in start.attributes() {
        let attribute = attribute.map_err(|err| EnvelopeError::Syntax(err.to_string()))?;
        // XML forbids a literal `<` in an attribute value; quick-xml lets it through.
        if attribute.value.contains(&b'<') {
            return Err(EnvelopeError::Syntax(
                "an attribute value holds '<'".to_owned(),
            ));
        }
        let value = attribute
            .unescape_value()
            .map_err(|err| EnvelopeError::Syntax(err.to_string()))?;
        if let Cow::Owned(made) = &value {
            check_characters(made)?;
        }
        let key = name_text(attribute.key.into_inner())?;
        attributes.take(scope, depth, key, value)?;
    }
    let name = name_text(start.name().into_inner())?;
    element(scope, depth, name, attributes).map(Element::into_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login_with(declaration: &str) -> Result<(), EnvelopeError> {
        let xml = format!(
            r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/" {declaration}><Body><Login xmlns="urn:vim25"><_this type="SessionManager">SessionManager</_this></Login></Body></Envelope>"#
        );
        parse_request(xml.as_bytes()).map(|_| ())
    }

    #[test]
    fn the_reserved_namespace_bindings_are_refused() {
        assert!(login_with(r#"xmlns:xml="http://www.w3.org/XML/1998/namespace""#).is_ok());
        for (declaration, problem) in [
            (
                r#"xmlns:xml="urn:other""#,
                "the prefix xml bound to another namespace",
            ),
            (r#"xmlns:xmlns="urn:other""#, "the prefix xmlns declared"),
            (
                r#"xmlns:x="http://www.w3.org/XML/1998/namespace""#,
                "the xml namespace bound to another prefix",
            ),
            (
                r#"xmlns:x="http://www.w3.org/2000/xmlns/""#,
                "a prefix bound to the xmlns namespace",
            ),
        ] {
            match login_with(declaration) {
                Err(EnvelopeError::Syntax(found)) => assert_eq!(found, problem, "{declaration}"),
                other => panic!("{declaration}: {other:?}"),
            }
        }
    }
}
