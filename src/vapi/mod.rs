//! The vSphere Automation API's vocabulary: identifiers, the download-session model,
//! request recognition, and the JSON and XML representations.

pub mod decode;
pub mod id;
pub mod model;
pub mod recognise;
pub mod render;
pub mod wire;
pub mod xml;

pub use id::SessionId;
pub use model::{DownloadSession, ErrorKind, LocalizableMessage, SessionState, VapiError};
pub use recognise::{recognise, GetRequest, Operation};
pub use wire::{Flavour, Form, Representation, Style};

/// The fully qualified name of the one operation dsvcr records and replays.
pub const DOWNLOAD_SESSION_GET: &str = "com.vmware.content.library.item.download_session.get";
