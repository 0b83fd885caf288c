//! Integration tests: dsvcr over real sockets on 127.0.0.1.

mod admin;
mod cli;
mod fake_vcenter;
mod interop;
mod limits;
mod record;
mod replay_errors;
mod replay_forms;
mod sessions;
mod support;
