//! # xxlang-plugin
//!
//! Load WebAssembly plugins at run time and expose their functions to the xxlang scripting
//! language as ordinary values, on the [wasmi](https://docs.rs/wasmi) interpreter: no JIT, so
//! it runs where JIT is banned (iOS, consoles, locked-down servers, `no_std` firmware).
//!
//! ```
//! use xxlang_plugin::{Loader, Object};
//!
//! // Finds plugins/fib.wasm on the default search paths, loads and registers it.
//! let loader = Loader::new();
//! let fib = loader.import("plugin/fib")?;          // what `import "plugin/fib"` binds
//! let fib = fib.as_module().unwrap();
//! let fast = fib.get("fast").and_then(Object::as_builtin).unwrap();
//! assert_eq!(fast.call(&[Object::Int(50)]), Object::Int(12586269025));
//! assert_eq!(fib.get("version").and_then(Object::as_str), Some("1.0.0-rust"));
//! # Ok::<(), xxlang_plugin::Error>(())
//! ```
//!
//! ## Features
//! - `std` (default): the filesystem [`Loader`], the [`Registry`], the compiled-module cache,
//!   loading from files ([`WasmPlugin::from_file`]), deadlines ([`Config::deadline`]).
//! - `wasi` (default): WASI preview 1 for plugins that import it, deny-by-default
//!   ([`WasiPolicy`]).
//! - `watch`: [`Watcher`], reloading plugins when their files change.
//! - `simd`: wasm SIMD in plugins.
//! - `portable-dispatch`: wasmi's loop-based dispatch, about half as fast. Only matters for
//!   [`Config::trusted`] plugins: with wasmi 2.0's default dispatch, an unmetered plugin that
//!   loops on `memory.grow` or `table.grow` overflows the host's native stack (metered plugins,
//!   the default, return to the host between fuel slices, which bounds it).
//!
//! Without default features the core ([`Object`], [`Plugin`], [`WasmPlugin::from_bytes`])
//! builds for `no_std` + `alloc` targets.
//!
//! On docs.rs every feature is on, and each item a feature gates says which.
// The links above to items only some features build go to the item where it is built, else
// to this feature list, so that `cargo doc --no-default-features` has no broken links (one
// definition per attribute: rustdoc reads no definitions from a multi-line `doc` string).
#![doc = ""]
#![cfg_attr(feature = "std", doc = "[`Loader`]: crate::Loader")]
#![cfg_attr(not(feature = "std"), doc = "[`Loader`]: crate#features")]
#![cfg_attr(feature = "std", doc = "[`Registry`]: crate::Registry")]
#![cfg_attr(not(feature = "std"), doc = "[`Registry`]: crate#features")]
#![cfg_attr(
    feature = "std",
    doc = "[`WasmPlugin::from_file`]: crate::WasmPlugin::from_file"
)]
#![cfg_attr(
    not(feature = "std"),
    doc = "[`WasmPlugin::from_file`]: crate#features"
)]
#![cfg_attr(feature = "std", doc = "[`Config::deadline`]: crate::Config::deadline")]
#![cfg_attr(not(feature = "std"), doc = "[`Config::deadline`]: crate#features")]
#![cfg_attr(feature = "wasi", doc = "[`WasiPolicy`]: crate::WasiPolicy")]
#![cfg_attr(not(feature = "wasi"), doc = "[`WasiPolicy`]: crate#features")]
#![cfg_attr(feature = "watch", doc = "[`Watcher`]: crate::Watcher")]
#![cfg_attr(not(feature = "watch"), doc = "[`Watcher`]: crate#features")]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

mod builtin;
mod config;
mod conversions;
mod error;
mod host_function;
#[cfg(feature = "std")]
mod loader;
mod lock;
mod msgpack;
mod objects;
mod plugin;
#[cfg(feature = "std")]
mod registry;
#[cfg(feature = "serde")]
mod serde_impl;
mod signature;
mod wasm;
#[cfg(feature = "watch")]
mod watch;

pub use builtin::Builtin;
pub use config::{CancelHandle, Config, Limit, Recovery};
pub use conversions::ConversionError;
pub use error::{Error, ErrorKind};
pub use host_function::{HostCall, HostFunction};
#[cfg(feature = "std")]
pub use loader::{Applies, Loader, PATH_ENV};
pub use objects::{Map, MapKey, Module, MsgpackError, Object};
pub use plugin::{Plugin, to_module};
#[cfg(feature = "std")]
pub use registry::Registry;
pub use signature::{Param, Signature, Type};
#[cfg(feature = "watch")]
pub use watch::{OnReload, Watcher};
/// The README's examples, compiled and run by `cargo test`.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use wasm::{
    ABI_VERSION, Convention, Description, FunctionInfo, MAX_MODULE_BYTES, PoolInfo, SkippedExport,
    TypedFunction, TypedParams, TypedResults, WasmPlugin,
};
#[cfg(feature = "wasi")]
pub use wasm::{DirAccess, OutputBuffer, WasiOutput, WasiPolicy};
