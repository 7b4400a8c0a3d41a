//! Hostile plugins: every attack ends in a clear Error (naming the plugin and, for calls, the
//! function), the host keeps running, the plugins next to it are unaffected, and memory stays
//! flat where that applies. Small attackers are inline WAT; WASI attacks use the committed
//! `wasiprobe_c` plugin; host-function attacks use `tests/fixtures/hostcall.wat`.

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use common::{assert_error, call, fixture_bytes, neighbours, neighbours_ok, plugin_file};
use xxlang_plugin::{
    Config, Error, ErrorKind, HostFunction, Limit, Loader, Object, Param, Plugin, Registry,
    Signature, Type, WasmPlugin,
};

fn bytes(src: &str) -> Vec<u8> {
    wat::parse_str(src).unwrap_or_else(|e| panic!("bad test WAT: {e}"))
}

fn load(src: &str, config: &Config) -> Result<WasmPlugin, Error> {
    neighbours();
    WasmPlugin::from_bytes_with("evil", &bytes(src), config)
}

fn loaded(src: &str, config: &Config) -> WasmPlugin {
    load(src, config).unwrap_or_else(|e| panic!("the attacker should load: {e}"))
}

/// The call fails with an error that starts with `PLUGIN.FUNCTION: ` and has every fragment.
#[track_caller]
fn refused(p: &WasmPlugin, function: &str, args: &[Object], fragments: &[&str]) -> Error {
    let e = match p.call(function, args) {
        Err(e) => e,
        Ok(v) => panic!("{}.{function} returned {v:?}", p.name()),
    };
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("{}.{function}: ", p.name())),
        "{msg}"
    );
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} does not mention {f:?}");
    }
    // Scripts see the same as an Error value.
    assert!(call(p, function, args).is_error());
    neighbours_ok();
    e
}

/// The load fails with an error naming the plugin and every fragment.
#[track_caller]
fn rejected(result: Result<WasmPlugin, Error>, fragments: &[&str]) -> Error {
    let e = match result {
        Err(e) => e,
        Ok(p) => panic!("the attacker loaded: {p:?}"),
    };
    let msg = e.to_string();
    assert!(msg.contains("evil"), "{msg}");
    for f in fragments {
        assert!(msg.contains(f), "{msg:?} does not mention {f:?}");
    }
    neighbours_ok();
    e
}

const SPIN: &str = r#"(module (memory (export "memory") 1)
    (func (export "spin") (loop $l (br $l)))
    (func (export "ok") (result i64) i64.const 7))"#;

// ------------------------------------------------------------------- CPU and stack

#[test]
fn a01_endless_loop_hits_the_deadline() {
    let p = loaded(SPIN, &Config::new().deadline(Duration::from_millis(20)));
    let e = refused(&p, "spin", &[], &["ran past its deadline (20 ms)"]);
    assert!(matches!(e.kind(), ErrorKind::Limit(Limit::Time(_))));
    assert_eq!(p.call("ok", &[]).ok(), Some(Object::Int(7)));
}

#[test]
fn a02_endless_loop_runs_out_of_fuel() {
    let p = loaded(SPIN, &Config::new().fuel(1_000_000));
    refused(
        &p,
        "spin",
        &[],
        &["ran out of fuel (limit: 1000000 units per call)"],
    );
    assert_eq!(p.call("ok", &[]).ok(), Some(Object::Int(7)));
}

#[test]
fn a03_endless_loop_is_cancelled_from_another_thread() {
    let p = Arc::new(loaded(SPIN, &Config::new().interruptible(true)));
    let handle = p.cancel_handle().expect("interruptible");
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        handle.cancel();
    });
    let e = p.call("spin", &[]).expect_err("cancelled");
    assert_eq!(
        e.to_string(),
        "evil.spin: was cancelled (plugin restarted, state reset)"
    );
    t.join().expect("canceller");
    assert_eq!(p.call("ok", &[]).ok(), Some(Object::Int(7)));
    neighbours_ok();
}

