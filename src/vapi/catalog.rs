//! The operation catalog: one row per vAPI operation dsvcr records and replays.
//!
//! A row names the operation, says how each REST flavour spells it (method, path shape,
//! `~action`/`action`), where its key fields come from, and what its output is.
//! Recognition (the protocol codecs' `recognise`) is driven from these rows alone, so adding an
//! operation is one row, its model type and its tests.

use http::Method;

/// The HTTP methods catalogued routes use (`http::Method` cannot live in a constant).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Delete,
}

impl Verb {
    pub(crate) fn is(self, method: &Method) -> bool {
        *method
            == match self {
                Verb::Get => Method::GET,
                Verb::Post => Method::POST,
                Verb::Delete => Method::DELETE,
            }
    }
}

/// A catalogued operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Op {
    Create,
    Get,
    List,
    KeepAlive,
    Cancel,
    Delete,
    Fail,
    FileList,
    FileGet,
    FilePrepare,
    LibraryGet,
    LibraryList,
    LibraryFind,
    ItemGet,
    ItemList,
    ItemFind,
}

/// A path dsvcr knows, per REST family (`/rest` and reference paths share one).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    /// `…/download-session`
    Sessions,
    /// `…/download-session/id:ID` (`/rest`) or `…/download-session/ID` (`/api`)
    Session,
    /// `…/downloadsession/file` (`/rest` only)
    Files,
    /// `…/downloadsession/file/id:ID` (`/rest` only)
    File,
    /// `…/download-session/ID/file` (`/api` only)
    SessionFiles,
    /// `…/content/library`
    Libraries,
    /// `…/content/library/id:L` (`/rest`) or `…/content/library/L` (`/api`)
    Library,
    /// `…/content/library/item`
    Items,
    /// `…/content/library/item/id:I` (`/rest`) or `…/content/library/item/I` (`/api`)
    Item,
}

/// Where an input field is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source {
    /// The id in the path.
    Path,
    /// A query parameter.
    Query(&'static str),
    /// A string at this path inside a JSON body object.
    Body(&'static [&'static str]),
    /// A request header.
    Header(&'static str),
    /// The whole JSON body object.
    WholeBody,
    /// `download_session_id` in a JSON body, an XML `Get-Input` body or the query
    /// (form C of `get`).
    GetInput,
}

/// How one REST family spells an operation.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Route {
    pub(crate) method: Verb,
    pub(crate) shape: Shape,
    /// The `~action` (`/rest`) or `action` (`/api`) value, if the route has one. GET
    /// routes ignore it.
    pub(crate) action: Option<&'static str>,
    /// A query parameter that must be present (tells `/api` file.get from file.list).
    pub(crate) requires: Option<&'static str>,
    /// A query parameter that must be absent.
    pub(crate) forbids: Option<&'static str>,
    /// Where the key fields come from, in the order of [`Key`].
    pub(crate) inputs: Inputs,
}

/// Sources of the key fields a route carries; `None` where the operation has no such
/// field. Several sources are tried in order.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Inputs {
    pub(crate) session: Option<Source>,
    pub(crate) file: Option<Source>,
    pub(crate) item: Option<Source>,
    pub(crate) token: &'static [Source],
    /// A lookup's named inputs (any JSON value), which together are its key.
    pub(crate) lookup: &'static [(&'static str, Source)],
}

/// What an operation's key is made of.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// The download session id.
    Session,
    /// The download session id and a file name.
    SessionFile,
    /// The library item id (required) and the client token (optional).
    Create,
    /// The optional `library_item_id` filter.
    ItemFilter,
    /// A lookup's named inputs, in canonical JSON.
    Lookup,
}

/// The shape of a successful answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Output {
    /// `download_session_model`
    Session,
    /// A new session's id.
    Id,
    /// A list of session ids.
    Ids,
    /// `downloadsession.file.info`
    File,
    /// A list of `downloadsession.file.info`.
    Files,
    /// Nothing (`/rest` 200 with an empty body, `/api` 204).
    Void,
    /// A model kept as the JSON vCenter sent (library and item models).
    Value,
}

