//! The entry points of the fuzz targets, shared with the root crate's `tests/fuzz_corpus.rs`
//! (which includes this file with `#[path]`), so the corpus is replayed by exactly the code
//! that fuzzes it. Only the public API of `xxlang_plugin` is used, and nothing but `std`.
//!
//! Each entry point takes arbitrary bytes and must never panic: every failure of the library
//! has to come back as an `Err` or an Error value. The properties checked here (a MessagePack
//! round trip, ...) panic when they fail, which is what the fuzzer and the test look for.

use std::collections::BTreeMap;
use std::sync::Arc;

use xxlang_plugin::{
    Builtin, Config, Description, Error, FunctionInfo, Map, MapKey, Object, Plugin, Type,
    WasmPlugin,
};

/// At most this many functions of a loaded module are called per input.
pub const MAX_FUNCTIONS_CALLED: usize = 8;
/// Each of them at most this many times, with different arguments.
pub const CALLS_PER_FUNCTION: usize = 2;

/// Fuel per call of a fuzzed module: about a million wasm instructions (tens of milliseconds
/// in a fuzzing build).
pub const FUEL: u64 = 1_000_000;
/// Fuel for a fuzzed module's start-up code. Without it, start-up code gets at least 10^9
/// units: about a minute in a fuzzing build, so every module whose start never ends would be
/// a timeout. The committed plugins start in far less.
pub const STARTUP_FUEL: u64 = 1_000_000;
/// Linear memory a fuzzed module may have: 16 MiB.
pub const MAX_MEMORY: usize = 16 << 20;
/// Nested wasm calls a fuzzed module may make.
pub const MAX_CALL_DEPTH: usize = 1_000;

/// The limits fuzzed modules run under, so that endless loops, deep recursion and memory
/// bombs come back as errors instead of fuzzer timeouts, stack overflows or OOMs.
pub fn config() -> Config {
    Config::new()
        .fuel(FUEL)
        .startup_fuel(STARTUP_FUEL)
        .max_memory(MAX_MEMORY)
        .max_call_depth(MAX_CALL_DEPTH)
}

/// `load_module`: arbitrary bytes as a wasm module. Describes it and loads it (under
/// [`config`]), checks that the two agree, and if it loads, inspects it, calls a few of its
/// functions with arguments derived from the input, and closes it.
pub fn load_module(data: &[u8]) {
    let config = config();
    let described = WasmPlugin::describe_with(data, &config);
    let loaded = WasmPlugin::from_bytes_with("fuzz", data, &config);
    match (&described, &loaded) {
        (Ok(d), Ok(p)) => {
            agree(d, p);
            let mut rng = Rng::from_input(data);
            exercise(p, &mut rng);
        }
        (Err(e), Err(f)) => {
            check_error(e);
            check_error(f);
        }
        // A module described from its manifest section was not run: its imports, start-up
        // code or metadata exports can still fail the load.
        (Ok(d), Err(e)) if !d.instantiated => check_error(e),
        // Otherwise describe loaded the same bytes under the same limits.
        (Ok(d), Err(e)) => panic!("describe succeeded ({d:?}) but the load failed: {e}"),
        (Err(e), Ok(_)) => panic!("the load succeeded but describe failed: {e}"),
    }
}

/// What [`WasmPlugin::describe`] says of a module must be what loading it made.
pub fn agree(d: &Description, p: &WasmPlugin) {
    assert_eq!(d.abi, p.abi(), "describe and load disagree on the ABI");
    if d.instantiated {
        // describe loaded it too, under the fallback name "plugin": only an undeclared name
        // differs.
        assert_eq!(d.functions, p.functions(), "describe and load disagree");
        assert_eq!(d.skipped, p.skipped(), "describe and load disagree");
        assert_eq!(d.version.as_deref(), p.version());
        assert!(
            d.name.as_deref() == Some(p.name())
                || (d.name.as_deref() == Some("plugin") && p.name() == "fuzz"),
            "describe says {:?}, the load {:?}",
            d.name,
            p.name()
        );
    } else {
        // From the manifest alone, without running anything. The load may also take a name
        // and a version from the legacy metadata exports (`plugin_name`, `plugin_version`);
        // a version so learned takes the script name `version` from a function.
        if let Some(name) = &d.name {
            assert_eq!(name, p.name(), "describe and load disagree on the name");
        }
        if d.version.is_some() {
            assert_eq!(d.version.as_deref(), p.version());
        }
        let mut functions = d.functions.clone();
        if d.version.is_none() && p.version().is_some() {
            functions.retain(|f| f.name != "version");
        }
        assert_eq!(functions, p.functions(), "describe and load disagree");
    }
}

