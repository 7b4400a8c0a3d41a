//! Typed handles (`WasmPlugin::typed`) and the builtins' typed call paths: types checked once,
//! the same errors, instances, limits and reloads as a builtin's call.

use std::time::Duration;

use xxlang_plugin::{Config, ErrorKind, Object, Plugin, WasmPlugin};

fn plugin(name: &str) -> WasmPlugin {
    let path = format!("{}/plugins/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    WasmPlugin::from_file(&path).expect("load")
}

fn wat(src: &str) -> Vec<u8> {
    wat::parse_str(src).expect("wat")
}

#[test]
fn numbers_strings_and_bytes_cross_as_rust_types() {
    let test = plugin("testplugin");
    let add = test.typed::<(i64, i64), i64>("add").expect("add");
    assert_eq!(add.call((10, 20)).expect("call"), 30);
    assert_eq!(
        add.call((i64::MAX, 1)).expect("call"),
        i64::MIN,
        "wraps like wasm"
    );

    let fib = plugin("fib");
    let is_fib = fib.typed::<i64, bool>("isFib").expect("isFib");
    assert!(is_fib.call(21).expect("call"));
    assert!(!is_fib.call(22).expect("call"));

    let mut guests = vec!["textkit", "textkit_c", "textkit_zig", "textkit_as"];
    // Go's runtime needs WASI.
    if cfg!(feature = "wasi") && crate::common::have_plugin("textkit_go") {
        guests.push("textkit_go");
    }
    for name in guests {
        let text = plugin(name);
        let upper = text.typed::<&str, String>("upper").expect("upper");
        assert_eq!(upper.call("abc").expect("upper"), "ABC", "{name}");
        let echo = text.typed::<&str, String>("echo_str").expect("echo_str");
        let long: String = "xé".repeat(50_000);
        assert_eq!(echo.call(&long).expect("echo"), long, "{name}");
        assert_eq!(echo.call("").expect("echo"), "", "{name}");
        let xor = text.typed::<(&[u8], i64), Vec<u8>>("xor").expect("xor");
        assert_eq!(
            xor.call((&[1, 2, 255][..], 1)).expect("xor"),
            [0, 3, 254],
            "{name}"
        );
        let choose = text
            .typed::<(bool, i64, i64), i64>("choose")
            .expect("choose");
        assert_eq!(choose.call((false, 1, 2)).expect("choose"), 2, "{name}");
        let noop = text.typed::<i64, ()>("noop").expect("noop");
        noop.call(5).expect("noop");
    }
}

#[test]
fn declared_scalars_bools_bytes_and_null() {
    let p = WasmPlugin::from_bytes(
        "kinds",
        &wat(r#"(module
            (@custom "xxplugin" "abi 1\nfn neg(x: float) -> float\nfn both(a: bool, b: bool) -> bool\nfn len(b: bytes) -> int\nfn nothing(x: int)\n")
            (import "xxplugin" "arg" (func $arg (param i32 i32)))
            (memory (export "memory") 1)
            (func (export "neg") (param f64) (result f64) local.get 0 f64.neg)
            (func (export "both") (param i32 i32) (result i32) local.get 0 local.get 1 i32.and)
            (func (export "len") (param i32) (result i64) local.get 0 i64.extend_i32_u)
            (func (export "nothing") (param i64)))"#),
    )
    .expect("load");
    assert_eq!(p.typed::<f64, f64>("neg").unwrap().call(1.5).unwrap(), -1.5);
    let both = p.typed::<(bool, bool), bool>("both").unwrap();
    assert!(both.call((true, true)).unwrap());
    assert!(!both.call((true, false)).unwrap());
    let len = p.typed::<&[u8], i64>("len").unwrap();
    assert_eq!(len.call(&[1, 2, 3][..]).unwrap(), 3);
    p.typed::<i64, ()>("nothing").unwrap().call(7).unwrap();
}

#[test]
fn types_are_checked_when_the_handle_is_made() {
    let test = plugin("testplugin");
    let cases: Vec<(xxlang_plugin::Error, &str)> = vec![
        (
            test.typed::<i64, i64>("add").unwrap_err(),
            "testplugin.add: a typed handle of (i64) -> i64 does not fit add(int, int) -> int \
             (it takes 2 arguments, the handle 1)",
        ),
        (
            test.typed::<(f64, i64), i64>("add").unwrap_err(),
            "argument 1 is int (i64)",
        ),
        (
            test.typed::<(i64, i64), String>("add").unwrap_err(),
            "its result is int (i64)",
        ),
        (
            plugin("textkit").typed::<i64, String>("upper").unwrap_err(),
            "argument 1 is string",
        ),
        (
            plugin("fib").typed::<i64, i64>("range_").unwrap_err(),
            "use the Object API",
        ),
    ];
    for (err, fragment) in cases {
        assert!(matches!(err.kind(), ErrorKind::Signature { .. }), "{err}");
        assert!(err.to_string().contains(fragment), "{err}");
    }
    let err = test.typed::<(), i64>("nope").unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NoSuchFunction);
    assert_eq!(err.function(), Some("nope"));
}

