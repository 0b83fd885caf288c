//! Volatile inputs left out of tape keys (`--ignore-field`, `--ignore-query`): a request
//! that differs from a taped one only in a timestamp or a request id still matches.
//!
//! A field name without a dot is left out wherever it appears in a JSON body, at any
//! depth; a dotted path (`meta.timestamp`) only at that path from the top of the body,
//! looking through lists on the way. A query parameter is left out by its decoded name.
//! Names are matched exactly (case counts). A vim25 SOAP call is keyed by its canonical
//! call alone and is left as it is.
//!
//! Record keys what it tapes without them; replay keys both the request and the recorded
//! keys without them (the cassette module's `rekeyed`), so a tape recorded before a name was
//! ignored matches too. Recorded keys that become the same are one timeline, their
//! answers in recording order.

use serde_json::Value;

use crate::exchange::TapeKey;

/// A JSON body field to leave out of tape keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    /// A field of this name, at any depth.
    Anywhere(String),
    /// The field at this path from the top of the body.
    Path(Vec<String>),
}

/// What `--ignore-field` and `--ignore-query` named.
#[derive(Clone, Debug, Default)]
pub(crate) struct Volatile {
    fields: Vec<Field>,
    query: Vec<String>,
}

/// `--ignore-field`'s value: names of letters, digits, `_`, `-`, `$`, `@` and `:`,
/// with `.` between the names of a path.
pub(crate) fn parse_field(text: &str) -> Result<Field, String> {
    let names: Vec<&str> = text.split('.').collect();
    let plain = |name: &&str| {
        !name.is_empty()
            && name
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"_-$@:".contains(&byte))
    };
    if !names.iter().all(plain) {
        return Err(format!(
            "{text:?} is not a field name or a dotted path of them (letters, digits, '_', '-', '$', '@' and ':', with '.' between the names of a path)"
        ));
    }
    Ok(match names.as_slice() {
        [name] => Field::Anywhere((*name).to_owned()),
        path => Field::Path(path.iter().map(|name| (*name).to_owned()).collect()),
    })
}

/// `--ignore-query`'s value: a parameter name as it reads decoded, of visible ASCII
/// characters other than those that delimit or encode a query.
pub(crate) fn parse_query(text: &str) -> Result<String, String> {
    let plain = !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_graphic() && !b"&=#?%+".contains(&byte));
    if plain {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "{text:?} is not a query parameter name (visible ASCII characters other than '&', '=', '#', '?', '%' and '+', the name as it reads decoded)"
        ))
    }
}

impl Volatile {
    pub(crate) fn new(fields: Vec<Field>, query: Vec<String>) -> Self {
        Volatile { fields, query }
    }

    /// Whether nothing is left out.
    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.query.is_empty()
    }

    /// `key` without the named fields and query parameters.
    pub(crate) fn apply(&self, key: &mut TapeKey) {
        if self.is_empty() || key.soap.is_some() {
            return;
        }
        key.query.retain(|(name, _)| !self.query.contains(name));
        if let Some(body) = key.body.as_mut() {
            for field in &self.fields {
                match field {
                    Field::Anywhere(name) => remove_anywhere(body, name),
                    Field::Path(path) => remove_at(body, path),
                }
            }
        }
    }
}

fn remove_anywhere(value: &mut Value, name: &str) {
    match value {
        Value::Object(fields) => {
            fields.remove(name);
            fields
                .values_mut()
                .for_each(|field| remove_anywhere(field, name));
        }
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| remove_anywhere(item, name)),
        _ => {}
    }
}

fn remove_at(value: &mut Value, path: &[String]) {
    match (value, path) {
        (Value::Array(items), _) => items.iter_mut().for_each(|item| remove_at(item, path)),
        (Value::Object(fields), [last]) => {
            fields.remove(last);
        }
        (Value::Object(fields), [first, rest @ ..]) => {
            if let Some(field) = fields.get_mut(first) {
                remove_at(field, rest);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests;