#[test]
fn a04_deep_recursion_hits_the_call_depth() {
    let p = loaded(
        r#"(module (func $r (export "r") (param i64) (result i64)
             (i64.add (call $r (local.get 0)) (i64.const 1))))"#,
        &Config::new(),
    );
    refused(
        &p,
        "r",
        &[Object::Int(0)],
        &["call depth limit (10000 nested calls)"],
    );
}

#[test]
fn a05_endless_start_function_is_bounded_when_metered() {
    rejected(
        load(
            r#"(module (func $s (loop $l (br $l))) (start $s))"#,
            &Config::new().fuel(1000),
        ),
        &["cannot instantiate", "fuel"],
    );
}

// ----------------------------------------------------------------- memory and tables

const GROW_BOMB: &str = r#"(module (memory (export "memory") 1)
    (func (export "bomb")
      (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
      unreachable)
    (func (export "huge") (result i32) (memory.grow (i32.const 65535)))
    (func (export "pages") (result i32) memory.size))"#;

#[test]
fn a06_memory_grow_bomb_stops_at_the_limit_and_memory_is_reset() {
    let p = loaded(GROW_BOMB, &Config::new().max_memory(4 << 20));
    assert_eq!(p.call("pages", &[]).ok(), Some(Object::Int(1)));
    let before = p.memory_bytes();
    assert_eq!(before, Some(1 << 16));
    for _ in 0..20 {
        refused(&p, "bomb", &[], &["hit its memory limit (4 MiB)"]);
    }
    // The next call starts with a fresh instance, of the initial size.
    assert_eq!(p.call("pages", &[]).ok(), Some(Object::Int(1)));
    assert_eq!(p.memory_bytes(), before);
}

#[test]
fn a07_a_4_gib_grow_is_refused_by_the_default_limit() {
    let p = loaded(GROW_BOMB, &Config::new());
    // memory.grow answers -1 (refused); the plugin can go on.
    assert_eq!(p.call("huge", &[]).ok(), Some(Object::Int(-1)));
    assert!(p.memory_bytes().is_some_and(|b| b <= 256 << 20));
    neighbours_ok();
}

#[test]
fn a08_huge_initial_memory_or_table_fails_the_load() {
    rejected(
        load(
            r#"(module (memory 4096))"#,
            &Config::new().max_memory(16 << 20),
        ),
        &[
            "its initial memory is 256 MiB, more than its memory limit of 16 MiB (Config::max_memory)",
        ],
    );
    rejected(
        load(r#"(module (table 10000000 funcref))"#, &Config::new()),
        &["hit its table limit (100000 elements) at start"],
    );
}

#[test]
fn a09_table_grow_bomb_stops_at_the_limit() {
    let p = loaded(
        r#"(module (table $t 1 funcref)
             (func (export "bomb")
               (loop $l (br_if $l (i32.ne (table.grow $t (ref.null func) (i32.const 1000))
                                          (i32.const -1))))
               unreachable))"#,
        &Config::new().max_table_elements(50_000),
    );
    refused(&p, "bomb", &[], &["hit its table limit (50000 elements)"]);
}

// ---------------------------------------------------------------- lying results

