//! `json_body`: the JSON body parsers on arbitrary bytes. The bytes are the body of each
//! operation that reads one (through request recognition, with a fixed path), and an
//! upstream answer for every answer decoder record mode uses.
//!
//! None may panic. A recognised body gives the route's operation or a 4xx. A decoded
//! answer re-renders as `/rest` and `/api` JSON that decodes to the same answer; a
//! decoded error likewise.

use crate::protocol::rest::recognise::Operation;
use crate::protocol::rest::{decode, render};
use crate::vapi::call::Answer;
use crate::vapi::catalog::{Op, Output};
use crate::vapi::wire::{Encoding, Flavour};
use crate::vapi::VapiError;

const JSON_ENCODINGS: [Encoding; 2] = [Encoding::WrappedJson, Encoding::BareJson];

/// A request line of each operation that reads a JSON body.
const BODY_ROUTES: [(&str, Op); 6] = [
    (
        "POST /rest/com/vmware/content/library/item/download-session?~action=get",
        Op::Get,
    ),
    (
        "POST /rest/com/vmware/content/library/item/download-session",
        Op::Create,
    ),
    ("POST /api/content/library/item/download-session", Op::Create),
    (
        "POST /rest/com/vmware/content/library/item/downloadsession/file/id:obj-103?~action=get",
        Op::FileGet,
    ),
    (
        "POST /rest/com/vmware/content/library/item/downloadsession/file/id:obj-103?~action=prepare",
        Op::FilePrepare,
    ),
    (
        "POST /api/content/library/item/download-session/obj-103/file?action=prepare",
        Op::FilePrepare,
    ),
];

/// What the bytes were read as.
// Read by the seed tests; the fuzz targets only need the checks.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug, Default)]
pub(super) struct Read {
    /// The routes that accepted them as their body.
    pub(super) accepted_by: Vec<(Op, Flavour)>,
    pub(super) answers: Vec<Answer>,
    pub(super) error: Option<VapiError>,
}

pub(super) fn check(data: &[u8]) -> Read {
    Read {
        accepted_by: BODY_ROUTES
            .iter()
            .filter_map(|(line, op)| check_body(line, *op, data).map(|flavour| (*op, flavour)))
            .collect(),
        answers: outputs()
            .filter_map(|output| check_answer(output, data))
            .collect(),
        error: check_error(data),
    }
}

/// The flavour of the call, if the route accepted the body; it must give its own
/// operation or a 4xx (which the `recognise` checks assert).
fn check_body(request_line: &str, op: Op, body: &[u8]) -> Option<Flavour> {
    let mut request = format!("{request_line}\nContent-Type: application/json\n\n").into_bytes();
    request.extend_from_slice(body);
    match super::recognise::check(&request).expect("the fixed request is valid") {
        Ok(Operation::Call(call)) => {
            assert_eq!(call.op, op, "{request_line}");
            Some(call.style.flavour)
        }
        Ok(other) => panic!("{request_line} became {other:?}"),
        Err(_) => None,
    }
}

/// Every answer shape an operation has, but a model kept as plain JSON (which any JSON
/// is, and which renders back as it came).
fn outputs() -> impl Iterator<Item = Output> {
    let mut outputs: Vec<Output> = Vec::new();
    for output in Op::ALL.map(Op::output) {
        if output != Output::Value && !outputs.contains(&output) {
            outputs.push(output);
        }
    }
    outputs.into_iter()
}

fn check_answer(output: Output, data: &[u8]) -> Option<Answer> {
    let answer = decode::output(output, data).ok()?;
    for encoding in JSON_ENCODINGS {
        let rendered = render::answer(&answer, encoding);
        let back = decode::output(output, &rendered).unwrap_or_else(|err| {
            panic!(
                "{output:?} in {encoding:?} does not decode: {err}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(back, answer, "{output:?} in {encoding:?}");
    }
    Some(answer)
}

fn check_error(data: &[u8]) -> Option<VapiError> {
    let error = decode::error(data).ok()?;
    for encoding in JSON_ENCODINGS {
        let rendered = render::error(&error, encoding);
        let back = decode::error(&rendered).unwrap_or_else(|err| {
            panic!(
                "{encoding:?} does not decode: {err}\n{}",
                String::from_utf8_lossy(&rendered)
            )
        });
        assert_eq!(back, error, "{encoding:?}");
    }
    Some(error)
}
