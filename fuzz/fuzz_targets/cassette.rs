//! Cassette files, session and call, format 1 and 2, on arbitrary bytes.
//!
//! The properties are checked by `dsvcr::fuzzing::cassette` (src/fuzzing/cassette.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::cassette(data));