const TYPED: &str = r#"(module
  (import "xxplugin" "arg" (func $arg (param i32 i32)))
  (import "xxplugin" "result" (func $result (param i32 i32)))
  (import "xxplugin" "error" (func $error (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "ok\ff\fe")
  (func (export "oob") (call $result (i32.const 65000) (i32.const 1000)))
  (func (export "overflow") (call $result (i32.const -16) (i32.const 32)))
  (func (export "negative_len") (call $result (i32.const 0) (i32.const -1)))
  (func (export "not_utf8") (call $result (i32.const 0) (i32.const 4)))
  (func (export "arg_oob") (param i32) (call $arg (i32.const 0) (i32.const 65534)))
  (func (export "arg_index") (param i32) (call $arg (i32.const 7) (i32.const 0)))
  (func (export "loud") (result i64) (call $error (i32.const 0) (i32.const 65536)) (i64.const 0))
  (func (export "fine") (call $result (i32.const 0) (i32.const 2)))
  (@custom "xxplugin" "abi 1\nname evil\nfn oob() -> string\nfn overflow() -> bytes\nfn negative_len() -> string\nfn not_utf8() -> string\nfn arg_oob(s: string) -> string\nfn arg_index(s: string) -> string\nfn loud() -> int\nfn fine() -> string\n"))"#;

#[test]
fn a10_results_out_of_bounds_or_overflowing_are_abi_violations() {
    let p = loaded(TYPED, &Config::new());
    refused(&p, "oob", &[], &["ABI violation", "outside"]);
    refused(&p, "overflow", &[], &["ABI violation"]);
    refused(&p, "negative_len", &[], &["ABI violation"]);
    refused(
        &p,
        "arg_oob",
        &[Object::from("hello")],
        &["xxplugin.arg", "outside"],
    );
    refused(
        &p,
        "arg_index",
        &[Object::from("hello")],
        &["xxplugin.arg", "parameter 7"],
    );
    assert_eq!(p.call("fine", &[]).ok(), Some(Object::from("ok")));
}

#[test]
fn a11_a_string_that_is_not_utf8_is_an_abi_violation() {
    let p = loaded(TYPED, &Config::new());
    refused(&p, "not_utf8", &[], &["ABI violation", "UTF-8"]);
}

#[test]
fn a12_a_huge_error_message_is_cut_short() {
    let p = loaded(TYPED, &Config::new());
    let e = refused(&p, "loud", &[], &[]);
    assert!(e.to_string().len() < 5000, "{}", e.to_string().len());
}

#[test]
fn a13_a_result_larger_than_allowed_is_refused() {
    let src = r#"(module
      (import "xxplugin" "result" (func $result (param i32 i32)))
      (memory (export "memory") 32)
      (func (export "big") (call $result (i32.const 0) (i32.const 2000000)))
      (@custom "xxplugin" "abi 1\nfn big() -> bytes\n"))"#;
    let p = loaded(src, &Config::new().max_result_bytes(1 << 20));
    refused(&p, "big", &[], &["2000000", "1048576"]);
}

#[test]
fn a14_a_legacy_range_slot_pointing_out_of_bounds_is_an_abi_violation() {
    let p = WasmPlugin::from_bytes("evil", &fixture_bytes("range_bounds")).expect("loads");
    refused(&p, "range_", &[Object::Int(1000)], &["ABI violation"]);
}

// --------------------------------------------------------------------- alloc

fn with_alloc(body: &str) -> String {
    format!(
        r#"(module (memory (export "memory") 1)
             (func (export "alloc") (param i32) (result i32) {body})
             (func (export "plugin_name") (param i32)
               (i32.store (local.get 0) (i32.const 100))
               (i32.store offset=4 (local.get 0) (i32.const 4)))
             (data (i32.const 100) "evil"))"#
    )
}

#[test]
fn a15_alloc_that_traps_returns_null_or_out_of_bounds_fails_the_load() {
    rejected(
        load(&with_alloc("unreachable"), &Config::new()),
        &["`alloc`", "trapped"],
    );
    rejected(
        load(&with_alloc("i32.const 0"), &Config::new()),
        &["`alloc`", "returned 0"],
    );
    rejected(
        load(&with_alloc("i32.const 65534"), &Config::new()),
        &["`alloc`", "0xfffe"],
    );
    rejected(
        load(&with_alloc("i32.const -8"), &Config::new()),
        &["`alloc`"],
    );
    // The same module with an honest alloc loads, under the name it declares.
    let p = load(&with_alloc("i32.const 1024"), &Config::new()).expect("honest alloc");
    assert_eq!(p.name(), "evil");
}

// ------------------------------------------------------------- declarations

#[test]
fn a16_a_declaration_that_contradicts_the_wasm_types_fails_the_load() {
    let src = r#"(module (memory (export "memory") 1)
      (func (export "upper") (param i64) (result i64) local.get 0)
      (@custom "xxplugin" "abi 1\nname evil\nfn upper(s: string) -> string\n"))"#;
    rejected(load(src, &Config::new()), &["manifest", "upper"]);
    assert!(WasmPlugin::describe(&bytes(src)).is_err());
}

