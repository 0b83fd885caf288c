//! `render`: any answer renders in every encoding (`/rest` JSON, `/api` JSON, XML) to
//! bytes that decode back to the same answer.
//!
//! Sessions are the one output with an XML form. It has no form for
//! `error_message.params`, and XML 1.0 cannot carry most control characters (dsvcr
//! writes U+FFFD for them), so the XML round trip is compared with the params removed
//! and those characters replaced; a strict XML 1.0 parser must read the XML the same
//! (what a conforming client sees). Errors render to JSON that decodes back and to
//! well-formed XML. The other outputs are JSON in every encoding, bare only on `/api`.

use arbitrary::{Arbitrary, Unstructured};
use serde_json::{Map, Number, Value};

use super::conforming;
use crate::protocol::rest::{decode, render, xml};
use crate::vapi::call::Answer;
use crate::vapi::model::{ChecksumInfo, FileStatus, SessionState, TransferEndpoint};
use crate::vapi::wire::Encoding;
use crate::vapi::{DownloadSession, ErrorKind, FileInfo, LocalizableMessage, SessionId, VapiError};

const ENCODINGS: [Encoding; 3] = [Encoding::WrappedJson, Encoding::BareJson, Encoding::Xml];

/// The answers the bytes were read as.
#[derive(Debug)]
pub(super) struct Models {
    pub(super) session: DownloadSession,
    pub(super) error: VapiError,
    /// Every other output: a file, files, ids, an id if the input makes a valid one, void.
    pub(super) others: Vec<Answer>,
}

pub(super) fn check(data: &[u8]) -> Option<Models> {
    let models = seed(data).or_else(|| arbitrary(data))?;
    check_session(&models.session);
    check_error(&models.error);
    for answer in &models.others {
        check_other(answer);
    }
    Some(models)
}

fn check_session(session: &DownloadSession) {
    for encoding in [Encoding::WrappedJson, Encoding::BareJson] {
        let rendered = render::session(session, encoding);
        let back = decode::session(&rendered).unwrap_or_else(|err| {
            panic!("{encoding:?} does not decode: {err}\n{}", shown(&rendered))
        });
        assert_eq!(&back, session, "{encoding:?}");
    }
    let rendered = render::session(session, Encoding::Xml);
    let back = decode::session(&rendered)
        .unwrap_or_else(|err| panic!("XML does not decode: {err}\n{}", shown(&rendered)));
    let expected = as_xml_carries_it(session);
    assert_eq!(back, expected, "{}", shown(&rendered));
    let read = conforming::session(&rendered).unwrap_or_else(|err| {
        panic!(
            "a conforming parser refuses the XML: {err}\n{}",
            shown(&rendered)
        )
    });
    assert_eq!(read, expected, "{}", shown(&rendered));
}

fn check_error(error: &VapiError) {
    for encoding in [Encoding::WrappedJson, Encoding::BareJson] {
        let rendered = render::error(error, encoding);
        let back = decode::error(&rendered).unwrap_or_else(|err| {
            panic!("{encoding:?} does not decode: {err}\n{}", shown(&rendered))
        });
        assert_eq!(&back, error, "{encoding:?}");
    }
    let rendered = render::error(error, Encoding::Xml);
    if let Err(err) = xml::parse_document(&rendered, "Error")
        .map_err(|err| err.to_string())
        .and_then(|_| conforming::well_formed(&rendered))
    {
        panic!("error XML is not well-formed: {err}\n{}", shown(&rendered));
    }
}

/// Decodes back in every encoding; `/api` writes the output bare and every other
/// encoding writes it in `{"value": …}`, and a void answer has no body at all.
fn check_other(answer: &Answer) {
    let output = answer.output().expect("not an error");
    for encoding in ENCODINGS {
        let rendered = render::answer(answer, encoding);
        let back = decode::output(output, &rendered).unwrap_or_else(|err| {
            panic!(
                "{answer:?} in {encoding:?} does not decode: {err}\n{}",
                shown(&rendered)
            )
        });
        assert_eq!(&back, answer, "{encoding:?}");
    }
    let bare = render::answer(answer, Encoding::BareJson);
    let wrapped = render::answer(answer, Encoding::WrappedJson);
    if *answer == Answer::Void {
        assert!(
            bare.is_empty() && wrapped.is_empty(),
            "a void answer has a body"
        );
        return;
    }
    let bare: Value = serde_json::from_slice(&bare).expect("bare JSON");
    let wrapped: Value = serde_json::from_slice(&wrapped).expect("wrapped JSON");
    assert_eq!(wrapped, serde_json::json!({ "value": bare }));
}

