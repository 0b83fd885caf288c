//! `jsonrpc`: the vAPI JSON-RPC invoke reader on arbitrary bytes.
//!
//! It may not panic. The direct reading (borrowed fields, the operation input read
//! without a JSON value for its wrappers) gives exactly what the general reading through
//! a JSON value gives, invoke or fault. Whatever is read, its answers are JSON: a fault's
//! body, and an envelope around a result, each carrying the id byte for byte as written.

use serde_json::Value;

use crate::protocol::jsonrpc::envelope::{enveloped, parse, reads_alike};
use crate::protocol::jsonrpc::{recognise, Fault, Target};

/// What dsvcr read from the input.
// Read by the seed tests; the fuzz targets only need the checks.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug)]
pub(super) enum Read {
    Invoke(Result<Target, Fault>),
    Fault(Fault),
}

pub(super) fn check(data: &[u8]) -> Read {
    assert!(
        reads_alike(data),
        "the direct and the general reading differ"
    );
    match parse(data) {
        Ok(invoke) => {
            let result = enveloped(&invoke.id, b"{}");
            let written: Value = serde_json::from_slice(&result).expect("an envelope is JSON");
            assert!(written.get("id").is_some(), "the envelope carries the id");
            let text = std::str::from_utf8(&result).expect("an envelope is UTF-8");
            assert!(text.contains(invoke.id.as_json()));
            let target = recognise(&invoke);
            if let Err(fault) = &target {
                check_fault(fault);
            }
            Read::Invoke(target)
        }
        Err(fault) => {
            check_fault(&fault);
            Read::Fault(fault)
        }
    }
}

fn check_fault(fault: &Fault) {
    let body = fault.body();
    let written: Value = serde_json::from_slice(&body).expect("a fault is JSON");
    assert_eq!(written["error"]["code"], fault.code);
    let text = std::str::from_utf8(&body).expect("a fault is UTF-8");
    assert!(text.contains(&format!("\"id\":{}", fault.id.as_json())));
}