/// `manifest`: arbitrary bytes as the contents of an `xxplugin` custom section, in a small
/// module that exports a memory and functions of the wasm types most declarations need (see
/// [`manifest_module`]). Describes it, loads it, and calls what it declares.
pub fn manifest(data: &[u8]) {
    let module = manifest_module(data);
    let described = WasmPlugin::describe(&module);
    let loaded = WasmPlugin::from_bytes("fuzz", &module);
    match (&described, &loaded) {
        (Ok(d), Ok(p)) => {
            // A module with a manifest section is described without running it, from the same
            // plan the load makes: the two must agree.
            assert!(
                !d.instantiated,
                "a manifest section was not used by describe"
            );
            // The module has no metadata exports: the version is the manifest's.
            assert_eq!(d.version.as_deref(), p.version());
            agree(d, p);
            let mut rng = Rng::from_input(data);
            exercise(p, &mut rng);
        }
        (Err(e), Err(f)) => {
            check_error(e);
            check_error(f);
        }
        // Only a load can fail where describe succeeds: the fallback name "fuzz" is valid, and
        // nothing in the module runs at load. Anything else is an inconsistency.
        (Ok(d), Err(e)) => panic!("describe succeeded ({d:?}) but the load failed: {e}"),
        (Err(e), Ok(_)) => panic!("the load succeeded but describe failed: {e}"),
    }
}

/// `msgpack`: arbitrary bytes as MessagePack. What decodes must encode, and decode again to
/// the same value (floats compared bit for bit), and encode again to the same bytes.
pub fn msgpack(data: &[u8]) {
    let Ok(value) = Object::from_msgpack(data) else {
        return;
    };
    let _ = value.to_string();
    let bytes = match value.to_msgpack() {
        Ok(bytes) => bytes,
        Err(e) => panic!("a decoded value does not encode: {e}: {value:?}"),
    };
    let again = match Object::from_msgpack(&bytes) {
        Ok(v) => v,
        Err(e) => panic!("the encoding of a decoded value does not decode: {e}: {bytes:x?}"),
    };
    assert!(
        same(&value, &again),
        "round trip changed the value: {value:?} became {again:?}"
    );
    assert_eq!(
        again.to_msgpack().ok().as_deref(),
        Some(&bytes[..]),
        "encoding is not stable"
    );
    // The host writes the shortest forms, so its own output can never be longer than input
    // that decoded to the same value, except for float32 (always written as float64).
    if !data.contains(&0xca) {
        assert!(
            bytes.len() <= data.len(),
            "re-encoding grew {} bytes to {}",
            data.len(),
            bytes.len()
        );
    }
}

/// Whether two values are equal, floats bit for bit (so NaN equals the same NaN).
pub fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Float(x), Object::Float(y)) => x.to_bits() == y.to_bits(),
        (Object::Array(x), Object::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same(a, b))
        }
        (Object::Map(x), Object::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => a == b,
    }
}

