//! The vAPI structures dsvcr writes and reads over JSON-RPC, as the SDK's bindings define
//! them (`vmware-vcenter` 9.1.1.0): names, fields and which fields are optional, and for
//! the library and item models also each value's type (enumerations, date-times,
//! secrets), as `vapi-typed-models.md` gives them.

use super::typed::{Struct, Type};
use crate::vapi::catalog::Op;

const OPTIONAL: Type = Type::Optional(&Type::Plain);

pub(super) static DOWNLOAD_SESSION: Struct = Struct {
    name: "com.vmware.content.library.item.download_session_model",
    fields: &[
        ("id", OPTIONAL),
        ("library_item_id", OPTIONAL),
        ("library_item_content_version", OPTIONAL),
        (
            "error_message",
            Type::Optional(&Type::Struct(&LOCALIZABLE_MESSAGE)),
        ),
        ("client_progress", OPTIONAL),
        ("state", OPTIONAL),
        ("expiration_time", Type::Optional(&Type::DateTime)),
    ],
};

pub(super) static FILE_INFO: Struct = Struct {
    name: "com.vmware.content.library.item.downloadsession.file.info",
    fields: &[
        ("name", Type::Plain),
        ("size", OPTIONAL),
        ("bytes_transferred", Type::Plain),
        ("status", Type::Plain),
        (
            "download_endpoint",
            Type::Optional(&Type::Struct(&TRANSFER_ENDPOINT)),
        ),
        (
            "checksum_info",
            Type::Optional(&Type::Struct(&CHECKSUM_INFO)),
        ),
        (
            "error_message",
            Type::Optional(&Type::Struct(&LOCALIZABLE_MESSAGE)),
        ),
    ],
};

static TRANSFER_ENDPOINT: Struct = Struct {
    name: "com.vmware.content.library.item.transfer_endpoint",
    fields: &[
        ("uri", Type::Plain),
        ("ssl_certificate_thumbprint", OPTIONAL),
        ("ssl_certificate", OPTIONAL),
    ],
};

static CHECKSUM_INFO: Struct = Struct {
    name: "com.vmware.content.library.item.file.checksum_info",
    fields: &[("algorithm", OPTIONAL), ("checksum", Type::Plain)],
};

pub(super) static LOCALIZABLE_MESSAGE: Struct = Struct {
    name: "com.vmware.vapi.std.localizable_message",
    fields: &[
        ("id", Type::Plain),
        ("default_message", Type::Plain),
        ("args", Type::List(&Type::Plain)),
        (
            "params",
            Type::Optional(&Type::Map(&Type::Struct(&LOCALIZATION_PARAM))),
        ),
        ("localized", OPTIONAL),
    ],
};

static LOCALIZATION_PARAM: Struct = Struct {
    name: "com.vmware.vapi.std.localization_param",
    fields: &[
        ("s", OPTIONAL),
        ("dt", Type::Optional(&Type::DateTime)),
        ("i", OPTIONAL),
        ("d", OPTIONAL),
        ("l", Type::Optional(&Type::Struct(&NESTED_MESSAGE))),
        ("format", OPTIONAL),
        ("precision", OPTIONAL),
    ],
};

static NESTED_MESSAGE: Struct = Struct {
    name: "com.vmware.vapi.std.nested_localizable_message",
    fields: &[
        ("id", Type::Plain),
        (
            "params",
            Type::Optional(&Type::Map(&Type::Struct(&LOCALIZATION_PARAM))),
        ),
    ],
};

pub(super) static SESSION_INFO: Struct = Struct {
    name: "com.vmware.cis.session.info",
    fields: &[
        ("user", Type::Plain),
        ("created_time", Type::DateTime),
        ("last_accessed_time", Type::DateTime),
    ],
};

/// The schema of the model a library or item lookup answers, by operation.
pub(super) fn model(op: Op) -> Option<&'static Struct> {
    match op {
        Op::LibraryGet => Some(&LIBRARY_MODEL),
        Op::ItemGet => Some(&ITEM_MODEL),
        _ => None,
    }
}

const TEXT: Type = Type::Optional(&Type::Text);
const BOOLEAN: Type = Type::Optional(&Type::Boolean);
const DATE_TIME: Type = Type::Optional(&Type::DateTime);
const SECRET: Type = Type::Optional(&Type::Secret);
const AUTHENTICATION_METHOD: Type = Type::Optional(&Type::Enum(&["BASIC", "NONE"]));