/// One catalogued operation.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) op: Op,
    /// The fully qualified name: the vAPI service, a dot, the operation.
    pub(crate) name: &'static str,
    pub(crate) key: Key,
    pub(crate) output: Output,
    /// `/rest` and reference-path routes.
    pub(crate) rest: &'static [Route],
    /// `/api` routes.
    pub(crate) api: &'static [Route],
}

const SESSION_ID: &str = "download_session_id";

const fn route(method: Verb, shape: Shape, action: Option<&'static str>, inputs: Inputs) -> Route {
    Route {
        method,
        shape,
        action,
        requires: None,
        forbids: None,
        inputs,
    }
}

const NO_INPUTS: Inputs = Inputs {
    session: None,
    file: None,
    item: None,
    token: &[],
    lookup: &[],
};

const fn in_path() -> Inputs {
    Inputs {
        session: Some(Source::Path),
        ..NO_INPUTS
    }
}

const fn file_in(file: Source) -> Inputs {
    Inputs {
        session: Some(Source::Path),
        file: Some(file),
        ..NO_INPUTS
    }
}

const fn lookup(fields: &'static [(&'static str, Source)]) -> Inputs {
    Inputs {
        lookup: fields,
        ..NO_INPUTS
    }
}

const REST_FIND_SPEC: Inputs = lookup(&[("spec", Source::Body(&["spec"]))]);
const API_FIND_SPEC: Inputs = lookup(&[("spec", Source::WholeBody)]);

const LIST_INPUTS: Inputs = Inputs {
    item: Some(Source::Query("library_item_id")),
    ..NO_INPUTS
};

const FILE_NAME_IN_BODY: Source = Source::Body(&["file_name"]);