/// A module: the header, an `xxplugin` custom section holding `section`, and exports that
/// declarations can match: `memory`, and one function of each wasm type below (bodies are
/// `unreachable`, so calls trap; nothing runs at load).
pub fn manifest_module(section: &[u8]) -> Vec<u8> {
    const I32: u8 = 0x7f;
    const I64: u8 = 0x7e;
    const F64: u8 = 0x7c;
    // (export name, params, results): what `upper`, `xor`, `scale`, ... of textkit need, and
    // a legacy `call_` export.
    let funcs: &[(&str, &[u8], &[u8])] = &[
        ("upper", &[I32], &[]),
        ("concat", &[I32, I32], &[]),
        ("xor", &[I32, I64], &[]),
        ("length", &[I32], &[I64]),
        ("is_palindrome", &[I32], &[I32]),
        ("scale", &[F64, F64], &[F64]),
        ("choose", &[I32, I64, I64], &[I64]),
        ("noop", &[I64], &[]),
        ("nothing", &[], &[]),
        ("iota", &[I64], &[]),
        ("sum", &[I32], &[F64]),
        ("call_fast", &[I64], &[I64]),
    ];
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    let mut custom = Vec::new();
    name(&mut custom, b"xxplugin");
    custom.extend_from_slice(section);
    push_section(&mut out, 0, &custom);

    let mut types = Vec::new();
    leb(&mut types, funcs.len() as u64);
    for (_, params, results) in funcs {
        types.push(0x60);
        leb(&mut types, params.len() as u64);
        types.extend_from_slice(params);
        leb(&mut types, results.len() as u64);
        types.extend_from_slice(results);
    }
    push_section(&mut out, 1, &types);

    let mut functions = Vec::new();
    leb(&mut functions, funcs.len() as u64);
    for i in 0..funcs.len() {
        leb(&mut functions, i as u64);
    }
    push_section(&mut out, 3, &functions);

    // One page, no maximum.
    push_section(&mut out, 5, &[1, 0, 1]);

    let mut exports = Vec::new();
    leb(&mut exports, funcs.len() as u64 + 1);
    name(&mut exports, b"memory");
    exports.extend_from_slice(&[2, 0]);
    for (i, (n, _, _)) in funcs.iter().enumerate() {
        name(&mut exports, n.as_bytes());
        exports.push(0);
        leb(&mut exports, i as u64);
    }
    push_section(&mut out, 7, &exports);

    let mut code = Vec::new();
    leb(&mut code, funcs.len() as u64);
    for _ in funcs {
        // size 3: no locals, `unreachable`, `end`
        code.extend_from_slice(&[3, 0, 0x00, 0x0b]);
    }
    push_section(&mut out, 10, &code);
    out
}

