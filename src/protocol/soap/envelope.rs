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

/// The SOAP 1.1 envelope namespace.
pub(crate) const ENVELOPE_NS: &str = "http://schemas.xmlsoap.org/soap/envelope/";
/// The XML Schema instance namespace (`xsi:type`).
const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";

/// Deepest element nesting accepted; property specs with nested traversal specs need
/// about 12.
pub(crate) const MAX_DEPTH: usize = 64;

/// Why a body is not a SOAP request dsvcr can read: the text of an `InvalidRequest` fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum EnvelopeError {
    #[error("malformed XML: {0}")]
    Syntax(String),
    #[error("XML document type declarations are not accepted")]
    DocType,
    #[error("XML nesting deeper than {MAX_DEPTH} elements")]
    TooDeep,
    #[error("the body is not a SOAP envelope: the root element is {0}")]
    NotAnEnvelope(String),
    #[error("the SOAP envelope has no Body")]
    NoBody,
    #[error("the SOAP Body names no operation")]
    NoOperation,
    #[error("the operation {0} has no _this")]
    NoThis(String),
    #[error("XML text holds {0:?}, a character XML 1.0 does not allow")]
    IllegalCharacter(char),
}

/// An element with its namespace-resolved name, the attributes that carry meaning, and
/// either text or child elements.
///
/// Names, values and text borrow from the document where they are its own bytes (the
/// usual case): reading a request allocates for its structure, not for its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element<'a> {
    pub(crate) name: Cow<'a, str>,
    pub(crate) namespace: Option<Cow<'static, str>>,
    /// `type` (a managed object's type) and `xsi:type` (a value's type), in that order;
    /// `versionId` (pyvmomi's) and namespace declarations are left out.
    pub(crate) attributes: Vec<(&'static str, Cow<'a, str>)>,
    pub(crate) children: Vec<Element<'a>>,
    pub(crate) text: Cow<'a, str>,
}

impl<'a> Element<'a> {
    pub(crate) fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|child| child.name == name)
    }

    pub(crate) fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| value.as_ref())
    }

    /// The element's text, or a descendant's text along `path`.
    pub(crate) fn text_at(&self, path: &[&str]) -> Option<&str> {
        let mut element = self;
        for name in path {
            element = element.child(name)?;
        }
        Some(element.text.as_ref())
    }

    /// The element owning all it holds.
    fn into_owned(self) -> Element<'static> {
        Element {
            name: Cow::Owned(self.name.into_owned()),
            namespace: self.namespace,
            attributes: self
                .attributes
                .into_iter()
                .map(|(key, value)| (key, Cow::Owned(value.into_owned())))
                .collect(),
            children: self.children.into_iter().map(Element::into_owned).collect(),
            text: Cow::Owned(self.text.into_owned()),
        }
    }
}

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

/// How deep namespaces matter: the envelope, its `Body` or `Header`, and the operation.
const NAMESPACED_DEPTH: usize = 3;

/// The namespace declarations in scope (`xmlns`, `xmlns:p`), each with the depth of the
/// element that made it. A request declares a handful, on its envelope: resolving a name
/// here costs a short scan, without the allocations of a general namespace reader.
#[derive(Default)]
pub(super) struct Scope {
    declared: Vec<(Cow<'static, str>, Cow<'static, str>, usize)>,
}

/// The prefixes and namespaces SOAP clients declare, kept without a copy.
const KNOWN: [&str; 10] = [
    "",
    ENVELOPE_NS,
    "urn:vim25",
    XSI_NS,
    "http://www.w3.org/2001/XMLSchema",
    "http://schemas.xmlsoap.org/soap/encoding/",
    "soapenv",
    "xsi",
    "xsd",
    "soapenc",
];

fn kept(text: &str) -> Cow<'static, str> {
    match KNOWN.iter().find(|known| **known == text) {
        Some(known) => Cow::Borrowed(known),
        None => Cow::Owned(text.to_owned()),
    }
}

impl Scope {
    fn declare(&mut self, prefix: &str, namespace: &str, depth: usize) {
        self.declared.push((kept(prefix), kept(namespace), depth));
    }

