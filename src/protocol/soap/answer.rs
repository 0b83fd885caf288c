//! SOAP answers dsvcr writes itself: the envelope, faults, and the session manager's
//! answers (a `UserSession` for a login or a `currentSession` read).

use bytes::Bytes;
use http::header::{HeaderValue, CONTENT_TYPE};
use http::{Response, StatusCode};
use quick_xml::escape::escape;
use time::OffsetDateTime;

use super::date_time::push_date_time;

use crate::body::{full, Body};

/// The content type of every SOAP answer.
pub(crate) const SOAP_CONTENT_TYPE: &str = "text/xml; charset=utf-8";

/// The answer envelope vCenter and the simulator send, up to the body's content.
const ENVELOPE_OPEN: &str = concat!(
    r#"<?xml version="1.0" encoding="UTF-8"?>"#,
    "\n",
    r#"<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#,
    "<soapenv:Body>"
);
const ENVELOPE_CLOSE: &str = "</soapenv:Body></soapenv:Envelope>";

/// `inner` in the answer envelope.
pub(crate) fn envelope(inner: &str) -> String {
    let mut xml = String::with_capacity(ENVELOPE_OPEN.len() + inner.len() + ENVELOPE_CLOSE.len());
    xml.push_str(ENVELOPE_OPEN);
    xml.push_str(inner);
    xml.push_str(ENVELOPE_CLOSE);
    xml
}

/// A 200 answer to `operation` holding `returnval` (or an empty answer for a void one).
pub(crate) fn success(operation: &str, returnval: Option<&str>) -> Response<Body> {
    success_with(operation, |xml| xml.push_str(returnval.unwrap_or_default()))
}

/// A 200 answer to `operation` whose content `write` appends, written in one buffer.
fn success_with(operation: &str, write: impl FnOnce(&mut String)) -> Response<Body> {
    let mut xml = String::with_capacity(1024);
    xml.push_str(ENVELOPE_OPEN);
    for part in ["<", operation, r#"Response xmlns="urn:vim25">"#] {
        xml.push_str(part);
    }
    write(&mut xml);
    for part in ["</", operation, "Response>", ENVELOPE_CLOSE] {
        xml.push_str(part);
    }
    xml_response(StatusCode::OK, xml)
}

pub(crate) fn xml_response(status: StatusCode, xml: String) -> Response<Body> {
    let mut response = Response::new(full(Bytes::from(xml)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(SOAP_CONTENT_TYPE));
    response
}

/// A vim25 fault: its type, `faultstring` and the detail's inner XML.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    pub(crate) kind: &'static str,
    pub(crate) message: String,
    pub(crate) detail: String,
    /// Why dsvcr made this fault itself (`x-dsvcr-synthetic`), when it stands for a
    /// recording nobody made or a request dsvcr refused.
    pub(crate) synthetic: Option<&'static str>,
}

impl Fault {
    /// What vCenter answers a call that needs a session when there is none.
    pub(crate) fn not_authenticated() -> Self {
        Fault {
            kind: "NotAuthenticated",
            message: "The session is not authenticated.".to_owned(),
            detail: not_authenticated_detail("System.View"),
            synthetic: None,
        }
    }

    pub(crate) fn invalid_login() -> Self {
        Fault {
            kind: "InvalidLogin",
            message: "Cannot complete login due to an incorrect user name or password.".to_owned(),
            detail: String::new(),
            synthetic: None,
        }
    }

    /// A request dsvcr cannot read as a SOAP call.
    pub(crate) fn invalid_request(problem: &str) -> Self {
        Fault {
            kind: "InvalidRequest",
            message: problem.to_owned(),
            detail: String::new(),
            synthetic: Some("invalid-request"),
        }
    }

    /// A call no cassette holds.
    pub(crate) fn not_recorded(operation: &str, kind: &str, value: &str) -> Self {
        Fault {
            kind: "ManagedObjectNotFound",
            message: format!(
                "dsvcr has no recording of {operation} on {kind}:{value} (record it, or check the cassettes)"
            ),
            detail: format!(r#"<obj type="{}">{}</obj>"#, escape(kind), escape(value)),
            synthetic: Some("no-recording"),
        }
    }

    /// The fault as the answer envelope holds it (the answers module sends it, as HTTP 500).
    pub(crate) fn envelope(&self) -> String {
        let inner = format!(
            concat!(
                "<soapenv:Fault><faultcode>ServerFaultCode</faultcode>",
                "<faultstring>{message}</faultstring><detail>",
                r#"<{kind}Fault xmlns="urn:vim25" xsi:type="{kind}">{detail}</{kind}Fault>"#,
                "</detail></soapenv:Fault>"
            ),
            message = escape(self.message.as_str()),
            kind = self.kind,
            detail = self.detail,
        );
        envelope(&inner)
    }
}

fn not_authenticated_detail(privilege: &str) -> String {
    format!(
        r#"<object type="SessionManager">SessionManager</object><privilegeId>{privilege}</privilegeId>"#
    )
}

/// A SOAP session as its `UserSession` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UserSession {
    pub(crate) key: String,
    pub(crate) user_name: String,
    pub(crate) login_time: OffsetDateTime,
    pub(crate) last_active_time: OffsetDateTime,
    pub(crate) locale: String,
    pub(crate) ip_address: String,
    pub(crate) user_agent: String,
    pub(crate) call_count: u64,
}

