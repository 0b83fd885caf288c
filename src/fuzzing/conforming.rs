//! An independent oracle for dsvcr's XML: a strict XML 1.0 parser (`roxmltree`: checks
//! that every character is allowed, normalises line ends, refuses DTDs), reading a
//! `Get-Result` document with the vAPI conventions (a leaf is a string, `x-array` holds
//! `array-item`s, anything else is an object). What a conforming client would see.

use roxmltree::{Document, Node};
use serde_json::{Map, Value};

use crate::vapi::DownloadSession;

/// Whether a strict XML 1.0 parser accepts the document at all.
pub(super) fn well_formed(xml: &[u8]) -> Result<(), String> {
    let text = std::str::from_utf8(xml).map_err(|err| err.to_string())?;
    Document::parse(text)
        .map(drop)
        .map_err(|err| err.to_string())
}

pub(super) fn session(xml: &[u8]) -> Result<DownloadSession, String> {
    let text = std::str::from_utf8(xml).map_err(|err| err.to_string())?;
    let document = Document::parse(text).map_err(|err| err.to_string())?;
    let root = document.root_element();
    if root.tag_name().name() != "Get-Result" {
        return Err(format!("root is {:?}", root.tag_name()));
    }
    let value = root
        .children()
        .find(|child| child.is_element() && child.tag_name().name() == "value")
        .ok_or("no <value>")?;
    let mut fields = match convert(value) {
        Value::Object(fields) => fields,
        other => return Err(format!("<value> is {other}")),
    };
    if let Some(progress) = fields.get_mut("client_progress") {
        let number = progress
            .as_str()
            .and_then(|text| text.trim().parse::<i64>().ok())
            .ok_or("client_progress is not an integer")?;
        *progress = Value::from(number);
    }
    serde_json::from_value(Value::Object(fields)).map_err(|err| err.to_string())
}

fn convert(node: Node<'_, '_>) -> Value {
    let children: Vec<Node<'_, '_>> = node.children().filter(Node::is_element).collect();
    let name = node.tag_name().name();
    if name.ends_with("-array") {
        return Value::Array(children.into_iter().map(convert).collect());
    }
    if children.is_empty() {
        let text: String = node
            .children()
            .filter(Node::is_text)
            .filter_map(|child| child.text())
            .collect();
        return Value::String(text);
    }
    let mut fields = Map::new();
    for child in children {
        let key = child.tag_name().name();
        fields.insert(
            key.strip_suffix("-array").unwrap_or(key).to_owned(),
            convert(child),
        );
    }
    Value::Object(fields)
}
