//! The vAPI JSON-RPC invoke reader on arbitrary bytes: the direct reading against the
//! general one, and the answers written around what was read.
//!
//! The properties are checked by `dsvcr::fuzzing::jsonrpc` (src/fuzzing/jsonrpc.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::jsonrpc(data));
