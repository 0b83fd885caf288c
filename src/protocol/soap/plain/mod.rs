//! Reading the common SOAP request in one pass over its bytes, without quick-xml: a
//! document of elements, attributes and text and nothing else, which is what govc,
//! pyvmomi and PowerCLI send. Anything else (a comment, an instruction, CDATA, a
//! reference, a name that is not ASCII, a declaration other than the usual ones,
//! whitespace where a tag has none in the usual spelling) and anything wrong is left to
//! the general reader, which reads it or names what is wrong with it: both read every
//! document they both read the same (a test compares them), and this one never decides
//! that a document is wrong.
//!
//! Its caller has checked that the document is UTF-8 and holds only characters XML
//! allows.

use std::borrow::Cow;

use super::tree::{close, element, Attributes, Element, Scope, MAX_DEPTH};

/// The declarations clients write, read as the general reader reads them (version 1.0,
/// UTF-8).
const DECLARATIONS: [&str; 4] = [
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    r#"<?xml version="1.0" encoding="utf-8"?>"#,
    r#"<?xml version="1.0"?>"#,
    r#"<?xml version='1.0' encoding='utf-8'?>"#,
];

/// Most attributes one element may have here.
const MAX_ATTRIBUTES: usize = 8;

/// The document's root element, or `None` when the general reader must read it.
pub(super) fn tree(text: &str) -> Option<Element<'_>> {
    let at = match DECLARATIONS.iter().find(|known| text.starts_with(**known)) {
        Some(declaration) => declaration.len(),
        None => 0,
    };
    Plain {
        text,
        bytes: text.as_bytes(),
        at,
        stack: Vec::with_capacity(8),
        names: Vec::with_capacity(8),
        root: None,
        scope: Scope::default(),
    }
    .read()
}

/// A document being read: where, the elements open (and their names as written), the
/// root once closed, the namespaces in scope.
struct Plain<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
    stack: Vec<Element<'a>>,
    names: Vec<&'a str>,
    root: Option<Element<'a>>,
    scope: Scope,
}

impl<'a> Plain<'a> {
    fn read(mut self) -> Option<Element<'a>> {
        loop {
            let run = text_run(self.bytes, self.at)?;
            if run > self.at {
                add_text(&mut self.stack, &self.text[self.at..run])?;
            }
            self.at = run;
            if self.at == self.bytes.len() {
                break;
            }
            match *self.bytes.get(self.at + 1)? {
                b'/' => self.end_tag()?,
                b'!' | b'?' => return None,
                _ => self.start_tag()?,
            }
        }
        if self.stack.is_empty() {
            self.root
        } else {
            None
        }
    }

    /// `</name>`, closing the element last opened under that very name.
    fn end_tag(&mut self) -> Option<()> {
        let at = self.at + 2;
        let end = at + self.bytes[at..].iter().position(|byte| *byte == b'>')?;
        if self.names.pop()? != &self.text[at..end] {
            return None;
        }
        self.at = end + 1;
        self.close();
        Some(())
    }

    /// A start tag as the usual spelling writes it: its name, then attributes each after
    /// whitespace, then optional whitespace and `>` or `/>`.
    fn start_tag(&mut self) -> Option<()> {
        if self.root.is_some() || self.stack.len() >= MAX_DEPTH {
            return None;
        }
        let (text, bytes) = (self.text, self.bytes);
        let at = self.at + 1;
        let name_end = name_end(bytes, at)?;
        if !bytes
            .get(name_end)
            .is_some_and(|byte| is_space(*byte) || *byte == b'>' || *byte == b'/')
        {
            return None;
        }
        let name = &text[at..name_end];
        let depth = self.stack.len();
        let mut attributes = Attributes::default();
        let mut keys = [""; MAX_ATTRIBUTES];
        let mut count = 0;
        let mut i = name_end;
        let empty = loop {
            let spaced = i;
            while bytes.get(i).copied().is_some_and(is_space) {
                i += 1;
            }
            match *bytes.get(i)? {
                b'>' => {
                    i += 1;
                    break false;
                }
                b'/' if bytes.get(i + 1) == Some(&b'>') => {
                    i += 2;
                    break true;
                }
                _ if i == spaced || count == MAX_ATTRIBUTES => return None,
                _ => {}
            }
            let (key, value, after) = attribute(text, i)?;
            if keys[..count].contains(&key) {
                return None;
            }
            keys[count] = key;
            count += 1;
            attributes
                .take(&mut self.scope, depth, key, Cow::Borrowed(value))
                .ok()?;
            i = after;
        };
        self.at = i;
        self.stack
            .push(element(&self.scope, depth, name, attributes).ok()?);
        if empty {
            self.close();
        } else {
            self.names.push(name);
        }
        Some(())
    }

    fn close(&mut self) {
        close(&mut self.stack, &mut self.root);
        self.scope.leave(self.stack.len());
    }
}

/// Where the text from `at` ends (at the next `<` or the document's end), if it holds no
/// reference and no `]]>`.
fn text_run(bytes: &[u8], at: usize) -> Option<usize> {
    let mut i = at;
    while let Some(byte) = bytes.get(i) {
        match byte {
            b'<' => break,
            b'&' => return None,
            b']' if bytes[i..].starts_with(b"]]>") => return None,
            _ => i += 1,
        }
    }
    Some(i)
}

/// Text between tags: inside an element, kept (as the document's own text, unless runs
/// between children have to be joined); outside the root, layout only.
fn add_text<'a>(stack: &mut [Element<'a>], run: &'a str) -> Option<()> {
    match stack.last_mut() {
        Some(element) => {
            if element.text.is_empty() {
                element.text = Cow::Borrowed(run);
            } else {
                element.text.to_mut().push_str(run);
            }
            Some(())
        }
        None => run.bytes().all(is_space).then_some(()),
    }
}

fn is_space(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t' | b'\r' | b'\n')
}

/// The attribute at `at`: `key="value"` (or in single quotes, without `<`, `>` or `&`),
/// followed by whitespace or the tag's end; its key, its value and where it ends.
fn attribute(text: &str, at: usize) -> Option<(&str, &str, usize)> {
    let bytes = text.as_bytes();
    let key_end = name_end(bytes, at)?;
    if bytes.get(key_end) != Some(&b'=') {
        return None;
    }
    let quote = *bytes.get(key_end + 1)?;
    if quote != b'"' && quote != b'\'' {
        return None;
    }
    let value_start = key_end + 2;
    let mut value_end = value_start;
    loop {
        match *bytes.get(value_end)? {
            byte if byte == quote => break,
            b'<' | b'>' | b'&' => return None,
            _ => value_end += 1,
        }
    }
    let after = value_end + 1;
    if !bytes
        .get(after)
        .is_some_and(|byte| is_space(*byte) || *byte == b'>' || *byte == b'/')
    {
        return None;
    }
    Some((&text[at..key_end], &text[value_start..value_end], after))
}

/// Where the name starting at `at` ends: a name here is ASCII name characters (whether
/// it is an XML name, with a prefix, is checked as the general reader checks it, when
/// the element is made); `None` if there is none.
fn name_end(bytes: &[u8], at: usize) -> Option<usize> {
    let mut end = at;
    while bytes.get(end).is_some_and(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'_' | b'-' | b'.' | b':')
    }) {
        end += 1;
    }
    (end > at).then_some(end)
}

#[cfg(test)]
mod tests;
