//! Conversions planned from raw wasm signatures: every number type both ways, no result,
//! several results, and the argument checks.

use crate::common;

use common::{assert_error, call, fixture, ints};
use std::error::Error as _;

use xxlang_plugin::{Convention, ErrorKind, Object, Type};

#[test]
fn i32_results_are_sign_extended() {
    let p = fixture("raw_types");
    assert_eq!(call(&p, "neg1", &[]), Object::Int(-1));
    assert_eq!(call(&p, "min32", &[]), Object::Int(i64::from(i32::MIN)));
    assert_eq!(call(&p, "echo32", &[Object::Int(-5)]), Object::Int(-5));
    assert_eq!(call(&p, "add32", &ints(&[-7, 2])), Object::Int(-5));
}

#[test]
fn i32_parameters_must_fit() {
    let p = fixture("raw_types");
    for ok in [i64::from(i32::MIN), -1, 0, i64::from(i32::MAX)] {
        assert_eq!(call(&p, "echo32", &[Object::Int(ok)]), Object::Int(ok));
    }
    for bad in [
        i64::from(i32::MAX) + 1,
        i64::from(i32::MIN) - 1,
        1 << 32,
        i64::MAX,
    ] {
        assert_error(
            &call(&p, "echo32", &[Object::Int(bad)]),
            &[
                "raw_types.echo32",
                "argument 1 must be int in i32 range",
                &bad.to_string(),
            ],
        );
    }
    assert_error(
        &call(&p, "add32", &ints(&[1, 1 << 40])),
        &["argument 2", "i32 range"],
    );
}

#[test]
fn i64_round_trips_exactly() {
    let p = fixture("raw_types");
    for v in [i64::MIN, -1, 0, 1, i64::MAX] {
        assert_eq!(call(&p, "echo64", &[Object::Int(v)]), Object::Int(v));
    }
    assert_eq!(call(&p, "sum5", &ints(&[1, 2, 3, 4, 5])), Object::Int(15));
    assert_eq!(call(&p, "sub3", &ints(&[10, 3, 2])), Object::Int(5));
    assert_eq!(call(&p, "answer", &[]), Object::Int(42));
}

#[test]
fn floats_both_ways() {
    let p = fixture("raw_types");
    assert_eq!(call(&p, "half", &[]), Object::Float(0.5));
    assert_eq!(call(&p, "third", &[]), Object::Float(0.25));
    assert_eq!(
        call(&p, "addf", &[Object::Float(1.25), Object::Float(2.0)]),
        Object::Float(3.25)
    );
    // Ints are accepted where a float is expected.
    assert_eq!(
        call(&p, "addf", &[Object::Int(1), Object::Float(0.5)]),
        Object::Float(1.5)
    );
    assert_eq!(call(&p, "sqrtf", &[Object::Int(9)]), Object::Float(3.0));
    assert_eq!(
        call(&p, "mulf32", &[Object::Float(1.5), Object::Int(2)]),
        Object::Float(3.0)
    );
    assert_error(
        &call(&p, "addf", &[Object::Float(1.0), Object::from("x")]),
        &["argument 2", "float or int"],
    );
    assert_error(
        &call(&p, "sqrtf", &[Object::Null]),
        &["argument 1", "float or int", "null"],
    );
    // Floats are not silently truncated into ints.
    assert_error(
        &call(&p, "echo64", &[Object::Float(1.0)]),
        &["argument 1 must be int", "float"],
    );
}

#[test]
fn several_results_are_an_array() {
    let p = fixture("raw_types");
    assert_eq!(call(&p, "pair", &[]), Object::from(ints(&[1, 2])));
    assert_eq!(
        call(&p, "mixed", &[Object::Int(-3)]),
        Object::from(vec![Object::Int(-3), Object::Float(1.5)])
    );
}

#[test]
fn no_result_is_null() {
    let p = fixture("raw_types");
    assert_eq!(call(&p, "nothing", &[Object::Int(1)]), Object::Null);
    // A bool-looking name without a result is just a function without a result.
    assert_eq!(call(&p, "is_void", &[]), Object::Null);
}

