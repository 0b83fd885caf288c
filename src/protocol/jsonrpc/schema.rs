//! The vAPI structures dsvcr writes and reads over JSON-RPC, as the SDK's bindings define
//! them (`vmware-vcenter` 9.1.1.0): names, fields and which fields are optional.

use super::typed::{Struct, Type};

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
