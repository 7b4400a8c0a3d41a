//! Writes the seed corpora into `fuzz/corpus/TARGET/` (files named `seed-*`):
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seed
//! ```
//!
//! - `load_module`: the committed plugins (but the Go builds: 2 MB each, they would make every
//!   input that large and the corpus too big to commit), `tests/fixtures/*.wat`, and a few
//!   modules below that reach host paths the plugins do not.
//! - `manifest`: valid manifests (docs/ABI.md, textkit, the hostile fixture) and malformed
//!   ones, as section contents for `xxlang_plugin_fuzz::manifest_module`.
//! - `msgpack`: encodings of many values, valid and not.
//!
//! Then `cargo fuzz cmin TARGET` keeps what adds coverage.

use std::fs;
use std::path::{Path, PathBuf};

use xxlang_plugin::{Map, MapKey, Object};

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let corpus = root.join("fuzz/corpus");
    load_module(&root, &corpus.join("load_module"));
    manifest(&corpus.join("manifest"));
    msgpack(&corpus.join("msgpack"));
}

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("corpus directory");
    let path: PathBuf = dir.join(format!("seed-{name}"));
    fs::write(&path, bytes).expect("write seed");
}

/// Modules for host paths the plugins and fixtures do not take.
const EXTRA_WAT: &[(&str, &str)] = &[
    (
        "memory64",
        r#"(module (memory (export "memory") i64 1 2)
             (func (export "call_f") (param i64) (result i64) local.get 0))"#,
    ),
    (
        "memory64_huge",
        r#"(module (memory (export "memory") i64 65536)
             (func (export "call_f") (result i64) i64.const 1))"#,
    ),
    (
        "memory_max",
        r#"(module (memory (export "memory") 65536)
             (func (export "grow") (param i32) (result i32) local.get 0 memory.grow))"#,
    ),
    (
        "multi_value",
        r#"(module
             (func (export "pair") (param i32 f32) (result i64 f64 i32 f32)
               i64.const -1 f64.const 2.5 local.get 0 local.get 1)
             (func (export "is_odd") (param i64) (result i32)
               local.get 0 i64.const 1 i64.and i32.wrap_i64)
             (func (export "f32s") (param f32 f64) (result f32) local.get 0))"#,
    ),
    (
        "name_i64",
        r#"(module (memory (export "memory") 1)
             (data (i32.const 16) "named_v2")
             (func (export "plugin_name") (result i64) i64.const 0x1000000008)
             (func (export "plugin_version") (result i64) i64.const 0xffffffff00000010)
             (func (export "call_one") (result i64) i64.const 1))"#,
    ),
    (
        "range_alloc_oob",
        r#"(module (memory (export "memory") 1)
             (func (export "alloc") (param i32) (result i32) i32.const 65535)
             (func (export "range_") (param i64 i32)
               (i32.store (local.get 1) (i32.const 0))
               (i32.store offset=4 (local.get 1) (i32.wrap_i64 (local.get 0)))))"#,
    ),
    (
        "typed_echo",
        r#"(module
             (import "xxplugin" "arg" (func $arg (param i32 i32)))
             (import "xxplugin" "result" (func $result (param i32 i32)))
             (import "xxplugin" "error" (func $error (param i32 i32)))
             (memory (export "memory") 2)
             (func $echo (param $i i32) (param $len i32)
               (call $arg (local.get $i) (i32.const 1024))
               (call $result (i32.const 1024) (local.get $len)))
             (func (export "any") (param i32) (call $echo (i32.const 0) (local.get 0)))
             (func (export "map") (param i32) (call $echo (i32.const 0) (local.get 0)))
             (func (export "ints") (param i32) (call $echo (i32.const 0) (local.get 0)))
             (func (export "floats") (param i32) (call $echo (i32.const 0) (local.get 0)))
             (func (export "nested") (param i32) (call $echo (i32.const 0) (local.get 0)))
             (func (export "two") (param i64 i32) (call $echo (i32.const 1) (local.get 1)))
             (func (export "fail") (param i32) (result i32)
               (call $error (i32.const 0) (i32.const 4)) (i32.const 1))
             (@custom "xxplugin" "abi 1\nname typed_echo\nversion 9\nfn any(v: any) -> any\nfn map(m: map) -> map\n")
             (@custom "xxplugin" "fn ints(a: array<int>) -> array<int>\nfn floats(a: array<float>) -> array<float>\n")
             (@custom "xxplugin" "fn nested(a: array<array<string>>) -> array<array<string>>\nfn two(n: int, b: bytes) -> bytes\nfn fail(s: string) -> bool\n"))"#,
    ),
    (
        "manifest_export",
        r#"(module
             (import "xxplugin" "result" (func $result (param i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 64) "abi 1\nname exported\nfn twice(n: int) -> int -- n times 2\n")
             (func (export "twice") (param i64) (result i64) (i64.mul (local.get 0) (i64.const 2)))
             (func (export "_initialize"))
             (func (export "xxplugin_manifest") (call $result (i32.const 64) (i32.const 57))))"#,
    ),
    (
        "start_grow",
        r#"(module (memory (export "memory") 1)
             (func $start (drop (memory.grow (i32.const 100))))
             (start $start)
             (func (export "size") (result i32) memory.size))"#,
    ),
    (
        "table",
        r#"(module (table 10 funcref) (elem (i32.const 0) $a $b)
             (type $t (func (result i64)))
             (func $a (result i64) i64.const 1)
             (func $b (result i64) i64.const 2)
             (func (export "call_pick") (param i32) (result i64) (call_indirect (type $t) (local.get 0))))"#,
    ),
    (
        "abort_import",
        r#"(module (import "env" "abort" (func $abort (param i32 i32 i32 i32)))
             (memory (export "memory") 1)
             (data (i32.const 4) "\06\00\00\00a\00b\00c\00")
             (func (export "call_boom") (param i64) (result i64)
               (call $abort (i32.const 8) (i32.wrap_i64 (local.get 0)) (i32.const 1) (i32.const 2))
               (i64.const 0)))"#,
    ),
];

