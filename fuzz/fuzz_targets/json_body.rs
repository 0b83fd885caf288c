//! JSON bodies on arbitrary bytes: the operations that read one, and every answer
//! decoder.
//!
//! The properties are checked by `dsvcr::fuzzing::json_body` (src/fuzzing/json_body.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::json_body(data));