/// Every catalogued operation. Within a family, earlier routes win.
pub(crate) const CATALOG: &[Row] = &[
    Row {
        op: Op::Create,
        name: "com.vmware.content.library.item.download_session.create",
        key: Key::Create,
        output: Output::Id,
        rest: &[route(
            Verb::Post,
            Shape::Sessions,
            None,
            Inputs {
                item: Some(Source::Body(&["create_spec", "library_item_id"])),
                token: &[Source::Body(&["client_token"])],
                ..NO_INPUTS
            },
        )],
        api: &[route(
            Verb::Post,
            Shape::Sessions,
            None,
            Inputs {
                item: Some(Source::Body(&["library_item_id"])),
                token: &[
                    Source::Query("client_token"),
                    Source::Header("client-token"),
                ],
                ..NO_INPUTS
            },
        )],
    },
    Row {
        op: Op::Get,
        name: "com.vmware.content.library.item.download_session.get",
        key: Key::Session,
        output: Output::Session,
        rest: &[
            route(Verb::Get, Shape::Session, None, in_path()),
            route(Verb::Post, Shape::Session, Some("get"), in_path()),
            route(
                Verb::Post,
                Shape::Sessions,
                Some("get"),
                Inputs {
                    session: Some(Source::GetInput),
                    ..NO_INPUTS
                },
            ),
        ],
        api: &[route(Verb::Get, Shape::Session, None, in_path())],
    },
    Row {
        op: Op::List,
        name: "com.vmware.content.library.item.download_session.list",
        key: Key::ItemFilter,
        output: Output::Ids,
        rest: &[route(Verb::Get, Shape::Sessions, None, LIST_INPUTS)],
        api: &[route(Verb::Get, Shape::Sessions, None, LIST_INPUTS)],
    },
    Row {
        op: Op::KeepAlive,
        name: "com.vmware.content.library.item.download_session.keep_alive",
        key: Key::Session,
        output: Output::Void,
        rest: &[route(
            Verb::Post,
            Shape::Session,
            Some("keep-alive"),
            in_path(),
        )],
        api: &[route(
            Verb::Post,
            Shape::Session,
            Some("keep-alive"),
            in_path(),
        )],
    },
    Row {
        op: Op::Cancel,
        name: "com.vmware.content.library.item.download_session.cancel",
        key: Key::Session,
        output: Output::Void,
        rest: &[route(Verb::Post, Shape::Session, Some("cancel"), in_path())],
        api: &[route(Verb::Post, Shape::Session, Some("cancel"), in_path())],
    },
    Row {
        op: Op::Delete,
        name: "com.vmware.content.library.item.download_session.delete",
        key: Key::Session,
        output: Output::Void,
        rest: &[route(Verb::Delete, Shape::Session, None, in_path())],
        api: &[route(Verb::Delete, Shape::Session, None, in_path())],
    },
    Row {
        op: Op::Fail,
        name: "com.vmware.content.library.item.download_session.fail",
        key: Key::Session,
        output: Output::Void,
        rest: &[route(Verb::Post, Shape::Session, Some("fail"), in_path())],
        api: &[route(Verb::Post, Shape::Session, Some("fail"), in_path())],
    },
    Row {
        op: Op::FileList,
        name: "com.vmware.content.library.item.downloadsession.file.list",
        key: Key::Session,
        output: Output::Files,
        rest: &[route(
            Verb::Get,
            Shape::Files,
            None,
            Inputs {
                session: Some(Source::Query(SESSION_ID)),
                ..NO_INPUTS
            },
        )],
        api: &[Route {
            forbids: Some("file_name"),
            ..route(Verb::Get, Shape::SessionFiles, None, in_path())
        }],
    },
    Row {
        op: Op::FileGet,
        name: "com.vmware.content.library.item.downloadsession.file.get",
        key: Key::SessionFile,
        output: Output::File,
        rest: &[route(
            Verb::Post,
            Shape::File,
            Some("get"),
            file_in(FILE_NAME_IN_BODY),
        )],
        api: &[Route {
            requires: Some("file_name"),
            ..route(
                Verb::Get,
                Shape::SessionFiles,
                None,
                file_in(Source::Query("file_name")),
            )
        }],
    },
    Row {
        op: Op::FilePrepare,
        name: "com.vmware.content.library.item.downloadsession.file.prepare",
        key: Key::SessionFile,
        output: Output::File,
        rest: &[route(
            Verb::Post,
            Shape::File,
            Some("prepare"),
            file_in(FILE_NAME_IN_BODY),
        )],
        api: &[route(
            Verb::Post,
            Shape::SessionFiles,
            Some("prepare"),
            file_in(FILE_NAME_IN_BODY),
        )],
    },
    Row {
        op: Op::LibraryGet,
        name: "com.vmware.content.library.get",
        key: Key::Lookup,
        output: Output::Value,
        rest: &[route(
            Verb::Get,
            Shape::Library,
            None,
            lookup(&[("library_id", Source::Path)]),
        )],
        api: &[route(
            Verb::Get,
            Shape::Library,
            None,
            lookup(&[("library_id", Source::Path)]),
        )],
    },
    Row {
        op: Op::LibraryList,
        name: "com.vmware.content.library.list",
        key: Key::Lookup,
        output: Output::Ids,
        rest: &[route(Verb::Get, Shape::Libraries, None, NO_INPUTS)],
        api: &[route(Verb::Get, Shape::Libraries, None, NO_INPUTS)],
    },
    Row {
        op: Op::LibraryFind,
        name: "com.vmware.content.library.find",
        key: Key::Lookup,
        output: Output::Ids,
        rest: &[route(
            Verb::Post,
            Shape::Libraries,
            Some("find"),
            REST_FIND_SPEC,
        )],
        api: &[route(
            Verb::Post,
            Shape::Libraries,
            Some("find"),
            API_FIND_SPEC,
        )],
    },
    Row {
        op: Op::ItemGet,
        name: "com.vmware.content.library.item.get",
        key: Key::Lookup,
        output: Output::Value,
        rest: &[route(
            Verb::Get,
            Shape::Item,
            None,
            lookup(&[("library_item_id", Source::Path)]),
        )],
        api: &[route(
            Verb::Get,
            Shape::Item,
            None,
            lookup(&[("library_item_id", Source::Path)]),
        )],
    },
    Row {
        op: Op::ItemList,
        name: "com.vmware.content.library.item.list",
        key: Key::Lookup,
        output: Output::Ids,
        rest: &[route(
            Verb::Get,
            Shape::Items,
            None,
            lookup(&[("library_id", Source::Query("library_id"))]),
        )],
        api: &[route(
            Verb::Get,
            Shape::Items,
            None,
            lookup(&[("library_id", Source::Query("library_id"))]),
        )],
    },
    Row {
        op: Op::ItemFind,
        name: "com.vmware.content.library.item.find",
        key: Key::Lookup,
        output: Output::Ids,
        rest: &[route(
            Verb::Post,
            Shape::Items,
            Some("find"),
            REST_FIND_SPEC,
        )],
        api: &[route(Verb::Post, Shape::Items, Some("find"), API_FIND_SPEC)],
    },
];

