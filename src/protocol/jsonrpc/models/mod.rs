//! Library and item models over JSON-RPC. The cassettes keep them as the plain REST JSON
//! vCenter sent; VMware's SDK reads only their typed encoding, built from the schema
//! (`super::schema`) by the mapping of `vapi-typed-models.md`:
//!
//! - a REST field the schema has a place for keeps its name, its value in
//!   `{"OPTIONAL": …}` (bare where the schema requires the field); a nested object
//!   becomes a `STRUCTURE`, a list is typed element by element, a secret is `SECRET`;
//! - a REST field without a place is left out (a raw object there breaks the SDK's
//!   whole answer), and so is a null or absent optional field;
//! - a date-time must carry a zone: one without (`2013-06-06T22:13:05`) is taken as UTC,
//!   as for download sessions; anything else that is not the SDK's pattern is refused.
//!
//! A model that does not fit (not an object, a required field missing, a value of the
//! wrong kind) cannot be typed: the SDK would raise or read a wrong value, so it is an
//! [`Unencodable`] error, never an answer. Decoding goes the other way for record mode:
//! a typed model becomes the plain model a REST recording stores.

use std::sync::OnceLock;

use regex::Regex;
use serde_json::{json, Map, Value};

use super::schema;
use super::typed::{decode_keeping, kind, structure, with_zone, Struct, Type, TypedError};
use crate::vapi::catalog::Op;

/// Why a recorded model cannot be written for a JSON-RPC caller.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Unencodable {
    #[error("dsvcr has no vAPI schema for the output of {0}")]
    NoSchema(&'static str),
    #[error("the recorded model does not fit {model}: {problem}")]
    Misfit {
        model: &'static str,
        #[source]
        problem: TypedError,
    },
}

impl Unencodable {
    /// The field the problem is at (dotted, from the model down), if it is at one.
    pub(crate) fn field(&self) -> Option<String> {
        match self {
            Unencodable::Misfit { problem, .. } => problem.field(),
            Unencodable::NoSchema(_) => None,
        }
    }
}

/// The typed encoding of the model `op` answers.
pub(crate) fn typed(op: Op, plain: &Value) -> Result<Value, Unencodable> {
    let schema = schema::model(op).ok_or(Unencodable::NoSchema(op.full_name()))?;
    encode_struct(schema, plain).map_err(|problem| Unencodable::Misfit {
        model: schema.name,
        problem,
    })
}

/// The plain model a REST recording of `op` stores, from its typed encoding: wrappers
/// removed, null optional fields left out, fields the schema does not name kept.
pub(crate) fn plain(op: Op, typed: &Value) -> Result<Value, TypedError> {
    let schema = schema::model(op).ok_or_else(|| {
        TypedError::new(format!(
            "dsvcr has no vAPI schema for the output of {}",
            op.full_name()
        ))
    })?;
    decode_keeping(&Type::Struct(schema), typed)
}

fn encode_struct(schema: &Struct, plain: &Value) -> Result<Value, TypedError> {
    let Value::Object(plain) = plain else {
        return Err(TypedError::new(format!(
            "expected an object, not {}",
            kind(plain)
        )));
    };
    let mut fields = Map::with_capacity(schema.fields.len());
    for (name, ty) in schema.fields {
        let value = plain.get(*name).filter(|value| !value.is_null());
        let typed = match (ty, value) {
            (Type::Optional(_), None) => continue,
            (_, None) => return Err(TypedError::new("a required field is missing").within(name)),
            (Type::Optional(inner), Some(value)) => {
                json!({ "OPTIONAL": encode(inner, value).map_err(|err| err.within(name))? })
            }
            (ty, Some(value)) => encode(ty, value).map_err(|err| err.within(name))?,
        };
        fields.insert((*name).to_owned(), typed);
    }
    Ok(structure(schema.name, fields))
}

fn encode(ty: &Type, plain: &Value) -> Result<Value, TypedError> {
    let expected = |what: &str| {
        Err(TypedError::new(format!(
            "expected {what}, not {}",
            kind(plain)
        )))
    };
    match (ty, plain) {
        (Type::Struct(schema), _) => encode_struct(schema, plain),
        (Type::Optional(_), Value::Null) => Ok(json!({ "OPTIONAL": null })),
        (Type::Optional(inner), _) => Ok(json!({ "OPTIONAL": encode(inner, plain)? })),
        (Type::List(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| encode(inner, item).map_err(|err| err.within(&index.to_string())))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (Type::List(_), _) => expected("a list"),
        (Type::Map(inner), Value::Object(entries)) => entries
            .iter()
            .map(|(key, value)| {
                let value = encode(inner, value).map_err(|err| err.within(key))?;
                let mut entry = Map::with_capacity(2);
                entry.insert("key".to_owned(), Value::String(key.clone()));
                entry.insert("value".to_owned(), value);
                Ok(structure("map-entry", entry))
            })
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (Type::Map(_), _) => expected("an object"),
        (Type::Text | Type::Enum(_), Value::String(_)) => Ok(plain.clone()),
        (Type::Text, _) => expected("a string"),
        (Type::Enum(values), _) => expected(&format!("a string such as {}", values.join(" or "))),
        (Type::Integer, Value::Number(number)) if number.is_i64() || number.is_u64() => {
            Ok(plain.clone())
        }
        (Type::Integer, _) => expected("a whole number"),
        (Type::Boolean, Value::Bool(_)) => Ok(plain.clone()),
        (Type::Boolean, _) => expected("true or false"),
        (Type::Secret, Value::String(_)) => Ok(json!({ "SECRET": plain })),
        (Type::Secret, _) => expected("a string"),
        (Type::DateTime, Value::String(text)) => zoned(text).map(Value::String),
        (Type::DateTime, _) => expected("a date-time string"),
        (Type::Plain, Value::Object(_) | Value::Array(_)) => expected("a plain value"),
        (Type::Plain, _) => Ok(plain.clone()),
    }
}

/// `text` as a date-time the SDK reads: with its zone, or `Z` added to one without.
fn zoned(text: &str) -> Result<String, TypedError> {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    let pattern = PATTERN.get_or_init(|| {
        Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})$")
            .expect("the pattern compiles")
    });
    let zoned = with_zone(text);
    if pattern.is_match(&zoned) {
        Ok(zoned)
    } else {
        Err(TypedError::new(format!(
            "{text:?} is not a date-time like 2026-12-06T23:23:56.232Z (YYYY-MM-DDThh:mm:ss, optional fraction, Z or ±hh:mm)"
        )))
    }
}

#[cfg(test)]
mod tests;
