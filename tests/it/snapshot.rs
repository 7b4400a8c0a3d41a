//! Snapshots: after a trap or a limit, the fresh instance starts from a copy of the load's
//! instance after its start-up (memory, globals) instead of running start-up again; and runs
//! start-up where a copy would not give the same instance (src/wasm/snapshot.rs).

use crate::common;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use common::call;
use xxlang_plugin::{Config, HostFunction, Object, Plugin, Recovery, Signature, Type, WasmPlugin};

/// A plugin whose start-up sets a global, adds to a memory cell, grows the memory by two
/// pages and writes into the last one, and prints `started` (through WASI when `print` is
/// true); `mutate` changes all of that, `boom` traps.
fn stateful(print: bool) -> Vec<u8> {
    let (import, write) = if print {
        (
            r#"(import "wasi_snapshot_preview1" "fd_write"
                (func $fd_write (param i32 i32 i32 i32) (result i32)))"#,
            "(i32.store (i32.const 0) (i32.const 16))
             (i32.store (i32.const 4) (i32.const 8))
             (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))",
        )
    } else {
        ("", "")
    };
    let src = format!(
        r#"(module
            {import}
            (memory (export "memory") 1)
            (global $g (mut i64) (i64.const 0))
            (data (i32.const 16) "started\n")
            (func (export "_initialize")
                {write}
                (global.set $g (i64.add (global.get $g) (i64.const 5)))
                (i64.store (i32.const 1024) (i64.add (i64.load (i32.const 1024)) (i64.const 42)))
                (drop (memory.grow (i32.const 2)))
                (i64.store (i32.const 196600) (i64.const 7)))
            (func (export "counter") (result i64) (global.get $g))
            (func (export "cell") (result i64) (i64.load (i32.const 1024)))
            (func (export "far") (result i64) (i64.load (i32.const 196600)))
            (func (export "text") (result i64) (i64.load (i32.const 16)))
            (func (export "pages") (result i32) (memory.size))
            (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
            (func (export "mutate")
                (global.set $g (i64.const 99))
                (i64.store (i32.const 1024) (i64.const 77))
                (i64.store (i32.const 196600) (i64.const 0))
                (i64.store (i32.const 16) (i64.const 0))
                (drop (memory.grow (i32.const 1))))
            (func (export "boom") unreachable)
            (func (export "spin") (loop $l (br $l))))"#
    );
    wat::parse_str(src).expect("wat")
}

/// What the instance looks like: counter, cell, far, text, pages.
fn state(p: &WasmPlugin) -> [Object; 5] {
    ["counter", "cell", "far", "text", "pages"].map(|f| call(p, f, &[]))
}

/// The state start-up leaves.
fn started() -> [Object; 5] {
    let text = i64::from_le_bytes(*b"started\n");
    [5, 42, 7, text, 3].map(Object::Int)
}

#[test]
fn after_a_trap_memory_and_globals_are_as_start_up_left_them() {
    for snapshots in [true, false] {
        let config = Config::new().snapshots(snapshots).fuel(100_000);
        let p = WasmPlugin::from_bytes_with("stateful", &stateful(false), &config).expect("load");
        assert_eq!(state(&p), started());
        call(&p, "mutate", &[]);
        assert_eq!(state(&p), [99, 77, 0, 0, 4].map(Object::Int));
        assert!(call(&p, "boom", &[]).is_error());
        // Not the mutated state, and not start-up run twice on one memory (cell 84).
        assert_eq!(state(&p), started(), "snapshots: {snapshots}");
        // A limit starts afresh too, and so does every later trap.
        call(&p, "mutate", &[]);
        assert!(call(&p, "spin", &[]).is_error());
        assert_eq!(state(&p), started(), "snapshots: {snapshots}");
    }
}

#[cfg(feature = "wasi")]
#[test]
fn start_up_runs_once_with_a_snapshot_and_again_without() {
    use xxlang_plugin::{OutputBuffer, WasiOutput, WasiPolicy};
    for (snapshots, output) in [(true, "started\n"), (false, "started\nstarted\n")] {
        let out = OutputBuffer::new();
        let config = Config::new()
            .snapshots(snapshots)
            .wasi(WasiPolicy::new().stdout(WasiOutput::Capture(out.clone())));
        let p = WasmPlugin::from_bytes_with("stateful", &stateful(true), &config).expect("load");
        assert_eq!(out.contents(), b"started\n");
        call(&p, "mutate", &[]);
        assert!(call(&p, "boom", &[]).is_error());
        assert_eq!(state(&p), started(), "snapshots: {snapshots}");
        assert_eq!(out.take_string(), output, "snapshots: {snapshots}");
    }
}

