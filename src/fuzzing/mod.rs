//! The fuzz targets' properties, one function per target in `fuzz/fuzz_targets/`.
//!
//! Each function takes the fuzzer's bytes and panics when a property is violated; the
//! targets only call it. The checks live here, next to the code they test, so that the
//! library's modules stay private and `cargo test` runs every committed seed through
//! them (see RELIABILITY.md, "Fuzzing").

mod cassette;
mod conforming;
mod json_body;
mod jsonrpc;
mod recognise;
mod render;
mod request;
mod soap;
mod xml_body;

#[cfg(test)]
mod tests;

/// Request recognition on a request written as text (`METHOD TARGET`, header lines, a
/// blank line, the body): never panics, is deterministic, agrees with the server's
/// `route` + `complete`, and every recognised call's key is safe to store.
pub fn recognise(data: &[u8]) {
    recognise::check(data);
}

/// The XML parsers (`Get-Input`, `Get-Result`) against a strict XML 1.0 parser, and
/// the XML a parsed session renders back to.
pub fn xml_body(data: &[u8]) {
    xml_body::check(data);
}

/// JSON bodies: the operations that read one, and every answer decoder, whose answers
/// must render back in both JSON envelopes to what they decoded.
pub fn json_body(data: &[u8]) {
    json_body::check(data);
}

/// vAPI JSON-RPC invokes: the direct reading agrees with the general one, and every
/// answer written around what was read (an envelope, a fault) is JSON with the id as sent.
pub fn jsonrpc(data: &[u8]) {
    jsonrpc::check(data);
}

/// Cassette files, session and call: what loads writes format 2 bytes that load back
/// equal and write again unchanged.
pub fn cassette(data: &[u8]) {
    cassette::check(data);
}

/// Rendering every answer in every encoding and decoding it back.
pub fn render(data: &[u8]) {
    render::check(data);
}

/// vim25 SOAP requests: read only what a strict XML parser reads the same way, with a
/// canonical key that round-trips and names a safe tape file.
pub fn soap(data: &[u8]) {
    soap::check(data);
}
