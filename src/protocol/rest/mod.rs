//! The REST protocol in its three flavours (`/rest`, the API reference's paths, `/api`),
//! in JSON and XML: recognising requests, rendering answers, decoding vCenter's.

pub(crate) mod decode;
pub(crate) mod recognise;
pub(crate) mod render;
pub(crate) mod xml;
