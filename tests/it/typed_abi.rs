//! The typed ABI (docs/ABI.md) from the host's side, on WAT fixtures: declarations, argument
//! passing, results, guest errors, and everything a plugin can get wrong.

use crate::common;

use common::{assert_error, call, fixture};
use xxlang_plugin::{Convention, Error, ErrorKind, Object, Plugin, WasmPlugin};

#[test]
fn the_abi_documents_example_plugin_works() {
    let p = fixture("abi_tiny");
    assert_eq!(p.name(), "tiny");
    assert_eq!(p.abi(), Some(1));
    assert_eq!(
        call(&p, "echo_str", &[Object::from("héllo")]),
        Object::from("héllo")
    );
    assert_eq!(call(&p, "twice", &[Object::Int(21)]), Object::Int(42));
    assert_error(
        &call(&p, "echo_str", &[Object::from("")]),
        &["tiny.echo_str: empty input"],
    );
    let twice = p
        .functions()
        .into_iter()
        .find(|f| f.name == "twice")
        .expect("twice");
    assert_eq!(twice.signature.to_string(), "(n: int) -> int");
    assert_eq!(twice.signature.doc.as_deref(), Some("n times 2"));
    assert_eq!(twice.convention, Convention::Declared);
    assert!(!p.exports().contains_key("xxplugin_manifest"));
}

fn hostile() -> WasmPlugin {
    fixture("typed_hostile")
}

#[test]
fn protocol_violations_are_abi_errors_naming_the_function() {
    let p = hostile();
    let cases: &[(&str, &str)] = &[
        ("result_twice", "called xxplugin.result twice"),
        ("result_for_int", "its declared result is not a string"),
        ("no_result", "returned without sending its result"),
        ("result_oob", "outside the plugin's memory"),
        ("result_bad_utf8", "not valid UTF-8"),
        ("wrong_type", "expected int at offset 2, got float"),
        ("bad_msgpack", "not supported"),
        ("too_big", "the limit is 16777216"),
    ];
    for (function, fragment) in cases {
        assert_error(
            &call(&p, function, &[]),
            &[&format!("hostile.{function}: ABI violation"), fragment],
        );
    }
    // The instance stays usable.
    assert_eq!(call(&p, "flip", &[Object::Bool(true)]), Object::Bool(false));
}

/// With a length of 0 the host looks at no pointer (docs/ABI.md §3): an empty result, or an
/// empty error message, may point anywhere, even outside memory (Zig's empty slices do).
#[test]
fn an_empty_result_may_point_anywhere() {
    let wasm = wat::parse_str(
        r#"(module
          (@custom "xxplugin" "abi 1\nfn empty() -> string\nfn nothing() -> bytes\nfn no_reason() -> int\n")
          (import "xxplugin" "result" (func $result (param i32 i32)))
          (import "xxplugin" "error" (func $error (param i32 i32)))
          (memory (export "memory") 1)
          (func (export "empty") (call $result (i32.const -16) (i32.const 0)))
          (func (export "nothing") (call $result (i32.const 0x7fffffff) (i32.const 0)))
          (func (export "no_reason") (result i64)
            (call $error (i32.const -1) (i32.const 0)) (i64.const 0)))"#,
    )
    .expect("wat");
    let p = WasmPlugin::from_bytes("anywhere", &wasm).expect("loads");
    assert_eq!(p.call("empty", &[]).ok(), Some(Object::from("")));
    assert_eq!(
        p.call("nothing", &[]).ok(),
        Some(Object::from(Vec::<u8>::new()))
    );
    let err = p.call("no_reason", &[]).expect_err("an empty error");
    assert_eq!(
        err.kind(),
        &ErrorKind::Guest {
            message: String::new()
        }
    );
}

#[test]
fn bad_arg_requests_trap_with_a_clear_message() {
    let p = hostile();
    let x = Object::from("xyz");
    assert_error(
        &call(&p, "arg_bad_index", std::slice::from_ref(&x)),
        &["hostile.arg_bad_index: trap", "parameter 5 is not a string"],
    );
    assert_error(
        &call(&p, "arg_scalar_index", &[Object::Int(1), x.clone()]),
        &["parameter 0 is not a string"],
    );
    assert_error(
        &call(&p, "arg_oob", &[x]),
        &["xxplugin.arg: 3 bytes", "outside"],
    );
    // An empty value copies nothing, wherever it is asked to go.
    assert_error(
        &call(&p, "arg_oob", &[Object::from("")]),
        &["returned without sending its result"],
    );
}

