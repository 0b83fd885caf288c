//! Rendering every answer in every encoding and decoding it back; the answers are
//! built with `arbitrary`, or read from a JSON seed.
//!
//! The properties are checked by `dsvcr::fuzzing::render` (src/fuzzing/render.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::render(data));
