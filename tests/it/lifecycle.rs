//! Instantiation, start-up code, imports, WASI, and close.

use crate::common;

use common::{assert_error, call, fixture, fixture_bytes, kind};
use xxlang_plugin::{ErrorKind, Object, Plugin, WasmPlugin};

#[test]
fn start_then_initialize_run_once_and_start_export_never() {
    let p = fixture("lifecycle");
    assert_eq!(call(&p, "started", &[]), Object::Int(1));
    assert_eq!(call(&p, "inits", &[]), Object::Int(1));
    assert!(!p.exports().contains_key("_start"));
    assert!(!p.exports().contains_key("_initialize"));
    // State persists between calls of one instance.
    assert_eq!(call(&p, "count", &[]), Object::Int(1));
    assert_eq!(call(&p, "count", &[]), Object::Int(2));
}

#[test]
fn trap_in_start_fails_the_load() {
    match WasmPlugin::from_bytes("boom", &fixture_bytes("start_trap")) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => {
            assert!(e.to_string().contains("plugin boom"), "{e}");
            assert!(e.to_string().contains("unreachable"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn trap_in_initialize_fails_the_load() {
    let src = r#"(module (func (export "_initialize") unreachable))"#;
    match common::wat("reactor", src) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => {
            assert!(e.to_string().contains("`_initialize` trapped"), "{e}")
        }
        other => panic!("{other:?}"),
    }
    let wrong_type = r#"(module (func (export "_initialize") (param i32)))"#;
    assert!(matches!(
        kind(&common::wat("reactor", wrong_type)),
        Some(ErrorKind::Metadata { .. })
    ));
}

#[test]
fn unknown_imports_are_all_listed() {
    match WasmPlugin::from_bytes("needy", &fixture_bytes("unknown_imports")) {
        Err(e) => {
            let ErrorKind::MissingImports { missing } = e.kind() else {
                panic!("{e:?}");
            };
            assert_eq!(e.plugin(), Some("needy"));
            assert_eq!(
                *missing,
                [
                    "env.log",
                    "env.table",
                    "host.secret",
                    "wasi_snapshot_preview1.not_a_wasi_call"
                ]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn assemblyscript_abort_is_provided_and_traps_with_its_message() {
    let p = fixture("abort");
    assert_eq!(call(&p, "fine", &[]), Object::Int(1));
    assert_error(
        &call(&p, "fail", &[]),
        &["abort.fail", "abort: boom (a.ts!:3:9)"],
    );
    assert_eq!(
        call(&p, "fine", &[]),
        Object::Int(1),
        "usable after the abort"
    );
    let wrong = r#"(module (import "env" "abort" (func (param i64))))"#;
    assert!(matches!(
        kind(&common::wat("x", wrong)),
        Some(ErrorKind::Instantiation { .. })
    ));
}

#[cfg(feature = "wasi")]
#[test]
fn wasi_plugins_load_deny_by_default() {
    let p = fixture("wasi_hello");
    assert_eq!(
        call(&p, "hello", &[]),
        Object::Int(0),
        "fd_write to stdout succeeds"
    );
    assert_eq!(call(&p, "now_positive", &[]), Object::Int(1), "clocks work");
    assert_eq!(
        call(&p, "env_count", &[]),
        Object::Int(0),
        "no environment is granted"
    );
    assert_eq!(p.imports().len(), 3);
}

#[cfg(not(feature = "wasi"))]
#[test]
fn without_wasi_a_wasi_plugin_lists_its_imports() {
    let err = WasmPlugin::from_bytes("w", &fixture_bytes("wasi_hello")).unwrap_err();
    assert!(
        err.to_string().contains("wasi_snapshot_preview1.fd_write"),
        "{err}"
    );
}

#[test]
fn close_makes_calls_error_values_and_frees_memory() {
    let p = common::load("fib");
    let fast = common::builtin(&p, "fast");
    assert_eq!(fast.call(&[Object::Int(5)]), Object::Int(5));
    assert!(p.memory_bytes().is_some());
    assert!(!p.is_closed());
    p.close().expect("close");
    assert!(p.is_closed());
    assert_eq!(p.memory_bytes(), None);
    assert_error(&fast.call(&[Object::Int(5)]), &["fib.fast", "closed"]);
    assert_eq!(
        kind(&p.call("fast", &[Object::Int(5)])),
        Some(&ErrorKind::Closed)
    );
    p.close().expect("closing twice is fine");
}

#[test]
fn closing_one_load_leaves_other_loads_of_the_same_file_alone() {
    let a = common::load("fib");
    let b = common::load("fib");
    a.close().expect("close");
    assert_eq!(call(&b, "fast", &[Object::Int(20)]), Object::Int(6765));
    assert_error(&call(&a, "fast", &[Object::Int(20)]), &["closed"]);
}