/// The error a call reported before it trapped is that call's only: a call that ran into a
/// limit after reporting one leaves it behind (under `KeepInstance` the instance stays), and a
/// later legacy call that traps is still a trap.
#[test]
fn a_guest_error_belongs_to_its_call() {
    let wasm = wat::parse_str(
        r#"(module
          (@custom "xxplugin" "abi 1\nfn error_then_spin() -> int\n")
          (import "xxplugin" "error" (func $error (param i32 i32)))
          (memory (export "memory") 1)
          (data (i32.const 0) "stale")
          (func (export "error_then_spin") (result i64)
            (call $error (i32.const 0) (i32.const 5))
            (loop $l (br $l))
            (i64.const 0))
          (func (export "trap") (result i64) unreachable))"#,
    )
    .expect("wat");
    let config = xxlang_plugin::Config::new()
        .fuel(100_000)
        .on_trap(xxlang_plugin::Recovery::KeepInstance);
    let p = WasmPlugin::from_bytes_with("p", &wasm, &config).expect("loads");
    let err = p.call("error_then_spin", &[]).expect_err("out of fuel");
    assert!(matches!(err.kind(), ErrorKind::Limit(_)), "{err}");
    let err = p.call("trap", &[]).expect_err("traps");
    assert!(matches!(err.kind(), ErrorKind::Trap { .. }), "{err}");
    assert!(!err.to_string().contains("stale"), "{err}");
}