#[test]
fn a17_a_malformed_declaration_fails_the_load_with_its_line() {
    for section in [
        "abi 1\nname evil\nfn (((\n",
        "abi 1\nname evil\nfn f(x: nosuchtype) -> int\n",
        "abi 1\nname evil\nfn f(x: int, x: int) -> int\n",
        "abi 1\nname ../../etc\n",
        "abi 1\n\u{0}\u{1}garbage\n",
    ] {
        let src = format!(
            r#"(module (func (export "f") (param i64 i64) (result i64) local.get 0)
                 (@custom "xxplugin" "{}"))"#,
            section.escape_default()
        );
        let e = rejected(load(&src, &Config::new()), &[]);
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Manifest { .. } | ErrorKind::InvalidName { .. }
            ),
            "{section:?}: {e}"
        );
    }
}

#[test]
fn a18_a_future_abi_version_fails_the_load() {
    let src = r#"(module (@custom "xxplugin" "abi 99\nname evil\n"))"#;
    let e = rejected(load(src, &Config::new()), &["ABI 99", "upgrade"]);
    assert!(
        matches!(e.kind(), ErrorKind::UnsupportedAbi { version: 99, .. }),
        "{e}"
    );
}

// ------------------------------------------------------------------ start-up

#[test]
fn a19_a_trap_in_initialize_or_start_fails_the_load() {
    rejected(
        load(
            r#"(module (memory (export "memory") 1) (func (export "_initialize") unreachable))"#,
            &Config::new(),
        ),
        &["_initialize"],
    );
    rejected(
        load(
            r#"(module (func $s unreachable) (start $s))"#,
            &Config::new(),
        ),
        &["cannot instantiate"],
    );
}

#[test]
fn a20_unknown_imports_fail_the_load_listing_each() {
    let src = r#"(module
      (import "env" "system" (func (param i32) (result i32)))
      (import "evil_host" "backdoor" (func))
      (import "xxplugin" "nosuch" (func))
      (import "env" "table" (table 1 funcref)))"#;
    let e = rejected(
        load(src, &Config::new()),
        &[
            "env.system",
            "evil_host.backdoor",
            "xxplugin.nosuch",
            "env.table",
        ],
    );
    assert!(matches!(e.kind(), ErrorKind::MissingImports { .. }), "{e}");
}

#[test]
fn a21_garbage_bytes_fail_the_load() {
    for junk in [
        &b""[..],
        b"\0asm",
        b"\0asm\x01\0\0\0\x01\xff\xff\xff\xff\x0f",
        b"MZ\x90\0 not wasm",
    ] {
        let e = WasmPlugin::from_bytes("evil", junk).expect_err("junk loads");
        assert!(matches!(e.kind(), ErrorKind::InvalidModule { .. }), "{e}");
        assert!(
            e.to_string().starts_with("plugin evil: invalid module"),
            "{e}"
        );
    }
    neighbours_ok();
}

// ---------------------------------------------------------------------- WASI

#[cfg(feature = "wasi")]
mod wasi {
    use super::*;
    use xxlang_plugin::{DirAccess, WasiPolicy};

    fn probe(policy: WasiPolicy) -> WasmPlugin {
        WasmPlugin::from_file_with(plugin_file("wasiprobe_c"), &Config::new().wasi(policy))
            .expect("wasiprobe loads")
    }

    #[test]
    fn a22_paths_cannot_escape_a_preopen() {
        let dir = common::TempDir::new("hostile-wasi");
        dir.write("secret.txt", b"secret");
        dir.write("jail/ok.txt", b"ok");
        let p =
            probe(WasiPolicy::new().dir(dir.path().join("jail"), "/jail", DirAccess::ReadWrite));
        assert_eq!(
            call(&p, "read", &[Object::from("/jail/ok.txt")]),
            Object::from("ok")
        );
        for path in [
            "/jail/../secret.txt",
            "../secret.txt",
            "/jail/./../secret.txt",
        ] {
            assert_error(
                &call(&p, "read", &[Object::from(path)]),
                &["wasiprobe.read: "],
            );
        }
        let absolute = dir.path().join("secret.txt").display().to_string();
        assert_error(
            &call(&p, "read", &[Object::from(absolute.as_str())]),
            &["wasiprobe.read: "],
        );
        for raw in ["../secret.txt", "/etc/passwd", absolute.as_str()] {
            let got = call(&p, "open_raw", &[Object::from(raw)]);
            assert!(
                got == Object::Int(63) || got == Object::Int(76),
                "{raw}: {got:?}"
            );
        }
        neighbours_ok();
    }

