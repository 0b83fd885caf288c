//! The vim25 SOAP request reader on arbitrary bytes, against a strict XML 1.0 parser.
//!
//! The properties are checked by `dsvcr::fuzzing::soap` (src/fuzzing/soap.rs).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| dsvcr::fuzzing::soap(data));
