//! How a request was made and how its answer must look: the request form, the path
//! flavour and the representation.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which of the API's request shapes asked for a download session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub(crate) enum Form {
    /// A: `GET …/download-session/id:S`
    #[serde(rename = "A")]
    GetById,
    /// B: `POST …/download-session/id:S?~action=get`
    #[serde(rename = "B")]
    PostById,
    /// C: `POST …/download-session?~action=get` with `{"download_session_id":"S"}`
    #[serde(rename = "C/json")]
    CollectionJsonBody,
    /// C: `POST …/download-session?~action=get` with an XML `Get-Input` body
    #[serde(rename = "C/xml")]
    CollectionXmlBody,
    /// C: `POST …/download-session?~action=get&download_session_id=S`
    #[serde(rename = "C/query")]
    CollectionQuery,
    /// D: `GET /api/content/library/item/download-session/S`
    #[serde(rename = "D")]
    Api,
}

impl Form {
    pub(crate) const ALL: [Form; 6] = [
        Form::GetById,
        Form::PostById,
        Form::CollectionJsonBody,
        Form::CollectionXmlBody,
        Form::CollectionQuery,
        Form::Api,
    ];

    pub(crate) fn label(self) -> &'static str {
        match self {
            Form::GetById => "A",
            Form::PostById => "B",
            Form::CollectionJsonBody => "C/json",
            Form::CollectionXmlBody => "C/xml",
            Form::CollectionQuery => "C/query",
            Form::Api => "D",
        }
    }
}

impl fmt::Display for Form {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

/// Which family of paths a request used; it decides the envelope of the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Flavour {
    /// `/rest/com/vmware/…`: success bodies are wrapped in `{"value": …}`.
    Rest,
    /// `/com/vmware/…`, as the API reference page writes the paths; answered like `/rest`.
    Reference,
    /// `/api/…` (vSphere 7.0U2+): bare bodies.
    Api,
}

impl Flavour {
    /// The flavour a path belongs to, judged by its prefix alone (for routes dsvcr does
    /// not otherwise know).
    pub(crate) fn of_path(path: &str) -> Flavour {
        if path == "/api" || path.starts_with("/api/") {
            Flavour::Api
        } else if path == "/rest" || path.starts_with("/rest/") {
            Flavour::Rest
        } else {
            Flavour::Reference
        }
    }

    pub(crate) fn wraps_value(self) -> bool {
        !matches!(self, Flavour::Api)
    }
}

/// The media type of a request or response body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Representation {
    Json,
    Xml,
}

impl Representation {
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Representation::Json => "application/json",
            Representation::Xml => "application/xml",
        }
    }
}

/// Everything that decides the bytes of an answer besides its content.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Style {
    pub(crate) flavour: Flavour,
    pub(crate) representation: Representation,
}

impl Style {
    pub(crate) const REST_JSON: Style = Style::json(Flavour::Rest);

    /// JSON in `flavour`: how dsvcr answers requests whose representation it cannot tell.
    pub(crate) const fn json(flavour: Flavour) -> Style {
        Style {
            flavour,
            representation: Representation::Json,
        }
    }

    /// The distinct encodings a style maps to: `/rest` and reference paths share one.
    pub(crate) fn encoding(self) -> Encoding {
        match (self.representation, self.flavour.wraps_value()) {
            (Representation::Xml, _) => Encoding::Xml,
            (Representation::Json, true) => Encoding::WrappedJson,
            (Representation::Json, false) => Encoding::BareJson,
        }
    }
}

/// The three byte-level encodings of one response; see [`Style::encoding`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Encoding {
    WrappedJson,
    BareJson,
    Xml,
}

impl Encoding {
    pub(crate) const COUNT: usize = 3;

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