    /// The namespace `prefix` names (`None` for no namespace); a prefix nobody declared
    /// is an error, as it is for every conforming parser.
    fn resolve(&self, prefix: &str) -> Result<Option<&Cow<'static, str>>, EnvelopeError> {
        static XML_NS: Cow<'static, str> = Cow::Borrowed("http://www.w3.org/XML/1998/namespace");
        let found = self
            .declared
            .iter()
            .rev()
            .find(|(declared, _, _)| declared == prefix)
            .map(|(_, namespace, _)| namespace);
        match found {
            Some(namespace) if namespace.is_empty() => Ok(None),
            Some(namespace) => Ok(Some(namespace)),
            None if prefix.is_empty() => Ok(None),
            None if prefix == "xml" => Ok(Some(&XML_NS)),
            None => Err(EnvelopeError::Syntax(format!(
                "unknown namespace prefix {prefix:?}"
            ))),
        }
    }

    /// Forgets the declarations made at `depth` and deeper, as their element closes.
    pub(super) fn leave(&mut self, depth: usize) {
        while self.declared.last().is_some_and(|(_, _, at)| *at >= depth) {
            self.declared.pop();
        }
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

/// A qualified name's prefix (empty when it has none) and local part, each an XML name
/// without a colon (quick-xml does not check names; a conforming parser does).
fn split_name(name: &str) -> Result<(&str, &str), EnvelopeError> {
    let (prefix, local) = match name.bytes().position(|byte| byte == b':') {
        Some(at) => (&name[..at], &name[at + 1..]),
        None => ("", name),
    };
    if is_ncname(local) && (prefix.is_empty() || is_ncname(prefix)) {
        Ok((prefix, local))
    } else {
        Err(not_a_name(name.as_bytes()))
    }
}

/// A raw name as text (a name that is not UTF-8 is no XML name).
fn name_text(name: &[u8]) -> Result<&str, EnvelopeError> {
    std::str::from_utf8(name).map_err(|_| not_a_name(name))
}

fn not_a_name(name: &[u8]) -> EnvelopeError {
    EnvelopeError::Syntax(format!(
        "{:?} is not an XML name",
        String::from_utf8_lossy(name)
    ))
}

/// XML 1.0's `Name` without a colon (`NCName`).
fn is_ncname(name: &str) -> bool {
    if let [first, rest @ ..] = name.as_bytes() {
        if name.is_ascii() {
            return (first.is_ascii_alphabetic() || *first == b'_')
                && rest.iter().all(|byte| {
                    byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.')
                });
        }
    }
    let mut chars = name.chars();
    chars.next().is_some_and(is_name_start) && chars.all(|c| is_name_start(c) || is_name_rest(c))
}

fn is_name_start(c: char) -> bool {
    matches!(c, 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}'
        | '\u{F8}'..='\u{2FF}' | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}'
        | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}' | '\u{2C00}'..='\u{2FEF}'
        | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
        | '\u{10000}'..='\u{EFFFF}')
}

fn is_name_rest(c: char) -> bool {
    matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}')
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

/// The attributes of an element being read that matter: namespace declarations go to
/// the scope as they come, types are kept, other prefixes must resolve.
#[derive(Default)]
pub(super) struct Attributes<'a> {
    typed: Vec<(&'a str, Cow<'a, str>)>,
    prefixed: Vec<&'a str>,
}

impl<'a> Attributes<'a> {
    /// Takes one attribute, its value unescaped.
    pub(super) fn take(
        &mut self,
        scope: &mut Scope,
        depth: usize,
        key: &'a str,
        value: Cow<'a, str>,
    ) -> Result<(), EnvelopeError> {
        match split_name(key)? {
            ("", "xmlns") => {
                check_binding("", &value)?;
                scope.declare("", &value, depth)
            }
            ("xmlns", _) if value.is_empty() => {
                return Err(EnvelopeError::Syntax(
                    "a namespace prefix declared empty".to_owned(),
                ))
            }
            ("xmlns", prefix) => {
                check_binding(prefix, &value)?;
                scope.declare(prefix, &value, depth)
            }
            (prefix, "type") => self.typed.push((prefix, value)),
            ("", _) => {}
            (prefix, _) => self.prefixed.push(prefix),
        }
        Ok(())
    }
}

