//! Request recognition: any method, path, query, headers and body, written as an
//! HTTP/1.1 request in text.
//!
//! The properties are checked by `dsvcr::fuzzing::recognise` (src/fuzzing/recognise.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::recognise(data));
