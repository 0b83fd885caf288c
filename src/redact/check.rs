//! What `dsvcr check` finds unredacted in a cassette file: a secret-named field, query
//! parameter, form field or XML element holding something other than the placeholder,
//! and a taped body that mentions a secret-looking name but cannot be redacted.

use std::collections::BTreeSet;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;

use super::{Redactor, PLACEHOLDER};

/// One reason per kind of unredacted value in `file` (a cassette's JSON), sorted.
pub(crate) fn unredacted(redactor: &Redactor, file: &Value) -> Vec<String> {
    let mut reasons = BTreeSet::new();
    let mut names = BTreeSet::new();
    fields(redactor, file, &mut names);
    for name in names {
        reasons.insert(format!(
            "field {name:?} holds a value that is not the placeholder {PLACEHOLDER:?}"
        ));
    }
    if let Some(query) = file.pointer("/request/query").and_then(Value::as_array) {
        for pair in query {
            let name = pair.get(0).and_then(Value::as_str).unwrap_or_default();
            if redactor.is_secret(name) && pair.get(1).and_then(Value::as_str) != Some(PLACEHOLDER)
            {
                reasons.insert(format!(
                    "query parameter {name:?} holds a value that is not the placeholder {PLACEHOLDER:?}"
                ));
            }
        }
    }
    let responses = file.get("responses").and_then(Value::as_array);
    for response in responses.into_iter().flatten() {
        if let Some(reason) = taped_body(redactor, response) {
            reasons.insert(reason);
        }
    }
    reasons.into_iter().collect()
}

/// The names of secret-named fields (at any depth) whose value is not the placeholder.
fn fields(redactor: &Redactor, value: &Value, names: &mut BTreeSet<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| fields(redactor, item, names)),
        Value::Object(object) => {
            let secret_pair = object
                .get("key")
                .and_then(Value::as_str)
                .filter(|key| redactor.is_secret(key));
            if let Some(key) = secret_pair {
                if object.get("value").and_then(Value::as_str) != Some(PLACEHOLDER) {
                    names.insert(key.to_owned());
                }
            }
            for (name, field) in object {
                if redactor.is_secret(name) {
                    if field.as_str() != Some(PLACEHOLDER) {
                        names.insert(name.clone());
                    }
                } else if !(secret_pair.is_some() && name == "value") {
                    fields(redactor, field, names);
                }
            }
        }
        _ => {}
    }
}

/// Why a taped `text` or `base64` body is not redacted, if it is not.
fn taped_body(redactor: &Redactor, response: &Value) -> Option<String> {
    let bytes = match (response.get("text"), response.get("base64")) {
        (Some(Value::String(text)), _) => text.as_bytes().to_vec(),
        (_, Some(Value::String(base64))) => STANDARD.decode(base64).ok()?,
        _ => return None,
    };
    let content_type = response.get("content_type").and_then(Value::as_str);
    match redactor.body(content_type, &bytes, "a taped answer") {
        Ok(redacted) if redacted.count == 0 => None,
        Ok(_) => Some(format!(
            "a taped {} answer holds a secret-named value that is not the placeholder {PLACEHOLDER:?}",
            content_type.unwrap_or("untyped")
        )),
        Err(err) => Some(err.to_string()),
    }
}
