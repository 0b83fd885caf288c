//! vim25 SOAP (`POST /sdk`): reading a call (its operation, `_this` and arguments), the
//! canonical key the tape keeps it under, and the answers dsvcr writes itself (faults,
//! the session manager's answers in replay).

mod answer;
mod date_time;
mod envelope;
mod key;
mod plain;
mod tree;

pub(crate) use answer::{
    current_session, login, session_is_active, success, xml_response, Fault, SessionRead,
    UserSession,
};
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use envelope::reads_alike as plain_reads_alike;
pub(crate) use envelope::{parse_request, parse_tree, SoapRequest};
pub(crate) use key::soap_key;
pub(crate) use tree::Element;

use http::Method;

/// The one endpoint of the vim25 API.
pub(crate) const ENDPOINT: &str = "/sdk";

/// Whether a request is a SOAP call: a `POST` to `/sdk`.
pub(crate) fn is_call(method: &Method, path: &str) -> bool {
    method == Method::POST && (path == ENDPOINT || path == "/sdk/")
}

/// What the session manager is asked, for the calls replay answers from its offline
/// sessions rather than from the tape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SessionCall {
    /// `Login` (user name and password) or `LoginByToken` (a SAML token or a bearer
    /// token in the header).
    Login {
        by_token: bool,
    },
    Logout,
    /// `SessionIsActive(sessionID, userName)`.
    IsActive,
    /// A read of `SessionManager.currentSession` and nothing else.
    Current(SessionRead),
}

impl SessionCall {
    /// The session manager's call `request` makes, if it makes one.
    pub(crate) fn of(request: &SoapRequest) -> Option<Self> {
        let on_session_manager = request.this.kind == "SessionManager";
        match request.operation.as_ref() {
            "Login" if on_session_manager => Some(SessionCall::Login { by_token: false }),
            "LoginByToken" if on_session_manager => Some(SessionCall::Login { by_token: true }),
            "Logout" if on_session_manager => Some(SessionCall::Logout),
            "SessionIsActive" if on_session_manager => Some(SessionCall::IsActive),
            "Fetch" if on_session_manager && request.argument("prop") == Some("currentSession") => {
                Some(SessionCall::Current(SessionRead::Fetch))
            }
            "RetrieveProperties" if reads_current_session_only(request) => {
                Some(SessionCall::Current(SessionRead::RetrieveProperties))
            }
            "RetrievePropertiesEx" if reads_current_session_only(request) => {
                Some(SessionCall::Current(SessionRead::RetrievePropertiesEx))
            }
            _ => None,
        }
    }

    /// The name the run summary and logs give it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            SessionCall::Login { by_token: false } => "Login",
            SessionCall::Login { by_token: true } => "LoginByToken",
            SessionCall::Logout => "Logout",
            SessionCall::IsActive => "SessionIsActive",
            SessionCall::Current(_) => "currentSession",
        }
    }
}

/// Whether a property-collector call reads `SessionManager.currentSession` and nothing
/// else (what govc checks a persisted session with).
fn reads_current_session_only(request: &SoapRequest) -> bool {
    let specs: Vec<_> = request
        .arguments
        .iter()
        .filter(|argument| argument.name == "specSet")
        .collect();
    !specs.is_empty()
        && specs.iter().all(|spec| {
            let props = spec.children.iter().filter(|c| c.name == "propSet");
            let objects = spec.children.iter().filter(|c| c.name == "objectSet");
            let mut any_prop = false;
            let props_ok = props.into_iter().all(|prop| {
                any_prop = true;
                prop.text_at(&["type"]) == Some("SessionManager")
                    && prop
                        .children
                        .iter()
                        .filter(|c| c.name == "pathSet")
                        .all(|path| path.text == "currentSession")
                    && prop.children.iter().any(|c| c.name == "pathSet")
            });
            let objects_ok = objects.into_iter().all(|object| {
                object
                    .child("obj")
                    .is_some_and(|obj| obj.attribute("type") == Some("SessionManager"))
                    && object.child("selectSet").is_none()
            });
            props_ok && any_prop && objects_ok
        })
}

/// The `sub` claim of a JSON Web Token (an OAuth bearer token), unverified: offline,
/// any token logs in, and its subject names the session's user.
pub(crate) fn jwt_subject(token: &str) -> Option<String> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let claims: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    let subject = claims.get("sub")?.as_str()?;
    (!subject.is_empty()).then(|| subject.to_owned())
}

/// The user a `LoginByToken` names: a SAML assertion's subject, when the header holds one.
pub(crate) fn token_subject(request: &SoapRequest) -> Option<String> {
    fn find<'e, 'a>(element: &'e Element<'a>, name: &str) -> Option<&'e Element<'a>> {
        if element.name == name {
            return Some(element);
        }
        element.children.iter().find_map(|child| find(child, name))
    }
    let header = request.header.as_ref()?;
    let name_id = find(header, "NameID")?;
    let subject = name_id.text.trim();
    (!subject.is_empty()).then(|| subject.to_owned())
}

/// Calls `each` with the text of every element named `name` in `element`'s tree.
pub(crate) fn each_text_named(element: &Element, name: &str, each: &mut impl FnMut(&str)) {
    if element.name == name && element.children.is_empty() {
        each(&element.text);
    }
    for child in &element.children {
        each_text_named(child, name, each);
    }
}

/// Whether a SOAP answer is a fault about the caller's session (`NotAuthenticated`,
/// `InvalidLogin`): what a call made without a live session gets.
pub(crate) fn is_session_fault(body: &[u8]) -> bool {
    let Ok(envelope) = parse_tree(body) else {
        return false;
    };
    let mut session_fault = false;
    let mut look = |element: &Element| {
        if let Some(kind) = element.attribute("xsi:type") {
            session_fault |= matches!(kind, "NotAuthenticated" | "InvalidLogin");
        }
    };
    fn walk(element: &Element, look: &mut impl FnMut(&Element)) {
        look(element);
        for child in &element.children {
            walk(child, look);
        }
    }
    walk(&envelope, &mut look);
    session_fault
}