fn load_module(root: &Path, dir: &Path) {
    for entry in fs::read_dir(root.join("plugins")).expect("plugins/") {
        let path = entry.expect("entry").path();
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if path.extension().is_some_and(|e| e == "wasm") && !stem.ends_with("_go") {
            write(
                dir,
                &format!("{stem}.wasm"),
                &fs::read(&path).expect("plugin"),
            );
        }
    }
    for entry in fs::read_dir(root.join("tests/fixtures")).expect("tests/fixtures/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "wat") {
            let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            match wat::parse_file(&path) {
                Ok(bytes) => write(dir, &format!("{stem}.wasm"), &bytes),
                Err(e) => eprintln!("skipping {}: {e}", path.display()),
            }
        }
    }
    for (name, text) in EXTRA_WAT {
        let bytes = wat::parse_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
        write(dir, &format!("{name}.wasm"), &bytes);
    }
}

const MANIFESTS: &[(&str, &str)] = &[
    (
        "textkit",
        "abi 1\nname textkit\nversion 1.0.0-rust\n\
         fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.\n\
         fn concat(a: string, b: string) -> string -- a followed by b.\n\
         fn xor(data: bytes, key: int) -> bytes -- Each byte XOR the low 8 bits of key.\n\
         fn length(s: string) -> int -- The number of characters (Unicode scalar values) in s.\n\
         fn is_palindrome(s: string) -> bool -- Whether the characters of s read the same reversed.\n\
         fn scale(x: float, factor: float) -> float -- x times factor.\n\
         fn choose(flag: bool, a: int, b: int) -> int -- a if flag, else b.\n\
         fn noop(x: int) -- Does nothing.\n\
         fn iota(n: int) -> array<int> -- [0, 1, ..., n-1]; fails if n is negative or above 1000000.\n\
         fn sum(xs: array<float>) -> float -- The sum of xs, added left to right.\n",
    ),
    (
        "abi_doc",
        "abi 1\nname textkit\nversion 1.0.0-rust\n\
         fn upper(s: string) -> string -- ASCII letters upper-cased; fails on empty input.\n\
         fn xor(data: bytes, key: int) -> bytes -- Each byte XOR the low 8 bits of key.\n\
         fn noop(x: int) -- Does nothing.\n",
    ),
    (
        "all_types",
        "abi 1\r\nname all-types_2\nversion v\n\n# comment\nx-future whatever\n\
         fn upper(s: array<array<map>>) -> array<array<array<array<array<array<array<array<int>>>>>>>>\n\
         fn concat(a: map, b: any) -> any\nfn nothing()\nfn xor(d: bytes, k: int)->bytes--doc\n\
         fn is_palindrome(s: string) -> bool\n\tfn length ( s : array ) -> int --\n",
    ),
    ("minimal", "abi 1\n"),
    ("legacy_mix", "abi 1\nversion 2\nfn noop(n: int)\n"),
    ("no_abi", "name x\nfn upper(s: string) -> string\n"),
    ("abi_twice", "abi 1\nabi 1\n"),
    ("abi_newer", "abi 2\n"),
    ("abi_huge", "abi 99999999999999999999\n"),
    ("abi_zero", "abi 0\n"),
    ("bad_name", "abi 1\nname ../x\n"),
    ("bad_version", "abi 1\nversion \u{1b}[2J\n"),
    ("bad_type", "abi 1\nfn upper(x: strng) -> string\n"),
    ("no_colon", "abi 1\nfn upper(x)\n"),
    ("bad_fn_name", "abi 1\nfn 9f()\n"),
    ("repeated_param", "abi 1\nfn concat(a: string, a: string)\n"),
    ("null_param", "abi 1\nfn noop(a: null)\n"),
    ("no_arrow", "abi 1\nfn length(s: string) int\n"),
    ("trailing_comma", "abi 1\nfn upper(s: string,)\n"),
    (
        "declared_twice",
        "abi 1\nfn noop(x: int)\nfn noop(x: int)\n",
    ),
    ("missing_paren", "abi 1\nfn upper( -> string\n"),
    ("array_null", "abi 1\nfn upper(s: string) -> array<null>\n"),
    ("unknown_decl", "abi 1\nexport f\n"),
    ("not_exported", "abi 1\nfn missing(x: int) -> int\n"),
    (
        "wrong_wasm_type",
        "abi 1\nfn upper(s: int) -> string\nfn scale(x: int) -> float\n",
    ),
    (
        "legacy_name_declared",
        "abi 1\nfn call_fast(n: int) -> int\n",
    ),
    (
        "unicode",
        "abi 1\nname é\nversion ünïcödé ✓\nfn ünicode(s: string)\n",
    ),
    ("nul", "abi 1\0\nfn noop(x: int)\n"),
];

