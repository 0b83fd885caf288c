//! dsvcr: a record-and-replay proxy for the vSphere REST API's content-library
//! download-session traffic.
//!
//! Every request flows one way:
//! `server` → [`vapi::recognise`] (bytes to a typed operation) → [`replay`] (cassette
//! timelines) → [`vapi::render`] (the caller's flavour and representation) → response.

pub mod admin;
pub mod cassette;
pub mod cli;
pub mod crypto;
pub mod error;
pub mod record;
pub mod replay;
pub mod run;
pub mod secrets;
pub mod server;
pub mod sessions;
pub mod stats;
pub mod timeshift;
pub mod upstream;
pub mod vapi;