/// `LibraryModel` (`com/vmware/content_client.py`).
pub(super) static LIBRARY_MODEL: Struct = Struct {
    name: "com.vmware.content.library_model",
    fields: &[
        ("id", TEXT),
        ("creation_time", DATE_TIME),
        ("description", TEXT),
        ("last_modified_time", DATE_TIME),
        ("last_sync_time", DATE_TIME),
        ("name", TEXT),
        (
            "storage_backings",
            Type::Optional(&Type::List(&Type::Struct(&STORAGE_BACKING))),
        ),
        (
            "type",
            Type::Optional(&Type::Enum(&["LOCAL", "SUBSCRIBED"])),
        ),
        (
            "optimization_info",
            Type::Optional(&Type::Struct(&OPTIMIZATION_INFO)),
        ),
        ("version", TEXT),
        ("publish_info", Type::Optional(&Type::Struct(&PUBLISH_INFO))),
        (
            "subscription_info",
            Type::Optional(&Type::Struct(&SUBSCRIPTION_INFO)),
        ),
        ("server_guid", TEXT),
        ("security_policy_id", TEXT),
        ("unset_security_policy_id", BOOLEAN),
        ("state_info", Type::Optional(&Type::Struct(&STATE_INFO))),
        (
            "configuration_info",
            Type::Optional(&Type::Struct(&CONFIGURATION_INFO)),
        ),
    ],
};

static STORAGE_BACKING: Struct = Struct {
    name: "com.vmware.content.library.storage_backing",
    fields: &[
        ("type", Type::Optional(&Type::Enum(&["DATASTORE", "OTHER"]))),
        ("datastore_id", TEXT),
        ("storage_uri", TEXT),
    ],
};

static OPTIMIZATION_INFO: Struct = Struct {
    name: "com.vmware.content.library.optimization_info",
    fields: &[("optimize_remote_publishing", BOOLEAN)],
};

static PUBLISH_INFO: Struct = Struct {
    name: "com.vmware.content.library.publish_info",
    fields: &[
        ("authentication_method", AUTHENTICATION_METHOD),
        ("published", BOOLEAN),
        ("publish_url", TEXT),
        ("user_name", TEXT),
        ("password", SECRET),
        ("current_password", SECRET),
        ("persist_json_enabled", BOOLEAN),
    ],
};

static SUBSCRIPTION_INFO: Struct = Struct {
    name: "com.vmware.content.library.subscription_info",
    fields: &[
        ("authentication_method", AUTHENTICATION_METHOD),
        ("automatic_sync_enabled", BOOLEAN),
        ("on_demand", BOOLEAN),
        ("password", SECRET),
        ("ssl_thumbprint", TEXT),
        ("subscription_url", TEXT),
        ("user_name", TEXT),
        ("source_info", Type::Optional(&Type::Struct(&SOURCE_INFO))),
        ("ssl_certificate", TEXT),
    ],
};

static SOURCE_INFO: Struct = Struct {
    name: "com.vmware.content.library.source_info",
    fields: &[("source_library", TEXT), ("subscription", TEXT)],
};

static STATE_INFO: Struct = Struct {
    name: "com.vmware.content.library.state_info",
    fields: &[
        (
            "state",
            Type::Optional(&Type::Enum(&["ACTIVE", "MAINTENANCE"])),
        ),
        ("message", TEXT),
    ],
};

static CONFIGURATION_INFO: Struct = Struct {
    name: "com.vmware.content.library.configuration_info",
    fields: &[("apply_library_usage_to_items", BOOLEAN)],
};

/// `ItemModel` (`com/vmware/content/library_client.py`). Its `type` is a string, not an
/// enumeration (`iso`, `ovf`, `vm-template`, …).
pub(super) static ITEM_MODEL: Struct = Struct {
    name: "com.vmware.content.library.item_model",
    fields: &[
        ("id", TEXT),
        ("library_id", TEXT),
        ("content_version", TEXT),
        ("creation_time", DATE_TIME),
        ("description", TEXT),
        ("last_modified_time", DATE_TIME),
        ("last_sync_time", DATE_TIME),
        ("metadata_version", TEXT),
        ("name", TEXT),
        ("cached", BOOLEAN),
        ("size", Type::Optional(&Type::Integer)),
        ("type", TEXT),
        ("version", TEXT),
        ("source_id", TEXT),
        ("security_compliance", BOOLEAN),
        (
            "certificate_verification_info",
            Type::Optional(&Type::Struct(&CERTIFICATE_VERIFICATION_INFO)),
        ),
    ],
};

static CERTIFICATE_VERIFICATION_INFO: Struct = Struct {
    name: "com.vmware.content.library.item.certificate_verification_info",
    fields: &[
        (
            "status",
            Type::Enum(&[
                "NOT_AVAILABLE",
                "VERIFIED",
                "INTERNAL",
                "VERIFICATION_FAILURE",
                "VERIFICATION_IN_PROGRESS",
                "UNTRUSTED",
            ]),
        ),
        ("cert_chain", Type::Optional(&Type::List(&Type::Text))),
    ],
};
