//! A JSON body's canonical form, when it has one that stands for exactly that body: a
//! body with a repeated member name, or a number that does not read back as written
//! (`1E2`, a 30-digit integer), would share its canonical form with other bodies, so it
//! has none and is keyed by its bytes instead.

use serde_json::Value;

/// The parsed body, if it parses and stands for that body alone; never `null` (which a
/// key cannot tell from no body).
pub(crate) fn canonical(body: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(body).ok()?;
    if value.is_null() {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let scanned = scan(text)?;
    (scanned.members == members(&value)).then_some(value)
}

/// What the text holds outside its strings.
struct Scanned {
    /// Object members (one `:` each).
    members: usize,
}

/// Counts the members, and checks that every number reads back as written; `None` when
/// one does not.
fn scan(text: &str) -> Option<Scanned> {
    let bytes = text.as_bytes();
    let mut members = 0;
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'"' => index = string_end(bytes, index + 1)?,
            b':' => {
                members += 1;
                index += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = index;
                while index < bytes.len()
                    && matches!(bytes[index], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')
                {
                    index += 1;
                }
                let token = &text[start..index];
                let number: serde_json::Number = serde_json::from_str(token).ok()?;
                if number.to_string() != token {
                    return None;
                }
            }
            _ => index += 1,
        }
    }
    Some(Scanned { members })
}

/// The index just past the string whose contents start at `from`.
fn string_end(bytes: &[u8], mut from: usize) -> Option<usize> {
    while from < bytes.len() {
        match bytes[from] {
            b'\\' => from += 2,
            b'"' => return Some(from + 1),
            _ => from += 1,
        }
    }
    None
}

fn members(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.len() + map.values().map(members).sum::<usize>(),
        Value::Array(items) => items.iter().map(members).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_that_stand_for_themselves_are_canonical() {
        for (body, value) in [
            (
                r#"{ "b": [1, 2.5, -3], "a": {"x": "y:\"z\""} }"#,
                json!({"a": {"x": "y:\"z\""}, "b": [1, 2.5, -3]}),
            ),
            ("[0.1, 100, 1.0]", json!([0.1, 100, 1.0])),
            (r#""text""#, json!("text")),
        ] {
            assert_eq!(canonical(body.as_bytes()), Some(value), "{body}");
        }
    }

    /// Found by a hostile review: `{"a":1,"a":2}` shared its key with `{"a":2}`, and `1E2`
    /// with `100.0`.
    #[test]
    fn repeated_names_and_numbers_that_change_have_no_canonical_form() {
        for body in [
            r#"{"a":1,"a":2}"#,
            r#"{"o":{"k":1,"k":1}}"#,
            r#"{"n":1E2}"#,
            "[123456789012345678901234567890]",
            "[-0]",
            "null",
            "{",
        ] {
            assert_eq!(canonical(body.as_bytes()), None, "{body}");
        }
    }
}
