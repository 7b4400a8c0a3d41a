//! Legacy-ABI plugins behave as the original system's tests expect (every expectation SEED.md
//! records), against our own Rust builds of `testplugin` and `fib` (plugins-src/rust).

use crate::common;

use common::{
    FIB_FAST, FIB_IS, FIB_MATRIX, FIB_NOT, assert_error, call, fixture_bytes, ints, load,
};
use xxlang_plugin::{Loader, Object, Plugin, Registry, WasmPlugin};

/// `(function, arguments, expected)` for testplugin's int results.
const TESTPLUGIN_INTS: &[(&str, &[i64], i64)] = &[
    ("add", &[10, 20], 30),
    ("sub", &[100, 40], 60),
    ("mul", &[6, 7], 42),
    ("div", &[100, 5], 20),
    ("mod", &[10, 3], 1),
    ("mod", &[10, 5], 0),
    ("mod", &[7, 4], 3),
    ("factorial", &[0], 1),
    ("factorial", &[1], 1),
    ("factorial", &[5], 120),
    ("factorial", &[10], 3628800),
    ("fib", &[0], 0),
    ("fib", &[1], 1),
    ("fib", &[2], 1),
    ("fib", &[10], 55),
    ("fib", &[20], 6765),
    ("gcd", &[12, 8], 4),
    ("gcd", &[100, 35], 5),
    ("gcd", &[17, 13], 1),
    ("gcd", &[48, 18], 6),
    ("max", &[10, 20], 20),
    ("min", &[10, 20], 10),
    ("pow", &[2, 0], 1),
    ("pow", &[2, 1], 2),
    ("pow", &[2, 10], 1024),
    ("pow", &[3, 4], 81),
    ("binomial", &[5, 0], 1),
    ("binomial", &[5, 1], 5),
    ("binomial", &[5, 2], 10),
    ("binomial", &[10, 5], 252),
    ("triangle", &[1], 1),
    ("triangle", &[5], 15),
    ("triangle", &[10], 55),
    ("triangle", &[100], 5050),
    ("abs", &[5], 5),
    ("abs", &[-5], 5),
    ("abs", &[0], 0),
    ("abs", &[-100], 100),
    ("neg", &[5], -5),
    ("neg", &[-5], 5),
    ("neg", &[0], 0),
    ("square", &[0], 0),
    ("square", &[1], 1),
    ("square", &[5], 25),
    ("square", &[10], 100),
    ("square", &[-3], 9),
    ("lcm", &[4, 6], 12),
    ("lcm", &[3, 5], 15),
    ("lcm", &[12, 8], 24),
    ("lcm", &[7, 11], 77),
    ("clamp", &[5, 0, 10], 5),
    ("clamp", &[-5, 0, 10], 0),
    ("clamp", &[15, 0, 10], 10),
    ("sum_squares", &[1], 1),
    ("sum_squares", &[2], 5),
    ("sum_squares", &[3], 14),
    ("sum_squares", &[5], 55),
    ("sum_squares", &[10], 385),
    ("count_primes", &[1], 0),
    ("count_primes", &[2], 1),
    ("count_primes", &[10], 4),
    ("count_primes", &[20], 8),
    ("count_primes", &[100], 25),
];

/// `(function, argument, expected)` for testplugin's bool results.
const TESTPLUGIN_BOOLS: &[(&str, i64, bool)] = &[
    ("is_even", 0, true),
    ("is_even", 1, false),
    ("is_even", 2, true),
    ("is_even", 100, true),
    ("is_even", 101, false),
    ("is_odd", 0, false),
    ("is_odd", 1, true),
    ("is_odd", 2, false),
    ("is_odd", 99, true),
    ("is_odd", 100, false),
    ("is_prime", 0, false),
    ("is_prime", 1, false),
    ("is_prime", 2, true),
    ("is_prime", 3, true),
    ("is_prime", 4, false),
    ("is_prime", 17, true),
    ("is_prime", 100, false),
    ("is_prime", 101, true),
    ("is_square", 0, true),
    ("is_square", 1, true),
    ("is_square", 4, true),
    ("is_square", 9, true),
    ("is_square", 16, true),
    ("is_square", 2, false),
    ("is_square", 3, false),
    ("is_square", 5, false),
    ("is_square", -1, false),
];

#[test]
fn testplugin_identity() {
    let p = load("testplugin");
    assert_eq!(p.name(), "testplugin");
    assert_eq!(p.version(), Some("1.0.0-rust"));
    assert_eq!(
        p.exports().get("version"),
        Some(&Object::from("1.0.0-rust"))
    );
    assert!(p.exports().len() >= 10, "at least 10 exports");
}

#[test]
fn testplugin_int_functions() {
    let p = load("testplugin");
    for (name, args, expected) in TESTPLUGIN_INTS {
        let got = call(&p, name, &ints(args));
        assert_eq!(got, Object::Int(*expected), "testplugin.{name}{args:?}");
    }
}

#[test]
fn testplugin_bool_functions() {
    let p = load("testplugin");
    for (name, arg, expected) in TESTPLUGIN_BOOLS {
        let got = call(&p, name, &[Object::Int(*arg)]);
        assert_eq!(got, Object::Bool(*expected), "testplugin.{name}({arg})");
    }
}