#[test]
fn guest_errors() {
    let p = hostile();
    assert_error(
        &call(&p, "error_and_result", &[]),
        &["hostile.error_and_result: hello"],
    );
    assert_eq!(
        call(&p, "error_lossy", &[]).error_message(),
        Some("hostile.error_lossy: hello\u{fffd}\u{fffd}")
    );
    assert_error(
        &call(&p, "error_oob", &[]),
        &["error message is unreadable"],
    );
    // A trap after an error (what a Rust guest's panic hook does): the error is the call's,
    // and the trap costs the instance as any trap does.
    let err = p
        .call("trap_after_error", &[])
        .expect_err("error, then a trap");
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        (
            &ErrorKind::Guest {
                message: String::from("hello")
            },
            "hostile.trap_after_error: hello (plugin restarted, state reset)"
        )
    );
    assert!(err.instance_reset());
    let trap = std::error::Error::source(&err).map(ToString::to_string);
    let trap = trap.unwrap_or_default();
    assert!(trap.contains("unreachable"), "{trap}");
    let err = p.call("error_and_result", &[]).expect_err("guest error");
    match err.kind() {
        ErrorKind::Guest { message } => assert_eq!(
            (err.plugin(), err.function(), message.as_str()),
            (Some("hostile"), Some("error_and_result"), "hello")
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn typed_values_cross_both_ways() {
    let p = hostile();
    assert_eq!(call(&p, "flip", &[Object::Bool(false)]), Object::Bool(true));
    assert_eq!(
        call(&p, "floats", &[]),
        Object::from(vec![Object::Float(1.0), Object::Float(2.5)])
    );
    let m = call(&p, "a_map", &[]);
    assert_eq!(m.to_string(), r#"{"a": 1, "b": 2}"#);
    let bytes = Object::from(vec![0u8, 1, 255]);
    assert_eq!(call(&p, "echo_bytes", std::slice::from_ref(&bytes)), bytes);
    let nested = Object::from(vec![
        Object::Null,
        Object::from("é"),
        Object::from(vec![Object::Float(0.5)]),
    ]);
    assert_eq!(call(&p, "echo_any", std::slice::from_ref(&nested)), nested);
    // Arguments are checked against the declaration before the plugin runs.
    let mixed = [
        Object::Int(1),
        Object::from("s"),
        Object::Int(2),
        Object::Bool(true),
        Object::from(common::ints(&[1, 2])),
    ];
    assert_eq!(
        call(&p, "mixed", &mixed),
        Object::from(vec![0x92u8, 0x01, 0x02])
    );
    let mut wrong = mixed.clone();
    wrong[4] = Object::from(vec![Object::Int(1), Object::Float(2.0)]);
    assert_error(
        &call(&p, "mixed", &wrong),
        &["argument 5 must be array<int>, got array with float at [1]"],
    );
    wrong = mixed.clone();
    wrong[3] = Object::Int(1);
    assert_error(
        &call(&p, "mixed", &wrong),
        &["argument 4 must be bool, got int 1"],
    );
    let builtin = Object::Builtin(xxlang_plugin::Builtin::new("b", |_| Object::Null));
    assert_error(
        &call(&p, "echo_any", &[builtin]),
        &["argument 1 must be any, got builtin"],
    );
}

fn load_src(src: &str) -> Result<WasmPlugin, Error> {
    common::wat("decl", src)
}

#[track_caller]
fn manifest_error(result: Result<WasmPlugin, Error>, line: Option<usize>, fragment: &str) {
    match result.as_ref().map_err(Error::kind) {
        Err(ErrorKind::Manifest { line: l, reason }) => {
            assert_eq!(*l, line, "{reason}");
            assert!(reason.contains(fragment), "{reason:?} lacks {fragment:?}");
        }
        Err(other) => panic!("expected a manifest error, got {other:?}"),
        Ok(_) => panic!("expected a manifest error, but it loaded"),
    }
}

#[test]
fn declarations_must_match_the_module() {
    manifest_error(
        load_src(
            r#"(module (@custom "xxplugin" "abi 1\nfn f(s: string) -> int\n") (func (export "f") (param i64) (result i64) i64.const 0))"#,
        ),
        Some(2),
        "must be exported with wasm type (i32) -> (i64), but the export has type (i64) -> (i64)",
    );
    manifest_error(
        load_src(r#"(module (@custom "xxplugin" "abi 1\n\nfn ghost()\n"))"#),
        Some(3),
        "exports no function of that name",
    );
    manifest_error(
        load_src(r#"(module (@custom "xxplugin" "abi 1\nfn f(\n"))"#),
        Some(2),
        "missing `)`",
    );
    manifest_error(
        load_src(r#"(module (@custom "xxplugin" "name x\n"))"#),
        None,
        "no `abi` line",
    );
    manifest_error(
        load_src(r#"(module (@custom "xxplugin" "abi 1\n\ff\n"))"#),
        None,
        "not UTF-8",
    );
    match load_src(r#"(module (@custom "xxplugin" "abi 2\nfn f()\n"))"#) {
        Err(e)
            if *e.kind()
                == (ErrorKind::UnsupportedAbi {
                    version: 2,
                    supported: 1,
                }) =>
        {
            assert!(
                e.to_string()
                    .contains("built for plugin ABI 2; this host supports ABI 1 to 1"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// A manifest section's declarations are checked against the module before any of its code
/// runs: a start function that would never end does not delay the error.
#[test]
fn declarations_are_checked_before_start_up_runs() {
    let src = r#"(module (@custom "xxplugin" "abi 1\nfn f(s: string) -> int\n")
        (func $forever (loop $l (br $l)))
        (start $forever)
        (func (export "f") (param i64) (result i64) i64.const 0))"#;
    let started = std::time::Instant::now();
    manifest_error(load_src(src), Some(2), "must be exported with wasm type");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn a_declared_function_beats_call_x_and_raw_x() {
    let p = load_src(
        r#"(module (@custom "xxplugin" "abi 1\nfn f(x: int) -> int -- declared\n")
            (func (export "f") (param i64) (result i64) i64.const 1)
            (func (export "call_f") (param i64) (result i64) i64.const 2))"#,
    )
    .expect("loads");
    assert_eq!(call(&p, "f", &[Object::Int(0)]), Object::Int(1));
    assert_eq!(p.skipped()[0].wasm_name, "call_f");
}

#[test]
fn manifest_from_an_export() {
    let src = |body: &str| {
        format!(
            r#"(module (import "xxplugin" "result" (func $result (param i32 i32)))
                 (import "xxplugin" "error" (func $error (param i32 i32)))
                 (memory (export "memory") 1)
                 (data (i32.const 0) "abi 1\nname viaexport\nversion 2.0\nfn one() -> int -- One.\n")
                 (func (export "one") (result i64) i64.const 1)
                 (func (export "xxplugin_manifest") {body}))"#
        )
    };
    let p = load_src(&src("(call $result (i32.const 0) (i32.const 57))")).expect("loads");
    assert_eq!(
        (p.name(), p.version(), p.abi()),
        ("viaexport", Some("2.0"), Some(1))
    );
    assert_eq!(call(&p, "one", &[]), Object::Int(1));
    manifest_error(
        load_src(&src("unreachable")),
        None,
        "`xxplugin_manifest` trapped",
    );
    manifest_error(load_src(&src("")), None, "without sending the manifest");
    manifest_error(
        load_src(&src("(call $error (i32.const 0) (i32.const 3))")),
        None,
        "reported an error: abi",
    );
    manifest_error(
        load_src(&src("(call $result (i32.const 0) (i32.const 24))")),
        Some(3),
        "unknown declaration `ver`",
    );
    let typed = load_src(r#"(module (func (export "xxplugin_manifest") (param i32)))"#);
    manifest_error(typed, None, "must have type `() -> ()`");
}

#[test]
fn the_imports_only_work_inside_a_declared_call() {
    let src = r#"(module (import "xxplugin" "result" (func $result (param i32 i32)))
        (memory (export "memory") 1)
        (func (export "_initialize") (call $result (i32.const 0) (i32.const 1)))
        (func (export "call_legacy") (result i64) (call $result (i32.const 0) (i32.const 1)) (i64.const 0)))"#;
    match load_src(src) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => {
            assert!(
                e.to_string()
                    .contains("outside a call of a declared function"),
                "{e}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn describe_reads_the_manifest_without_running_anything() {
    // `_initialize` traps, so loading fails; describing does not instantiate.
    let bytes = wat::parse_str(
        r#"(module (@custom "xxplugin" "abi 1\nname lazy\nversion 3\nfn f(a: int, b: float) -> bool -- Compares.\n")
            (func (export "_initialize") unreachable)
            (func (export "f") (param i64 f64) (result i32) i32.const 1)
            (func (export "call_g") (result i64) i64.const 2))"#,
    )
    .expect("wat");
    assert!(WasmPlugin::from_bytes("lazy", &bytes).is_err());
    let d = WasmPlugin::describe(&bytes).expect("describes");
    assert!(!d.instantiated);
    assert_eq!(
        (d.name.as_deref(), d.version.as_deref(), d.abi),
        (Some("lazy"), Some("3"), Some(1))
    );
    let shown: Vec<String> = d
        .functions
        .iter()
        .map(|f| {
            format!(
                "{}{} [{}] {:?}",
                f.name, f.signature, f.convention, f.signature.doc
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            "f(a: int, b: float) -> bool [declared] Some(\"Compares.\")",
            "g() -> int [legacy `call_` prefix] None"
        ]
    );
    // A legacy plugin is described by loading it.
    let fib = std::fs::read(common::plugin_file("fib")).expect("read");
    let d = WasmPlugin::describe(&fib).expect("describes");
    assert!(d.instantiated);
    assert_eq!((d.name.as_deref(), d.abi), (Some("fib"), None));
}

#[test]
fn describe_and_load_agree_on_a_function_named_version() {
    // The declared version takes the script name `version`: the load skips the function, and
    // describe must say so too rather than list a function scripts cannot call.
    let bytes = wat::parse_str(
        r#"(module (@custom "xxplugin" "abi 1\nversion 2\nfn version() -> int\nfn f() -> int\n")
            (func (export "version") (result i64) i64.const 1)
            (func (export "f") (result i64) i64.const 2))"#,
    )
    .expect("wat");
    let p = WasmPlugin::from_bytes("v", &bytes).expect("loads");
    let d = WasmPlugin::describe(&bytes).expect("describes");
    assert_eq!(d.functions, p.functions());
    let names: Vec<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["f"]);
    assert_eq!(d.skipped, p.skipped());
    assert_eq!(d.skipped.len(), 1);
    assert_eq!(d.skipped[0].wasm_name, "version");
    assert_eq!(p.exports()["version"], Object::from("2"));
}

#[test]
fn builtins_carry_declared_signatures_and_docs() {
    let p = fixture("abi_tiny");
    let twice = common::builtin(&p, "twice");
    assert_eq!(twice.to_string(), "tiny.twice(n: int) -> int");
    assert_eq!(twice.doc(), Some("n times 2"));
    assert_error(
        &twice.call(&[]),
        &["tiny.twice: expected 1 argument (n: int), got 0 (twice(n: int) -> int)"],
    );
}