#[test]
fn failures_name_the_plugin_and_function_and_the_instance_recovers() {
    let p = WasmPlugin::from_bytes(
        "boom",
        &wat(r#"(module
            (func (export "call_div") (param i64 i64) (result i64) local.get 0 local.get 1 i64.div_s)
            (func (export "call_spin") (result i64) (loop $l (br $l)) i64.const 0))"#),
    )
    .expect("load");
    let div = p.typed::<(i64, i64), i64>("div").expect("div");
    let err = div.call((1, 0)).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Trap { .. }), "{err}");
    assert_eq!((err.plugin(), err.function()), (Some("boom"), Some("div")));
    // The trap dropped the instance; the next call runs on a fresh one.
    assert_eq!(div.call((7, 2)).expect("after a trap"), 3);

    let limited = WasmPlugin::from_bytes_with(
        "boom",
        &wat(r#"(module (func (export "call_spin") (result i64) (loop $l (br $l)) i64.const 0))"#),
        &Config::new().deadline(Duration::from_millis(50)),
    )
    .expect("load");
    let spin = limited.typed::<(), i64>("spin").expect("spin");
    let err = spin.call(()).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Limit(_)), "{err}");

    let text = plugin("textkit");
    let upper = text.typed::<&str, String>("upper").expect("upper");
    let err = upper.call("").unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Guest { .. }), "{err}");
    assert_eq!(
        (err.plugin(), err.function()),
        (Some("textkit"), Some("upper"))
    );
    assert_eq!(upper.call("ok").expect("after a guest error"), "OK");
    p.close().expect("close");
    assert_eq!(div.call((1, 1)).unwrap_err().kind(), &ErrorKind::Closed);
}

/// A legacy plugin whose `f` is `(i64) -> i64` or `(f64) -> f64`.
fn legacy(float: bool) -> Vec<u8> {
    wat(if float {
        r#"(module (func (export "call_f") (param f64) (result f64) local.get 0 f64.const 0.5 f64.add))"#
    } else {
        r#"(module (func (export "call_f") (param i64) (result i64) local.get 0 i64.const 1 i64.add))"#
    })
}

#[test]
fn a_reload_that_changes_a_signature_fails_the_handle_and_reroutes_the_builtin() {
    let p = WasmPlugin::from_bytes("shift", &legacy(false)).expect("v1");
    let handle = p.typed::<i64, i64>("f").expect("handle");
    let builtin = p.exports()["f"].as_builtin().expect("builtin").clone();
    assert_eq!(handle.call(1).expect("v1"), 2);
    assert_eq!(builtin.call(&[Object::Int(1)]), Object::Int(2));

    p.reload_bytes(&legacy(true), &Config::new()).expect("v2");
    let err = handle.call(1).unwrap_err();
    assert!(err.to_string().contains("a reload changed it"), "{err}");
    assert_eq!(err.function(), Some("f"));
    // The builtin made for (int) -> int takes the general path on the new code: an int
    // argument widens to the float parameter.
    assert_eq!(builtin.call(&[Object::Int(1)]), Object::Float(1.5));
    assert_eq!(builtin.call(&[Object::Float(1.0)]), Object::Float(1.5));

    p.reload_bytes(&legacy(false), &Config::new()).expect("v3");
    assert_eq!(handle.call(41).expect("the old types fit again"), 42);
    assert_eq!(builtin.call(&[Object::Int(41)]), Object::Int(42));
}

