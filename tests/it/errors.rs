//! `Error` itself: small, sendable, with its site and the error underneath.

use crate::common;

use std::error::Error as _;

use common::fixture_bytes;
use xxlang_plugin::{Error, ErrorKind, Object, WasmPlugin};

/// One pointer: a `Result<Object, Error>` is no larger than an `Object`, so returning one from
/// every call costs nothing extra.
#[test]
fn an_error_is_small() {
    assert!(core::mem::size_of::<Error>() <= 16);
    assert_eq!(core::mem::size_of::<Error>(), core::mem::size_of::<usize>());
    assert_eq!(
        core::mem::size_of::<Result<Object, Error>>(),
        core::mem::size_of::<Object>()
    );
}

#[test]
fn an_error_crosses_threads() {
    fn send_sync_static<T: Send + Sync + 'static>() {}
    send_sync_static::<Error>();
    let err = std::thread::spawn(|| WasmPlugin::from_bytes("x", b"junk").unwrap_err())
        .join()
        .expect("thread");
    assert_eq!(err.plugin(), Some("x"));
}

/// A file that cannot be read: the I/O error is the source, the site names plugin and file,
/// and the message says all of it.
#[test]
fn a_missing_file_chains_to_the_io_error() {
    let path = "plugins/definitely_not_a_plugin.wasm";
    let err = WasmPlugin::from_file(path).expect_err("no such file");
    assert_eq!(err.kind(), &ErrorKind::Io);
    assert_eq!(err.plugin(), Some("definitely_not_a_plugin"));
    assert_eq!(err.file(), Some(path));
    assert_eq!(err.function(), None);
    let io = err
        .source()
        .and_then(|s| s.downcast_ref::<std::io::Error>())
        .expect("an io::Error underneath");
    assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
    assert_eq!(
        err.to_string(),
        format!("plugin definitely_not_a_plugin: cannot read {path}: {io}")
    );
}

/// Bytes wasmi refuses: wasmi's error is the source, and its message is in ours.
#[test]
fn an_invalid_module_chains_to_the_wasmi_error() {
    let bytes =
        wat::parse_str(r#"(module (func (export "f") (result i32) i64.const 1))"#).expect("wat");
    let err = WasmPlugin::from_bytes("typo", &bytes).expect_err("ill-typed");
    assert!(
        matches!(err.kind(), ErrorKind::InvalidModule { .. }),
        "{err:?}"
    );
    let wasmi = err
        .source()
        .and_then(|s| s.downcast_ref::<wasmi::Error>())
        .expect("a wasmi::Error underneath");
    assert_eq!(
        err.to_string(),
        format!("plugin typo: invalid module: {wasmi}")
    );
}

/// A trap in the start function: wasmi's trap is the source.
#[test]
fn a_trap_at_start_chains_to_the_wasmi_error() {
    let err = WasmPlugin::from_bytes("boom", &fixture_bytes("start_trap")).expect_err("traps");
    assert!(
        matches!(err.kind(), ErrorKind::Instantiation { .. }),
        "{err:?}"
    );
    let wasmi = err
        .source()
        .and_then(|s| s.downcast_ref::<wasmi::Error>())
        .expect("a wasmi::Error underneath");
    assert!(err.to_string().ends_with(&wasmi.to_string()), "{err}");
}

/// Errors of our own making (arguments, limits) have no source.
#[test]
fn a_call_error_names_plugin_and_function() {
    let fib = common::load("fib");
    let err = fib.call("fast", &[]).expect_err("no argument");
    assert_eq!((err.plugin(), err.function()), (Some("fib"), Some("fast")));
    assert_eq!(err.file(), None);
    assert!(err.source().is_none());
    assert_eq!(
        err.to_string(),
        "fib.fast: expected 1 argument (int), got 0 (fast(int) -> int)"
    );
    let debug = format!("{err:?}");
    assert!(
        debug.starts_with(r#"Error { message: "fib.fast: expected 1 argument"#)
            && debug.contains("kind: Arity {")
            && debug.contains(r#"function: "fast""#),
        "{debug}"
    );
}