/// A new instance of a pool (here: a second one, made while the first is busy inside a host
/// function, on an engine of its own) starts from the snapshot too.
#[cfg(feature = "wasi")]
#[test]
fn a_pool_grows_from_the_snapshot() {
    use std::time::Duration;
    use xxlang_plugin::{OutputBuffer, WasiOutput, WasiPolicy};
    let gate = common::gate("hold", Signature::new(vec![], Type::Null), |_| Object::Null);
    let (hold, arrived, go) = (gate.function, gate.arrived, gate.go);
    let bytes = wat::parse_str(POOLED).expect("wat");
    for (snapshots, output) in [(true, "started\n"), (false, "started\nstarted\n")] {
        let out = OutputBuffer::new();
        let config = Config::new()
            .instances(2)
            .pool_stateful(true)
            .snapshots(snapshots)
            .host_function(hold.clone())
            .wasi(WasiPolicy::new().stdout(WasiOutput::Capture(out.clone())));
        let p = Arc::new(WasmPlugin::from_bytes_with("pooled", &bytes, &config).expect("load"));
        let busy = {
            let p = p.clone();
            std::thread::spawn(move || p.call("hold", &[]))
        };
        arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("first instance busy");
        // This call finds the first instance busy and starts the second.
        assert_eq!(
            [call(&*p, "counter", &[]), call(&*p, "cell", &[])],
            [Object::Int(5), Object::Int(42)],
            "snapshots: {snapshots}"
        );
        assert_eq!(p.pool().instances, 2);
        go.send(()).expect("go");
        busy.join().expect("no panic").expect("hold");
        assert_eq!(out.take_string(), output, "snapshots: {snapshots}");
    }
}

/// A start-up like `stateful(true)`'s, and `hold()`, which waits in the host function `hold`.
#[cfg(feature = "wasi")]
const POOLED: &str = r#"(module
        (import "wasi_snapshot_preview1" "fd_write"
            (func $fd_write (param i32 i32 i32 i32) (result i32)))
        (import "xxhost" "hold" (func $hold))
        (memory (export "memory") 1)
        (global $g (mut i64) (i64.const 0))
        (data (i32.const 16) "started\n")
        (func (export "_initialize")
            (i32.store (i32.const 0) (i32.const 16))
            (i32.store (i32.const 4) (i32.const 8))
            (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
            (global.set $g (i64.add (global.get $g) (i64.const 5)))
            (i64.store (i32.const 1024) (i64.add (i64.load (i32.const 1024)) (i64.const 42))))
        (func (export "counter") (result i64) (global.get $g))
        (func (export "cell") (result i64) (i64.load (i32.const 1024)))
        (func (export "call_hold") (result i64) (call $hold) (i64.const 0)))"#;

#[test]
fn memory_grown_at_start_up_counts_against_the_limit_after_a_restore() {
    // Four pages allowed; start-up leaves three.
    let config = Config::new().max_memory(4 << 16);
    let p = WasmPlugin::from_bytes_with("stateful", &stateful(false), &config).expect("load");
    assert_eq!(call(&p, "grow", &[Object::Int(1)]), Object::Int(3));
    assert!(call(&p, "boom", &[]).is_error());
    assert_eq!(call(&p, "pages", &[]), Object::Int(3));
    // Three pages restored, so two more are over the limit, one is not.
    assert_eq!(call(&p, "grow", &[Object::Int(2)]), Object::Int(-1));
    assert_eq!(call(&p, "grow", &[Object::Int(1)]), Object::Int(3));
    assert_eq!(call(&p, "grow", &[Object::Int(1)]), Object::Int(-1));
}

#[test]
fn code_that_changes_tables_falls_back_to_start_up() {
    // Start-up puts `$seven` in the table; a snapshot would bring back the memory but not the
    // table, and `indirect` would trap.
    let src = r#"(module
        (table 1 funcref)
        (global $g (mut i32) (i32.const 0))
        (elem declare func $seven)
        (func $seven (result i64) (i64.const 7))
        (func (export "_initialize")
            (table.set (i32.const 0) (ref.func $seven))
            (global.set $g (i32.const 1)))
        (func (export "indirect") (result i64) (call_indirect (result i64) (i32.const 0)))
        (func (export "boom") unreachable))"#;
    let p = common::wat("tables", src).expect("load");
    assert_eq!(call(&p, "indirect", &[]), Object::Int(7));
    assert!(call(&p, "boom", &[]).is_error());
    assert_eq!(call(&p, "indirect", &[]), Object::Int(7));
}

