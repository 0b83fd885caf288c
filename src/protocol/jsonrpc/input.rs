//! An invoke's operation input, `params.input`: `{"STRUCTURE":{"operation-input":{…}}}`,
//! its fields as plain values (the `STRUCTURE`, `OPTIONAL` and `SECRET` wrappers removed).
//!
//! The usual input is read with the rest of the invoke, as a [`Structure`], without JSON
//! values for its wrappers; any other (another member beside `STRUCTURE`, a structure name
//! twice, an escaped member name) fails that reading, and the invoke is read as a JSON value
//! first, the reading that is the reference ([`of_value`]).

use std::fmt;

use serde::de::{Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::typed::{structure_fields, untyped};

/// The operation input's plain fields, or what is wrong with the input (the
/// `invalid_params` message a catalogued operation gets).
pub(crate) type Fields = Result<Map<String, Value>, String>;

/// The fields of an input read as a JSON value (`Null` when absent).
pub(crate) fn of_value(input: &Value) -> Fields {
    if input.is_null() {
        return Ok(Map::new());
    }
    let fields = structure_fields(input).map_err(|err| {
        format!("the input must be {{\"STRUCTURE\":{{\"operation-input\":{{…}}}}}}: {err}")
    })?;
    Ok(fields
        .iter()
        .map(|(name, value)| (name.clone(), untyped(value.clone())))
        .collect())
}

/// `{"STRUCTURE":{NAME:{FIELD:VALUE,…}}}` and no other member, each value plain.
pub(crate) struct Structure(Map<String, Value>);

impl Structure {
    /// The fields, each a plain value.
    pub(crate) fn into_fields(self) -> Map<String, Value> {
        self.0
    }
}

/// `{FIELD:VALUE,…}`, each value plain (a field written twice counts as its last).
struct PlainFields(Map<String, Value>);

impl<'de> Deserialize<'de> for Structure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let OneMember(wrapper, OneMember(_name, PlainFields(fields))) =
            Deserialize::deserialize(deserializer)?;
        if wrapper != "STRUCTURE" {
            return Err(D::Error::custom("another member"));
        }
        Ok(Structure(fields))
    }
}

impl<'de> Deserialize<'de> for PlainFields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(PlainFieldsVisitor)
    }
}

/// An object of exactly one member: its name (written without escapes) and its value.
struct OneMember<'a, T>(&'a str, T);

impl<'de: 'a, 'a, T: Deserialize<'de>> Deserialize<'de> for OneMember<'a, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(OneMemberVisitor(std::marker::PhantomData))
    }
}

struct OneMemberVisitor<'a, T>(std::marker::PhantomData<(&'a (), T)>);

impl<'de: 'a, 'a, T: Deserialize<'de>> Visitor<'de> for OneMemberVisitor<'a, T> {
    type Value = OneMember<'a, T>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an object of one member")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let name: &str = map
            .next_key()?
            .ok_or_else(|| A::Error::custom("no member"))?;
        let value = map.next_value()?;
        match map.next_key::<IgnoredAny>()? {
            None => Ok(OneMember(name, value)),
            Some(_) => Err(A::Error::custom("a second member")),
        }
    }
}

struct PlainFieldsVisitor;

impl<'de> Visitor<'de> for PlainFieldsVisitor {
    type Value = PlainFields;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("the operation input's fields")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PlainFields, A::Error> {
        let mut fields = Map::new();
        while let Some((name, value)) = map.next_entry::<String, Value>()? {
            fields.insert(name, untyped(value));
        }
        Ok(PlainFields(fields))
    }
}

/// A value read only to check that a JSON value can hold it (a number in range), then
/// dropped, without allocating.
pub(crate) struct Checked;

impl<'de> Deserialize<'de> for Checked {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CheckedVisitor)
    }
}

struct CheckedVisitor;

impl<'de> Visitor<'de> for CheckedVisitor {
    type Value = Checked;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_str<E>(self, _: &str) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_unit<E>(self) -> Result<Checked, E> {
        Ok(Checked)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Checked, A::Error> {
        while seq.next_element::<Checked>()?.is_some() {}
        Ok(Checked)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Checked, A::Error> {
        while map.next_entry::<Checked, Checked>()?.is_some() {}
        Ok(Checked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which inputs the direct reading takes; `envelope`'s tests check that it agrees
    /// with the general reading on these and more.
    #[test]
    fn the_usual_shapes_are_read_directly() {
        let direct = |input: &str| serde_json::from_str::<Structure>(input).is_ok();
        for usual in [
            r#"{"STRUCTURE":{"operation-input":{"library_item_id":"item-1"}}}"#,
            r#"{"STRUCTURE":{"operation-input":{}}}"#,
            r#"{"STRUCTURE":{"m":{"t":{"OPTIONAL":"x"},"s":{"SECRET":"y"},"n":null}}}"#,
            r#"{"STRUCTURE":{"operation-input":{"a":"1","a":"2"}}}"#,
        ] {
            assert!(direct(usual), "{usual}");
        }
        for other in [
            r#"{"STRUCTURE":{"operation-input":{"a":"b"}},"other":1}"#,
            r#"{"STRUCTURE":{"one":{"a":"b"},"one":{"c":"d"}}}"#,
            r#"{"STRUC\u0054URE":{"operation-input":{"a":"b"}}}"#,
            r#"{"STRUCTURE":{}}"#,
            r#"{"STRUCTURE":{"operation-input":"text"}}"#,
            "[]",
        ] {
            assert!(!direct(other), "{other}");
        }
    }
}
