//! Loads of the same bytes: a module that imports nothing starts the same every time, so a
//! load of it while an earlier load is alive takes what start-up reported from that load and
//! starts its instance at its first call (`Prelude` in src/wasm/load.rs). Each test builds
//! its own module (a unique name in the bytes), so no other test shares its cache entry.

use xxlang_plugin::{Config, Object, Plugin, WasmPlugin};

/// A module, unique by `tag`, whose `_initialize` adds 42 to a memory cell, grows the memory
/// by `grow` pages (trapping if that is refused) and spins `spin` times; `get` reads the cell, `bump` adds one to it,
/// `boom` traps.
fn module(tag: &str, grow: u32, spin: u32) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
            (memory (export "memory") 1)
            (data (i32.const 64) "{tag}")
            (func (export "_initialize") (local $i i32)
                (i64.store (i32.const 1024) (i64.add (i64.load (i32.const 1024)) (i64.const 42)))
                (if (i32.eq (memory.grow (i32.const {grow})) (i32.const -1)) (then unreachable))
                (loop $l
                    (local.set $i (i32.add (local.get $i) (i32.const 1)))
                    (br_if $l (i32.lt_u (local.get $i) (i32.const {spin})))))
            (func (export "get") (result i64) (i64.load (i32.const 1024)))
            (func (export "bump") (result i64)
                (i64.store (i32.const 1024) (i64.add (i64.load (i32.const 1024)) (i64.const 1)))
                (i64.load (i32.const 1024)))
            (func (export "boom") unreachable))"#
    ))
    .expect("wat")
}

/// Two loads of `bytes` under `config`, named `first` and `second`; both alive.
fn loaded_twice(bytes: &[u8], config: &Config) -> (WasmPlugin, WasmPlugin) {
    let first = WasmPlugin::from_bytes_with("first", bytes, config).expect("first load");
    let second = WasmPlugin::from_bytes_with("second", bytes, config).expect("second load");
    (first, second)
}

#[test]
fn a_second_load_starts_its_instance_at_its_first_call() {
    let bytes = module("second-load", 1, 10);
    let first = WasmPlugin::from_bytes("first", &bytes).expect("first load");
    assert_eq!(
        first.memory_bytes(),
        Some(2 << 16),
        "the first load ran start-up"
    );
    let second = WasmPlugin::from_bytes("second", &bytes).expect("second load");
    assert_eq!(
        second.memory_bytes(),
        None,
        "no instance before the first call"
    );
    assert_eq!(second.pool().instances, 0);
    assert_eq!(second.call("get", &[]).ok(), Some(Object::Int(42)));
    assert_eq!(
        second.memory_bytes(),
        Some(2 << 16),
        "start-up ran at the first call"
    );
    assert_eq!(second.pool().instances, 1);
    // Each load has its own instance.
    assert_eq!(second.call("bump", &[]).ok(), Some(Object::Int(43)));
    assert_eq!(first.call("get", &[]).ok(), Some(Object::Int(42)));
    assert_eq!(first.name(), "first");
    assert_eq!(second.name(), "second");
}

#[test]
fn a_trap_in_the_first_call_leaves_the_plugin_usable() {
    let bytes = module("first-call-traps", 1, 10);
    let (_first, second) = loaded_twice(&bytes, &Config::new());
    assert!(second.call("boom", &[]).is_err());
    assert_eq!(second.call("get", &[]).ok(), Some(Object::Int(42)));
    assert_eq!(second.call("bump", &[]).ok(), Some(Object::Int(43)));
}

#[test]
fn a_later_load_with_a_smaller_memory_limit_fails_as_a_first_load_would() {
    let bytes = module("memory-limit", 3, 10);
    let _first = WasmPlugin::from_bytes("first", &bytes).expect("first load: 4 pages");
    let small = Config::new().max_memory(2 << 16);
    let err = WasmPlugin::from_bytes_with("second", &bytes, &small).unwrap_err();
    assert!(
        err.to_string().contains("hit its memory limit"),
        "start-up ran again, and its growth was refused: {err}"
    );
}

