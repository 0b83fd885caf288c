//! Rendering: any session model renders in every encoding (`/rest` JSON, `/api` JSON,
//! XML) to bytes that decode back to the same model, and any vAPI error renders to JSON
//! that decodes back to the same error and to well-formed XML.
//!
//! The XML representation has no form for `error_message.params`, and XML 1.0 cannot
//! carry most control characters (dsvcr writes U+FFFD for them), so the XML round trip
//! is compared with the params removed and those characters replaced. The XML must also
//! read back the same through a strict XML 1.0 parser (what a conforming client sees).

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use dsvcr::vapi::wire::Encoding;
use dsvcr::vapi::{
    decode, render, xml, DownloadSession, ErrorKind, LocalizableMessage, SessionState, VapiError,
};
use libfuzzer_sys::fuzz_target;

mod conforming;
use serde_json::{Map, Number, Value};

#[derive(Arbitrary, Debug)]
struct Input {
    session: Session,
    error_kind: u8,
    error_messages: Vec<Message>,
}

#[derive(Arbitrary, Debug)]
struct Session {
    client_progress: Option<i64>,
    error_message: Option<Message>,
    expiration_time: Option<String>,
    id: Option<String>,
    library_item_content_version: Option<String>,
    library_item_id: String,
    state: u8,
}

#[derive(Arbitrary, Debug)]
struct Message {
    args: Vec<String>,
    default_message: String,
    id: String,
    localized: Option<String>,
    params: Option<Vec<(String, Json)>>,
}

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Unsigned(u64),
    Float(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Deeper than any real localization parameter, well inside serde_json's limit.
const MAX_JSON_DEPTH: usize = 8;

impl Json {
    fn value(&self, depth: usize) -> Value {
        if depth > MAX_JSON_DEPTH {
            return Value::Null;
        }
        match self {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(n) => Value::from(*n),
            Json::Unsigned(n) => Value::from(*n),
            Json::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Json::String(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Array(items.iter().map(|i| i.value(depth + 1)).collect()),
            Json::Object(fields) => Value::Object(object(fields, depth + 1)),
        }
    }
}

fn object(fields: &[(String, Json)], depth: usize) -> Map<String, Value> {
    fields
        .iter()
        .map(|(key, value)| (key.clone(), value.value(depth)))
        .collect()
}

impl Message {
    fn model(&self) -> LocalizableMessage {
        LocalizableMessage {
            args: self.args.clone(),
            default_message: self.default_message.clone(),
            id: self.id.clone(),
            localized: self.localized.clone(),
            params: self.params.as_ref().map(|params| object(params, 1)),
        }
    }
}

impl Session {
    fn model(&self) -> DownloadSession {
        DownloadSession {
            client_progress: self.client_progress,
            error_message: self.error_message.as_ref().map(Message::model),
            expiration_time: self.expiration_time.clone(),
            id: self.id.clone(),
            library_item_content_version: self.library_item_content_version.clone(),
            library_item_id: self.library_item_id.clone(),
            state: [
                SessionState::Active,
                SessionState::Canceled,
                SessionState::Error,
            ][self.state as usize % 3],
        }
    }
}

/// A seed written as JSON: the reference page's session and error, readable in the
/// corpus. Any input that is not one is read with `arbitrary` instead.
#[derive(serde::Deserialize)]
struct Seed {
    session: DownloadSession,
    error: VapiError,
}

fn models(data: &[u8]) -> Option<(DownloadSession, VapiError)> {
    if let Ok(seed) = serde_json::from_slice::<Seed>(data) {
        return Some((seed.session, seed.error));
    }
    let input = Input::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let error = VapiError {
        kind: ErrorKind::ALL[input.error_kind as usize % ErrorKind::ALL.len()],
        messages: input.error_messages.iter().map(Message::model).collect(),
    };
    Some((input.session.model(), error))
}

fuzz_target!(|data: &[u8]| {
    let Some((session, error)) = models(data) else {
        return;
    };
    for encoding in [Encoding::WrappedJson, Encoding::BareJson] {
        let rendered = render::session(&session, encoding);
        let back = decode::session(&rendered).unwrap_or_else(|err| {
            panic!(
                "{encoding:?} does not decode: {err}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(back, session, "{encoding:?}");
    }
    let rendered = render::session(&session, Encoding::Xml);
    let back = decode::session(&rendered).unwrap_or_else(|err| {
        panic!(
            "XML does not decode: {err}\n{}",
            String::from_utf8_lossy(&rendered)
        )
    });
    let expected = as_xml_carries_it(&session);
    assert_eq!(back, expected, "{}", String::from_utf8_lossy(&rendered));
    // What a conforming XML 1.0 client reads must be the same session.
    match conforming::session(&rendered) {
        Ok(read) => assert_eq!(read, expected, "{}", String::from_utf8_lossy(&rendered)),
        Err(err) => panic!(
            "a conforming parser refuses the XML: {err}\n{}",
            String::from_utf8_lossy(&rendered)
        ),
    }

    for encoding in [Encoding::WrappedJson, Encoding::BareJson] {
        let rendered = render::error(&error, encoding);
        let back = decode::error(&rendered).unwrap_or_else(|err| {
            panic!(
                "{encoding:?} does not decode: {err}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(back, error, "{encoding:?}");
    }
    let rendered = render::error(&error, Encoding::Xml);
    if let Err(err) = xml::parse_document(&rendered, "Error")
        .map_err(|err| err.to_string())
        .and_then(|_| conforming::well_formed(&rendered))
    {
        panic!(
            "error XML is not well-formed: {err}\n{}",
            String::from_utf8_lossy(&rendered)
        );
    }
});

/// What the XML representation carries of a session: everything but the params, and
/// each string with the characters XML 1.0 cannot hold (C0 controls but tab, line feed
/// and carriage return; U+FFFE; U+FFFF) replaced by U+FFFD, as dsvcr documents.
fn as_xml_carries_it(session: &DownloadSession) -> DownloadSession {
    fn text(s: &str) -> String {
        s.chars()
            .map(|c| match c {
                '\t' | '\n' | '\r' => c,
                '\0'..='\u{1f}' | '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
                _ => c,
            })
            .collect()
    }
    let mut session = session.clone();
    for field in [
        session.expiration_time.as_mut(),
        session.id.as_mut(),
        session.library_item_content_version.as_mut(),
        Some(&mut session.library_item_id),
    ]
    .into_iter()
    .flatten()
    {
        *field = text(field);
    }
    if let Some(message) = &mut session.error_message {
        message.params = None;
        message.default_message = text(&message.default_message);
        message.id = text(&message.id);
        if let Some(localized) = &mut message.localized {
            *localized = text(localized);
        }
        for arg in &mut message.args {
            *arg = text(arg);
        }
    }
    session
}
