//! The typed value encoding of vAPI JSON-RPC, driven by a schema ([`Type`]):
//! structures are `{"STRUCTURE":{"<name>":{fields}}}`, optional values
//! `{"OPTIONAL": value-or-null}`, maps lists of `map-entry` structures, and date-times
//! carry a zone. Plain values (strings, ids, enums, numbers, booleans) are written as
//! they are.

use serde_json::{json, Map, Value};

/// The shape of a value.
#[derive(Debug)]
pub(crate) enum Type {
    /// A string, id, enum, number or boolean.
    Plain,
    /// A string, an id or a URI.
    Text,
    Integer,
    Boolean,
    /// An enumeration's value, one of these in the SDK's bindings. Other values are written
    /// as they are (a newer vCenter's): the SDK reads them.
    Enum(&'static [&'static str]),
    /// A date-time string.
    DateTime,
    /// A credential: `{"SECRET": "…"}`.
    Secret,
    Optional(&'static Type),
    List(&'static Type),
    /// A map with string keys.
    Map(&'static Type),
    Struct(&'static Struct),
}

/// A vAPI structure: its canonical name and its fields in the SDK's order.
#[derive(Debug)]
pub(crate) struct Struct {
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [(&'static str, Type)],
}

/// Why a typed value does not have the expected shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}{}", at(.path))]
pub(crate) struct TypedError {
    /// Field names from the outside in.
    path: Vec<String>,
    problem: String,
}

fn at(path: &[String]) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at {}", path.join("."))
    }
}

impl TypedError {
    /// The field the problem is at, dotted from the outside in; `None` at the top.
    pub(crate) fn field(&self) -> Option<String> {
        (!self.path.is_empty()).then(|| self.path.join("."))
    }

    pub(crate) fn new(problem: impl Into<String>) -> Self {
        TypedError {
            path: Vec::new(),
            problem: problem.into(),
        }
    }

    /// The error, as found inside `field`.
    pub(super) fn within(mut self, field: &str) -> Self {
        self.path.insert(0, field.to_owned());
        self
    }
}

/// The types whose values are written as they are (a secret is also read from a plain
/// string, as the SDK reads it).
macro_rules! leaf {
    () => {
        Type::Plain
            | Type::Text
            | Type::Integer
            | Type::Boolean
            | Type::Enum(_)
            | Type::DateTime
            | Type::Secret
    };
}
/// `{"STRUCTURE":{name:fields}}`.
pub(crate) fn structure(name: &str, fields: Map<String, Value>) -> Value {
    let mut named = Map::with_capacity(1);
    named.insert(name.to_owned(), Value::Object(fields));
    json!({ "STRUCTURE": named })
}

/// Writes a plain JSON value (as the REST API and the cassettes hold it) in the typed
/// encoding. Absent optional fields are written `{"OPTIONAL": null}`; absent required
/// fields are left out.
pub(crate) fn encode(ty: &Type, plain: &Value) -> Value {
    match (ty, plain) {
        (Type::Plain | Type::Text | Type::Integer | Type::Boolean | Type::Enum(_), _) => {
            plain.clone()
        }
        (Type::DateTime, Value::String(text)) => Value::String(with_zone(text)),
        (Type::Secret, Value::String(_)) => json!({ "SECRET": plain }),
        (Type::Optional(_), Value::Null) => json!({ "OPTIONAL": null }),
        (Type::Optional(inner), _) => json!({ "OPTIONAL": encode(inner, plain) }),
        (Type::List(inner), Value::Array(items)) => {
            Value::Array(items.iter().map(|item| encode(inner, item)).collect())
        }
        (Type::Map(inner), Value::Object(entries)) => Value::Array(
            entries
                .iter()
                .map(|(key, value)| map_entry(key, encode(inner, value)))
                .collect(),
        ),
        (Type::Struct(schema), Value::Object(fields)) => encode_struct(schema, fields),
        (_, other) => other.clone(),
    }
}

fn map_entry(key: &str, value: Value) -> Value {
    let mut fields = Map::with_capacity(2);
    fields.insert("key".to_owned(), Value::String(key.to_owned()));
    fields.insert("value".to_owned(), value);
    structure("map-entry", fields)
}

fn encode_struct(schema: &Struct, plain: &Map<String, Value>) -> Value {
    let mut fields = Map::with_capacity(schema.fields.len());
    for (name, ty) in schema.fields {
        let value = plain.get(*name).unwrap_or(&Value::Null);
        if value.is_null() && !matches!(ty, Type::Optional(_)) {
            continue;
        }
        fields.insert((*name).to_owned(), encode(ty, value));
    }
    structure(schema.name, fields)
}

/// Reads a typed value back into plain JSON. Absent and null optional fields are left
/// out; fields the schema does not name are ignored (vAPI allows extra fields); a bare
/// value where an optional one is expected is taken as present.
pub(crate) fn decode(ty: &Type, typed: &Value) -> Result<Value, TypedError> {
    decode_in(ty, typed, Unknown::Drop)
}

/// [`decode`], keeping the fields the schema does not name (their wrappers removed, null
/// ones left out), as a REST answer of the same model would hold them.
pub(crate) fn decode_keeping(ty: &Type, typed: &Value) -> Result<Value, TypedError> {
    decode_in(ty, typed, Unknown::Keep)
}

/// What decoding does with a structure's fields the schema does not name.
#[derive(Clone, Copy)]
enum Unknown {
    Drop,
    Keep,
}

fn decode_in(ty: &Type, typed: &Value, unknown: Unknown) -> Result<Value, TypedError> {
    let decode = |ty: &Type, typed: &Value| decode_in(ty, typed, unknown);
    match (ty, typed) {
        (Type::Secret, Value::Object(wrapper)) if wrapper.len() == 1 => {
            match wrapper.get("SECRET") {
                Some(Value::String(secret)) => Ok(Value::String(secret.clone())),
                _ => Err(TypedError::new(format!(
                    "expected a SECRET holding a string, not {}",
                    kind(typed)
                ))),
            }
        }
        (leaf!(), Value::Object(_) | Value::Array(_)) => Err(TypedError::new(format!(
            "expected a plain value, not {}",
            kind(typed)
        ))),
        (leaf!(), _) => Ok(typed.clone()),
        (Type::Optional(inner), Value::Object(wrapper)) if wrapper.len() == 1 => {
            match wrapper.get("OPTIONAL") {
                Some(Value::Null) => Ok(Value::Null),
                Some(value) => decode(inner, value),
                None => decode(inner, typed),
            }
        }
        (Type::Optional(_), Value::Null) => Ok(Value::Null),
        (Type::Optional(inner), _) => decode(inner, typed),
        (Type::List(inner), Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| decode(inner, item).map_err(|e| e.within(&index.to_string())))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (Type::Map(inner), Value::Array(entries)) => entries
            .iter()
            .map(|entry| decode_entry(inner, entry, unknown))
            .collect::<Result<Map<_, _>, _>>()
            .map(Value::Object),
        (Type::Struct(schema), _) => decode_struct(schema, typed, unknown),
        (Type::List(_), _) => Err(TypedError::new(format!(
            "expected a list, not {}",
            kind(typed)
        ))),
        (Type::Map(_), _) => Err(TypedError::new(format!(
            "expected a list of map-entry structures, not {}",
            kind(typed)
        ))),
    }
}

fn decode_entry(
    inner: &Type,
    entry: &Value,
    unknown: Unknown,
) -> Result<(String, Value), TypedError> {
    let fields = structure_fields(entry)?;
    let key = match fields.get("key") {
        Some(Value::String(key)) => key.clone(),
        _ => return Err(TypedError::new("a map-entry without a string key")),
    };
    let value = decode_in(inner, fields.get("value").unwrap_or(&Value::Null), unknown)
        .map_err(|err| err.within(&key))?;
    Ok((key, value))
}

fn decode_struct(schema: &Struct, typed: &Value, unknown: Unknown) -> Result<Value, TypedError> {
    let fields = structure_fields(typed)?;
    let mut plain = Map::with_capacity(schema.fields.len());
    for (name, ty) in schema.fields {
        let Some(value) = fields.get(*name) else {
            continue;
        };
        let value = decode_in(ty, value, unknown).map_err(|err| err.within(name))?;
        if !value.is_null() {
            plain.insert((*name).to_owned(), value);
        }
    }
    if let Unknown::Keep = unknown {
        for (name, value) in fields {
            let known = schema.fields.iter().any(|(known, _)| known == name);
            let value = untyped(value.clone());
            if !known && !value.is_null() {
                plain.insert(name.clone(), value);
            }
        }
    }
    Ok(Value::Object(plain))
}

/// The fields of `{"STRUCTURE":{name:{fields}}}` (the name is not checked, as the SDK
/// does not check it).
pub(crate) fn structure_fields(typed: &Value) -> Result<&Map<String, Value>, TypedError> {
    typed
        .get("STRUCTURE")
        .and_then(Value::as_object)
        .filter(|named| named.len() == 1)
        .and_then(|named| named.values().next())
        .and_then(Value::as_object)
        .ok_or_else(|| {
            TypedError::new(format!(
                "expected a STRUCTURE with one named object, not {}",
                kind(typed)
            ))
        })
}

/// Plain values of an input whose schema dsvcr does not hold: `STRUCTURE`, `OPTIONAL`
/// and `SECRET` wrappers removed.
pub(crate) fn untyped(typed: Value) -> Value {
    match typed {
        Value::Object(map) if map.len() == 1 => {
            let (key, inner) = map.into_iter().next().expect("one entry");
            match (key.as_str(), inner) {
                ("STRUCTURE", Value::Object(named)) if named.len() == 1 => {
                    untyped(named.into_iter().next().expect("one entry").1)
                }
                ("OPTIONAL" | "SECRET", inner) => untyped(inner),
                (_, inner) => Value::Object(Map::from_iter([(key, untyped(inner))])),
            }
        }
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (key, untyped(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(untyped).collect()),
        other => other,
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A date-time the SDK accepts: one without a zone (the reference page's
/// `2013-06-06T22:13:05`) is taken as UTC and written with milliseconds and `Z`, as the
/// vAPI runtime writes them. Anything else is left as it is.
pub(crate) fn with_zone(text: &str) -> String {
    let Some((_, time)) = text.split_once('T') else {
        return text.to_owned();
    };
    let zoned = time.ends_with(['Z', 'z']) || time.contains(['+', '-']);
    let bare = time.len() >= 8
        && time.as_bytes()[..8].iter().enumerate().all(|(at, byte)| {
            if at % 3 == 2 {
                *byte == b':'
            } else {
                byte.is_ascii_digit()
            }
        });
    match (zoned, bare, time.len() == 8) {
        (false, true, true) => format!("{text}.000Z"),
        (false, true, false) if time.as_bytes()[8] == b'.' => format!("{text}Z"),
        _ => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static POINT: Struct = Struct {
        name: "test.point",
        fields: &[
            ("x", Type::Plain),
            ("label", Type::Optional(&Type::Plain)),
            ("at", Type::Optional(&Type::DateTime)),
            ("tags", Type::Optional(&Type::Map(&Type::Plain))),
        ],
    };

    #[test]
    fn structures_optionals_and_maps_round_trip() {
        let plain = json!({"x": 1, "at": "2013-06-06T22:13:05Z", "tags": {"a": "b"}});
        let typed = encode(&Type::Struct(&POINT), &plain);
        assert_eq!(
            typed,
            json!({"STRUCTURE": {"test.point": {
                "x": 1,
                "label": {"OPTIONAL": null},
                "at": {"OPTIONAL": "2013-06-06T22:13:05Z"},
                "tags": {"OPTIONAL": [{"STRUCTURE": {"map-entry": {"key": "a", "value": "b"}}}]},
            }}})
        );
        assert_eq!(decode(&Type::Struct(&POINT), &typed).unwrap(), plain);
    }

    #[test]
    fn decoding_is_lenient_where_vapi_is() {
        let typed = json!({"STRUCTURE": {"other.name": {"x": 2, "label": "bare", "extra": 1}}});
        assert_eq!(
            decode(&Type::Struct(&POINT), &typed).unwrap(),
            json!({"x": 2, "label": "bare"})
        );
    }

    #[test]
    fn shape_errors_name_the_field() {
        let typed = json!({"STRUCTURE": {"test.point": {"x": {"a": 1}}}});
        assert_eq!(
            decode(&Type::Struct(&POINT), &typed)
                .unwrap_err()
                .to_string(),
            "expected a plain value, not an object at x"
        );
        assert_eq!(
            decode(&Type::Struct(&POINT), &json!("x"))
                .unwrap_err()
                .to_string(),
            "expected a STRUCTURE with one named object, not a string"
        );
    }

    #[test]
    fn date_times_get_a_zone() {
        assert_eq!(with_zone("2013-06-06T22:13:05"), "2013-06-06T22:13:05.000Z");
        assert_eq!(with_zone("2013-06-06T22:13:05.5"), "2013-06-06T22:13:05.5Z");
        for kept in [
            "2013-06-06T22:13:05Z",
            "2013-06-06T22:13:05.000+02:00",
            "2013-06-06T22:13:05-05:00",
            "not a time",
            "2013-06-06Tnoon",
        ] {
            assert_eq!(with_zone(kept), kept);
        }
    }

    #[test]
    fn untyped_removes_every_wrapper() {
        let typed = json!({"STRUCTURE": {"operation-input": {
            "client_token": {"OPTIONAL": "t"},
            "create_spec": {"STRUCTURE": {"m": {"library_item_id": {"OPTIONAL": "i"}}}},
            "secret": {"SECRET": "s"},
        }}});
        assert_eq!(
            untyped(typed),
            json!({"client_token": "t", "create_spec": {"library_item_id": "i"}, "secret": "s"})
        );
    }
}
