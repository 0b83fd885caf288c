//! `recognise`: request recognition on any method, path, query, headers and body.

use bytes::Bytes;
use http::{Method, Request};

use crate::protocol::rest::recognise::{self as rest, Operation, Route};
use crate::vapi::call::{Call, CallKey};
use crate::vapi::catalog::{Key, Op};
use crate::vapi::id::MAX_ID_BYTES;
use crate::vapi::rejection::{Rejection, MAX_MESSAGE_BYTES, MAX_NAME_BYTES};
use crate::vapi::wire::{Flavour, Form, Representation};
use crate::vapi::SessionId;

pub(super) type Outcome = Result<Operation, Rejection>;

/// Checks recognition of the request the bytes write; `None` when they make none.
pub(super) fn check(data: &[u8]) -> Option<Outcome> {
    let request = super::request::build(data)?;
    let outcome = rest::recognise(&request);
    assert_eq!(
        outcome,
        rest::recognise(&request),
        "recognition is deterministic"
    );
    check_two_steps(&request, &outcome);
    let flavour = Flavour::of_path(request.uri().path());
    match &outcome {
        Ok(Operation::Call(call)) => check_call(&request, call),
        Ok(Operation::MethodNotAllowed { allow, flavour: of }) => {
            assert_eq!(*of, flavour, "{request:?}");
            let method = request.method().as_str();
            assert!(
                !allow.split(", ").any(|m| m == method),
                "{method} in {allow}"
            );
        }
        Ok(Operation::Session { flavour: of, .. }) => assert_eq!(*of, flavour, "{request:?}"),
        Ok(Operation::Other) => {}
        Err(rejection) => check_rejection(rejection, flavour),
    }
    Some(outcome)
}

/// The server's way: `route`, then `complete` with the body (record mode always reads
/// it) or, when the call does not need it, without (replay does not read it).
fn check_two_steps(request: &Request<Bytes>, outcome: &Outcome) {
    let (method, headers, body) = (request.method(), request.headers(), request.body());
    let two_steps = match rest::route(method, request.uri()) {
        Ok(Route::Call(pending)) => {
            let provisional = pending.provisional_style(headers);
            let read: &[u8] = if pending.needs_body() { body } else { &[] };
            let query = request.uri().query();
            let replayed = pending.clone().complete(query, headers, read);
            let recorded = pending.complete(query, headers, body);
            assert_eq!(
                replayed, recorded,
                "a body the call does not need changed it"
            );
            if let Ok(call) = &recorded {
                assert_eq!(provisional.flavour, call.style.flavour);
                if call.op != Op::Get {
                    assert_eq!(provisional, call.style, "only a get's style reads the body");
                }
            }
            recorded.map(Operation::Call)
        }
        Ok(Route::MethodNotAllowed { allow, flavour }) => {
            Ok(Operation::MethodNotAllowed { allow, flavour })
        }
        Ok(Route::Session { op, flavour }) => Ok(Operation::Session { op, flavour }),
        Ok(Route::Other) => Ok(Operation::Other),
        Err(rejection) => Err(rejection),
    };
    assert_eq!(
        &two_steps, outcome,
        "recognise and route + complete disagree"
    );
}

fn check_call(request: &Request<Bytes>, call: &Call) {
    assert_eq!(
        call.style.flavour,
        Flavour::of_path(request.uri().path()),
        "{call:?}"
    );
    check_key(call.op, &call.key);
    assert_eq!(call.form.is_some(), call.op == Op::Get, "{call:?}");
    if call.op != Op::Get {
        // XML is published for get only.
        assert_eq!(call.style.representation, Representation::Json, "{call:?}");
    }
    if let Some(form) = call.form {
        check_form(request, call, form);
    }
}

/// The key has the op's shape, any session id in it is safe as a file name, and any
/// name in it is safe to store.
fn check_key(op: Op, key: &CallKey) {
    let fits = matches!(
        (op.key(), key),
        (Key::Session, CallKey::Session(_))
            | (Key::SessionFile, CallKey::File(..))
            | (Key::Create, CallKey::Create { .. })
            | (Key::ItemFilter, CallKey::Items(_))
            | (Key::Lookup, CallKey::Lookup(_))
    );
    assert!(fits, "{op:?} keyed by {key:?}");
    if let Some(id) = key.session() {
        check_id(id);
    }
    let names = match key {
        CallKey::Session(_) | CallKey::Items(None) => vec![],
        CallKey::File(_, file) => vec![file],
        CallKey::Create { item, token } => {
            [Some(item), token.as_ref()].into_iter().flatten().collect()
        }
        CallKey::Items(Some(item)) => vec![item],
        CallKey::Lookup(input) => {
            let parsed: serde_json::Value =
                serde_json::from_str(input).expect("a lookup key is JSON");
            assert!(parsed.is_object(), "{input}");
            assert_eq!(parsed.to_string(), *input, "a lookup key is canonical");
            vec![]
        }
    };
    for name in names {
        assert!(!name.is_empty() && name.len() <= MAX_NAME_BYTES, "{name:?}");
        assert!(!name.chars().any(char::is_control), "{name:?}");
    }
}

fn check_id(id: &SessionId) {
    let raw = id.as_str();
    assert_eq!(SessionId::parse(raw).as_ref(), Ok(id), "{raw:?}");
    assert!(!raw.is_empty() && raw.len() <= MAX_ID_BYTES, "{raw:?}");
    assert!(!raw.contains(['/', '\\']), "{raw:?}");
    assert!(!raw.contains(".."), "{raw:?}");
    assert!(!raw.chars().any(char::is_control), "{raw:?}");
    assert!(!raw.starts_with('.'), "{raw:?}");
    let stem = id.file_stem();
    assert!(!stem.contains([':', '/', '\\']), "{stem:?}");
}

/// Each form is exactly the request shape it names.
fn check_form(request: &Request<Bytes>, call: &Call, form: Form) {
    assert_eq!(
        form == Form::Api,
        call.style.flavour == Flavour::Api,
        "{call:?}"
    );
    let method = request.method();
    let blank = request.body().iter().all(u8::is_ascii_whitespace);
    match form {
        Form::GetById | Form::Api => assert_eq!(method, Method::GET),
        Form::PostById => assert_eq!(method, Method::POST),
        Form::CollectionJsonBody | Form::CollectionXmlBody => {
            assert_eq!(method, Method::POST);
            assert!(!blank, "a body form with a blank body");
        }
        Form::CollectionQuery => {
            assert_eq!(method, Method::POST);
            assert!(blank, "the query form with a body");
        }
        Form::JsonRpc => panic!("REST recognition gave the JSON-RPC form: {call:?}"),
    }
}

fn check_rejection(rejection: &Rejection, flavour: Flavour) {
    assert!(rejection.status.is_client_error(), "{rejection:?}");
    assert_eq!(rejection.style.flavour, flavour, "{rejection:?}");
    // Rejections are answered and logged: they must not echo a whole body back.
    assert!(
        rejection.message.len() <= MAX_MESSAGE_BYTES + '…'.len_utf8(),
        "{} bytes: {:.200}",
        rejection.message.len(),
        rejection.message
    );
}