const XML_NAMESPACE: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NAMESPACE: &str = "http://www.w3.org/2000/xmlns/";

/// Namespaces in XML's reserved bindings: `xml` only to its namespace and nothing else to
/// it, `xmlns` never declared, and nothing bound to the `xmlns` namespace.
fn check_binding(prefix: &str, namespace: &str) -> Result<(), EnvelopeError> {
    let reserved = match (prefix, namespace) {
        ("xml", XML_NAMESPACE) => return Ok(()),
        ("xml", _) => "the prefix xml bound to another namespace",
        ("xmlns", _) => "the prefix xmlns declared",
        (_, XML_NAMESPACE) => "the xml namespace bound to another prefix",
        (_, XMLNS_NAMESPACE) => "a prefix bound to the xmlns namespace",
        _ => return Ok(()),
    };
    Err(EnvelopeError::Syntax(reserved.to_owned()))
}

/// The element `name` names (its namespace kept near the top), with `attributes` taken.
pub(super) fn element<'a>(
    scope: &Scope,
    depth: usize,
    name: &'a str,
    attributes: Attributes<'a>,
) -> Result<Element<'a>, EnvelopeError> {
    for prefix in attributes.prefixed {
        scope.resolve(prefix)?;
    }
    let mut kept = Vec::new();
    let mut xsi_type = None;
    for (prefix, value) in attributes.typed {
        if prefix.is_empty() {
            kept.push(("type", value));
        } else if scope
            .resolve(prefix)?
            .is_some_and(|namespace| namespace == XSI_NS)
        {
            xsi_type = Some(value);
        }
    }
    if let Some(xsi_type) = xsi_type {
        kept.push(("xsi:type", xsi_type));
    }
    let (prefix, local) = split_name(name)?;
    let namespace = match scope.resolve(prefix)? {
        Some(namespace) if depth < NAMESPACED_DEPTH => Some(namespace.clone()),
        _ => None,
    };
    Ok(Element {
        name: Cow::Borrowed(local),
        namespace,
        attributes: kept,
        children: Vec::new(),
        text: Cow::Borrowed(""),
    })
}

fn push<'a>(stack: &mut Vec<Element<'a>>, element: Element<'a>) -> Result<(), EnvelopeError> {
    if stack.len() >= MAX_DEPTH {
        return Err(EnvelopeError::TooDeep);
    }
    stack.push(element);
    Ok(())
}

pub(super) fn close<'a>(stack: &mut Vec<Element<'a>>, root: &mut Option<Element<'a>>) {
    let Some(mut element) = stack.pop() else {
        return;
    };
    if !element.children.is_empty() {
        // Whitespace between child elements is layout, not a value.
        element.text = Cow::Borrowed("");
    }
    match stack.last_mut() {
        Some(parent) => parent.children.push(element),
        None => *root = Some(element),
    }
}

fn add_text(stack: &mut [Element<'_>], text: &str) -> Result<(), EnvelopeError> {
    match stack.last_mut() {
        Some(element) => {
            element.text.to_mut().push_str(text);
            Ok(())
        }
        None => Err(outside_the_root()),
    }
}

fn outside_the_root() -> EnvelopeError {
    EnvelopeError::Syntax("text outside the root element".to_owned())
}

/// Every character of `text` is one XML allows.
pub(super) fn check_characters(text: &str) -> Result<(), EnvelopeError> {
    // A valid UTF-8 text holds a character XML refuses only as a control byte other than
    // tab, line feed and carriage return, or as U+FFFE or U+FFFF (which start with 0xEF):
    // a text without either is checked a block at a time, without decoding.
    let suspect =
        |byte: u8| (byte < 0x20 && !matches!(byte, b'\t' | b'\n' | b'\r')) || byte == 0xEF;
    let plain = text
        .as_bytes()
        .chunks(32)
        .all(|block| !block.iter().fold(false, |seen, byte| seen | suspect(*byte)));
    if plain {
        return Ok(());
    }
    match text
        .chars()
        .find(|c| !crate::protocol::rest::xml::is_xml_char(*c))
    {
        Some(c) => Err(EnvelopeError::IllegalCharacter(c)),
        None => Ok(()),
    }
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
