//! The vSphere Automation API's vocabulary: identifiers, models, the operation catalog
//! and the protocol-neutral call. How each wire protocol spells them is the protocol
//! codecs' business, never the vocabulary's.

pub(crate) mod call;
pub(crate) mod catalog;
pub(crate) mod id;
pub(crate) mod model;
pub(crate) mod rejection;
pub(crate) mod wire;

pub(crate) use call::{Answer, Call, CallKey, SessionOp};
pub(crate) use catalog::Op;
pub(crate) use id::SessionId;
pub(crate) use model::{DownloadSession, ErrorKind, FileInfo, LocalizableMessage, VapiError};
pub(crate) use rejection::Rejection;
pub(crate) use wire::{Flavour, Form, Style};
