//! The download-session model and the vAPI standard error, as the API defines them.
//!
//! Field order follows the JSON the API sends (alphabetical), so serialising a model
//! reproduces the reference page's JSON key order.

use serde::{Deserialize, Serialize};

/// `com.vmware.content.library.item.download_session_model`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DownloadSession {
    /// vCenter always sends it; govmomi's simulator leaves it out when it is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) client_progress: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_message: Option<LocalizableMessage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) expiration_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) library_item_content_version: Option<String>,
    pub(crate) library_item_id: String,
    pub(crate) state: SessionState,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum SessionState {
    Active,
    Canceled,
    Error,
}

impl SessionState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SessionState::Active => "ACTIVE",
            SessionState::Canceled => "CANCELED",
            SessionState::Error => "ERROR",
        }
    }
}

/// `com.vmware.content.library.item.downloadsession.file.info`: one file of a download
/// session, as file.list, file.get and file.prepare answer it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileInfo {
    /// Always sent by vCenter; optional here so that a recording reads back as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) bytes_transferred: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) checksum_info: Option<ChecksumInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) download_endpoint: Option<TransferEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) error_message: Option<LocalizableMessage>,
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<i64>,
    pub(crate) status: FileStatus,
}

/// `com.vmware.content.library.item.file.checksum_info`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChecksumInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) algorithm: Option<String>,
    pub(crate) checksum: String,
}

/// `com.vmware.content.library.item.transfer_endpoint`: where a prepared file's bytes
/// are downloaded from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TransferEndpoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ssl_certificate: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ssl_certificate_thumbprint: Option<String>,
    pub(crate) uri: String,
}

/// `com.vmware.content.library.item.downloadsession.file.prepare_status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub(crate) enum FileStatus {
    Unprepared,
    PrepareRequested,
    Preparing,
    Prepared,
    Error,
}

/// `com.vmware.vapi.std.localizable_message`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LocalizableMessage {
    #[serde(default)]
    pub(crate) args: Vec<String>,
    pub(crate) default_message: String,
    pub(crate) id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) localized: Option<String>,
    /// Named localization parameters (vSphere 7.0+), kept as sent. The XML
    /// representation leaves them out: it has no published form for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) params: Option<serde_json::Map<String, serde_json::Value>>,
}

impl LocalizableMessage {
    pub(crate) fn new(id: &str, default_message: String, args: Vec<String>) -> Self {
        LocalizableMessage {
            args,
            default_message,
            id: id.to_owned(),
            localized: None,
            params: None,
        }
    }
}

/// A vAPI standard error as a cassette stores it: its type and messages. The
/// `error_type` and the envelope are derived when it is rendered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct VapiError {
    #[serde(rename = "type")]
    pub(crate) kind: ErrorKind,
    pub(crate) messages: Vec<LocalizableMessage>,
}

impl VapiError {
    pub(crate) fn new(kind: ErrorKind, message: LocalizableMessage) -> Self {
        VapiError {
            kind,
            messages: vec![message],
        }
    }
}

macro_rules! error_kinds {
    ($($variant:ident $name:literal $upper:literal $status:literal,)*) => {
        /// The vAPI standard error types (`com.vmware.vapi.std.errors.*`).
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub(crate) enum ErrorKind { $($variant,)* }

        impl ErrorKind {
            pub(crate) const ALL: &'static [ErrorKind] = &[$(ErrorKind::$variant,)*];

            /// The short name, e.g. `not_found`.
            pub(crate) fn name(self) -> &'static str {
                match self { $(ErrorKind::$variant => $name,)* }
            }

            /// The `error_type` value, e.g. `NOT_FOUND`.
            pub(crate) fn error_type(self) -> &'static str {
                match self { $(ErrorKind::$variant => $upper,)* }
            }

        }
    };
}

