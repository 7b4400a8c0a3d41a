//! Write xxlang-plugin WebAssembly plugins as plain Rust functions, with the typed plugin
//! ABI v1 (docs/ABI.md).
//!
//! ```
//! xxplugin::plugin!(name = "hello", version = "1.0.0");
//!
//! xxplugin::export! {
//!     /// Greets `who`; fails on an empty name.
//!     fn greet(who: &str) -> Result<String, &'static str> {
//!         if who.is_empty() { return Err("empty input") }
//!         Ok(format!("hello, {who}"))
//!     }
//!
//!     /// The sum of `xs`.
//!     fn total(xs: Vec<i64>) -> i64 { xs.iter().sum() }
//! }
//! # fn main() {
//! #     assert_eq!(greet::RECORD, "fn greet(who: string) -> string -- Greets `who`; fails on an empty name.\n");
//! #     assert_eq!(total::RECORD, "fn total(xs: array<int>) -> int -- The sum of `xs`.\n");
//! # }
//! ```
//!
//! Build with `cargo build --release --target wasm32-unknown-unknown` (crate type `cdylib`).
//! [`plugin!`] and [`export!`] write the manifest into the module's `xxplugin` custom section at
//! compile time; [`export!`] generates the wasm exports, which read arguments with
//! `xxplugin.arg`, call your function and send the result with `xxplugin.result` (or an `Err`
//! with `xxplugin.error`).
//!
//! Types (docs/ABI.md §1):
//!
//! | Rust parameter | ABI type | Rust result |
//! |---|---|---|
//! | `i64` | `int` | `i64` |
//! | `f64` | `float` | `f64` |
//! | `bool` | `bool` | `bool` |
//! | `String`, `&str` | `string` | `String`, `&str` |
//! | `Vec<u8>`, `&[u8]` | `bytes` | `Vec<u8>`, `&[u8]` |
//! | `Vec<T>` (`T` any type of this table but `u8`) | `array<T>` | `Vec<T>`, `&[T]` |
//! | `BTreeMap<K, V>`, `HashMap<K, V>` (`K`: `String`, `i64` or `bool`), [`Map`] | `map` | the same (`K` may also be `&str`) |
//! | [`Value`] | `any` | [`Value`] |
//! | | `null` | `()` |
//! | | the type of `T` | `Result<T, E>` with `E: Display`: `Err` fails the call with that text |
//!
//! A panic fails the call with its message and location (`panicked at src/lib.rs:12:5: ...`)
//! instead of a bare `unreachable` trap; like any trap, it costs the plugin its instance (the
//! host starts a fresh one for the next call, so state kept in statics is reset).
//!
//! Results may borrow from parameters (`fn f(s: &str) -> &str`). The crate also compiles
//! natively, where the host imports talk to [`testing`], so plugins can be unit-tested with
//! `cargo test`.

#![deny(unsafe_op_in_unsafe_fn)]

pub mod abi;
mod macros;
pub mod manifest;
pub mod msgpack;
mod panic;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
mod types;

pub use msgpack::{
    Decode, DecodeError, Encode, Map, MapKey, Reader, Value, from_msgpack, to_msgpack,
};
pub use types::{AbiType, AbiTyped, FromArg, IntoResult, Param};

/// For the macros only.
#[doc(hidden)]
pub mod __private {
    pub use crate::manifest::{FnRecord, Header, header, header_len, record, record_len, utf8};

    /// What every generated export does first: on wasm32, installs the panic hook once (see
    /// `panic.rs`), so that a panic is reported as the call's error.
    #[inline(always)]
    pub fn enter() {
        #[cfg(target_arch = "wasm32")]
        crate::panic::install();
    }

    /// Reports an argument that could not be read (only when it does not decode into the
    /// parameter's Rust type: the host checks the declared types).
    #[cold]
    pub fn arg_error(param: &str, e: &crate::DecodeError) {
        let mut message = String::from("argument `");
        message.push_str(param);
        message.push_str("`: ");
        message.push_str(&e.to_string());
        crate::abi::error(&message);
    }
}

// The crate's own tests export functions, which needs a plugin header at the crate root.
#[cfg(test)]
plugin!(name = "xxplugin-selftest", version = "0.0.0 (test)");

#[cfg(test)]
mod tests;