#[test]
fn a_host_function_called_at_start_up_is_called_again() {
    let ticks = Arc::new(AtomicI64::new(0));
    let tick = {
        let ticks = ticks.clone();
        HostFunction::new("tick", Signature::new(vec![], Type::Int), move |_, _| {
            Ok(Object::Int(ticks.fetch_add(1, Ordering::Relaxed) + 1))
        })
    };
    let src = r#"(module
        (import "xxhost" "tick" (func $tick (result i64)))
        (memory (export "memory") 1)
        (func (export "_initialize") (i64.store (i32.const 0) (call $tick)))
        (func (export "seen") (result i64) (i64.load (i32.const 0)))
        (func (export "boom") unreachable))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let p = WasmPlugin::from_bytes_with("ticks", &bytes, &Config::new().host_function(tick))
        .expect("load");
    assert_eq!(call(&p, "seen", &[]), Object::Int(1));
    assert!(call(&p, "boom", &[]).is_error());
    // The embedder's function may matter (it counts here): start-up ran again.
    assert_eq!(call(&p, "seen", &[]), Object::Int(2));
    assert_eq!(ticks.load(Ordering::Relaxed), 2);
}

#[test]
fn internal_exports_stay_internal() {
    let p = WasmPlugin::from_bytes("stateful", &stateful(false)).expect("load");
    let names: Vec<String> = p.functions().into_iter().map(|f| f.wasm_name).collect();
    assert!(names.iter().all(|n| !n.starts_with('\0')), "{names:?}");
    assert!(
        p.skipped().iter().all(|s| !s.wasm_name.starts_with('\0')),
        "{:?}",
        p.skipped()
    );
    assert!(p.exports().keys().all(|n| !n.starts_with('\0')));
}

/// The events `f` emits (at debug and above).
fn events(f: impl FnOnce()) -> Vec<String> {
    common::traced(tracing::Level::DEBUG, f)
}

#[cfg(feature = "wasi")] // Go plugins import WASI
#[test]
fn go_plugins_come_back_from_a_limit_restored() {
    use xxlang_plugin::{ErrorKind, Limit};
    if !common::have_plugin("fib_go") || !common::have_plugin("textkit_go") {
        return;
    }
    // fast(4096) loops 4096 times: more than the fuel; fast(10) fits.
    let config = Config::new().fuel(20_000);
    let lines = events(|| {
        let fib = WasmPlugin::from_file_with(common::plugin_file("fib_go"), &config).expect("load");
        for _ in 0..3 {
            assert_eq!(
                fib.call("fast", &[Object::Int(10)]).ok(),
                Some(Object::Int(55))
            );
            assert!(matches!(
                common::kind(&fib.call("fast", &[Object::Int(4096)])),
                Some(ErrorKind::Limit(Limit::Fuel(20_000)))
            ));
            // The legacy result slot from the load's metadata read is valid in the copy.
            assert_eq!(
                fib.call("range_", &[Object::Int(5)])
                    .map(|v| v.to_string())
                    .ok(),
                Some(String::from("[0, 1, 1, 2, 3, 5]"))
            );
        }
        let textkit = WasmPlugin::from_file_with(
            common::plugin_file("textkit_go"),
            &Config::new().fuel(1_000_000),
        )
        .expect("load");
        let long = "ab".repeat(1 << 20);
        assert!(
            textkit
                .call("upper", &[Object::from(long.as_str())])
                .is_err()
        );
        assert_eq!(
            textkit.call("upper", &[Object::from("ab")]).ok(),
            Some(Object::from("AB"))
        );
    });
    let all = lines.join("\n");
    let taken = lines
        .iter()
        .filter(|l| l.contains("snapshot of the started instance taken"))
        .count();
    assert_eq!(taken, 2, "{all}");
    assert!(!lines.iter().any(|l| l.contains("no snapshot")), "{all}");
}

#[test]
fn no_snapshot_when_instances_are_kept() {
    let config = Config::new().on_trap(Recovery::KeepInstance);
    let lines = events(|| {
        let p = WasmPlugin::from_bytes_with("stateful", &stateful(false), &config).expect("load");
        call(&p, "mutate", &[]);
        assert!(call(&p, "boom", &[]).is_error());
        assert_eq!(call(&p, "counter", &[]), Object::Int(99));
    });
    assert!(
        lines.iter().any(|l| l.contains("Recovery::KeepInstance")),
        "{lines:?}"
    );
}