fn leb(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn name(out: &mut Vec<u8>, s: &[u8]) {
    leb(out, s.len() as u64);
    out.extend_from_slice(s);
}

fn push_section(out: &mut Vec<u8>, id: u8, contents: &[u8]) {
    out.push(id);
    leb(out, contents.len() as u64);
    out.extend_from_slice(contents);
}

/// Everything a script or an embedder can do with a loaded plugin, driven by `rng`.
fn exercise(p: &WasmPlugin, rng: &mut Rng) {
    let functions = p.functions();
    let exports = p.exports();
    let _ = (p.name(), p.version(), p.abi(), p.file(), p.imports());
    let _ = (p.skipped(), p.memory_bytes(), format!("{p:?}"));
    for f in &functions {
        let _ = (f.signature.to_string(), f.signature.arity());
        assert!(
            exports.contains_key(&f.name),
            "function `{}` is not among the exports",
            f.name
        );
    }
    for f in functions.iter().take(MAX_FUNCTIONS_CALLED) {
        for _ in 0..CALLS_PER_FUNCTION {
            let args = arguments(f, rng);
            match p.call(&f.name, &args) {
                Ok(v) => {
                    let _ = v.to_string();
                }
                Err(e) => check_error(&e),
            }
        }
    }
    // Scripts call builtins: errors are values.
    if let Some(f) = functions.first()
        && let Some(b) = exports.get(&f.name).and_then(Object::as_builtin)
    {
        let _ = (b.name(), b.signature(), b.doc());
        let args = arguments(f, rng);
        let _ = b.call(&args).to_string();
    }
    let _ = p.call("no such function", &[]);
    let _ = p.close();
    assert!(p.is_closed());
    if let Some(f) = functions.first() {
        let args = arguments(f, rng);
        assert!(
            p.call(&f.name, &args).is_err(),
            "a closed plugin ran a call"
        );
    }
    let _ = p.memory_bytes();
}

/// Every error must print.
fn check_error(e: &Error) {
    let _ = (e.to_string(), format!("{e:?}"));
}

/// Arguments for `f`: mostly of the declared types, sometimes of the wrong type or number.
fn arguments(f: &FunctionInfo, rng: &mut Rng) -> Vec<Object> {
    let mut args: Vec<Object> = f
        .signature
        .params
        .iter()
        .map(|p| value_of(&p.ty, rng, 0))
        .collect();
    match rng.below(16) {
        0 => args.push(Object::Int(1)),
        1 => {
            args.pop();
        }
        2 if !args.is_empty() => {
            let i = rng.below(args.len() as u64) as usize;
            args[i] = any_value(rng, 2);
        }
        3 if !args.is_empty() => {
            let i = rng.below(args.len() as u64) as usize;
            args[i] = odd_value(rng);
        }
        _ => {}
    }
    args
}

/// Values no plugin can take: builtins, errors, modules.
fn odd_value(rng: &mut Rng) -> Object {
    match rng.below(3) {
        0 => Object::Builtin(Builtin::new("fuzz.f", |_| Object::Null)),
        1 => Object::error("fuzz"),
        _ => Object::from(xxlang_plugin::Module::new("fuzz", BTreeMap::new())),
    }
}

fn value_of(ty: &Type, rng: &mut Rng, depth: usize) -> Object {
    match ty {
        Type::Null => Object::Null,
        Type::Bool => Object::Bool(rng.below(2) == 1),
        Type::Int => Object::Int(int(rng)),
        Type::Float => match rng.below(8) {
            0 => Object::Int(int(rng)),
            _ => Object::Float(float(rng)),
        },
        Type::String => Object::from(string(rng)),
        Type::Bytes => Object::from(bytes(rng)),
        Type::Array(elem) => {
            let n = rng.below(5) as usize;
            (0..n).map(|_| value_of(elem, rng, depth + 1)).collect()
        }
        Type::Map => Object::from(map(rng, depth)),
        _ => any_value(rng, depth),
    }
}

fn any_value(rng: &mut Rng, depth: usize) -> Object {
    let kinds = if depth >= 3 { 6 } else { 8 };
    match rng.below(kinds) {
        0 => Object::Null,
        1 => Object::Bool(rng.below(2) == 1),
        2 => Object::Int(int(rng)),
        3 => Object::Float(float(rng)),
        4 => Object::from(string(rng)),
        5 => Object::from(bytes(rng)),
        6 => {
            let n = rng.below(4) as usize;
            (0..n).map(|_| any_value(rng, depth + 1)).collect()
        }
        _ => Object::from(map(rng, depth)),
    }
}

fn map(rng: &mut Rng, depth: usize) -> Map {
    let mut m = Map::new();
    for _ in 0..rng.below(4) {
        let key = match rng.below(3) {
            0 => MapKey::Bool(rng.below(2) == 1),
            1 => MapKey::Int(int(rng)),
            _ => MapKey::String(Arc::from(string(rng))),
        };
        m.insert(key, any_value(rng, depth + 1));
    }
    m
}

fn int(rng: &mut Rng) -> i64 {
    const EDGES: &[i64] = &[
        0,
        1,
        -1,
        2,
        10,
        50,
        92,
        93,
        1000,
        -1000,
        i32::MAX as i64,
        i32::MIN as i64,
        i32::MAX as i64 + 1,
        i32::MIN as i64 - 1,
        u32::MAX as i64,
        i64::MAX,
        i64::MIN,
    ];
    match rng.below(4) {
        0 => EDGES[rng.below(EDGES.len() as u64) as usize],
        1 => rng.next_u64() as i64,
        _ => rng.below(200) as i64 - 100,
    }
}

fn float(rng: &mut Rng) -> f64 {
    const EDGES: &[f64] = &[
        0.0,
        -0.0,
        1.5,
        -2.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
        1e300,
    ];
    match rng.below(3) {
        0 => EDGES[rng.below(EDGES.len() as u64) as usize],
        1 => f64::from_bits(rng.next_u64()),
        _ => rng.below(2000) as f64 / 8.0 - 125.0,
    }
}

fn string(rng: &mut Rng) -> String {
    const SOME: &[&str] = &[
        "",
        "a",
        "hello world",
        "a😀b",
        "  several   words \t here\n",
        "racecar",
        "héllo",
        "\0",
    ];
    match rng.below(4) {
        0 => "x".repeat(rng.below(300) as usize),
        1 => {
            let n = rng.below(24) as usize;
            let raw: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            String::from_utf8_lossy(&raw).into_owned()
        }
        _ => SOME[rng.below(SOME.len() as u64) as usize].to_string(),
    }
}

fn bytes(rng: &mut Rng) -> Vec<u8> {
    let n = rng.below(40) as usize;
    (0..n).map(|_| rng.next_u64() as u8).collect()
}

/// A small deterministic generator seeded from the input, so an input always runs the same
/// calls (and a crash reproduces from its file alone).
pub struct Rng(u64);

impl Rng {
    /// Seeded with the FNV-1a hash of `data`.
    pub fn from_input(data: &[u8]) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in data {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h | 1)
    }

    /// The next 64 bits (xorshift64*).
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}