#[test]
fn testplugin_range_of_negative_is_empty() {
    let p = load("testplugin");
    assert_eq!(
        call(&p, "range_", &[Object::Int(-1)]),
        Object::from(Vec::<Object>::new())
    );
}

#[test]
fn testplugin_bad_calls_are_error_values_naming_the_function() {
    let p = load("testplugin");
    let s = |v: &str| Object::from(v);
    let cases: &[(&str, Vec<Object>, &[&str])] = &[
        (
            "add",
            ints(&[1]),
            &["testplugin.add", "expected 2 arguments", "got 1"],
        ),
        ("add", vec![], &["testplugin.add", "got 0"]),
        ("add", ints(&[5, 3, 2]), &["testplugin.add", "got 3"]),
        (
            "fib",
            vec![s("x")],
            &["testplugin.fib", "argument 1 must be int", "string"],
        ),
        (
            "gcd",
            vec![Object::Int(10), s("x")],
            &["testplugin.gcd", "argument 2"],
        ),
        ("is_even", vec![], &["testplugin.is_even", "got 0"]),
        (
            "is_square",
            ints(&[4, 2]),
            &["testplugin.is_square", "got 2"],
        ),
        (
            "factorial",
            ints(&[5, 2]),
            &["testplugin.factorial", "got 2"],
        ),
        (
            "clamp",
            vec![Object::Int(5), s("x"), Object::Int(10)],
            &["testplugin.clamp", "argument 2"],
        ),
        ("range_", vec![], &["testplugin.range_", "got 0"]),
    ];
    for (name, args, fragments) in cases {
        assert_error(&call(&p, name, args), fragments);
    }
}

#[test]
fn fib_expectations() {
    let p = load("fib");
    assert_eq!(p.name(), "fib");
    for (n, want) in FIB_FAST {
        assert_eq!(
            call(&p, "fast", &[Object::Int(*n)]),
            Object::Int(*want),
            "fast({n})"
        );
    }
    for (n, want) in FIB_MATRIX {
        assert_eq!(
            call(&p, "matrix", &[Object::Int(*n)]),
            Object::Int(*want),
            "matrix({n})"
        );
    }
    for n in FIB_IS {
        assert_eq!(
            call(&p, "isFib", &[Object::Int(*n)]),
            Object::Bool(true),
            "isFib({n})"
        );
    }
    for n in FIB_NOT {
        assert_eq!(
            call(&p, "isFib", &[Object::Int(*n)]),
            Object::Bool(false),
            "isFib({n})"
        );
    }
    assert_eq!(
        call(&p, "range_", &[Object::Int(10)]),
        Object::from(ints(&[0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]))
    );
    let version = p.exports().get("version").cloned();
    assert!(
        matches!(&version, Some(Object::String(v)) if !v.is_empty()),
        "{version:?}"
    );
    assert_error(
        &call(&p, "fast", &[Object::from("x")]),
        &["fib.fast", "argument 1"],
    );
    assert_error(
        &call(&p, "fast", &ints(&[1, 2])),
        &["fib.fast: expected 1 argument", "got 2"],
    );
}

#[test]
fn fib_ten_threads_at_once() {
    let p = load("fib");
    let fast = common::builtin(&p, "fast");
    let expected = [0i64, 1, 1, 2, 3, 5, 8, 13, 21, 34];
    let barrier = std::sync::Barrier::new(10);
    std::thread::scope(|s| {
        for (n, want) in expected.iter().enumerate() {
            let (fast, barrier) = (fast.clone(), &barrier);
            s.spawn(move || {
                barrier.wait();
                for _ in 0..1000 {
                    assert_eq!(fast.call(&[Object::Int(n as i64)]), Object::Int(*want));
                }
            });
        }
    });
}

#[test]
fn wrong_metadata_signatures_still_load() {
    let p = WasmPlugin::from_bytes("oddmeta", &fixture_bytes("bad_metadata_sigs")).expect("loads");
    assert_eq!(p.name(), "oddmeta", "name falls back to the given name");
    assert_eq!(p.version(), None);
    assert!(!p.exports().contains_key("version"));
    assert_error(
        &call(&p, "no_result", &ints(&[1, 2])),
        &["oddmeta.no_result", "no value"],
    );
    assert_eq!(call(&p, "ok", &[]), Object::Int(7));
}

#[test]
fn empty_missing_and_junk_files_fail_to_load() {
    let loader = Loader::with_registry(std::sync::Arc::new(Registry::new()));
    assert!(loader.load_path("").is_err());
    assert!(loader.load_path("plugins/does-not-exist.wasm").is_err());
    let dir = common::TempDir::new("junk");
    let junk = dir.write("junk.wasm", b"not a valid wasm file");
    let err = loader.load_path(&junk).expect_err("junk must not load");
    assert!(err.to_string().contains("junk.wasm"), "{err}");
    assert!(WasmPlugin::from_bytes("junk", b"not a valid wasm file").is_err());
    assert!(loader.registry().list().is_empty());
}