#[test]
fn a_later_load_with_less_start_up_fuel_fails_as_a_first_load_would() {
    let bytes = module("startup-fuel", 0, 100_000);
    let _first = WasmPlugin::from_bytes("first", &bytes).expect("first load");
    let tight = Config::new().startup_fuel(1_000);
    let err = WasmPlugin::from_bytes_with("second", &bytes, &tight).unwrap_err();
    assert!(err.to_string().contains("fuel"), "{err}");
    // With enough, it loads lazily and runs.
    let roomy = Config::new().startup_fuel(10_000_000);
    let third = WasmPlugin::from_bytes_with("third", &bytes, &roomy).expect("third load");
    assert_eq!(third.call("get", &[]).ok(), Some(Object::Int(42)));
}

#[test]
fn a_legacy_plugin_loaded_twice_reports_the_same_metadata() {
    let path = format!("{}/plugins/testplugin.wasm", env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(path).expect("read");
    let first = WasmPlugin::from_bytes("testplugin", &bytes).expect("first load");
    let second = WasmPlugin::from_bytes("testplugin", &bytes).expect("second load");
    assert_eq!(first.name(), second.name());
    assert_eq!(first.version(), second.version());
    let add = [Object::Int(2), Object::Int(3)];
    assert_eq!(second.call("add", &add).ok(), first.call("add", &add).ok());
}

#[test]
fn a_module_with_imports_runs_start_up_at_every_load() {
    let bytes = wat::parse_str(
        r#"(module
            (import "xxplugin" "log" (func $log (param i32 i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "with-imports")
            (func (export "_initialize") (call $log (i32.const 1) (i32.const 0) (i32.const 12)))
            (func (export "one") (result i64) (i64.const 1)))"#,
    )
    .expect("wat");
    let (_first, second) = loaded_twice(&bytes, &Config::new());
    assert_eq!(second.memory_bytes(), Some(1 << 16), "start-up ran at load");
}

/// A module that imports something but has no start-up code (no start function, no
/// `_initialize`, no metadata exports): start-up runs none of its code, so none of its imports
/// either, and a later load leaves the instance to the first call too.
#[test]
fn a_module_with_imports_but_no_start_up_code_starts_at_its_first_call() {
    let bytes = wat::parse_str(
        r#"(module
            (import "xxplugin" "log" (func $log (param i32 i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "imports-no-start-up")
            (func (export "logs") (result i64)
                (call $log (i32.const 1) (i32.const 0) (i32.const 19)) (i64.const 7))
            (func (export "bump") (result i64)
                (i64.store (i32.const 1024) (i64.add (i64.load (i32.const 1024)) (i64.const 1)))
                (i64.load (i32.const 1024))))"#,
    )
    .expect("wat");
    let (first, second) = loaded_twice(&bytes, &Config::new());
    assert_eq!(
        first.memory_bytes(),
        Some(1 << 16),
        "the first load started it"
    );
    assert_eq!(
        second.memory_bytes(),
        None,
        "no instance before the first call"
    );
    assert_eq!(second.call("logs", &[]).ok(), Some(Object::Int(7)));
    assert_eq!(second.memory_bytes(), Some(1 << 16));
    // Each load has its own instance.
    assert_eq!(second.call("bump", &[]).ok(), Some(Object::Int(1)));
    assert_eq!(second.call("bump", &[]).ok(), Some(Object::Int(2)));
    assert_eq!(first.call("bump", &[]).ok(), Some(Object::Int(1)));
}

/// A module that imports WASI starts at every load even without start-up code: its WASI
/// context is made with the instance, by the load's config, and a config whose policy the
/// host cannot honour fails that load.
#[cfg(feature = "wasi")]
#[test]
fn a_module_importing_wasi_starts_at_every_load() {
    let bytes = wat::parse_str(
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func (param i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "wasi-no-start-up")
            (func (export "one") (result i64) (i64.const 1)))"#,
    )
    .expect("wat");
    let (_first, second) = loaded_twice(&bytes, &Config::new());
    assert_eq!(second.memory_bytes(), Some(1 << 16), "started at load");
}

/// A module that imports something and runs start-up code that calls none of its imports:
/// that start-up is still a function of the module alone, so a later load leaves it to the
/// first call, which runs it.
#[test]
fn start_up_that_calls_no_import_starts_at_the_first_call() {
    let bytes = wat::parse_str(
        r#"(module
            (import "xxplugin" "log" (func $log (param i32 i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "start-up-calls-no-import")
            (func (export "_initialize")
                (i64.store (i32.const 1024) (i64.const 42)))
            (func (export "get") (result i64) (i64.load (i32.const 1024)))
            (func (export "logs") (call $log (i32.const 1) (i32.const 0) (i32.const 8))))"#,
    )
    .expect("wat");
    let (_first, second) = loaded_twice(&bytes, &Config::new());
    assert_eq!(
        second.memory_bytes(),
        None,
        "no instance before the first call"
    );
    assert_eq!(
        second.call("get", &[]).ok(),
        Some(Object::Int(42)),
        "start-up ran"
    );
}

/// Start-up that calls one of the embedder's host functions runs at every load: what the
/// function does and answers is the host's, not the module's.
#[test]
fn start_up_that_calls_a_host_function_runs_at_every_load() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use xxlang_plugin::{HostFunction, Signature, Type};
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let config = Config::new().host_function(HostFunction::new(
        "ping",
        Signature::new(vec![], Type::Int),
        move |_, _| Ok(Object::Int(counted.fetch_add(1, Ordering::SeqCst) as i64)),
    ));
    let bytes = wat::parse_str(
        r#"(module
            (import "xxhost" "ping" (func $ping (result i64)))
            (memory (export "memory") 1)
            (data (i32.const 0) "start-up-calls-the-host")
            (func (export "_initialize") (i64.store (i32.const 1024) (call $ping)))
            (func (export "get") (result i64) (i64.load (i32.const 1024))))"#,
    )
    .expect("wat");
    let (_first, second) = loaded_twice(&bytes, &config);
    assert_eq!(second.memory_bytes(), Some(1 << 16), "start-up ran at load");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "once per load");
    assert_eq!(second.call("get", &[]).ok(), Some(Object::Int(1)));
}

