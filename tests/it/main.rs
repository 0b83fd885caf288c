//! Integration tests: dsvcr over real sockets on 127.0.0.1.

mod admin;
mod cli;
mod crash;
mod disk;
mod downloads;
mod fake_vcenter;
mod faults;
mod flag_table;
mod interop;
mod interop_export;
mod interop_python;
mod jsonrpc;
mod limits;
mod operations;
mod paths;
mod process;
mod readme;
mod record;
mod replay_errors;
mod replay_forms;
mod sessions;
mod signals;
mod soak;
mod support;
mod tape;
mod write_gate;