impl Op {
    /// Every operation, in catalog order.
    pub(crate) const ALL: [Op; 16] = [
        Op::Create,
        Op::Get,
        Op::List,
        Op::KeepAlive,
        Op::Cancel,
        Op::Delete,
        Op::Fail,
        Op::FileList,
        Op::FileGet,
        Op::FilePrepare,
        Op::LibraryGet,
        Op::LibraryList,
        Op::LibraryFind,
        Op::ItemGet,
        Op::ItemList,
        Op::ItemFind,
    ];

    pub(crate) fn row(self) -> &'static Row {
        CATALOG
            .iter()
            .find(|row| row.op == self)
            .expect("every operation has a catalog row")
    }

    /// The fully qualified name, e.g.
    /// `com.vmware.content.library.item.download_session.create`.
    pub(crate) fn full_name(self) -> &'static str {
        self.row().name
    }

    /// The short label used in logs and the run summary: the name less
    /// `com.vmware.content.library.item.` for the download-session services
    /// (`download_session.create`, `downloadsession.file.get`), less `com.vmware.content.`
    /// for the library services (`library.find`, `library.item.get`).
    pub(crate) fn label(self) -> &'static str {
        let name = self.full_name();
        match name.strip_prefix("com.vmware.content.library.item.") {
            Some(rest) if rest.contains('.') => rest,
            _ => name.strip_prefix("com.vmware.content.").unwrap_or(name),
        }
    }

    pub(crate) fn from_full_name(name: &str) -> Option<Op> {
        Op::ALL.into_iter().find(|op| op.full_name() == name)
    }

    pub(crate) fn output(self) -> Output {
        self.row().output
    }

    pub(crate) fn key(self) -> Key {
        self.row().key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_service_dot_operation() {
        for row in CATALOG {
            assert!(row.name.starts_with("com.vmware.content.library."));
            assert_eq!(Op::from_full_name(row.op.full_name()), Some(row.op));
        }
        assert_eq!(Op::Create.label(), "download_session.create");
        assert_eq!(Op::FileGet.label(), "downloadsession.file.get");
        assert_eq!(Op::ItemGet.label(), "library.item.get");
        assert_eq!(Op::LibraryFind.label(), "library.find");
    }

    #[test]
    fn every_operation_has_one_row_with_routes_in_both_families() {
        for op in Op::ALL {
            assert_eq!(CATALOG.iter().filter(|row| row.op == op).count(), 1);
            assert!(!op.row().rest.is_empty() && !op.row().api.is_empty());
        }
    }
}