    #[test]
    fn a23_environment_variables_are_invisible_unless_granted() {
        let p = probe(WasiPolicy::new().env("GRANTED", "yes"));
        assert_eq!(
            call(&p, "getenv", &[Object::from("GRANTED")]),
            Object::from("yes")
        );
        for name in ["PATH", "HOME", "CARGO_MANIFEST_DIR"] {
            assert_eq!(
                call(&p, "getenv", &[Object::from(name)]),
                Object::Null,
                "{name}"
            );
        }
        assert_eq!(call(&p, "environ_count", &[]), Object::Int(1));
        neighbours_ok();
    }
}

// ------------------------------------------------------------- host functions

fn lookup() -> HostFunction {
    HostFunction::new(
        "lookup",
        Signature::new(vec![Param::named("key", Type::String)], Type::String),
        |_, args| match args {
            [Object::String(k)] => Ok(Object::String(k.clone())),
            _ => Err(String::from("bad arguments")),
        },
    )
}

fn host_config() -> Config {
    let int = |name: &str| {
        HostFunction::new(
            name,
            Signature::new(vec![Param::named("n", Type::Int)], Type::Int),
            |_, a| Ok(a.first().cloned().unwrap_or(Object::Null)),
        )
    };
    let scale = HostFunction::new(
        "scale",
        Signature::new(
            vec![Param::named("n", Type::Int), Param::named("f", Type::Float)],
            Type::Float,
        ),
        |_, _| Ok(Object::Float(0.0)),
    );
    Config::new()
        .host_function(lookup())
        .host_function(scale)
        .host_function(int("call_me"))
}

#[test]
fn a24_a_host_function_given_bad_pointers_or_bytes_refuses() {
    let p = WasmPlugin::from_bytes_with("evil", &fixture_bytes("hostcall"), &host_config())
        .expect("loads");
    for (ptr, len) in [(196_600, 100), (-1, 8), (0, -1)] {
        refused(
            &p,
            "lookup_raw",
            &[Object::Int(ptr), Object::Int(len)],
            &["host function lookup"],
        );
    }
    // Bytes that are not UTF-8 where a string goes. (The trap resets the instance, so the
    // bytes are stashed before each attempt.)
    for _ in 0..2 {
        assert_eq!(
            p.call("stash", &[Object::from(vec![0xc3u8, 0x28])]).ok(),
            Some(Object::Null)
        );
        let e = p
            .call("lookup_raw", &[Object::Int(1024), Object::Int(2)])
            .expect_err("not UTF-8");
        assert!(e.to_string().contains("argument 1 is not UTF-8"), "{e}");
    }
    refused(
        &p,
        "fetch_to",
        &[Object::from("k"), Object::Int(-1)],
        &["xxplugin.fetch"],
    );
}

#[test]
fn a25_a_host_function_imported_with_the_wrong_type_fails_the_load() {
    let src = r#"(module (import "xxhost" "lookup" (func (param i64) (result i64))))"#;
    rejected(
        load(src, &Config::new().host_function(lookup())),
        &["xxhost.lookup with wasm type (i64) -> (i64)"],
    );
}

// ------------------------------------------------------------- lifecycle races