fn manifest(dir: &Path) {
    for (name, text) in MANIFESTS {
        write(dir, name, text.as_bytes());
    }
    let deep = format!(
        "abi 1\nfn upper(s: string) -> {}int{}\n",
        "array<".repeat(10),
        ">".repeat(10)
    );
    write(dir, "too_deep", deep.as_bytes());
    let params: Vec<String> = (0..33).map(|i| format!("p{i}: int")).collect();
    write(
        dir,
        "too_many_params",
        format!("abi 1\nfn upper({})\n", params.join(", ")).as_bytes(),
    );
    write(
        dir,
        "long_doc",
        format!("abi 1\nfn noop(x: int) -- {}\n", "d".repeat(1100)).as_bytes(),
    );
    write(dir, "invalid_utf8", b"abi 1\nname \xff\xfe\n");
}

fn msgpack(dir: &Path) {
    let mut values: Vec<(&str, Object)> = vec![
        ("nil", Object::Null),
        ("true", Object::Bool(true)),
        ("false", Object::Bool(false)),
        ("float", Object::Float(-1.5)),
        ("nan", Object::Float(f64::NAN)),
        ("inf", Object::Float(f64::NEG_INFINITY)),
        ("empty_str", Object::from("")),
        ("str", Object::from("héllo 😀")),
        ("str8", Object::from("x".repeat(40))),
        ("str16", Object::from("y".repeat(300))),
        ("bin8", Object::from(vec![1u8, 2, 3])),
        ("bin16", Object::from(vec![7u8; 300])),
        ("empty_array", Object::from(Vec::<Object>::new())),
        ("array16", (0..20).map(Object::Int).collect()),
    ];
    let ints: &[(&str, i64)] = &[
        ("fixint", 5),
        ("negfixint", -3),
        ("uint8", 200),
        ("int8", -100),
        ("uint16", 1000),
        ("int16", -1000),
        ("uint32", 100_000),
        ("int32", -100_000),
        ("uint64", i64::MAX),
        ("int64", i64::MIN),
    ];
    for (name, i) in ints {
        values.push((name, Object::Int(*i)));
    }
    let mut m = Map::new();
    m.insert(MapKey::from("k"), Object::Float(2.5));
    m.insert(MapKey::Int(-3), Object::Null);
    m.insert(MapKey::Bool(true), Object::from(vec![1u8, 2, 3]));
    let map = Object::from(m);
    values.push((
        "nested",
        Object::from(vec![
            Object::Int(1),
            Object::from("a"),
            Object::from(vec![Object::Null]),
            map.clone(),
        ]),
    ));
    values.push(("map", map));
    let mut big = Map::new();
    for i in 0..20 {
        big.insert(MapKey::Int(i), Object::Bool(i % 2 == 0));
    }
    values.push(("map16", Object::from(big)));
    let mut deep = Object::Null;
    for _ in 0..64 {
        deep = Object::from(vec![deep]);
    }
    values.push(("deep64", deep));
    for (name, v) in &values {
        write(dir, name, &v.to_msgpack().expect("encodes"));
    }
    // Forms the host reads but does not write, and what it must refuse.
    let raw: &[(&str, &[u8])] = &[
        ("float32", &[0xca, 0x3f, 0xc0, 0, 0]),
        ("long_int_form", &[0xd3, 0, 0, 0, 0, 0, 0, 0, 1]),
        ("long_str_form", &[0xdb, 0, 0, 0, 1, b'a']),
        ("long_bin_form", &[0xc6, 0, 0, 0, 1, 9]),
        ("long_array_form", &[0xdd, 0, 0, 0, 1, 0xc0]),
        ("long_map_form", &[0xdf, 0, 0, 0, 1, 0xa1, b'k', 0xc0]),
        ("unordered_map", &[0x82, 0xa1, b'b', 2, 0xa1, b'a', 1]),
        ("uint64_too_big", &[0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0]),
        ("ext", &[0xd4, 1, 2]),
        ("never_used", &[0xc1]),
        ("float_key", &[0x81, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0]),
        ("repeated_key", &[0x82, 1, 0xc0, 1, 0xc0]),
        ("trailing", &[0x01, 0x02]),
        ("bad_utf8", &[0xa2, 0xff, 0xfe]),
        ("huge_array", &[0xdd, 0xff, 0xff, 0xff, 0xff]),
        ("huge_map", &[0xdf, 0x7f, 0xff, 0xff, 0xff]),
        ("huge_str", &[0xdb, 0xff, 0xff, 0xff, 0xff, b'a']),
    ];
    for (name, bytes) in raw {
        write(dir, name, bytes);
    }
    let mut too_deep = vec![0x91u8; 65];
    too_deep.push(0xc0);
    write(dir, "deep65", &too_deep);
}