/// A module that declares its functions through its `xxplugin_manifest` export: what the
/// export sends is part of what start-up gives, so a later load takes the manifest and the
/// plans from the earlier one and runs none of the plugin's code.
#[test]
fn a_manifest_sent_by_the_export_is_taken_from_the_earlier_load() {
    let text = "abi 1\nname sent-manifest\nversion 2.0\nfn get() -> int";
    let bytes = wat::parse_str(format!(
        r#"(module
            (import "xxplugin" "result" (func $result (param i32 i32)))
            (memory (export "memory") 1)
            (data (i32.const 0) "{text}")
            (func (export "xxplugin_manifest")
                (i64.store (i32.const 1024) (i64.add (i64.load (i32.const 1024)) (i64.const 1)))
                (call $result (i32.const 0) (i32.const {len})))
            (func (export "get") (result i64) (i64.add (i64.load (i32.const 1024)) (i64.const 40)))
            (func (export "hidden") (result i64) (i64.const 0)))"#,
        text = text.replace('\n', "\\0a"),
        len = text.len()
    ))
    .expect("wat");
    let (first, second) = loaded_twice(&bytes, &Config::new());
    assert_eq!(
        second.memory_bytes(),
        None,
        "no instance before the first call"
    );
    for p in [&first, &second] {
        assert_eq!(p.name(), "sent-manifest");
        assert_eq!(p.version(), Some("2.0"));
    }
    assert_eq!(second.functions(), first.functions());
    let get = second.functions().into_iter().find(|f| f.name == "get");
    assert_eq!(
        get.map(|f| f.convention),
        Some(xxlang_plugin::Convention::Declared),
        "planned by the manifest the export sent"
    );
    // The first load's instance ran the export; the later one's starts without it, as any
    // fresh instance does.
    assert_eq!(first.call("get", &[]).ok(), Some(Object::Int(41)));
    assert_eq!(second.call("get", &[]).ok(), Some(Object::Int(40)));
}
