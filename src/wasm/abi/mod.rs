//! The typed ABI (docs/ABI.md) as the host sees it, apart from any store: how types cross into
//! wasm ([`types`]), how values of memory types cross ([`values`]), the manifest ([`manifest`]), what one call passes each way
//! ([`exchange`]), and reading and writing guest memory safely ([`memory`]). The imports that
//! use them are in `imports`; the call path in `call`.

pub(crate) mod exchange;
pub(crate) mod manifest;
pub(crate) mod memory;
pub(crate) mod types;
pub(crate) mod values;
