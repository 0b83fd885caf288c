//! The vSphere Automation API's vocabulary: identifiers, models, the operation catalog,
//! the protocol-neutral call, request recognition, and the JSON and XML representations.

pub(crate) mod call;
pub(crate) mod catalog;
pub(crate) mod decode;
pub(crate) mod id;
pub(crate) mod jsonrpc;
pub(crate) mod model;
pub(crate) mod recognise;
pub(crate) mod render;
pub(crate) mod wire;
pub(crate) mod xml;

pub(crate) use call::{Answer, Call, CallKey};
pub(crate) use catalog::Op;
pub(crate) use id::SessionId;
pub(crate) use model::{DownloadSession, ErrorKind, FileInfo, LocalizableMessage, VapiError};
pub(crate) use wire::{Flavour, Form, Style};
