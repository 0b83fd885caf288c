//! The element tree both SOAP readers build (the one-pass reader, `plain`, and quick-xml's,
//! in `envelope`): elements with namespace-resolved names and the
//! attributes that carry meaning, the namespace scope, and the checks XML makes on names,
//! nesting and characters.

use std::borrow::Cow;

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
    pub(super) fn into_owned(self) -> Element<'static> {
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
pub(super) fn name_text(name: &[u8]) -> Result<&str, EnvelopeError> {
    std::str::from_utf8(name).map_err(|_| not_a_name(name))
}

fn not_a_name(name: &[u8]) -> EnvelopeError {
    EnvelopeError::Syntax(format!(
        "{:?} is not an XML name",
        String::from_utf8_lossy(name)
    ))
}

/// XML 1.0's `Name` without a colon (`NCName`).
pub(super) fn is_ncname(name: &str) -> bool {
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

pub(super) fn push<'a>(
    stack: &mut Vec<Element<'a>>,
    element: Element<'a>,
) -> Result<(), EnvelopeError> {
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

pub(super) fn add_text(stack: &mut [Element<'_>], text: &str) -> Result<(), EnvelopeError> {
    match stack.last_mut() {
        Some(element) => {
            element.text.to_mut().push_str(text);
            Ok(())
        }
        None => Err(outside_the_root()),
    }
}

pub(super) fn outside_the_root() -> EnvelopeError {
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
