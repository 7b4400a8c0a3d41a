//! The same cases against every language's build of `fib` (legacy ABI) and `textkit` (typed
//! ABI): see plugins-src/README.md for what they must do. A missing build fails, it is not
//! skipped (but in the published package, which leaves the Go builds out).

use crate::common;

use std::sync::Arc;

use common::{FIB_FAST, FIB_IS, FIB_MATRIX, FIB_NOT, builtin, ints};
use xxlang_plugin::{Map, MapKey, Object, Plugin, WasmPlugin};

fn load(file: &str) -> WasmPlugin {
    let path = common::plugin_file(file);
    assert!(
        path.exists(),
        "{} is missing: build it with `bash plugins-src/build.sh`",
        path.display()
    );
    WasmPlugin::from_file(&path).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn s(v: &str) -> Object {
    Object::from(v)
}

fn strings(values: &[&str]) -> Object {
    Object::from(values.iter().map(|v| s(v)).collect::<Vec<_>>())
}

fn map(entries: Vec<(MapKey, Object)>) -> Object {
    Object::from(entries.into_iter().collect::<Map>())
}

/// Every SEED.md expectation of `fib`, for one language's build.
fn check_fib(file: &str, lang: &str) {
    let p = load(file);
    assert_eq!(p.name(), "fib", "{file}");
    assert_eq!(
        p.version(),
        Some(format!("1.0.0-{lang}").as_str()),
        "{file}"
    );
    let call = |f: &str, n: i64| builtin(&p, f).call(&[Object::Int(n)]);
    for &(n, want) in FIB_FAST {
        assert_eq!(call("fast", n), Object::Int(want), "{file}: fast({n})");
    }
    for &(n, want) in FIB_MATRIX {
        assert_eq!(call("matrix", n), Object::Int(want), "{file}: matrix({n})");
    }
    for &n in FIB_IS {
        assert_eq!(call("isFib", n), Object::Bool(true), "{file}: isFib({n})");
    }
    for &n in FIB_NOT.iter().chain(&[-1]) {
        assert_eq!(call("isFib", n), Object::Bool(false), "{file}: isFib({n})");
    }
    assert_eq!(
        call("range_", 10),
        Object::from(ints(&[0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55])),
        "{file}"
    );
    assert_eq!(
        call("range_", -1),
        Object::from(Vec::<Object>::new()),
        "{file}"
    );
    // Past fib(92) values wrap; both methods agree.
    assert_eq!(call("fast", 100), call("matrix", 100), "{file}");
    assert_eq!(
        call("fast", 93),
        Object::Int(-6246583658587674878),
        "{file}"
    );
    let fast = builtin(&p, "fast");
    common::assert_error(&fast.call(&[s("x")]), &["fib.fast", "argument 1"]);
    common::assert_error(
        &fast.call(&ints(&[1, 2])),
        &["fib.fast", "expected 1 argument"],
    );
    // Ten threads at once.
    std::thread::scope(|scope| {
        for n in 0..10i64 {
            let fast = fast.clone();
            scope.spawn(move || {
                let want = fast.call(&[Object::Int(n)]);
                for _ in 0..300 {
                    assert_eq!(fast.call(&[Object::Int(n)]), want);
                }
            });
        }
    });
}

/// One call and what it must give: a value, or an Error value containing the text.
enum Want {
    Value(Object),
    Error(&'static str),
}

fn textkit_cases() -> Vec<(&'static str, Vec<Object>, Want)> {
    use Want::{Error, Value};
    let big: String = "héllo wörld 😀 ".repeat(7000);
    let mut nested = Object::Int(7);
    for i in 0..20 {
        nested = Object::from(vec![nested, Object::Int(i)]);
    }
    let sample = Object::from(vec![
        Object::Int(1),
        s("a"),
        Object::from(vec![Object::Bool(true), Object::Null]),
        map(vec![(MapKey::from("k"), Object::Float(2.5))]),
    ]);
    let mixed_map = map(vec![
        (MapKey::Int(1), s("x")),
        (MapKey::from("y"), Object::from(ints(&[1, 2]))),
        (MapKey::Bool(true), Object::Null),
        (MapKey::Int(-7), Object::from(vec![1u8, 2, 3])),
    ]);
    let mut cases = vec![
        ("upper", vec![s("hello")], Value(s("HELLO"))),
        (
            "upper",
            vec![s("Héllo wörld 1!")],
            Value(s("HéLLO WöRLD 1!")),
        ),
        ("upper", vec![s("")], Error("textkit.upper: empty input")),
        ("reverse", vec![s("héllo")], Value(s("olléh"))),
        ("reverse", vec![s("a😀b")], Value(s("b😀a"))),
        ("reverse", vec![s("")], Value(s(""))),
        ("concat", vec![s("foo"), s("bar")], Value(s("foobar"))),
        ("concat", vec![s(""), s("")], Value(s(""))),
        ("concat", vec![s("é"), s("😀")], Value(s("é😀"))),
        ("length", vec![s("héllo")], Value(Object::Int(5))),
        ("length", vec![s("a😀b")], Value(Object::Int(3))),
        ("length", vec![s("")], Value(Object::Int(0))),
        ("echo_str", vec![s("")], Value(s(""))),
        ("echo_str", vec![s("x")], Value(s("x"))),
        ("echo_str", vec![s(&big)], Value(s(&big))),
        (
            "xor",
            vec![Object::from(vec![0u8, 1, 255]), Object::Int(1)],
            Value(Object::from(vec![1u8, 0, 254])),
        ),
        (
            "xor",
            vec![Object::from(Vec::<u8>::new()), Object::Int(7)],
            Value(Object::from(Vec::<u8>::new())),
        ),
        (
            "xor",
            vec![Object::from(vec![0x0fu8]), Object::Int(0x1f0)],
            Value(Object::from(vec![0xffu8])),
        ),
        (
            "xor",
            vec![Object::from(vec![0x0fu8]), Object::Int(-1)],
            Value(Object::from(vec![0xf0u8])),
        ),
        (
            "scale",
            vec![Object::Float(1.5), Object::Float(2.0)],
            Value(Object::Float(3.0)),
        ),
        (
            "scale",
            vec![Object::Int(2), Object::Int(3)],
            Value(Object::Float(6.0)),
        ),
        (
            "scale",
            vec![Object::Float(-0.5), Object::Float(0.1)],
            Value(Object::Float(-0.05)),
        ),
        ("is_palindrome", vec![s("")], Value(Object::Bool(true))),
        ("is_palindrome", vec![s("abcba")], Value(Object::Bool(true))),
        ("is_palindrome", vec![s("abca")], Value(Object::Bool(false))),
        ("is_palindrome", vec![s("a😀a")], Value(Object::Bool(true))),
        ("is_palindrome", vec![s("Aa")], Value(Object::Bool(false))),
        ("is_palindrome", vec![s("éöé")], Value(Object::Bool(true))),
        (
            "choose",
            vec![Object::Bool(true), Object::Int(1), Object::Int(2)],
            Value(Object::Int(1)),
        ),
        (
            "choose",
            vec![Object::Bool(false), Object::Int(1), Object::Int(2)],
            Value(Object::Int(2)),
        ),
        (
            "split",
            vec![s("  hello   world\tfoo\nbar  ")],
            Value(strings(&["hello", "world", "foo", "bar"])),
        ),
        ("split", vec![s("")], Value(strings(&[]))),
        ("split", vec![s(" \t\r\n ")], Value(strings(&[]))),
        (
            "split",
            vec![s("héllo wörld")],
            Value(strings(&["héllo", "wörld"])),
        ),
        (
            "split",
            vec![s("a\x0bb\x0cc\rd")],
            Value(strings(&["a", "b", "c", "d"])),
        ),
        (
            "sum",
            vec![Object::from(vec![Object::Float(1.5), Object::Float(2.5)])],
            Value(Object::Float(4.0)),
        ),
        (
            "sum",
            vec![Object::from(Vec::<Object>::new())],
            Value(Object::Float(0.0)),
        ),
        (
            "sum",
            vec![Object::from(vec![Object::Int(1), Object::Float(2.5)])],
            Value(Object::Float(3.5)),
        ),
        (
            "sum",
            vec![Object::from(vec![
                Object::Float(0.1),
                Object::Float(0.2),
                Object::Float(0.3),
            ])],
            Value(Object::Float(0.1 + 0.2 + 0.3)),
        ),
        (
            "iota",
            vec![Object::Int(5)],
            Value(Object::from(ints(&[0, 1, 2, 3, 4]))),
        ),
        (
            "iota",
            vec![Object::Int(0)],
            Value(Object::from(Vec::<Object>::new())),
        ),
        (
            "iota",
            vec![Object::Int(-1)],
            Error("textkit.iota: negative length"),
        ),
        (
            "iota",
            vec![Object::Int(1_000_001)],
            Error("textkit.iota: too long"),
        ),
        (
            "word_counts",
            vec![s("a b a c b a")],
            Value(map(vec![
                (MapKey::from("a"), Object::Int(3)),
                (MapKey::from("b"), Object::Int(2)),
                (MapKey::from("c"), Object::Int(1)),
            ])),
        ),
        ("word_counts", vec![s("")], Value(map(vec![]))),
        (
            "word_counts",
            vec![s("é é\tx")],
            Value(map(vec![
                (MapKey::from("é"), Object::Int(2)),
                (MapKey::from("x"), Object::Int(1)),
            ])),
        ),
        ("noop", vec![Object::Int(5)], Value(Object::Null)),
        // Checked by the host before the plugin runs.
        (
            "upper",
            vec![Object::Int(5)],
            Error("textkit.upper: argument 1 must be string, got int 5"),
        ),
        (
            "sum",
            vec![strings(&["a"])],
            Error("textkit.sum: argument 1 must be array<float>, got array with string at [0]"),
        ),
        (
            "choose",
            vec![Object::Int(1), Object::Int(1), Object::Int(2)],
            Error("textkit.choose: argument 1 must be bool"),
        ),
        (
            "concat",
            vec![s("a")],
            Error("textkit.concat: expected 2 arguments (a: string, b: string), got 1"),
        ),
    ];
    let echoes = vec![
        Object::Null,
        Object::Bool(true),
        Object::Bool(false),
        Object::Int(0),
        Object::Int(-1),
        Object::Int(127),
        Object::Int(128),
        Object::Int(-33),
        Object::Int(65536),
        Object::Int(i64::MAX),
        Object::Int(i64::MIN),
        Object::Float(1.5),
        Object::Float(1e300),
        Object::Float(-0.0),
        s(""),
        s("héllo 😀"),
        Object::from(vec![0u8, 255, 7]),
        Object::from(Vec::<Object>::new()),
        sample,
        mixed_map,
        nested,
        Object::from((0..10_000).map(Object::Int).collect::<Vec<_>>()),
        map(vec![]),
    ];
    for v in echoes {
        cases.push(("echo", vec![v.clone()], Value(v)));
    }
    cases
}

fn check_textkit(file: &str, lang: &str) {
    let p = load(file);
    assert_eq!(p.name(), "textkit", "{file}");
    assert_eq!(
        p.version(),
        Some(format!("1.0.0-{lang}").as_str()),
        "{file}"
    );
    assert_eq!(p.abi(), Some(1), "{file}");
    let mut names: Vec<String> = p.functions().into_iter().map(|f| f.name).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "choose",
            "concat",
            "echo",
            "echo_str",
            "iota",
            "is_palindrome",
            "length",
            "noop",
            "reverse",
            "scale",
            "split",
            "sum",
            "upper",
            "word_counts",
            "xor"
        ],
        "{file}"
    );
    for f in p.functions() {
        assert!(f.signature.doc.is_some(), "{file}: {} has no doc", f.name);
    }
    for (function, args, want) in textkit_cases() {
        let got = builtin(&p, function).call(&args);
        let shown: Vec<String> = args.iter().map(|a| truncate(&a.to_string())).collect();
        match want {
            Want::Value(v) => assert!(
                same(&got, &v),
                "{file}: {function}({}) = {}, want {}",
                shown.join(", "),
                truncate(&got.to_string()),
                truncate(&v.to_string())
            ),
            Want::Error(text) => assert_eq!(
                got.error_message().map(|m| m.contains(text)),
                Some(true),
                "{file}: {function}({}) = {}, want an error containing {text:?}",
                shown.join(", "),
                truncate(&got.to_string())
            ),
        }
    }
    // The longest iota the plugin accepts.
    let long = builtin(&p, "iota").call(&[Object::Int(1_000_000)]);
    let long = long
        .as_array()
        .unwrap_or_else(|| panic!("{file}: iota(1000000) = {long}"));
    assert_eq!(long.len(), 1_000_000, "{file}");
    assert_eq!(long.last(), Some(&Object::Int(999_999)), "{file}");
}