#[test]
fn a26_close_and_reload_while_calls_run_on_other_threads() {
    let dir = common::TempDir::new("hostile-race");
    dir.write("fib.wasm", &std::fs::read(plugin_file("fib")).expect("fib"));
    let registry = Arc::new(Registry::new());
    let loader = Arc::new(Loader::with_registry(registry.clone()));
    loader.set_paths([dir.path()]);
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, closed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let (loader, stop, ok, closed) =
                (loader.clone(), stop.clone(), ok.clone(), closed.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let Ok(fib) = loader.load("fib") else {
                        continue;
                    };
                    let fast = common::builtin(&*fib, "fast");
                    for n in 0..50 {
                        match fast.call(&[Object::Int(n)]) {
                            Object::Int(v) => {
                                assert_eq!(
                                    Object::Int(v),
                                    call(&neighbours().0, "fast", &[Object::Int(n)])
                                );
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            e => {
                                assert_error(&e, &["fib.fast: ", "closed"]);
                                closed.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                }
            })
        })
        .collect();
    for _ in 0..200 {
        if let Some(fib) = registry.get("fib") {
            fib.close().expect("close");
            registry.unregister("fib");
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    stop.store(true, Ordering::Relaxed);
    for t in callers {
        t.join().expect("a caller panicked");
    }
    assert!(ok.load(Ordering::Relaxed) > 0);
    eprintln!(
        "calls: {} ok, {} on closed instances",
        ok.load(Ordering::Relaxed),
        closed.load(Ordering::Relaxed)
    );
    neighbours_ok();
}

// -------------------------------------------------------------------- leaks

#[test]
fn a27_a_million_calls_leave_memory_flat() {
    let p = WasmPlugin::from_bytes("tiny", &fixture_bytes("abi_tiny")).expect("loads");
    let echo = common::builtin(&p, "echo_str");
    let fail = common::builtin(&p, "twice");
    let arg = [Object::from("a string that crosses the boundary")];
    for _ in 0..1000 {
        assert!(!echo.call(&arg).is_error());
    }
    let pages = p.memory_bytes();
    for i in 0..1_000_000u32 {
        if i % 100_000 == 0 {
            assert!(fail.call(&[Object::from("wrong type")]).is_error());
        }
        if echo.call(&arg).is_error() {
            panic!("call {i} failed");
        }
    }
    assert_eq!(p.memory_bytes(), pages, "guest memory grew");
    neighbours_ok();
}

#[test]
fn a28_loading_and_closing_many_times_does_not_accumulate_instances() {
    let bytes = std::fs::read(plugin_file("textkit")).expect("textkit");
    let cycle = || {
        let p = WasmPlugin::from_bytes("evil", &bytes).expect("loads");
        assert_eq!(call(&p, "upper", &[Object::from("x")]), Object::from("X"));
        p.close().expect("close");
    };
    for _ in 0..50 {
        cycle();
    }
    let before = common::rss_kib();
    for _ in 0..500 {
        cycle();
    }
    if let (Some(before), Some(after)) = (before, common::rss_kib()) {
        // 500 instances of 1+ MiB each would be hundreds of MiB; allow allocator noise.
        assert!(
            after < before + 32 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
    }
    neighbours_ok();
}

#[test]
fn a29_a_host_function_that_reenters_its_plugin_gets_an_error_not_a_deadlock() {
    let target: Arc<OnceLock<xxlang_plugin::Builtin>> = Arc::new(OnceLock::new());
    let t = target.clone();
    let reenter = HostFunction::new(
        "call_me",
        Signature::new(vec![Param::named("n", Type::Int)], Type::Int),
        move |_, args| match t.get().map(|b| b.call(args)) {
            Some(Object::Error(e)) => Err(e.to_string()),
            Some(v) => Ok(v),
            None => Err(String::from("no target")),
        },
    );
    let config = host_config().host_function(reenter);
    let p = Arc::new(
        WasmPlugin::from_bytes_with("evil", &fixture_bytes("hostcall"), &config).expect("loads"),
    );
    target.set(common::builtin(&*p, "recurse")).ok();
    let (tx, rx) = std::sync::mpsc::channel();
    let q = p.clone();
    std::thread::spawn(move || {
        let _ = tx.send(
            q.call("recurse", &[Object::Int(1)])
                .map_err(|e| e.to_string()),
        );
    });
    let got = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("no deadlock");
    let msg = got.expect_err("re-entry must fail");
    assert!(msg.contains("cannot be re-entered"), "{msg}");
    neighbours_ok();
}
