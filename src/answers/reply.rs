//! Recorded (or derived) answers as responses in the caller's style: what both modes
//! send when a timeline answers.

use bytes::Bytes;
use http::Response;

use super::body_response;
use crate::body::Body;
use crate::protocol::{self, Unencodable};
use crate::timelines::Found;
use crate::vapi::{Answer, Call, Style};

/// A found answer as a response to `call` in its style, or why the answer cannot be
/// written in the call's protocol.
pub(crate) fn reply(found: Found<'_>, call: &Call) -> Result<Response<Body>, Unencodable> {
    let (style, encoding) = (call.style, call.style.encoding());
    Ok(match &found {
        Found::Played(played) => reply_with(&played.answer, played.body(call.op, encoding)?, style),
        Found::Made(answer) => {
            reply_with(answer, protocol::answer(call.op, answer, encoding)?, style)
        }
    })
}

/// `answer`, rendered as `body`, as a response in the caller's style.
pub(crate) fn reply_with(answer: &Answer, body: Bytes, style: Style) -> Response<Body> {
    let mut response = body_response(answer.status(style.flavour), body, style);
    if let Some((name, value)) = protocol::answer_header(answer, style) {
        response.headers_mut().insert(name, value);
    }
    response
}
