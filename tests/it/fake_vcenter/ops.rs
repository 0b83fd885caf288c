//! The vAPI operations both wire protocols share: parsed from an untyped operation input,
//! answered with an [`Output`] each protocol encodes its own way.

use serde_json::Value;

use super::library::{self, FakeLibrary};
use super::sessions::{self, FileInfo, SessionModel};
use super::state::Shared;
use super::vapi::VapiError;

pub(super) const DOWNLOAD_SESSION: &str = "com.vmware.content.library.item.download_session";
pub(super) const FILE: &str = "com.vmware.content.library.item.downloadsession.file";
pub(super) const LIBRARY: &str = "com.vmware.content.library";
pub(super) const ITEM: &str = "com.vmware.content.library.item";

#[derive(Clone, Debug, PartialEq)]
pub(super) enum Operation {
    Create {
        item: String,
        client_token: Option<String>,
    },
    Get(String),
    List(Option<String>),
    KeepAlive {
        id: String,
        progress: Option<i64>,
    },
    Cancel(String),
    Delete(String),
    Fail {
        id: String,
        message: String,
    },
    FileList(String),
    FileGet {
        id: String,
        file: String,
    },
    FilePrepare {
        id: String,
        file: String,
    },
    LibraryGet(String),
    LibraryList,
    LibraryFind(Option<String>),
    ItemGet(String),
    ItemList(String),
    ItemFind {
        library: Option<String>,
        name: Option<String>,
    },
}

pub(super) enum Output {
    /// create's new session id.
    Created(String),
    Ids(Vec<String>),
    Session(SessionModel),
    File(FileInfo),
    Files(Vec<FileInfo>),
    Library(Value),
    Item(Value),
    Void,
}

impl Output {
    /// The value as `/rest` and `/api` write it; `None` for a void operation.
    pub(crate) fn plain(&self) -> Option<Value> {
        Some(match self {
            Output::Created(id) => Value::from(id.as_str()),
            Output::Ids(ids) => Value::from(ids.clone()),
            Output::Session(model) => model.plain(),
            Output::File(info) => info.plain(),
            Output::Files(infos) => Value::Array(infos.iter().map(FileInfo::plain).collect()),
            Output::Library(model) | Output::Item(model) => model.clone(),
            Output::Void => return None,
        })
    }
}

/// `input` holds the parameters by their vAPI names, without type wrappers.
pub(super) fn parse(service: &str, operation: &str, input: &Value) -> Result<Operation, VapiError> {
    let id = || required(input, "download_session_id");
    let file = || required(input, "file_name");
    Ok(match (service, operation) {
        (DOWNLOAD_SESSION, "create") => Operation::Create {
            item: required(&input["create_spec"], "library_item_id")?,
            client_token: optional(input, "client_token")?,
        },
        (DOWNLOAD_SESSION, "get") => Operation::Get(id()?),
        (DOWNLOAD_SESSION, "list") => Operation::List(optional(input, "library_item_id")?),
        (DOWNLOAD_SESSION, "keep_alive") => Operation::KeepAlive {
            id: id()?,
            progress: optional_integer(input, "progress")?,
        },
        (DOWNLOAD_SESSION, "cancel") => Operation::Cancel(id()?),
        (DOWNLOAD_SESSION, "delete") => Operation::Delete(id()?),
        (DOWNLOAD_SESSION, "fail") => Operation::Fail {
            id: id()?,
            message: optional(input, "client_error_message")?.unwrap_or_default(),
        },
        (FILE, "list") => Operation::FileList(id()?),
        (FILE, "get") => Operation::FileGet {
            id: id()?,
            file: file()?,
        },
        (FILE, "prepare") => Operation::FilePrepare {
            id: id()?,
            file: file()?,
        },
        (LIBRARY, "get") => Operation::LibraryGet(required(input, "library_id")?),
        (LIBRARY, "list") => Operation::LibraryList,
        (LIBRARY, "find") => Operation::LibraryFind(optional(&input["spec"], "name")?),
        (ITEM, "get") => Operation::ItemGet(required(input, "library_item_id")?),
        (ITEM, "list") => Operation::ItemList(required(input, "library_id")?),
        (ITEM, "find") => Operation::ItemFind {
            library: optional(&input["spec"], "library_id")?,
            name: optional(&input["spec"], "name")?,
        },
        _ => return Err(VapiError::operation_not_found(service, operation)),
    })
}

fn optional(input: &Value, name: &str) -> Result<Option<String>, VapiError> {
    match &input[name] {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.clone())),
        _ => Err(VapiError::invalid_argument(name)),
    }
}

fn required(input: &Value, name: &str) -> Result<String, VapiError> {
    optional(input, name)?.ok_or_else(|| VapiError::invalid_argument(name))
}

fn optional_integer(input: &Value, name: &str) -> Result<Option<i64>, VapiError> {
    match &input[name] {
        Value::Null => Ok(None),
        value => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| VapiError::invalid_argument(name)),
    }
}

pub(super) fn invoke(shared: &Shared, operation: Operation) -> Result<Output, VapiError> {
    use Operation as Op;
    Ok(match operation {
        Op::Create { item, client_token } => {
            Output::Created(sessions::create(shared, &item, client_token.as_deref())?)
        }
        Op::Get(id) => Output::Session(sessions::get(shared, &id)?),
        Op::List(item) => Output::Ids(sessions::list(shared, item.as_deref())),
        Op::KeepAlive { id, progress } => void(sessions::keep_alive(shared, &id, progress))?,
        Op::Cancel(id) => void(sessions::cancel(shared, &id))?,
        Op::Delete(id) => void(sessions::delete(shared, &id))?,
        Op::Fail { id, message } => void(sessions::fail(shared, &id, &message))?,
        Op::FileList(id) => Output::Files(sessions::file_list(shared, &id)?),
        Op::FileGet { id, file } => Output::File(sessions::file_get(shared, &id, &file)?),
        Op::FilePrepare { id, file } => Output::File(sessions::file_prepare(shared, &id, &file)?),
        other => lookup(&shared.libraries, other)?,
    })
}

fn void(result: Result<(), VapiError>) -> Result<Output, VapiError> {
    result.map(|()| Output::Void)
}

fn lookup(libraries: &[FakeLibrary], operation: Operation) -> Result<Output, VapiError> {
    use Operation as Op;
    Ok(match operation {
        Op::LibraryGet(id) => {
            Output::Library(library::library_model(library::library(libraries, &id)?))
        }
        Op::LibraryList => Output::Ids(library::find_libraries(libraries, None)),
        Op::LibraryFind(name) => Output::Ids(library::find_libraries(libraries, name.as_deref())),
        Op::ItemGet(id) => {
            let (library, item) = library::item(libraries, &id)?;
            Output::Item(library::item_model(library, item))
        }
        Op::ItemList(library_id) => {
            let library = library::library(libraries, &library_id)?;
            Output::Ids(library.items.iter().map(|item| item.id.clone()).collect())
        }
        Op::ItemFind { library, name } => Output::Ids(library::find_items(
            libraries,
            library.as_deref(),
            name.as_deref(),
        )),
        _ => unreachable!("download-session operations are handled by invoke"),
    })
}
