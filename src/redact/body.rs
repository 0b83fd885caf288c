//! Redacting the tape's requests and answers: JSON at any depth, form bodies, XML
//! elements and attributes, query parameters; any other body is kept only when no
//! secret-looking name appears in it.

use http::header::CONTENT_TYPE;
use http::{Method, Uri};
use quick_xml::events::{BytesStart, BytesText, Event};
use quick_xml::{Reader, Writer};
use serde_json::Value;

use super::{redact_pem, Redactor, PLACEHOLDER};
use crate::exchange::{sha256_hex, TapeAnswer, TapeKey};

/// A body that is neither JSON, a form nor XML, and in which a secret-looking name
/// appears: it cannot be redacted, so it is not written.
#[derive(Debug, thiserror::Error)]
#[error("{what} is not JSON, a form or XML, and a secret-looking name appears in it, so it cannot be redacted and is not written (--no-tape forwards such exchanges untaped)")]
pub(crate) struct Unparseable {
    what: &'static str,
}

/// A redacted value and how many values were replaced in it.
#[derive(Debug)]
pub(crate) struct Redacted<T> {
    pub(crate) value: T,
    pub(crate) count: usize,
}

impl Redactor {
    /// The tape key of a request, made from its redacted form without its volatile inputs.
    pub(crate) fn tape_key(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &http::HeaderMap,
        body: &[u8],
    ) -> Result<Redacted<TapeKey>, Unparseable> {
        let mut key = TapeKey::of(method, uri, body);
        let mut count = self.pairs(&mut key.query);
        if let Some(json) = key.body.as_mut() {
            count += self.json(json);
        } else if key.body_sha256.is_some() {
            let redacted = self.other_body(content_type(headers), body, "the request body")?;
            if redacted.count > 0 {
                key.body_sha256 = Some(sha256_hex(&redacted.value));
                count += redacted.count;
            }
        }
        self.volatile.apply(&mut key);
        Ok(Redacted { value: key, count })
    }

    /// An upstream answer as the tape keeps it, redacted.
    pub(crate) fn tape_answer(
        &self,
        head: &http::response::Parts,
        body: &[u8],
    ) -> Result<Redacted<TapeAnswer>, Unparseable> {
        let redacted = self.body(content_type(&head.headers), body, "the answer")?;
        Ok(Redacted {
            value: TapeAnswer::of(head, &redacted.value),
            count: redacted.count,
        })
    }

    /// Any body, redacted: unchanged when nothing in it is secret.
    pub(crate) fn body(
        &self,
        content_type: Option<&str>,
        body: &[u8],
        what: &'static str,
    ) -> Result<Redacted<Vec<u8>>, Unparseable> {
        if body.iter().all(u8::is_ascii_whitespace) {
            return Ok(unchanged(body));
        }
        if let Ok(mut json) = serde_json::from_slice::<Value>(body) {
            let count = self.json(&mut json);
            if count == 0 {
                return Ok(unchanged(body));
            }
            let value = serde_json::to_vec(&json).expect("JSON serialises");
            return Ok(Redacted { value, count });
        }
        self.other_body(content_type, body, what)
    }

    /// A body that is not JSON: a form, XML, or anything else.
    fn other_body(
        &self,
        content_type: Option<&str>,
        body: &[u8],
        what: &'static str,
    ) -> Result<Redacted<Vec<u8>>, Unparseable> {
        if is_form(content_type) {
            return Ok(self.form(body));
        }
        let text = std::str::from_utf8(body).ok();
        if let Some(redacted) = text
            .filter(|text| is_xml(content_type, text))
            .and_then(|text| self.xml(text))
        {
            return Ok(redacted);
        }
        let mut kept = text.map_or_else(|| body.to_vec(), |text| text.as_bytes().to_vec());
        let mut count = 0;
        if let Some(text) = text {
            let mut text = text.to_owned();
            count = redact_pem(&mut text);
            kept = text.into_bytes();
        }
        if self.mentions_secret_name(&kept) {
            return Err(Unparseable { what });
        }
        Ok(Redacted { value: kept, count })
    }