#[test]
fn clones_call_from_many_threads_on_a_pool() {
    let config = Config::new().instances(4);
    let test = WasmPlugin::from_file_with(
        format!("{}/plugins/testplugin.wasm", env!("CARGO_MANIFEST_DIR")),
        &config,
    )
    .expect("load");
    let add = test.typed::<(i64, i64), i64>("add").expect("add");
    std::thread::scope(|s| {
        for t in 0..4i64 {
            let add = add.clone();
            s.spawn(move || {
                for i in 0..2_000i64 {
                    assert_eq!(add.call((t, i)).expect("call"), t + i);
                }
            });
        }
    });
}

#[test]
fn builtins_of_every_typed_shape_check_their_arguments() {
    let fib = plugin("fib");
    let fast = fib.exports()["fast"].as_builtin().unwrap().clone();
    assert_eq!(fast.call(&[Object::Int(10)]), Object::Int(55));
    assert_eq!(
        fast.call(&[Object::from("x")]).error_message(),
        Some("fib.fast: argument 1 must be int, got string \"x\"")
    );
    let is_fib = fib.exports()["isFib"].as_builtin().unwrap().clone();
    assert_eq!(is_fib.call(&[Object::Int(8)]), Object::Bool(true));
    let range = fib.exports()["range_"].as_builtin().unwrap().clone();
    assert_eq!(
        range.call(&[Object::Int(3)]),
        [0, 1, 1, 2]
            .map(Object::Int)
            .into_iter()
            .collect::<Object>()
    );
    assert!(range.call(&[]).is_error());
    let p = WasmPlugin::from_bytes(
        "floats",
        &wat(r#"(module
            (func (export "call_half") (param f64) (result f64) local.get 0 f64.const 2 f64.div)
            (func (export "call_hyp") (param f64 f64) (result f64)
                local.get 0 local.get 0 f64.mul local.get 1 local.get 1 f64.mul f64.add f64.sqrt)
            (func (export "call_three") (param i64 i64 i64) (result i64)
                local.get 0 local.get 1 i64.add local.get 2 i64.add)
            (func (export "call_one") (result i64) i64.const 1)
            (func (export "call_lt") (param i64 i64) (result i32) local.get 0 local.get 1 i64.lt_s)
            (func (export "is_odd") (param i64) (result i32) local.get 0 i32.wrap_i64 i32.const 1 i32.and))"#),
    )
    .expect("load");
    let call = |f: &str, args: &[Object]| p.exports()[f].as_builtin().unwrap().call(args);
    assert_eq!(call("half", &[Object::Int(3)]), Object::Float(1.5));
    assert_eq!(
        call("hyp", &[Object::Float(3.0), Object::Int(4)]),
        Object::Float(5.0)
    );
    assert!(call("hyp", &[Object::Float(3.0)]).is_error());
    assert_eq!(
        call("three", &[Object::Int(1), Object::Int(2), Object::Int(3)]),
        Object::Int(6)
    );
    assert_eq!(call("one", &[]), Object::Int(1));
    assert!(call("one", &[Object::Null]).is_error());
    assert_eq!(
        call("lt", &[Object::Int(1), Object::Int(2)]),
        Object::Int(1)
    );
    assert_eq!(call("is_odd", &[Object::Int(3)]), Object::Bool(true));
    assert_eq!(
        p.call("is_odd", &[Object::Int(4)]).unwrap(),
        Object::Bool(false)
    );
}

/// Calls by name find every function, in a plugin with a few functions (searched in a list)
/// and in one with many (a hash map), and nothing else.
#[test]
fn calls_by_name_find_every_function_few_or_many() {
    for count in [3usize, 40] {
        let funcs: String = (0..count)
            .map(|i| format!("(func (export \"call_f{i}\") (result i64) i64.const {i})"))
            .collect();
        let p = WasmPlugin::from_bytes("many", &wat(&format!("(module {funcs})"))).expect("load");
        for i in 0..count {
            assert_eq!(
                p.call(&format!("f{i}"), &[]).expect("call"),
                Object::Int(i as i64)
            );
            assert_eq!(
                p.typed::<(), i64>(&format!("f{i}"))
                    .unwrap()
                    .call(())
                    .unwrap(),
                i as i64
            );
        }
        for missing in ["f", "g0", &format!("f{count}"), ""] {
            let err = p.call(missing, &[]).unwrap_err();
            assert_eq!(err.kind(), &ErrorKind::NoSuchFunction, "{missing}");
        }
    }
}
