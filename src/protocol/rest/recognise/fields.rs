//! Reading a call's input fields from the query, headers and body.

use super::*;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum IdFrom {
    Path,
    Query,
    Body,
}

/// A request's query, headers and body, for reading input fields.
pub(super) struct Fields<'a> {
    pub(super) query: Option<&'a str>,
    pub(super) headers: &'a HeaderMap,
    pub(super) body: BodyView<'a>,
    pub(super) style: Style,
}

/// A body as input fields are read from it: parsed once, on first use.
pub(super) struct BodyView<'a> {
    pub(super) kind: BodyKind,
    pub(super) raw: &'a [u8],
    pub(super) json: std::cell::OnceCell<Result<serde_json::Value, Rejection>>,
    pub(super) style: Style,
}

impl<'a> BodyView<'a> {
    pub(super) fn new(kind: BodyKind, raw: &'a [u8], style: Style) -> Self {
        BodyView {
            kind,
            raw,
            json: std::cell::OnceCell::new(),
            style,
        }
    }

    /// The body as a JSON object; an empty body is an empty object.
    pub(super) fn object(&self) -> Result<&serde_json::Value, Rejection> {
        self.json
            .get_or_init(|| match self.kind {
                BodyKind::None => Ok(serde_json::Value::Object(Default::default())),
                BodyKind::Xml => Err(Rejection::invalid_argument(
                    "dsvcr.request.xml_not_supported",
                    "this operation takes a JSON body; XML is published for download_session.get only"
                        .to_owned(),
                    self.style,
                )),
                BodyKind::Json => parse_json_object(self.raw, self.style),
            })
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The JSON value at `path`, if there is one.
    pub(super) fn value_at(&self, path: &[&str]) -> Result<Option<&serde_json::Value>, Rejection> {
        let mut value = self.object()?;
        for name in path {
            match value.get(name) {
                Some(inner) => value = inner,
                None => return Ok(None),
            }
        }
        Ok(Some(value))
    }

    pub(super) fn string_at(&self, path: &[&str]) -> Result<Option<String>, Rejection> {
        let mut value = self.object()?;
        for (depth, name) in path.iter().enumerate() {
            match value.get(name) {
                Some(inner) => value = inner,
                None if value.is_object() || depth == 0 => return Ok(None),
                None => {
                    return Err(malformed(
                        format!(
                            "{} in the JSON body must be an object",
                            path[..depth].join(".")
                        ),
                        self.style,
                    ))
                }
            }
        }
        match value {
            serde_json::Value::String(text) => Ok(Some(text.clone())),
            serde_json::Value::Null => Ok(None),
            other => Err(malformed(
                format!(
                    "{} in the JSON body must be a string, not {other}",
                    path.join(".")
                ),
                self.style,
            )),
        }
    }
}

pub(super) fn text_value<'a>(text: String) -> Cow<'a, serde_json::Value> {
    Cow::Owned(serde_json::Value::String(text))
}

pub(super) fn malformed(message: String, style: Style) -> Rejection {
    Rejection::invalid_argument("dsvcr.request.malformed_json", message, style)
}

pub(super) fn parse_json_object(body: &[u8], style: Style) -> Result<serde_json::Value, Rejection> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| malformed(format!("malformed JSON body: {err}"), style))?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(malformed(
            "the JSON body must be an object".to_owned(),
            style,
        ))
    }
}

impl Fields<'_> {
    pub(super) fn read(&self, source: Source) -> Result<Option<String>, Rejection> {
        match source {
            Source::Query(name) => single_parameter(self.query, name, self.style),
            Source::Header(name) => Ok(self
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .map(str::to_owned)),
            Source::Body(path) => self.body.string_at(path),
            Source::Path | Source::GetInput | Source::WholeBody => Ok(None),
        }
    }

    pub(super) fn first_of(&self, sources: &[Source]) -> Result<Option<String>, Rejection> {
        for source in sources {
            if let Some(value) = self.read(*source)? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }

    pub(super) fn optional(&self, source: Option<Source>) -> Result<Option<String>, Rejection> {
        source.map_or(Ok(None), |source| self.read(source))
    }

    pub(super) fn required(&self, name: &str, source: Option<Source>) -> Result<String, Rejection> {
        self.optional(source)?.ok_or_else(|| {
            let place = match source {
                Some(Source::Query(_)) => "the query",
                Some(Source::Header(_)) => "the headers",
                _ => "the JSON body",
            };
            Rejection::invalid_argument(
                "dsvcr.request.missing_input",
                format!("no {name} in {place}"),
                self.style,
            )
        })
    }
}

/// A query parameter given once, or several times with one value.
pub(super) fn single_parameter(
    query: Option<&str>,
    name: &str,
    style: Style,
) -> Result<Option<String>, Rejection> {
    let mut values = parameter(query, name);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.all(|other| other == first) {
        Ok(Some(first.into_owned()))
    } else {
        Err(Rejection::invalid_argument(
            "dsvcr.request.conflicting_ids",
            format!("the query gives {name} more than once, with different values"),
            style,
        ))
    }
}

/// Form C's id: in a JSON body, an XML `Get-Input` body or the query; body and query
/// must agree.
pub(super) fn get_input_id(request: &Fields<'_>) -> Result<(SessionId, IdFrom), Rejection> {
    let style = request.style;
    let query_id = single_parameter(request.query, ID_PARAMETER, style)?;
    let from_body = match request.body.kind {
        BodyKind::None => None,
        BodyKind::Json => Some(json_body_id(request.body.raw, style)?),
        BodyKind::Xml => Some(xml_body_id(request.body.raw, style)?),
    };
    let (raw, from) = match (from_body, query_id) {
        (Some(body_id), Some(query_id)) if body_id != query_id => {
            return Err(Rejection::invalid_argument(
                "dsvcr.request.conflicting_ids",
                format!(
                    "the body asks for download_session_id {body_id:?} but the query asks for {query_id:?}"
                ),
                style,
            ))
        }
        (Some(body_id), _) => (body_id, IdFrom::Body),
        (None, Some(query_id)) => (query_id, IdFrom::Query),
        (None, None) => {
            return Err(Rejection::invalid_argument(
                "dsvcr.request.missing_id",
                "no download_session_id: send it in a JSON body, an XML Get-Input body or the query"
                    .to_owned(),
                style,
            ))
        }
    };
    Ok((parse_id(&raw, style)?, from))
}

pub(super) fn json_body_id(body: &[u8], style: Style) -> Result<String, Rejection> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| malformed(format!("malformed JSON body: {err}"), style))?;
    match value.get(ID_PARAMETER) {
        Some(serde_json::Value::String(id)) => Ok(id.clone()),
        Some(other) => Err(malformed(
            format!("download_session_id in the JSON body must be a string, not {other}"),
            style,
        )),
        None if value.is_object() => Err(malformed(
            "the JSON body has no download_session_id".to_owned(),
            style,
        )),
        None => Err(malformed(
            "the JSON body must be an object with a download_session_id".to_owned(),
            style,
        )),
    }
}

pub(super) fn xml_body_id(body: &[u8], style: Style) -> Result<String, Rejection> {
    xml::parse_get_input(body).map_err(|err| {
        Rejection::invalid_argument("dsvcr.request.malformed_xml", format!("{err}"), style)
    })
}
