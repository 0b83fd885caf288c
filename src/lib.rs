//! dsvcr: a record-and-replay proxy for the vSphere Automation API's content-library
//! download-session traffic.
//!
//! Every request flows one way: listener (`server`) → front door (`front`: classified
//! once; `protocol::rest` or `protocol::jsonrpc` recognises it as a protocol-neutral
//! `vapi::Call`, driven by `vapi::catalog`) → mode (`replay`, or `record` through
//! `upstream` into `cassette::Store`) → timelines (`timelines`) → codec (the caller's
//! protocol renders the answer in its flavour and representation, via `answers`) →
//! response. Imports point the same way, downward only: no module imports one above
//! it, and no two modules import each other.
//!
//! The public surface is the command line ([`Cli`]) and the one wiring that runs it
//! ([`run`], [`run_with`]), used by the binary and the tests alike.

mod access;
mod admin;
mod answers;
mod body;
mod browsers;
mod canonical_json;
mod cassette;
mod cli;
mod crypto;
mod downloads;
mod exchange;
mod front;
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
mod generate;
mod inspect;
mod logging;
mod protocol;
mod record;
mod redact;
mod replay;
mod run;
mod secrets;
mod server;
mod sessions;
mod stats;
mod text;
mod timelines;
mod timeshift;
mod upstream;
mod vapi;
mod volatile;

pub use cli::Cli;
pub use logging::init_logging;
pub use run::{run, run_with, Error, EXIT_MISSED, EXIT_NOT_RECORDED};
