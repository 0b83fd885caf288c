//! The XML body parsers (`Get-Input`, `Get-Result`) on arbitrary bytes, against a strict
//! XML 1.0 parser.
//!
//! The properties are checked by `dsvcr::fuzzing::xml_body` (src/fuzzing/xml_body.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::xml_body(data));
