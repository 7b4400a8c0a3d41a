//! What a plugin declares about itself: name and version through a result slot or a packed
//! i64, and everything a hostile plugin can do wrong there.

use crate::common;

use common::{call, fixture, wat};
use xxlang_plugin::{Error, ErrorKind, Object, Plugin};

/// A module whose `plugin_name` returns `ptr << 32 | len` of the given data.
fn packed_name(data: &str, ptr: u32, len: u32) -> String {
    format!(
        r#"(module (memory (export "memory") 1)
             (data (i32.const 100) "{data}")
             (func (export "plugin_name") (result i64) i64.const {}))"#,
        (u64::from(ptr) << 32) | u64::from(len)
    )
}

#[track_caller]
fn metadata_error(result: Result<xxlang_plugin::WasmPlugin, Error>, export: &str, fragment: &str) {
    match result {
        Err(e) if matches!(e.kind(), ErrorKind::Metadata { export: x, .. } if x == export) => {
            let msg = e.to_string();
            assert!(msg.contains(&format!("export `{export}`")), "{msg}");
            assert!(
                msg.contains(fragment),
                "{msg:?} does not mention {fragment:?}"
            );
        }
        Err(other) => panic!("expected a metadata error about {export}, got {other}"),
        Ok(p) => panic!(
            "expected a metadata error about {export}, but {} loaded",
            p.name()
        ),
    }
}

#[test]
fn packed_name_and_version() {
    let p = fixture("collisions");
    assert_eq!(p.name(), "collide");
    assert_eq!(p.version(), Some("2.0.0"));
}

#[test]
fn slot_name_needs_alloc() {
    let src = r#"(module (memory (export "memory") 1)
        (func (export "plugin_name") (param i32)))"#;
    metadata_error(wat("x", src), "plugin_name", "no `alloc(i32) -> i32`");
}

#[test]
fn misbehaving_name_fails_the_load() {
    let cases: &[(&str, u32, u32, &str)] = &[
        ("hello", 100, 5000, "limit"),
        ("hello", 65534, 5, "outside the plugin's memory"),
        ("hello", u32::MAX, 5, "outside"),
        ("\\ff\\fe", 100, 2, "UTF-8"),
        ("../evil", 100, 7, "not a valid plugin name"),
        ("", 100, 0, "empty"),
    ];
    for (data, ptr, len, fragment) in cases {
        metadata_error(
            wat("x", &packed_name(data, *ptr, *len)),
            "plugin_name",
            fragment,
        );
    }
    let trapping = r#"(module (memory (export "memory") 1)
        (func (export "plugin_name") (result i64) unreachable))"#;
    metadata_error(wat("x", trapping), "plugin_name", "trapped");
    // A declared name is used as-is when valid.
    assert_eq!(
        wat("x", &packed_name("hello", 100, 5))
            .map(|p| p.name().to_string())
            .ok()
            .as_deref(),
        Some("hello")
    );
}

#[test]
fn misbehaving_version_fails_the_load() {
    let version = |data: &str, len: u32| {
        format!(
            r#"(module (memory (export "memory") 1) (data (i32.const 100) "{data}")
                 (func (export "plugin_version") (result i64) i64.const {}))"#,
            (100u64 << 32) | u64::from(len)
        )
    };
    metadata_error(
        wat("x", &version("1.0\\0a", 4)),
        "plugin_version",
        "printable",
    );
    metadata_error(wat("x", &version("", 0)), "plugin_version", "non-empty");
    assert_eq!(
        wat("x", &version("1.2.3", 5))
            .ok()
            .and_then(|p| p.version().map(String::from))
            .as_deref(),
        Some("1.2.3")
    );
}

#[test]
fn misbehaving_alloc_fails_the_load() {
    let with_alloc = |body: &str| {
        format!(
            r#"(module (memory (export "memory") 1)
                 (func (export "alloc") (param i32) (result i32) {body})
                 (func (export "plugin_name") (param i32)))"#
        )
    };
    metadata_error(wat("x", &with_alloc("i32.const 0")), "alloc", "returned 0");
    metadata_error(wat("x", &with_alloc("unreachable")), "alloc", "trapped");
    metadata_error(wat("x", &with_alloc("i32.const 65532")), "alloc", "outside");
    metadata_error(wat("x", &with_alloc("i32.const -1")), "alloc", "outside");
}

#[test]
fn slot_pointing_out_of_bounds_fails_the_load() {
    let src = r#"(module (memory (export "memory") 1)
        (func (export "alloc") (param i32) (result i32) i32.const 64)
        (func (export "plugin_name") (param $slot i32)
            (i32.store (local.get $slot) (i32.const 70000))
            (i32.store offset=4 (local.get $slot) (i32.const 3))))"#;
    metadata_error(wat("x", src), "plugin_name", "outside the plugin's memory");
}

#[test]
fn range_results_out_of_bounds_are_errors_not_empty_arrays() {
    let p = fixture("range_bounds");
    assert_eq!(
        call(&p, "range_", &[Object::Int(0)]),
        Object::from(Vec::<Object>::new())
    );
    let last_fit = call(&p, "range_", &[Object::Int(67)]);
    assert_eq!(last_fit.as_array().map(<[Object]>::len), Some(67));
    common::assert_error(
        &call(&p, "range_", &[Object::Int(68)]),
        &[
            "range_bounds.range_",
            "ABI violation",
            "outside the plugin's memory",
        ],
    );
    common::assert_error(
        &call(&p, "range_", &[Object::Int(-1)]),
        &["4294967295 i64 values do not fit"],
    );
}

#[test]
fn range_without_alloc_explains_itself() {
    let src = r#"(module (memory (export "memory") 1) (func (export "range_") (param i64 i32)))"#;
    let p = wat("noalloc", src).expect("loads");
    common::assert_error(
        &call(&p, "range_", &[Object::Int(3)]),
        &["noalloc.range_", "alloc"],
    );
}

#[test]
fn invalid_fallback_name_is_refused_only_when_used() {
    let src = r#"(module (func (export "f") (result i64) i64.const 1))"#;
    match wat("bad name", src) {
        Err(e) => match e.kind() {
            ErrorKind::InvalidName { reason } => {
                assert_eq!(e.plugin(), Some("bad name"));
                assert!(reason.contains("declares no name"), "{reason}");
            }
            _ => panic!("{e:?}"),
        },
        other => panic!("{other:?}"),
    }
    // With a declared name, the fallback does not matter.
    assert!(wat("bad name", &packed_name("good", 100, 4)).is_ok());
}