#[test]
fn bool_names_need_an_i32_result() {
    let p = fixture("raw_types");
    assert_eq!(call(&p, "is_flag", &[Object::Int(0)]), Object::Bool(false));
    assert_eq!(call(&p, "is_flag", &[Object::Int(1)]), Object::Bool(true));
    assert_eq!(
        call(&p, "is_flag", &[Object::Int(-7)]),
        Object::Bool(true),
        "nonzero is true"
    );
    // `lt` returns an i32 but is not a bool name: an int.
    assert_eq!(call(&p, "lt", &ints(&[1, 2])), Object::Int(1));
}

#[test]
fn traps_are_error_values() {
    let p = fixture("raw_types");
    assert_error(
        &call(&p, "trap", &[]),
        &["raw_types.trap", "trap", "unreachable"],
    );
    assert_error(
        &call(&p, "div0", &[Object::Int(1)]),
        &["raw_types.div0", "integer divide by zero"],
    );
    // The plugin keeps working after a trap.
    assert_eq!(call(&p, "answer", &[]), Object::Int(42));
}

#[test]
fn arity_is_checked_on_every_path() {
    let p = fixture("raw_types");
    for (name, arity) in [
        ("answer", 0),
        ("echo64", 1),
        ("addf", 2),
        ("sub3", 3),
        ("sum5", 5),
        ("mixed", 1),
        ("nothing", 1),
    ] {
        let args = ints(&vec![1; arity + 1]);
        assert_error(
            &call(&p, name, &args),
            &[
                &format!("raw_types.{name}: expected"),
                &format!("got {}", arity + 1),
            ],
        );
    }
}

#[test]
fn signatures_are_planned_from_types() {
    let p = fixture("raw_types");
    let sig = |name: &str| {
        p.functions()
            .into_iter()
            .find(|f| f.name == name)
            .map(|f| (f.signature.to_string(), f.convention))
            .unwrap_or_else(|| panic!("no {name}"))
    };
    assert_eq!(sig("echo32"), ("(int) -> int".into(), Convention::Raw));
    assert_eq!(
        sig("addf"),
        ("(float, float) -> float".into(), Convention::Raw)
    );
    assert_eq!(sig("pair"), ("() -> array<int>".into(), Convention::Raw));
    assert_eq!(sig("mixed"), ("(int) -> array".into(), Convention::Raw));
    assert_eq!(sig("nothing"), ("(int) -> null".into(), Convention::Raw));
    assert_eq!(
        sig("is_flag"),
        ("(int) -> bool".into(), Convention::LegacyBool)
    );
    let b = common::builtin(&p, "addf");
    assert_eq!(b.name(), "raw_types.addf");
    assert_eq!(b.signature().map(|s| s.result.clone()), Some(Type::Float));
}

#[test]
fn rust_callers_get_structured_errors() {
    let p = fixture("raw_types");
    let err = p
        .call("echo32", &[Object::Int(1 << 40)])
        .expect_err("out of range");
    assert!(
        matches!(err.kind(), ErrorKind::Type { position: 1, .. }),
        "{err:?}"
    );
    assert_eq!(
        (err.plugin(), err.function(), err.file()),
        (Some("raw_types"), Some("echo32"), None)
    );
    assert!(err.source().is_none(), "{err:?}");
    // A trap's source is wasmi's error; the trap cost the plugin its instance.
    let err = p.call("trap", &[]).expect_err("traps");
    assert!(matches!(err.kind(), ErrorKind::Trap { .. }), "{err:?}");
    let wasmi = err.source().expect("a source").to_string();
    let note = " (plugin restarted, state reset)";
    assert!(
        err.to_string().ends_with(&format!("trap: {wasmi}{note}")),
        "{err} / {wasmi}"
    );
    assert!(err.instance_reset());
    let err = p.call("answer", &ints(&[1])).expect_err("too many");
    assert!(
        matches!(err.kind(), ErrorKind::Arity { got: 1, .. }),
        "{err:?}"
    );
}
