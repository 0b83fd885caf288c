//! vim25 SOAP faults as HTTP responses: always 500 with the fault envelope, and
//! `x-dsvcr-synthetic` on the faults that stand for a recording nobody made or a request
//! dsvcr refused.

use http::header::HeaderValue;
use http::{Response, StatusCode};

use super::{ApiError, SYNTHETIC_HEADER};
use crate::body::Body;
use crate::protocol::soap::{xml_response, Fault};

/// `fault` as vCenter sends a fault: HTTP 500, `text/xml`.
pub(crate) fn fault(fault: &Fault) -> Response<Body> {
    let mut response = xml_response(StatusCode::INTERNAL_SERVER_ERROR, fault.envelope());
    if let Some(reason) = fault.synthetic {
        response
            .headers_mut()
            .insert(SYNTHETIC_HEADER, HeaderValue::from_static(reason));
    }
    response
}

/// A request dsvcr refused before reading it as SOAP (a body over the limit, the body
/// budget spent), as the `InvalidRequest` fault a SOAP client can read.
pub(crate) fn refused(error: &ApiError) -> Fault {
    let message = error
        .error
        .messages
        .first()
        .map_or("the request was refused", |message| {
            message.default_message.as_str()
        });
    Fault {
        synthetic: Some(error.reason),
        ..Fault::invalid_request(message)
    }
}