/// Equality that also tells -0.0 from 0.0, so that `echo(-0.0)` must really round-trip.
fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Float(x), Object::Float(y)) => x.to_bits() == y.to_bits(),
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same(a, b))
        }
        _ => a == b,
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() > 80 {
        format!("{}...", s.chars().take(80).collect::<String>())
    } else {
        s.to_string()
    }
}

/// Each typed function, called many times: after a warm-up the guest's memory must not grow.
fn check_flat_memory(file: &str) {
    let p = Arc::new(load(file));
    let calls = common::textkit_calls::every_typed_function();
    let round = |times: usize| {
        for (function, args) in &calls {
            let b = builtin(&*p, function);
            for _ in 0..times {
                let _ = b.call(args);
            }
        }
    };
    round(1_000);
    let warm = p.memory_bytes();
    round(6_000);
    assert_eq!(
        p.memory_bytes(),
        warm,
        "{file}: memory grew after warm-up ({warm:?} bytes -> {:?})",
        p.memory_bytes()
    );
}

macro_rules! language {
    ($(#[$attr:meta])* $lang:ident, $tag:literal, $fib:literal, $textkit:literal) => {
        $(#[$attr])*
        mod $lang {
            use crate::common::have_plugin;

            #[test]
            fn fib() {
                if have_plugin($fib) {
                    super::check_fib($fib, $tag);
                }
            }
            #[test]
            fn textkit() {
                if have_plugin($textkit) {
                    super::check_textkit($textkit, $tag);
                }
            }
            #[test]
            fn memory_is_flat() {
                if have_plugin($textkit) {
                    super::check_flat_memory($textkit);
                }
            }
        }
    };
}

language!(rust, "rust", "fib", "textkit");
language!(c, "c", "fib_c", "textkit_c");
language!(zig, "zig", "fib_zig", "textkit_zig");
language!(assemblyscript, "as", "fib_as", "textkit_as");
language!(
    /// Go plugins (`GOOS=wasip1`) need WASI.
    #[cfg(feature = "wasi")]
    go, "go", "fib_go", "textkit_go"
);

/// Without WASI support, a Go plugin says so when it fails to load.
#[cfg(not(feature = "wasi"))]
#[test]
fn go_needs_wasi() {
    for file in ["fib_go", "textkit_go"] {
        if !common::have_plugin(file) {
            continue;
        }
        match WasmPlugin::from_file(common::plugin_file(file)) {
            Err(e) if matches!(e.kind(), xxlang_plugin::ErrorKind::NoWasi { .. }) => {
                let msg = e.to_string();
                assert!(msg.contains("wasi_snapshot_preview1.fd_write"), "{msg}");
                assert!(msg.contains("enable the `wasi` feature"), "{msg}");
            }
            other => panic!("{file}: {other:?}"),
        }
    }
}
