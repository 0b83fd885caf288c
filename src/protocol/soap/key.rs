//! What identifies a taped SOAP exchange: its operation, its `_this` object and its
//! arguments in canonical form, with the parts that change per session or hold a secret
//! left out.
//!
//! - A session-scoped object id embeds the session key (`session[KEY]UUID`, what a
//!   session creates: property collectors, filters, views): it is keyed, stored and
//!   compared as `session[]UUID`, and a replayed answer gets the caller's key back.
//! - An argument whose name says it holds a secret (a password, a session id, a token)
//!   is keyed as [`REDACTED`], so a request with another value still matches.
//! - The SOAP `Header` (an operation id, a session cookie, a SAML token) is not part of
//!   the key; neither are prefixes, `versionId` attributes or whitespace between
//!   elements.

use serde_json::{Map, Value};

use super::envelope::SoapRequest;
use super::tree::Element;
use crate::exchange::{without_session_keys, SoapKey};

/// What a secret argument is keyed and stored as.
pub(crate) const REDACTED: &str = "<redacted>";

/// The canonical key of `request`, as the tape keeps it.
pub(crate) fn soap_key(request: &SoapRequest) -> SoapKey {
    SoapKey {
        operation: request.operation.to_string(),
        // A session key is left out wherever it stands, the type attribute included.
        this: format!(
            "{}:{}",
            without_session_keys(&request.this.kind),
            without_session_keys(&request.this.value)
        ),
        arguments: request.arguments.iter().map(named).collect(),
    }
}

fn named(element: &Element) -> Value {
    let mut entry = Map::with_capacity(1);
    entry.insert(element.name.to_string(), canonical(element));
    Value::Object(entry)
}

fn canonical(element: &Element) -> Value {
    if is_secret_name(&element.name) {
        return Value::String(REDACTED.to_owned());
    }
    let text = Value::String(without_session_keys(&element.text));
    if element.children.is_empty() && element.attributes.is_empty() {
        return text;
    }
    let mut attributes = Map::new();
    for (name, value) in &element.attributes {
        attributes.insert(
            format!("@{name}"),
            Value::String(without_session_keys(value)),
        );
    }
    if element.children.is_empty() {
        attributes.insert("#text".to_owned(), text);
        return Value::Object(attributes);
    }
    let mut items = Vec::with_capacity(element.children.len() + 1);
    if !attributes.is_empty() {
        items.push(Value::Object(attributes));
    }
    items.extend(element.children.iter().map(named));
    Value::Array(items)
}

/// Whether an argument named `name` holds a secret: a password, a session id or key, a
/// token, a secret (vim25 spells them `password`, `sessionId`, `sessionID`, `token`…).
pub(crate) fn is_secret_name(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    folded.contains("password")
        || folded.contains("passwd")
        || folded.contains("secret")
        || folded.contains("token")
        || folded == "sessionid"
        || folded == "sessionkey"
        || folded == "cookie"
        || folded == "privatekey"
}

#[cfg(test)]
mod tests {
    use super::super::envelope::parse_request;
    use super::*;

    fn key(xml: &str) -> SoapKey {
        soap_key(&parse_request(xml.as_bytes()).unwrap())
    }

    const GOVC: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><RetrieveProperties xmlns="urn:vim25"><_this type="PropertyCollector">propertyCollector</_this><specSet><propSet><type>Datastore</type><pathSet>name</pathSet></propSet><objectSet><obj type="Datastore">datastore-1</obj><skip>false</skip></objectSet></specSet></RetrieveProperties></Body></Envelope>"#;

    const PYVMOMI: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/" xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<soapenv:Body><RetrieveProperties xmlns="urn:vim25"><_this versionId="6.5" type="PropertyCollector">propertyCollector</_this><specSet versionId="6.5">
 <propSet><type>Datastore</type><pathSet>name</pathSet></propSet><objectSet><obj type="Datastore">datastore-1</obj><skip>false</skip></objectSet></specSet></RetrieveProperties></soapenv:Body>
</soapenv:Envelope>"#;

    #[test]
    fn two_clients_spelling_one_call_share_a_key() {
        assert_eq!(key(GOVC), key(PYVMOMI));
        assert_eq!(
            serde_json::to_value(key(GOVC)).unwrap(),
            serde_json::json!({
                "operation": "RetrieveProperties",
                "this": "PropertyCollector:propertyCollector",
                "arguments": [{"specSet": [
                    {"propSet": [{"type": "Datastore"}, {"pathSet": "name"}]},
                    {"objectSet": [
                        {"obj": {"@type": "Datastore", "#text": "datastore-1"}},
                        {"skip": "false"}
                    ]}
                ]}]
            })
        );
    }

    #[test]
    fn another_argument_is_another_key() {
        let other = GOVC.replace("datastore-1", "datastore-2");
        assert_ne!(key(GOVC), key(&other));
    }

    #[test]
    fn session_scoped_ids_are_keyed_without_the_session_key() {
        let call = |session: &str| {
            format!(
                r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><CreateFilter xmlns="urn:vim25"><_this type="PropertyCollector">session[{session}]c321862c</_this><spec><objectSet><obj type="Task">task-68</obj></objectSet></spec><partialUpdates>false</partialUpdates></CreateFilter></Body></Envelope>"#
            )
        };
        let first = key(&call("9df7d44c-3b1b-4446-908d-56e8b8199a0f"));
        assert_eq!(first, key(&call("52b1e7a0-0000-4446-908d-56e8b8199a0f")));
        assert_eq!(first.this, "PropertyCollector:session[]c321862c");
    }

    #[test]
    fn session_keys_in_attributes_are_left_out_too() {
        let call = |session: &str| {
            format!(
                r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><Destroy xmlns="urn:vim25"><_this type="session[{session}]View">session[{session}]52b1</_this><view type="session[{session}]ContainerView">x</view></Destroy></Body></Envelope>"#
            )
        };
        let first = key(&call("9df7d44c-3b1b-4446-908d-56e8b8199a0f"));
        assert_eq!(first, key(&call("52b1e7a0-0000-4446-908d-56e8b8199a0f")));
        assert_eq!(first.this, "session[]View:session[]52b1");
        assert_eq!(
            first.arguments,
            vec![serde_json::json!({"view": {"@type": "session[]ContainerView", "#text": "x"}})]
        );
    }

    #[test]
    fn secret_arguments_are_keyed_as_redacted() {
        let call = |secret: &str| {
            format!(
                r#"<Envelope xmlns="http://schemas.xmlsoap.org/soap/envelope/"><Body><AddHost_Task xmlns="urn:vim25"><_this type="Folder">group-h4</_this><spec><hostName>esx-1</hostName><userName>root</userName><password>{secret}</password></spec></AddHost_Task></Body></Envelope>"#
            )
        };
        let first = key(&call("Hunter2-lab"));
        assert_eq!(first, key(&call("Other-ci-secret")));
        let text = serde_json::to_string(&first).unwrap();
        assert!(!text.contains("Hunter2"), "{text}");
        assert!(text.contains(r#"{"password":"<redacted>"}"#), "{text}");
    }

    #[test]
    fn secret_names_ignore_case_and_separators() {
        for name in [
            "password",
            "Password",
            "sessionID",
            "session_id",
            "token",
            "clientSecret",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in ["userName", "hostName", "session", "type"] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
