//! dsvcr: a record-and-replay proxy for the vSphere Automation API's content-library
//! download-session traffic.
//!
//! Every request flows one way: `server` → `vapi::recognise` (bytes to a
//! protocol-neutral call, driven by `vapi::catalog`) → `replay` (cassette timelines) or
//! `record` (upstream, then `cassette::Store`) → `vapi::render` (the caller's flavour
//! and representation) → response.
//!
//! The public surface is the command line ([`Cli`]) and the one wiring that runs it
//! ([`run`], [`run_with`]), used by the binary and the tests alike.

mod admin;
mod body;
mod canonical_json;
mod cassette;
mod cli;
mod crypto;
mod downloads;
mod error;
mod exchange;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod protocol;
mod record;
mod replay;
mod rpc;
mod run;
mod secrets;
mod server;
mod sessions;
mod stats;
mod text;
mod text_escape;
mod timelines;
mod timeshift;
mod upstream;
mod vapi;

pub use cli::Cli;
pub use run::{run, run_with, Error, EXIT_MISSED, EXIT_NOT_RECORDED};