/// `stateful(false)` imports nothing: its start-up cannot reach outside the instance, so the
/// load defers the snapshot to the first fresh instance, which runs start-up again (the same
/// instance) and is copied for every later one. (That the copy is then used shows with a clock:
/// see `a_deferred_snapshot_is_taken_from_the_first_fresh_instance`.)
#[test]
fn a_start_up_that_reaches_nothing_outside_comes_back_the_same() {
    let config = Config::new().fuel(100_000);
    let lines = events(|| {
        let p = WasmPlugin::from_bytes_with("stateful", &stateful(false), &config).expect("load");
        assert_eq!(state(&p), started());
        for _ in 0..3 {
            call(&p, "mutate", &[]);
            assert!(call(&p, "boom", &[]).is_error());
            assert_eq!(state(&p), started());
        }
    });
    assert!(
        !lines.iter().any(|l| l.contains("no snapshot")),
        "{lines:?}"
    );
}

/// A load that runs none of the plugin's code (no start function, `_initialize` or metadata
/// export) keeps no snapshot: a fresh instance is the load's instance already.
#[test]
fn a_load_that_runs_no_plugin_code_needs_no_snapshot() {
    let src = r#"(module
        (memory (export "memory") 1)
        (global $g (mut i64) (i64.const 3))
        (data (i32.const 0) "data")
        (func (export "read") (result i64) (i64.add (global.get $g) (i64.load32_u (i32.const 0))))
        (func (export "mutate") (global.set $g (i64.const 0)) (i32.store (i32.const 0) (i32.const 0)))
        (func (export "boom") unreachable))"#;
    let data = i64::from(u32::from_le_bytes(*b"data"));
    let lines = events(|| {
        let p = common::wat("plain", src).expect("load");
        assert_eq!(call(&p, "read", &[]), Object::Int(3 + data));
        call(&p, "mutate", &[]);
        assert_eq!(call(&p, "read", &[]), Object::Int(0));
        assert!(call(&p, "boom", &[]).is_error());
        assert_eq!(call(&p, "read", &[]), Object::Int(3 + data));
    });
    // Not even from the fresh instance after the trap.
    assert!(
        !lines.iter().any(|l| l.contains("snapshot of the started")),
        "{lines:?}"
    );
}

/// A second load of the same bytes (a hit in the module cache) is an instance of its own:
/// start-up ran for it, and what the first plugin did to its instance is not there.
#[test]
fn a_cache_hit_gets_a_fresh_instance() {
    let bytes = stateful(false);
    let first = WasmPlugin::from_bytes("stateful", &bytes).expect("load");
    call(&first, "mutate", &[]);
    let mutated = [99, 77, 0, 0, 4].map(Object::Int);
    assert_eq!(state(&first), mutated);
    let second = WasmPlugin::from_bytes("stateful", &bytes).expect("load");
    assert_eq!(state(&second), started());
    assert_eq!(state(&first), mutated);
    // And each comes back from a trap to its own start-up.
    assert!(call(&second, "boom", &[]).is_error());
    assert_eq!(state(&second), started());
    assert_eq!(state(&first), mutated);
}

/// Loads of the same bytes under different configs share the compiled module only when the
/// engine settings agree, and never their start-up: each instance, and each fresh instance
/// after a trap, starts as start-up left it under its own config (here the memory limit
/// decides what `memory.grow` at start-up returns, kept in a global).
#[test]
fn loads_under_different_configs_keep_their_own_start_up_state() {
    let src = r#"(module
        (memory (export "memory") 1)
        (global $grown (mut i32) (i32.const 7))
        (func (export "_initialize") (global.set $grown (memory.grow (i32.const 2))))
        (func (export "grown") (result i32) (global.get $grown))
        (func (export "pages") (result i32) (memory.size))
        (func (export "mutate") (global.set $grown (i32.const 42)))
        (func (export "boom") unreachable))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let roomy = Config::new().max_memory(4 << 16);
    let tight = Config::new().max_memory(2 << 16);
    let load =
        |config: &Config| WasmPlugin::from_bytes_with("grows", &bytes, config).expect("load");
    let (a, b, c) = (load(&roomy), load(&tight), load(&roomy));
    let look = |p: &WasmPlugin| [call(p, "grown", &[]), call(p, "pages", &[])];
    let (grew, did_not) = ([1, 3].map(Object::Int), [-1, 1].map(Object::Int));
    for _ in 0..2 {
        assert_eq!(look(&a), grew);
        assert_eq!(look(&b), did_not);
        assert_eq!(look(&c), grew);
        for p in [&a, &b, &c] {
            call(p, "mutate", &[]);
            assert!(call(p, "boom", &[]).is_error());
        }
    }
}