impl UserSession {
    /// The session's fields, as the children of a `UserSession` element.
    pub(crate) fn fields(&self) -> String {
        let mut xml = String::with_capacity(512);
        self.write_fields(&mut xml);
        xml
    }

    /// Appends the session's fields to `xml`.
    fn write_fields(&self, xml: &mut String) {
        // The key (a UUID) and the address are dsvcr's own text: nothing to escape.
        xml.push_str("<key>");
        xml.push_str(&self.key);
        xml.push_str("</key><userName>");
        push_escaped(xml, &self.user_name);
        xml.push_str("</userName><fullName>");
        push_escaped(xml, &self.user_name);
        xml.push_str("</fullName><loginTime>");
        push_date_time(xml, self.login_time);
        xml.push_str("</loginTime><lastActiveTime>");
        push_date_time(xml, self.last_active_time);
        xml.push_str("</lastActiveTime><locale>");
        push_escaped(xml, &self.locale);
        xml.push_str("</locale><messageLocale>");
        push_escaped(xml, &self.locale);
        xml.push_str("</messageLocale><extensionSession>false</extensionSession><ipAddress>");
        xml.push_str(&self.ip_address);
        xml.push_str("</ipAddress><userAgent>");
        push_escaped(xml, &self.user_agent);
        xml.push_str("</userAgent><callCount>");
        // A u64 in decimal, without the formatting machinery.
        let mut digits = [0u8; 20];
        let mut at = digits.len();
        let mut rest = self.call_count;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        xml.push_str(std::str::from_utf8(&digits[at..]).expect("ASCII digits"));
        xml.push_str("</callCount>");
    }
}

/// Appends `text` escaped as quick-xml's `escape` escapes it (`<`, `>`, `&`, `'`, `"`),
/// copying the runs between special characters whole.
fn push_escaped(xml: &mut String, text: &str) {
    let special = |byte: u8| matches!(byte, b'<' | b'>' | b'&' | b'\'' | b'"');
    if !text.bytes().fold(false, |seen, byte| seen | special(byte)) {
        xml.push_str(text);
        return;
    }
    let mut rest = text;
    while let Some(at) = rest.bytes().position(special) {
        xml.push_str(&rest[..at]);
        xml.push_str(match rest.as_bytes()[at] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'\'' => "&apos;",
            _ => "&quot;",
        });
        rest = &rest[at + 1..];
    }
    xml.push_str(rest);
}

const TYPED: &str = r#"xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance""#;

/// The answer to a login: the new session.
pub(crate) fn login(operation: &str, session: &UserSession) -> Response<Body> {
    success_with(operation, |xml| {
        xml.push_str("<returnval>");
        session.write_fields(xml);
        xml.push_str("</returnval>");
    })
}

/// How a read of `SessionManager.currentSession` was asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionRead {
    RetrieveProperties,
    RetrievePropertiesEx,
    Fetch,
}

/// The answer to a read of `currentSession`: the session, or (when there is none) what
/// vCenter answers then: a `missingSet` with a `NotAuthenticated` fault for the property
/// collector, the `NotAuthenticated` fault itself for `Fetch`.
pub(crate) fn current_session(
    read: SessionRead,
    session: Option<&UserSession>,
) -> Result<Response<Body>, Fault> {
    let typed = |fields: String| {
        format!(r#"<val {TYPED} XMLSchema-instance:type="UserSession">{fields}</val>"#)
    };
    let object = r#"<obj type="SessionManager">SessionManager</obj>"#;
    let property = match session {
        Some(session) => format!(
            "<propSet><name>currentSession</name>{}</propSet>",
            typed(session.fields())
        ),
        None => format!(
            concat!(
                "<missingSet><path>currentSession</path><fault>",
                r#"<fault {typed} XMLSchema-instance:type="NotAuthenticated">{detail}</fault>"#,
                "</fault></missingSet>"
            ),
            typed = TYPED,
            detail = not_authenticated_detail("System.Read"),
        ),
    };
    match read {
        SessionRead::RetrieveProperties => Ok(success(
            "RetrieveProperties",
            Some(&format!("<returnval>{object}{property}</returnval>")),
        )),
        SessionRead::RetrievePropertiesEx => Ok(success(
            "RetrievePropertiesEx",
            Some(&format!(
                "<returnval><objects>{object}{property}</objects></returnval>"
            )),
        )),
        SessionRead::Fetch => match session {
            Some(session) => Ok(success(
                "Fetch",
                Some(&format!(
                    r#"<returnval {TYPED} XMLSchema-instance:type="UserSession">{}</returnval>"#,
                    session.fields()
                )),
            )),
            None => Err(Fault::not_authenticated()),
        },
    }
}

/// `SessionIsActive`'s answer.
pub(crate) fn session_is_active(active: bool) -> Response<Body> {
    success(
        "SessionIsActive",
        Some(&format!("<returnval>{active}</returnval>")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_as_quick_xml_escapes_it() {
        for text in [
            "",
            "plain",
            "<a href='x'>&amp;\"</a>",
            "é<ü>",
            "&&",
            "x\"",
            "'",
        ] {
            let mut xml = String::from("<");
            push_escaped(&mut xml, text);
            assert_eq!(xml, format!("<{}", escape(text)), "{text}");
        }
    }
}
