//! The wire protocols: one codec per protocol, each turning its requests into the
//! vocabulary's protocol-neutral calls and rendering answers back in the caller's style.

pub(crate) mod jsonrpc;
pub(crate) mod rest;
pub(crate) mod soap;