error_kinds! {
    AlreadyExists "already_exists" "ALREADY_EXISTS" 400,
    AlreadyInDesiredState "already_in_desired_state" "ALREADY_IN_DESIRED_STATE" 400,
    Canceled "canceled" "CANCELED" 400,
    ConcurrentChange "concurrent_change" "CONCURRENT_CHANGE" 400,
    Error "error" "ERROR" 500,
    FeatureInUse "feature_in_use" "FEATURE_IN_USE" 400,
    InternalServerError "internal_server_error" "INTERNAL_SERVER_ERROR" 500,
    InvalidArgument "invalid_argument" "INVALID_ARGUMENT" 400,
    InvalidElementConfiguration "invalid_element_configuration" "INVALID_ELEMENT_CONFIGURATION" 400,
    InvalidElementType "invalid_element_type" "INVALID_ELEMENT_TYPE" 400,
    InvalidRequest "invalid_request" "INVALID_REQUEST" 400,
    NotAllowedInCurrentState "not_allowed_in_current_state" "NOT_ALLOWED_IN_CURRENT_STATE" 400,
    NotFound "not_found" "NOT_FOUND" 404,
    OperationNotFound "operation_not_found" "OPERATION_NOT_FOUND" 404,
    ResourceBusy "resource_busy" "RESOURCE_BUSY" 400,
    ResourceInUse "resource_in_use" "RESOURCE_IN_USE" 400,
    ResourceInaccessible "resource_inaccessible" "RESOURCE_INACCESSIBLE" 400,
    ServiceUnavailable "service_unavailable" "SERVICE_UNAVAILABLE" 503,
    TimedOut "timed_out" "TIMED_OUT" 504,
    UnableToAllocateResource "unable_to_allocate_resource" "UNABLE_TO_ALLOCATE_RESOURCE" 400,
    Unauthenticated "unauthenticated" "UNAUTHENTICATED" 401,
    Unauthorized "unauthorized" "UNAUTHORIZED" 403,
    UnexpectedInput "unexpected_input" "UNEXPECTED_INPUT" 400,
    Unsupported "unsupported" "UNSUPPORTED" 400,
    UnverifiedPeer "unverified_peer" "UNVERIFIED_PEER" 400,
}

const ERROR_TYPE_PREFIX: &str = "com.vmware.vapi.std.errors.";

impl ErrorKind {
    /// The fully qualified type, e.g. `com.vmware.vapi.std.errors.not_found`.
    pub(crate) fn type_name(self) -> String {
        format!("{ERROR_TYPE_PREFIX}{}", self.name())
    }

    pub(crate) fn from_type_name(type_name: &str) -> Option<Self> {
        let name = type_name.strip_prefix(ERROR_TYPE_PREFIX)?;
        Self::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    pub(crate) fn from_error_type(error_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.error_type() == error_type)
    }
}

impl Serialize for ErrorKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.type_name())
    }
}

impl<'de> Deserialize<'de> for ErrorKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        ErrorKind::from_type_name(&raw).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "unknown error type {raw:?}; expected {ERROR_TYPE_PREFIX}<name> with a vAPI standard error name"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_page_json_decodes() {
        let json = include_str!("../../tests/data/get-result.json");
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let session: DownloadSession = serde_json::from_value(value["value"].clone()).unwrap();
        assert_eq!(session.id.as_deref(), Some("obj-103"));
        assert_eq!(session.client_progress, Some(10));
        assert_eq!(session.state, SessionState::Active);
        assert_eq!(
            session.error_message.unwrap().args,
            vec!["string".to_owned(), "string".to_owned()]
        );
    }

    #[test]
    fn error_messages_keep_their_params() {
        let json = r#"{"client_progress":0,"library_item_id":"x","state":"ERROR","error_message":{"args":[],"default_message":"m","id":"i","params":{"file":{"s":"a.ova"}}}}"#;
        let session: DownloadSession = serde_json::from_str(json).unwrap();
        let params = session
            .error_message
            .as_ref()
            .unwrap()
            .params
            .as_ref()
            .unwrap();
        assert_eq!(params["file"]["s"], "a.ova");
        let written = serde_json::to_string(&session).unwrap();
        assert!(
            written.contains(r#""params":{"file":{"s":"a.ova"}}"#),
            "{written}"
        );
    }

    #[test]
    fn unknown_fields_are_refused() {
        let err = serde_json::from_str::<DownloadSession>(
            r#"{"client_progress":1,"library_item_id":"x","state":"ACTIVE","colour":"red"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    }

    #[test]
    fn error_kinds_round_trip_their_names() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_type_name(&kind.type_name()), Some(*kind));
            assert_eq!(ErrorKind::from_error_type(kind.error_type()), Some(*kind));
        }
        assert_eq!(
            ErrorKind::NotFound.type_name(),
            "com.vmware.vapi.std.errors.not_found"
        );
    }
}