fn shown(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

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

/// A seed written as JSON, readable in the corpus: a session and an error, and
/// optionally a file, files and ids. Any input that is not one is read with
/// `arbitrary` instead.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Seed {
    session: DownloadSession,
    error: VapiError,
    #[serde(default)]
    file: Option<FileInfo>,
    #[serde(default)]
    files: Vec<FileInfo>,
    #[serde(default)]
    ids: Vec<String>,
}

pub(super) fn seed(data: &[u8]) -> Option<Models> {
    let seed: Seed = serde_json::from_slice(data).ok()?;
    let mut others: Vec<Answer> = seed.file.into_iter().map(Answer::File).collect();
    others.extend(common_answers(seed.files, seed.ids));
    Some(Models {
        session: seed.session,
        error: seed.error,
        others,
    })
}

/// The answers every input holds: files, ids, an id (the first of the ids, if valid)
/// and void.
fn common_answers(files: Vec<FileInfo>, ids: Vec<String>) -> Vec<Answer> {
    let id = ids.first().and_then(|id| SessionId::parse(id).ok());
    let mut answers = vec![Answer::Files(files), Answer::Ids(ids), Answer::Void];
    answers.extend(id.map(Answer::Id));
    answers
}

fn arbitrary(data: &[u8]) -> Option<Models> {
    let input = Input::arbitrary_take_rest(Unstructured::new(data)).ok()?;
    let error = VapiError {
        kind: pick(ErrorKind::ALL, input.error_kind),
        messages: input.error_messages.iter().map(Message::model).collect(),
    };
    let mut others = vec![Answer::File(input.file.model())];
    others.extend(common_answers(
        input.files.iter().map(File::model).collect(),
        input.ids,
    ));
    Some(Models {
        session: input.session.model(),
        error,
        others,
    })
}

fn pick<T: Copy>(choices: &[T], index: u8) -> T {
    choices[usize::from(index) % choices.len()]
}

#[derive(Arbitrary, Debug)]
struct Input {
    session: Session,
    error_kind: u8,
    error_messages: Vec<Message>,
    file: File,
    files: Vec<File>,
    ids: Vec<String>,
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

impl Session {
    fn model(&self) -> DownloadSession {
        DownloadSession {
            client_progress: self.client_progress,
            error_message: self.error_message.as_ref().map(Message::model),
            expiration_time: self.expiration_time.clone(),
            id: self.id.clone(),
            library_item_content_version: self.library_item_content_version.clone(),
            library_item_id: self.library_item_id.clone(),
            state: pick(
                &[
                    SessionState::Active,
                    SessionState::Canceled,
                    SessionState::Error,
                ],
                self.state,
            ),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct File {
    bytes_transferred: Option<i64>,
    /// Algorithm and checksum.
    checksum_info: Option<(Option<String>, String)>,
    /// Certificate, thumbprint and URI.
    download_endpoint: Option<(Option<String>, Option<String>, String)>,
    error_message: Option<Message>,
    name: String,
    size: Option<i64>,
    status: u8,
}

impl File {
    fn model(&self) -> FileInfo {
        FileInfo {
            bytes_transferred: self.bytes_transferred,
            checksum_info: self
                .checksum_info
                .clone()
                .map(|(algorithm, checksum)| ChecksumInfo {
                    algorithm,
                    checksum,
                }),
            download_endpoint: self.download_endpoint.clone().map(
                |(ssl_certificate, ssl_certificate_thumbprint, uri)| TransferEndpoint {
                    ssl_certificate,
                    ssl_certificate_thumbprint,
                    uri,
                },
            ),
            error_message: self.error_message.as_ref().map(Message::model),
            name: self.name.clone(),
            size: self.size,
            status: pick(
                &[
                    FileStatus::Unprepared,
                    FileStatus::PrepareRequested,
                    FileStatus::Preparing,
                    FileStatus::Prepared,
                    FileStatus::Error,
                ],
                self.status,
            ),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Message {
    args: Vec<String>,
    default_message: String,
    id: String,
    localized: Option<String>,
    params: Option<Vec<(String, Json)>>,
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
