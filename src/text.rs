//! Text from outside in what dsvcr writes: text that quotes a client's request cut down to
//! a size worth keeping, and text shown in messages (file names, ids) with its control
//! characters escaped, so a file name cannot move the cursor, recolour the terminal or
//! forge a line.

use std::borrow::Cow;

/// `message` cut to `max` bytes at a character boundary, with `…` when cut.
pub(crate) fn shorten_to(mut message: String, max: usize) -> String {
    if message.len() > max {
        let mut end = max;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.truncate(end);
        message.push('…');
    }
    message
}

/// `text` with every control character written as a Rust escape (`\n`, `\u{1b}`).
pub(crate) fn escape_controls(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            escaped.extend(c.escape_default());
        } else {
            escaped.push(c);
        }
    }
    Cow::Owned(escaped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_other_text_kept() {
        assert_eq!(escape_controls("obj-1.json: bad"), "obj-1.json: bad");
        assert_eq!(
            escape_controls("evil\u{1b}[31m\nFAKE\t.json é"),
            "evil\\u{1b}[31m\\nFAKE\\t.json é"
        );
    }
}
