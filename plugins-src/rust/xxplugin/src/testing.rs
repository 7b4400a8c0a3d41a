//! A stand-in for the host (not on `wasm32`), so that exported functions can be unit-tested
//! natively with `cargo test`, through the very wrapper the macro generates:
//!
//! ```
//! xxplugin::plugin!(name = "demo");
//! xxplugin::export! {
//!     /// `s` twice.
//!     fn twice(s: &str) -> String { s.repeat(2) }
//! }
//!
//! // In a plugin this is a `#[test]` function in its `mod tests`.
//! fn twice_through_the_wrapper() {
//!     // `export!` puts the wasm wrapper of `twice` in a module of the same name.
//!     let out = xxplugin::testing::call(&[b"ab"], || twice::twice(2));
//!     assert_eq!(out.result_str(), "abab");
//!     assert_eq!(twice::RECORD, "fn twice(s: string) -> string -- `s` twice.\n");
//! }
//! # fn main() { twice_through_the_wrapper() }
//! ```
//!
//! `plugin!` and `export!` must be used at module level (the crate root for `plugin!`), not
//! inside a function, which is why this doc test spells out `fn main`.

use core::cell::RefCell;

use crate::Value;

/// What the plugin sent during [`call`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Outcome<R> {
    /// What the called function returned (the wasm-level value: `()` for memory-type results).
    pub returned: R,
    /// Every `xxplugin.result` (a correct call sends at most one).
    pub results: Vec<Vec<u8>>,
    /// Every `xxplugin.error`.
    pub errors: Vec<String>,
    /// Every `xxplugin.log`.
    pub logs: Vec<(crate::abi::Level, String)>,
}

impl<R> Outcome<R> {
    /// The one result's bytes; panics unless exactly one result and no error was sent.
    pub fn result_bytes(&self) -> &[u8] {
        assert!(self.errors.is_empty(), "the call failed: {:?}", self.errors);
        assert_eq!(self.results.len(), 1, "expected exactly one result");
        &self.results[0]
    }

    /// The one result as a string.
    pub fn result_str(&self) -> &str {
        core::str::from_utf8(self.result_bytes()).expect("the result is not UTF-8")
    }

    /// The one result, decoded from MessagePack.
    pub fn result_value(&self) -> Value {
        Value::from_msgpack(self.result_bytes()).expect("the result is not valid MessagePack")
    }

    /// The error message, if exactly one was sent.
    pub fn error(&self) -> Option<&str> {
        match self.errors.as_slice() {
            [] => None,
            [one] => Some(one),
            many => panic!("more than one error: {many:?}"),
        }
    }
}

#[derive(Default)]
pub(crate) struct Host {
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) results: Vec<Vec<u8>>,
    pub(crate) errors: Vec<String>,
    pub(crate) logs: Vec<(crate::abi::Level, String)>,
}

thread_local! {
    static HOST: RefCell<Option<Host>> = const { RefCell::new(None) };
}

pub(crate) fn with_host<T>(f: impl FnOnce(&mut Host) -> T) -> T {
    HOST.with(|h| {
        let mut h = h.borrow_mut();
        let host = h
            .as_mut()
            .expect("an xxplugin import was used outside xxplugin::testing::call");
        f(host)
    })
}

/// Runs `f` as one plugin call whose memory-type arguments are `args`, indexed as by the host:
/// `args[i]` is what `xxplugin.arg(i, ...)` copies, so put an empty entry at the index of a
/// number parameter. Pass each argument's length (`args[i].len() as i32`) to the wrapper
/// yourself. Use [`crate::Value::to_msgpack`] or [`crate::to_msgpack`] for arrays, maps and
/// `any`.
pub fn call<A: AsRef<[u8]>, R>(args: &[A], f: impl FnOnce() -> R) -> Outcome<R> {
    let host = Host {
        args: args.iter().map(|a| a.as_ref().to_vec()).collect(),
        ..Host::default()
    };
    let previous = HOST.with(|h| h.borrow_mut().replace(host));
    assert!(previous.is_none(), "xxplugin::testing::call does not nest");
    // Clears the stand-in even if `f` panics (a trap on wasm), so the next call starts clean.
    struct Clear;
    impl Drop for Clear {
        fn drop(&mut self) {
            let _ = HOST.try_with(|h| h.borrow_mut().take());
        }
    }
    let clear = Clear;
    let returned = f();
    let host = HOST.with(|h| h.borrow_mut().take()).unwrap_or_default();
    drop(clear);
    Outcome {
        returned,
        results: host.results,
        errors: host.errors,
        logs: host.logs,
    }
}