/// The same for WASI: a start-up that reads its environment (a plain read, so the snapshot
/// is deferred to the first fresh instance, which reads it again) sees each load's own, and so
/// does every fresh instance after a trap.
#[cfg(feature = "wasi")]
#[test]
fn loads_under_different_wasi_policies_keep_their_own_start_up_state() {
    use xxlang_plugin::WasiPolicy;
    let src = r#"(module
        (import "wasi_snapshot_preview1" "environ_sizes_get"
            (func $sizes (param i32 i32) (result i32)))
        (memory (export "memory") 1)
        (global $bytes (mut i64) (i64.const 0))
        (func (export "_initialize")
            (drop (call $sizes (i32.const 0) (i32.const 4)))
            (global.set $bytes (i64.load32_u (i32.const 4))))
        (func (export "env_bytes") (result i64) (global.get $bytes))
        (func (export "mutate") (global.set $bytes (i64.const 999)))
        (func (export "boom") unreachable))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let with_env = |value: &str| {
        let config = Config::new().wasi(WasiPolicy::new().env("K", value));
        WasmPlugin::from_bytes_with("env", &bytes, &config).expect("load")
    };
    // `K=v\0` is 4 bytes, `K=value\0` 8.
    let (short, long) = (with_env("v"), with_env("value"));
    for _ in 0..2 {
        assert_eq!(call(&short, "env_bytes", &[]), Object::Int(4));
        assert_eq!(call(&long, "env_bytes", &[]), Object::Int(8));
        for p in [&short, &long] {
            call(p, "mutate", &[]);
            assert!(call(p, "boom", &[]).is_error());
        }
    }
}

/// Whether the load copies its instance or leaves that to the first fresh instance follows
/// from what start-up did, and shows in the time start-up read: a plain read of the clock or
/// randomness leaves the copy to the first fresh instance (which reads the clock anew, and
/// every later one has what it read); output (WASI or `xxplugin.log`) means start-up must not
/// run again, so the copy is taken at load (every fresh instance has the load's time).
#[cfg(feature = "wasi")]
#[test]
fn a_deferred_snapshot_is_taken_from_the_first_fresh_instance() {
    let module = |imports: &str, body: &str| {
        wat::parse_str(format!(
            r#"(module
                (import "wasi_snapshot_preview1" "clock_time_get"
                    (func $clock (param i32 i64 i32) (result i32)))
                (import "wasi_snapshot_preview1" "random_get"
                    (func $random (param i32 i32) (result i32)))
                {imports}
                (memory (export "memory") 1)
                (data (i32.const 16) "started\n")
                (func (export "_initialize")
                    {body}
                    (drop (call $random (i32.const 128) (i32.const 8)))
                    (drop (call $clock (i32.const 1) (i64.const 1) (i32.const 64))))
                (func (export "time") (result i64) (i64.load (i32.const 64)))
                (func (export "boom") unreachable))"#
        ))
        .expect("wat")
    };
    let write = r#"(import "wasi_snapshot_preview1" "fd_write"
        (func $write (param i32 i32 i32 i32) (result i32)))"#;
    let cases = [
        (module("", ""), true),
        (
            module(
                write,
                "(i32.store (i32.const 0) (i32.const 16))
                 (i32.store (i32.const 4) (i32.const 8))
                 (drop (call $write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))",
            ),
            false,
        ),
        (
            module(
                r#"(import "xxplugin" "log" (func $log (param i32 i32 i32)))"#,
                "(call $log (i32.const 3) (i32.const 16) (i32.const 7))",
            ),
            false,
        ),
    ];
    for (bytes, deferred) in cases {
        let p = WasmPlugin::from_bytes("clock", &bytes).expect("load");
        let at_load = call(&p, "time", &[]);
        assert!(call(&p, "boom", &[]).is_error());
        let first = call(&p, "time", &[]);
        assert!(call(&p, "boom", &[]).is_error());
        let second = call(&p, "time", &[]);
        assert_eq!(first != at_load, deferred, "deferred: {deferred}");
        assert_eq!(second, first, "deferred: {deferred}");
    }
}
