//! The integration tests, in one binary: every test binary links wasmi and the whole crate
//! again, so one binary builds in a fraction of the time. One module per behaviour.
//!
//! `tests/stress.rs` stays a binary of its own: it keeps both cores busy for seconds, and the
//! time-bounded tests here (deadlines, linear output) would share them.

mod common;

mod conformance;
mod conversions;
mod cpp_guest;
mod errors;
mod file_kinds;
mod host_functions;
mod hostile;
mod legacy_plugins;
mod lifecycle;
mod limits;
mod loader;
mod metadata;
mod pool;
mod prelude;
mod regressions;
mod reload;
mod rust_guest;
mod sandbox;
mod snapshot;
mod threads;
mod tracing_events;
mod typed_abi;
mod typed_handles;
mod wasi;