    /// A form body with its secret-named fields redacted.
    pub(crate) fn form(&self, body: &[u8]) -> Redacted<Vec<u8>> {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body)
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect();
        let count = self.pairs(&mut pairs);
        if count == 0 {
            return unchanged(body);
        }
        let value = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes();
        Redacted { value, count }
    }

    /// An XML document with the content of secret-named elements and the values of
    /// secret-named attributes redacted; None when it does not parse.
    pub(crate) fn xml(&self, text: &str) -> Option<Redacted<Vec<u8>>> {
        let mut reader = Reader::from_str(text);
        let mut writer = Writer::new(Vec::new());
        // Depth inside a secret element whose content is being replaced (0: outside).
        let mut inside = 0usize;
        let mut count = 0;
        loop {
            let event = reader.read_event().ok()?;
            if inside > 0 {
                match event {
                    Event::Start(_) => inside += 1,
                    Event::End(_) if inside > 1 => inside -= 1,
                    Event::End(end) => {
                        inside = 0;
                        writer.write_event(Event::End(end)).ok()?;
                    }
                    Event::Eof => return None,
                    _ => {}
                }
                continue;
            }
            match event {
                Event::Eof => break,
                Event::Start(start) => {
                    let secret = self.is_secret(&local_name(&start));
                    let (start, attributes) = self.attributes(start)?;
                    count += attributes;
                    writer.write_event(Event::Start(start)).ok()?;
                    if secret {
                        inside = 1;
                        count += 1;
                        let placeholder = BytesText::new(PLACEHOLDER);
                        writer.write_event(Event::Text(placeholder)).ok()?;
                    }
                }
                Event::Empty(empty) => {
                    let (empty, attributes) = self.attributes(empty)?;
                    count += attributes;
                    writer.write_event(Event::Empty(empty)).ok()?;
                }
                Event::Text(text) => {
                    let mut unescaped = text.unescape().ok()?.into_owned();
                    let found = redact_pem(&mut unescaped);
                    if found > 0 {
                        count += found;
                        writer
                            .write_event(Event::Text(BytesText::new(&unescaped)))
                            .ok()?;
                    } else {
                        writer.write_event(Event::Text(text)).ok()?;
                    }
                }
                other => writer.write_event(other).ok()?,
            }
        }
        if count == 0 {
            return Some(unchanged(text.as_bytes()));
        }
        Some(Redacted {
            value: writer.into_inner(),
            count,
        })
    }

    /// `start` with its secret-named attributes' values redacted, and how many.
    fn attributes<'a>(&self, start: BytesStart<'a>) -> Option<(BytesStart<'a>, usize)> {
        let mut secret = false;
        for attribute in start.attributes() {
            let attribute = attribute.ok()?;
            let name = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
            secret |= self.is_secret(&name);
        }
        if !secret {
            return Some((start, 0));
        }
        let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
        let mut rebuilt = BytesStart::new(name);
        let mut count = 0;
        for attribute in start.attributes() {
            let attribute = attribute.ok()?;
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let local = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
            if self.is_secret(&local) {
                count += 1;
                rebuilt.push_attribute((key.as_str(), PLACEHOLDER));
            } else {
                let value = attribute.unescape_value().ok()?.into_owned();
                rebuilt.push_attribute((key.as_str(), value.as_str()));
            }
        }
        Some((rebuilt.into_owned(), count))
    }
}

fn unchanged(body: &[u8]) -> Redacted<Vec<u8>> {
    Redacted {
        value: body.to_vec(),
        count: 0,
    }
}

fn local_name(start: &BytesStart<'_>) -> String {
    String::from_utf8_lossy(start.local_name().as_ref()).into_owned()
}

pub(crate) fn content_type(headers: &http::HeaderMap) -> Option<&str> {
    headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
}

fn media_type(content_type: Option<&str>) -> Option<String> {
    content_type.map(|kind| {
        kind.split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase()
    })
}

fn is_form(content_type: Option<&str>) -> bool {
    media_type(content_type).as_deref() == Some("application/x-www-form-urlencoded")
}

/// XML by its content type, or, without one, by its first character.
fn is_xml(content_type: Option<&str>, text: &str) -> bool {
    match media_type(content_type) {
        Some(kind) => kind.ends_with("/xml") || kind.ends_with("+xml"),
        None => text.trim_start().starts_with('<'),
    }
}
