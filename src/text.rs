//! Cutting text that quotes a client's request down to a size worth keeping.

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
