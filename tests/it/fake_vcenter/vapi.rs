//! vAPI errors, independent of how a flavour writes them on the wire.

use http::StatusCode;
use serde_json::{json, Value};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Message {
    pub(crate) id: String,
    pub(crate) default_message: String,
    pub(crate) args: Vec<String>,
}

impl Message {
    pub(crate) fn new(id: &str, default_message: String, args: &[&str]) -> Message {
        Message {
            id: id.to_owned(),
            default_message,
            args: args.iter().map(|arg| (*arg).to_owned()).collect(),
        }
    }

    pub(crate) fn plain(&self) -> Value {
        json!({"args": self.args, "default_message": self.default_message, "id": self.id})
    }
}

#[derive(Clone, Debug)]
pub(super) struct VapiError {
    /// The error's short name: `not_found`, `unauthenticated`, …
    pub(crate) kind: &'static str,
    pub(crate) messages: Vec<Message>,
}

impl VapiError {
    pub(crate) fn bare(kind: &'static str) -> VapiError {
        VapiError {
            kind,
            messages: Vec::new(),
        }
    }

    fn one(kind: &'static str, id: &str, text: String, args: &[&str]) -> VapiError {
        VapiError {
            kind,
            messages: vec![Message::new(id, text, args)],
        }
    }

    pub(crate) fn session_not_found(id: &str) -> VapiError {
        let text = format!("Download session {id} does not exist.");
        let key = "com.vmware.vdcs.cls-main.download_session_not_found";
        Self::one("not_found", key, text, &[id])
    }

    pub(crate) fn file_not_found(session: &str, file: &str) -> VapiError {
        let text = format!("File {file} does not exist in download session {session}.");
        let key = "com.vmware.vdcs.cls-main.file_not_found";
        Self::one("not_found", key, text, &[file, session])
    }

    pub(crate) fn item_not_found(id: &str) -> VapiError {
        let text = format!("Library item {id} does not exist.");
        let key = "com.vmware.vdcs.cls-main.library_item_not_found";
        Self::one("not_found", key, text, &[id])
    }

    pub(crate) fn library_not_found(id: &str) -> VapiError {
        let text = format!("Library {id} does not exist.");
        let key = "com.vmware.vdcs.cls-main.library_not_found";
        Self::one("not_found", key, text, &[id])
    }

    pub(crate) fn not_active(id: &str, state: &str) -> VapiError {
        let text = format!("Download session {id} is {state}, not ACTIVE.");
        let key = "com.vmware.vdcs.cls-main.download_session_not_active";
        Self::one("not_allowed_in_current_state", key, text, &[id, state])
    }

    pub(crate) fn invalid_argument(detail: &str) -> VapiError {
        let text = format!("Invalid argument: {detail}.");
        let key = "com.vmware.vapi.std.errors.invalid_argument";
        Self::one("invalid_argument", key, text, &[detail])
    }

    pub(crate) fn operation_not_found(service: &str, operation: &str) -> VapiError {
        let text = format!("Operation {operation} of service {service} does not exist.");
        let key = "vapi.method.input.invalid.interface";
        Self::one("operation_not_found", key, text, &[service, operation])
    }

    /// `com.vmware.vapi.std.errors.<kind>`.
    pub(crate) fn name(&self) -> String {
        format!("com.vmware.vapi.std.errors.{}", self.kind)
    }

    /// `NOT_FOUND`, `UNAUTHENTICATED`, …
    pub(crate) fn error_type(&self) -> String {
        self.kind.to_ascii_uppercase()
    }

    pub(crate) fn status(&self) -> StatusCode {
        match self.kind {
            "not_found" => StatusCode::NOT_FOUND,
            "unauthenticated" => StatusCode::UNAUTHORIZED,
            "internal_server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    pub(crate) fn plain_messages(&self) -> Value {
        Value::Array(self.messages.iter().map(Message::plain).collect())
    }
}
