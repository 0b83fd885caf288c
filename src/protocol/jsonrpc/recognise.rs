//! An `invoke` as the protocol-neutral [`Call`] its REST forms give, or as an API session
//! operation. The operation is found by its catalog row's full name
//! (`serviceId` + `.` + `operationId`); its key fields are read from
//! `input.STRUCTURE["operation-input"]`.

use std::borrow::Cow;
use std::sync::OnceLock;

use serde_json::{Map, Value};

use super::envelope::{Fault, Invoke, INVALID_PARAMS};
use crate::vapi::call::{Call, CallKey};
use crate::vapi::catalog::{Key, Op};
use crate::vapi::id::SessionId;
use crate::vapi::rejection::{check_name, parse_id};
use crate::vapi::wire::{Flavour, Form, Style};
use crate::vapi::SessionOp;

/// The vAPI service of API sessions (login, session info, logout).
pub(crate) const SESSION_SERVICE: &str = "com.vmware.cis.session";

/// How every JSON-RPC call is answered.
pub(crate) const STYLE: Style = Style::json(Flavour::JsonRpc);

/// What an `invoke` asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    Call(Call),
    Session(SessionOp),
    /// An operation outside the catalog.
    Unknown,
}

pub(crate) fn recognise(invoke: &Invoke) -> Result<Target, Fault> {
    if invoke.service == SESSION_SERVICE {
        return Ok(match &*invoke.operation {
            "create" => Target::Session(SessionOp::Login),
            "get" => Target::Session(SessionOp::Info),
            "delete" => Target::Session(SessionOp::Logout),
            _ => Target::Unknown,
        });
    }
    let Some(op) = op_named(&invoke.service, &invoke.operation) else {
        return Ok(Target::Unknown);
    };
    let invalid = |problem: String| Fault::new(invoke.id.clone(), INVALID_PARAMS, problem);
    let input = invoke
        .input
        .as_ref()
        .map_err(|problem| invalid(problem.clone()))?;
    let key = key_of(op, input).map_err(invalid)?;
    Ok(Target::Call(Call {
        op,
        key,
        style: STYLE,
        form: (op == Op::Get).then_some(Form::JsonRpc),
    }))
}

/// The catalogued operation `service`.`operation`.
pub(crate) fn op_named(service: &str, operation: &str) -> Option<Op> {
    // Split and sorted once: every invoke looks its operation up.
    static NAMES: OnceLock<Vec<(&'static str, &'static str, Op)>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut names: Vec<_> = Op::ALL
            .into_iter()
            .filter_map(|op| {
                let (service, operation) = op.full_name().rsplit_once('.')?;
                Some((service, operation, op))
            })
            .collect();
        names.sort_unstable_by_key(|&(service, operation, _)| (service, operation));
        names
    });
    names
        .binary_search_by(|&(known_service, known_operation, _)| {
            (known_service, known_operation).cmp(&(service, operation))
        })
        .ok()
        .map(|at| names[at].2)
}

fn key_of(op: Op, input: &Map<String, Value>) -> Result<CallKey, String> {
    Ok(match op.key() {
        Key::Session => CallKey::Session(session_id(input)?),
        Key::SessionFile => {
            let file = required(input, &["file_name"])?;
            CallKey::File(session_id(input)?, name("file_name", file)?)
        }
        Key::Create => CallKey::Create {
            item: name(
                "library_item_id",
                required(input, &["create_spec", "library_item_id"])?,
            )?,
            token: text(input, &["client_token"])?
                .map(|token| name("client_token", token))
                .transpose()?,
        },
        Key::ItemFilter => CallKey::Items(
            text(input, &["library_item_id"])?
                .map(|item| name("library_item_id", item))
                .transpose()?,
        ),
        Key::Lookup => lookup_key(op, input),
    })
}

/// A lookup's key: the inputs its REST routes key it by, without unset optional fields, in
/// canonical JSON, so that a lookup recorded over REST answers the same one over JSON-RPC.
fn lookup_key(op: Op, input: &Map<String, Value>) -> CallKey {
    CallKey::lookup(
        lookup_names(op)
            .iter()
            .filter_map(|name| Some((*name, without_nulls(input.get(*name)?)?))),
    )
}

/// Each lookup's input names, once each and sorted as a JSON object's members are.
fn lookup_names(op: Op) -> &'static [&'static str] {
    static NAMES: OnceLock<Vec<Vec<&'static str>>> = OnceLock::new();
    let names = NAMES.get_or_init(|| {
        let mut names = vec![Vec::new(); Op::ALL.len()];
        for op in Op::ALL {
            let routes = op.row().rest.iter();
            let mut own: Vec<&str> = routes
                .flat_map(|route| route.inputs.lookup)
                .map(|(name, _)| *name)
                .collect();
            own.sort_unstable();
            own.dedup();
            names[op as usize] = own;
        }
        names
    });
    &names[op as usize]
}

/// `value` without its null members at any depth; `None` when it is null itself.
fn without_nulls(value: &Value) -> Option<Cow<'_, Value>> {
    match value {
        Value::Null => None,
        Value::Object(fields) if fields.values().any(holds_null) => {
            Some(Cow::Owned(Value::Object(
                fields
                    .iter()
                    .filter_map(|(name, value)| {
                        Some((name.clone(), without_nulls(value)?.into_owned()))
                    })
                    .collect(),
            )))
        }
        other => Some(Cow::Borrowed(other)),
    }
}

fn holds_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Object(fields) => fields.values().any(holds_null),
        _ => false,
    }
}

fn session_id(input: &Map<String, Value>) -> Result<SessionId, String> {
    let raw = required(input, &["download_session_id"])?;
    parse_id(&raw, STYLE).map_err(|rejection| rejection.message)
}

fn name(field: &str, value: String) -> Result<String, String> {
    check_name(field, value, STYLE).map_err(|rejection| rejection.message)
}

fn required(input: &Map<String, Value>, path: &[&str]) -> Result<String, String> {
    text(input, path)?.ok_or_else(|| format!("the operation input has no {}", path.join(".")))
}

/// The string at `path`; `None` when absent or null.
fn text(input: &Map<String, Value>, path: &[&str]) -> Result<Option<String>, String> {
    let mut value = input.get(path[0]);
    for name in &path[1..] {
        value = match value {
            Some(Value::Object(fields)) => fields.get(*name),
            None | Some(Value::Null) => None,
            Some(other) => {
                return Err(format!(
                    "{} in the operation input must be a structure, not {other}",
                    path[0]
                ))
            }
        };
    }
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(other) => Err(format!(
            "{} in the operation input must be a string, not {other}",
            path.join(".")
        )),
    }
}
