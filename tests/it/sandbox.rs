//! The sandbox holds under the default `Config` and a strict one: each class of attack that
//! once crashed, hung or exhausted the host ends in an Error value (or a bounded result), the
//! host lives on, and two neighbour plugins still answer.
//!
//! Attacks that would kill the process if the sandbox broke run in a child process (the test
//! binary again, filtered to one test) on a thread with a 2 MiB stack, so a regression fails
//! one test instead of killing the runner.

use crate::common;

use std::time::{Duration, Instant};

use common::{kind, neighbours_ok};
use xxlang_plugin::{
    Config, Error, ErrorKind, HostFunction, Object, Param, Signature, Type, WasmPlugin,
};

/// Runs `body` in a child process (see `common::in_child`); `name` must be the name of the
/// calling test.
fn in_child(name: &str, body: fn()) {
    crate::common::in_child(&format!("sandbox::{name}"), body);
}

fn wasm(src: &str) -> Vec<u8> {
    wat::parse_str(src).unwrap_or_else(|e| panic!("bad test WAT: {e}\n{src}"))
}

/// The default config and a strict one.
fn configs() -> [(&'static str, Config); 2] {
    [
        ("default", Config::new()),
        (
            "strict",
            Config::new()
                .deadline(Duration::from_millis(100))
                .max_memory(1 << 20)
                .max_table_elements(1000),
        ),
    ]
}

/// The growth operations that each pin native stack in wasmi 2.0 until the interpreter
/// returns: refused by our limit, past the module's declared maximum, past what a 32-bit
/// memory holds, and successful ones.
const GROWS: &[&str] = &[
    "(drop (memory.grow (i32.const 100000)))",
    "(drop (memory.grow (i32.const 2)))",
    "(drop (memory.grow (i32.const -1)))",
    "(drop (memory.grow (i32.const 0)))",
    "(drop (table.grow $small (ref.null func) (i32.const 5)))",
    "(drop (table.grow $big (ref.null func) (i32.const 1)))",
    "(drop (table.grow $big (ref.null func) (i32.const 200000)))",
];

/// A module that runs `grow` 300,000 times from `site`: a call, the start function,
/// `_initialize`, `plugin_name`, `plugin_version` or `xxplugin_manifest`.
fn grower(grow: &str, site: &str) -> String {
    let export = |name: &str| {
        if site == name {
            format!(r#"(export "{name}" (func $site))"#)
        } else {
            String::new()
        }
    };
    let start = if site == "start" { "(start $site)" } else { "" };
    let (site_ty, site_end) = match site {
        "plugin_name" | "plugin_version" => ("(result i64)", "(i64.const 1)"),
        _ => ("", ""),
    };
    let exports: String = [
        "_initialize",
        "plugin_name",
        "plugin_version",
        "xxplugin_manifest",
    ]
    .iter()
    .map(|n| export(n))
    .collect();
    format!(
        r#"(module
            (import "xxplugin" "result" (func $result (param i32 i32)))
            (memory (export "memory") 1 2)
            (table $small 1 2 funcref)
            (table $big 1 funcref)
            (data (i32.const 8) "g")
            (func $retry (param $n i32)
              (loop $l
                {grow}
                (local.set $n (i32.sub (local.get $n) (i32.const 1)))
                (br_if $l (i32.gt_s (local.get $n) (i32.const 0)))))
            (func $site {site_ty} (call $retry (i32.const 300000)) {site_end})
            {start}
            {exports}
            (func (export "call_retry") (result i64) (call $retry (i32.const 300000)) (i64.const 7))
            (func (export "call_trap") (result i64) unreachable))"#
    )
}

#[test]
fn grow_loops_cannot_overflow_the_native_stack_anywhere() {
    in_child(
        "grow_loops_cannot_overflow_the_native_stack_anywhere",
        || {
            for (label, config) in configs() {
                for grow in GROWS {
                    for site in [
                        "call",
                        "start",
                        "_initialize",
                        "plugin_name",
                        "plugin_version",
                        "xxplugin_manifest",
                    ] {
                        let bytes = wasm(&grower(grow, site));
                        // Loading runs start-up code; it may succeed or fail with an error.
                        let loaded = WasmPlugin::from_bytes_with("grower", &bytes, &config);
                        if let Ok(p) = &loaded {
                            let got = p.call("retry", &[]);
                            assert!(
                                matches!(got, Ok(Object::Int(7)))
                                    || matches!(kind(&got), Some(ErrorKind::Limit(_))),
                                "{label} {grow} {site}: {got:?}"
                            );
                            // A trap, then the fresh instance runs the start-up code again.
                            assert!(p.call("trap", &[]).is_err());
                            let _ = p.call("retry", &[]);
                        }
                    }
                }
                neighbours_ok();
            }
        },
    );
}

#[test]
fn a_block_of_straight_line_grows_is_bounded() {
    in_child("a_block_of_straight_line_grows_is_bounded", || {
        // One basic block is charged its whole fuel when entered and then runs without a
        // pause: 4,000 grows fit in one grant (about 700 KiB of native stack), 8,000 do not.
        for (count, ok) in [(4000, true), (8000, false)] {
            let body = "(drop (memory.grow (i32.const 1)))".repeat(count);
            let src = format!(
                r#"(module (memory 1 1) (func (export "call_grows") (result i64) {body} (i64.const 1)))"#
            );
            let p = WasmPlugin::from_bytes("blocky", &wasm(&src)).expect("loads");
            let got = p.call("grows", &[]);
            assert_eq!(got.is_ok(), ok, "{count}: {got:?}");
            if let Err(e) = got {
                assert!(e.to_string().contains("blocky.grows"), "{e}");
            }
        }
        neighbours_ok();
    });
}

#[test]
fn memory64_maxima_that_overflow_are_refused_at_load() {
    in_child("memory64_maxima_that_overflow_are_refused_at_load", || {
        let src = r#"(module (memory i64 1 281474976710656)
            (func (export "call_grow") (result i64) (memory.grow (i64.const 1))))"#;
        for config in [Config::new(), Config::new().trusted(true)] {
            let err = WasmPlugin::from_bytes_with("huge", &wasm(src), &config).unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::InvalidModule { .. }),
                "{err:?}"
            );
            assert!(err.to_string().contains("plugin huge"), "{err}");
            assert!(
                err.to_string().contains("maximum of 281474976710656 pages"),
                "{err}"
            );
        }
        // A large but representable maximum loads, and growing it is bounded by max_memory.
        let src = r#"(module (memory i64 1 281474976710655)
            (func (export "call_grow") (result i64) (memory.grow (i64.const 100000))))"#;
        let p = WasmPlugin::from_bytes("big", &wasm(src)).expect("loads");
        assert_eq!(p.call("grow", &[]).ok(), Some(Object::Int(-1)));
        neighbours_ok();
    });
}

#[test]
fn multi_memory_is_refused_and_tables_share_one_limit() {
    let err = WasmPlugin::from_bytes("two", &wasm("(module (memory 1) (memory 1))")).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidModule { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("plugin two"), "{err}");
    let src = r#"(module (table $a 1 funcref) (table $b 1 funcref)
        (func (export "call_grow_a") (result i64)
          (i64.extend_i32_s (table.grow $a (ref.null func) (i32.const 60000))))
        (func (export "call_grow_b") (result i64)
          (i64.extend_i32_s (table.grow $b (ref.null func) (i32.const 60000)))))"#;
    let p = WasmPlugin::from_bytes("tables", &wasm(src)).expect("loads");
    assert_eq!(p.call("grow_a", &[]).ok(), Some(Object::Int(1)));
    // 2 + 60,000 + 60,000 elements would pass the 100,000 limit of all tables together.
    assert_eq!(p.call("grow_b", &[]).ok(), Some(Object::Int(-1)));
}

#[test]
fn a_panicking_host_function_is_an_error_value() {
    in_child("a_panicking_host_function_is_an_error_value", || {
        let src = r#"(module
            (import "xxhost" "boom" (func $boom (param i64) (result i64)))
            (func (export "call_boom") (param i64) (result i64) (call $boom (local.get 0))))"#;
        let boom = HostFunction::new(
            "boom",
            Signature::new(vec![Param::named("n", Type::Int)], Type::Int),
            |_, args| match args {
                [Object::Int(0)] => panic!("the embedder's bug"),
                [Object::Int(n)] => Ok(Object::Int(n + 1)),
                _ => Err(String::from("one int")),
            },
        );
        for (_, config) in configs() {
            let config = config.host_function(boom.clone());
            let p = WasmPlugin::from_bytes_with("panicky", &wasm(src), &config).expect("loads");
            let err = p.call("boom", &[Object::Int(0)]).unwrap_err();
            let text = err.to_string();
            assert!(text.contains("panicky.boom"), "{text}");
            assert!(text.contains("panicked: the embedder's bug"), "{text}");
            // The plugin recovers (a fresh instance) and answers.
            assert_eq!(p.call("boom", &[Object::Int(1)]).ok(), Some(Object::Int(2)));
        }
        neighbours_ok();
    });
}

/// How long `f` takes.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed())
}

/// The deadline of the deadline tests, and the bound they assert: the mechanism aims at the
/// deadline plus one slice; the assertion leaves room for a loaded CI machine.
const DEADLINE: Duration = Duration::from_millis(100);
const BOUND: Duration = Duration::from_millis(1000);

fn deadline_config() -> Config {
    Config::new().deadline(DEADLINE)
}

#[track_caller]
fn assert_deadline(result: Result<Object, Error>, took: Duration, what: &str) {
    println!("{what}: {took:?}");
    match kind(&result) {
        Some(ErrorKind::Limit(_)) => {}
        _ => panic!("{what}: expected the deadline, got {result:?}"),
    }
    assert!(took < BOUND, "{what} took {took:?}");
}

#[test]
fn copying_arguments_in_a_loop_is_bounded_by_the_deadline() {
    let src = r#"(module
        (@custom "xxplugin" "abi 1\nfn copy(s: string) -> int\n")
        (import "xxplugin" "arg" (func $arg (param i32 i32)))
        (memory (export "memory") 300)
        (func (export "copy") (param i32) (result i64)
          (loop $l (call $arg (i32.const 0) (i32.const 0)) (br $l))
          (i64.const 0)))"#;
    let p = WasmPlugin::from_bytes_with("copier", &wasm(src), &deadline_config()).expect("loads");
    let big = Object::from("x".repeat(8 << 20));
    let (result, took) = timed(|| p.call("copy", &[big]));
    assert_deadline(result, took, "8 MiB xxplugin.arg copies");
    neighbours_ok();
}

#[test]
fn host_function_arguments_in_a_loop_are_bounded_by_the_deadline() {
    let src = r#"(module
        (import "xxhost" "sink" (func $sink (param i32 i32)))
        (memory (export "memory") 300)
        (func (export "call_flood") (result i64)
          (loop $l (call $sink (i32.const 0) (i32.const 8388608)) (br $l))
          (i64.const 0)))"#;
    let sink = HostFunction::new(
        "sink",
        Signature::new(vec![Param::named("b", Type::Bytes)], Type::Null),
        |_, _| Ok(Object::Null),
    );
    let config = deadline_config().host_function(sink);
    let p = WasmPlugin::from_bytes_with("flooder", &wasm(src), &config).expect("loads");
    let (result, took) = timed(|| p.call("flood", &[]));
    assert_deadline(result, took, "8 MiB host-function arguments");
    neighbours_ok();
}

#[test]
fn endless_start_up_code_is_bounded_by_the_deadline() {
    for site in ["(start $spin)", r#"(export "_initialize" (func $spin))"#] {
        let src = format!(r#"(module (func $spin (loop $l (br $l))) {site})"#);
        let (result, took) =
            timed(|| WasmPlugin::from_bytes_with("stuck", &wasm(&src), &deadline_config()));
        let err = result.unwrap_err();
        println!("endless start-up ({site}): {took:?}");
        assert!(err.to_string().contains("ran past its deadline"), "{err}");
        assert!(took < BOUND, "{site}: {took:?}");
    }
    // Without a deadline, the default start-up budget ends it.
    let src = r#"(module (func $spin (loop $l (br $l))) (start $spin))"#;
    let err = WasmPlugin::from_bytes("stuck", &wasm(src)).unwrap_err();
    assert!(
        err.to_string().contains("ran out of fuel at start"),
        "{err}"
    );
}

#[test]
fn a_fresh_instance_after_a_trap_starts_within_the_calls_deadline() {
    // The start function spins for as long as the host function says: not at load, for ever
    // when the instance is made again after a trap.
    let src = r#"(module
        (import "xxhost" "spins" (func $spins (result i64)))
        (global $n (mut i64) (i64.const 0))
        (func $start
          (global.set $n (call $spins))
          (loop $l
            (br_if $l (i64.ne (global.get $n) (i64.const 0)))))
        (start $start)
        (func (export "call_trap") (result i64) unreachable)
        (func (export "call_one") (result i64) (i64.const 1)))"#;
    static LOADED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    let spins = HostFunction::new("spins", Signature::new(vec![], Type::Int), |_, _| {
        Ok(Object::Int(i64::from(
            LOADED.swap(true, std::sync::atomic::Ordering::SeqCst),
        )))
    });
    let config = deadline_config().host_function(spins);
    let p = WasmPlugin::from_bytes_with("respawner", &wasm(src), &config).expect("loads");
    assert_eq!(p.call("one", &[]).ok(), Some(Object::Int(1)));
    assert!(p.call("trap", &[]).is_err());
    let (result, took) = timed(|| p.call("one", &[]));
    println!("respawn: {took:?}");
    let err = result.unwrap_err();
    assert!(err.to_string().contains("ran past its deadline"), "{err}");
    assert!(took < BOUND, "{took:?}");
    neighbours_ok();
}

#[test]
fn decoded_results_are_bounded_in_host_memory() {
    // 16 MiB of MessagePack: an array of empty maps, and an array<string> of empty strings.
    let src = r#"(module
        (@custom "xxplugin" "abi 1\nfn maps() -> any\nfn strings() -> array<string>\n")
        (import "xxplugin" "result" (func $result (param i32 i32)))
        (memory (export "memory") 260)
        (func $send (param $fill i32)
          (i32.store8 (i32.const 0) (i32.const 0xdd))
          (i32.store (i32.const 1) (i32.const 0xfbffff00))
          (memory.fill (i32.const 5) (local.get $fill) (i32.const 16777200))
          (call $result (i32.const 0) (i32.const 16777205)))
        (func (export "maps") (call $send (i32.const 0x80)))
        (func (export "strings") (call $send (i32.const 0xa0))))"#;
    for (label, config) in configs() {
        let config = config
            .max_memory(32 << 20)
            .deadline(Duration::from_secs(30));
        let p = WasmPlugin::from_bytes_with("amplifier", &wasm(src), &config).expect("loads");
        for function in ["maps", "strings"] {
            let (result, took) = timed(|| p.call(function, &[]));
            let err = result.unwrap_err().to_string();
            assert!(err.contains(&format!("amplifier.{function}")), "{err}");
            assert!(err.contains("max_result_bytes"), "{label}: {err}");
            assert!(took < Duration::from_secs(5), "{function}: {took:?}");
        }
    }
    neighbours_ok();
}

#[test]
fn a_host_function_any_argument_is_bounded_in_host_memory() {
    let src = r#"(module
        (import "xxhost" "take" (func $take (param i32 i32)))
        (memory (export "memory") 257)
        (func (export "call_send") (result i64)
          (i32.store8 (i32.const 0) (i32.const 0xdd))
          (i32.store (i32.const 1) (i32.const 0xfbffff00))
          (memory.fill (i32.const 5) (i32.const 0x80) (i32.const 16777200))
          (call $take (i32.const 0) (i32.const 16777205))
          (i64.const 0)))"#;
    let take = HostFunction::new(
        "take",
        Signature::new(vec![Param::named("v", Type::Any)], Type::Null),
        |_, _| Ok(Object::Null),
    );
    let config = Config::new().max_memory(32 << 20).host_function(take);
    let p = WasmPlugin::from_bytes_with("taker", &wasm(src), &config).expect("loads");
    let err = p.call("send", &[]).unwrap_err().to_string();
    assert!(err.contains("taker.send"), "{err}");
    assert!(err.contains("max_result_bytes"), "{err}");
    neighbours_ok();
}

#[test]
fn a_legacy_range_result_is_bounded_in_host_memory() {
    // range_ claims 4 million ints (32 MB of memory; 96+ MB as host values).
    let src = r#"(module
        (memory (export "memory") 600)
        (func (export "alloc") (param i32) (result i32) (i32.const 16))
        (func (export "range_") (param i64 i32)
          (i32.store (local.get 1) (i32.const 64))
          (i32.store offset=4 (local.get 1) (i32.const 4000000))))"#;
    let p = WasmPlugin::from_bytes("ranger", &wasm(src)).expect("loads");
    let err = p.call("range_", &[Object::Int(1)]).unwrap_err().to_string();
    assert!(err.contains("ranger.range_"), "{err}");
    assert!(err.contains("max_result_bytes"), "{err}");
    let roomy = Config::new().max_result_bytes(64 << 20);
    let p = WasmPlugin::from_bytes_with("ranger", &wasm(src), &roomy).expect("loads");
    let ints = p
        .call("range_", &[Object::Int(1)])
        .expect("within the limit");
    assert_eq!(ints.as_array().map(<[Object]>::len), Some(4_000_000));
}

#[test]
fn loading_is_bounded() {
    // From bytes too, a module over the size limit is refused before anything is parsed.
    let module = wasm(r#"(module (func (export "f")))"#);
    let small = Config::new().max_module_bytes(16);
    let err = WasmPlugin::from_bytes_with("sized", &module, &small).unwrap_err();
    assert!(err.to_string().contains("larger than 16 bytes"), "{err}");
    // Wide block types make br_table validation quadratic: refused at once.
    let results = "i32 ".repeat(1000);
    let consts = "(i32.const 0) ".repeat(1000);
    let zeros = "0 ".repeat(10_000);
    let bomb = wasm(&format!(
        "(module (type $t (func (result {results})))
           (func (type $t) (block (type $t) {consts} (br_table {zeros} (i32.const 0)))))"
    ));
    let (result, took) = timed(|| WasmPlugin::from_bytes("bomb", &bomb));
    let err = result.unwrap_err();
    assert!(err.to_string().contains("at most 32 of each"), "{err}");
    assert!(took < Duration::from_secs(1), "{took:?}");
    // At the widest accepted arity, validation work is linear in the module's size.
    let results = "i32 ".repeat(32);
    let consts = "(i32.const 0) ".repeat(32);
    let zeros = "0 ".repeat(100_000);
    let bomb = wasm(&format!(
        "(module (type $t (func (result {results})))
           (func (type $t) (block (type $t) {consts} (br_table {zeros} (i32.const 0)))))"
    ));
    let (result, took) = timed(|| WasmPlugin::from_bytes("bomb", &bomb));
    println!("{} byte br_table module at arity 32: {took:?}", bomb.len());
    assert!(result.is_ok());
    assert!(took < Duration::from_secs(5), "{took:?}");
    // 300,000 empty functions in 1.2 MB would cost the host some 45 MiB to load: refused.
    let n = 300_000u32;
    let mut many = b"\0asm\x01\0\0\0\x01\x04\x01\x60\x00\x00".to_vec();
    let leb = |mut v: u32, out: &mut Vec<u8>| loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            break;
        }
        out.push(byte | 0x80);
    };
    let mut funcs = Vec::new();
    leb(n, &mut funcs);
    funcs.extend(std::iter::repeat_n(0u8, n as usize));
    many.push(3);
    leb(funcs.len() as u32, &mut many);
    many.extend_from_slice(&funcs);
    let err = WasmPlugin::from_bytes("many", &many).unwrap_err();
    assert!(err.to_string().contains("300000 functions"), "{err}");
    neighbours_ok();
}

#[test]
fn every_call_can_be_cancelled_by_default() {
    let src =
        r#"(module (func (export "call_spin") (result i64) (loop $l (br $l)) (i64.const 0)))"#;
    let p = WasmPlugin::from_bytes("spinner", &wasm(src)).expect("loads");
    assert_cancelled_promptly(&p, "spin", "an endless loop");
    neighbours_ok();
}

/// Calls `function` of `p` and cancels it 50 ms in: the call must end as cancelled, promptly.
fn assert_cancelled_promptly(p: &WasmPlugin, function: &str, what: &str) {
    let cancel = p
        .cancel_handle()
        .expect("plugins can be cancelled by default");
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        cancel.cancel();
    });
    let (result, took) = timed(|| p.call(function, &[]));
    println!("{what} cancelled after 50 ms: {took:?}");
    assert_eq!(
        kind(&result),
        Some(&ErrorKind::Limit(xxlang_plugin::Limit::Cancelled)),
        "{result:?}"
    );
    assert!(took < BOUND, "{took:?}");
    canceller.join().expect("canceller");
}

/// A WASI module whose `body` runs in `call_attack` (and, with `start`, at start-up). Memory
/// holds at 0 a relative monotonic-clock subscription of 10 s for `poll_oneoff`, and at 256
/// an iovec of 8 MiB at 1 MiB.
#[cfg(feature = "wasi")]
fn wasi_attacker(body: &str, start: bool) -> Vec<u8> {
    let start = if start { "(start $attack)" } else { "" };
    wasm(&format!(
        r#"(module
            (import "wasi_snapshot_preview1" "poll_oneoff"
              (func $poll (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "random_get"
              (func $random (param i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "fd_write"
              (func $write (param i32 i32 i32 i32) (result i32)))
            (import "wasi_snapshot_preview1" "path_open"
              (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
            (memory (export "memory") 300)
            (data (i32.const 16) "\01")
            (data (i32.const 24) "\00\e4\0b\54\02\00\00\00")
            (data (i32.const 256) "\00\00\10\00\00\00\80\00")
            (func $attack {body})
            {start}
            (func (export "call_attack") (result i64) (call $attack) (i64.const 0)))"#
    ))
}

#[cfg(feature = "wasi")]
const SLEEP: &str = "(loop $l (drop (call $poll (i32.const 0) (i32.const 64) (i32.const 1) (i32.const 128))) (br $l))";

#[cfg(feature = "wasi")]
#[test]
fn wasi_sleeps_end_at_the_deadline_in_calls_and_at_start_up() {
    let p =
        WasmPlugin::from_bytes_with("sleeper", &wasi_attacker(SLEEP, false), &deadline_config())
            .expect("loads");
    let (result, took) = timed(|| p.call("attack", &[]));
    assert_deadline(result, took, "poll_oneoff sleep in a call");
    let (result, took) = timed(|| {
        WasmPlugin::from_bytes_with("sleeper", &wasi_attacker(SLEEP, true), &deadline_config())
    });
    println!("poll_oneoff sleep at start-up: {took:?}");
    let err = result.unwrap_err();
    assert!(err.to_string().contains("ran past its deadline"), "{err}");
    assert!(took < BOUND, "{took:?}");
    neighbours_ok();
}

#[cfg(feature = "wasi")]
#[test]
fn wasi_sleeps_are_paid_in_fuel_so_start_up_cannot_sleep_for_ever() {
    // No deadline: the default start-up budget (10^9 units, a second asleep) ends it.
    let (result, took) = timed(|| WasmPlugin::from_bytes("sleeper", &wasi_attacker(SLEEP, true)));
    println!("poll_oneoff sleep at start-up, default config: {took:?}");
    let err = result.unwrap_err();
    assert!(
        err.to_string().contains("ran out of fuel at start"),
        "{err}"
    );
    assert!(took < Duration::from_secs(5), "{took:?}");
    // A call's fuel budget bounds its sleeping too: 10^8 units, a tenth of a second.
    let config = Config::new().fuel(100_000_000);
    let p = WasmPlugin::from_bytes_with("sleeper", &wasi_attacker(SLEEP, false), &config)
        .expect("loads");
    let (result, took) = timed(|| p.call("attack", &[]));
    println!("poll_oneoff sleep under fuel(10^8): {took:?}");
    assert_eq!(
        kind(&result),
        Some(&ErrorKind::Limit(xxlang_plugin::Limit::Fuel(100_000_000))),
        "{result:?}"
    );
    assert!(took < BOUND, "{took:?}");
    neighbours_ok();
}

#[cfg(feature = "wasi")]
#[test]
fn a_wasi_sleep_is_woken_by_cancel() {
    let p = WasmPlugin::from_bytes("sleeper", &wasi_attacker(SLEEP, false)).expect("loads");
    assert_cancelled_promptly(&p, "attack", "a poll_oneoff sleep");
}

#[cfg(feature = "wasi")]
#[test]
fn wasi_imports_that_move_bytes_are_bounded_by_the_deadline() {
    for (what, body) in [
        (
            "random_get of 16 MiB in a loop",
            "(loop $l (drop (call $random (i32.const 1024) (i32.const 16777216))) (br $l))",
        ),
        (
            "fd_write of 8 MiB to stdout in a loop",
            "(loop $l (drop (call $write (i32.const 1) (i32.const 256) (i32.const 1) (i32.const 264))) (br $l))",
        ),
    ] {
        let p =
            WasmPlugin::from_bytes_with("mover", &wasi_attacker(body, false), &deadline_config())
                .expect("loads");
        let (result, took) = timed(|| p.call("attack", &[]));
        assert_deadline(result, took, what);
    }
    // A 16 MiB path, copied out of guest memory by every path_open.
    let dir = common::TempDir::new("sandbox-paths");
    let policy =
        xxlang_plugin::WasiPolicy::new().dir(dir.path(), "/d", xxlang_plugin::DirAccess::ReadOnly);
    let body = "(memory.fill (i32.const 1024) (i32.const 97) (i32.const 16777216))
        (loop $l (drop (call $open (i32.const 3) (i32.const 0) (i32.const 1024)
          (i32.const 16777216) (i32.const 0) (i64.const 0) (i64.const 0) (i32.const 0)
          (i32.const 512))) (br $l))";
    let config = deadline_config().wasi(policy);
    let p =
        WasmPlugin::from_bytes_with("opener", &wasi_attacker(body, false), &config).expect("loads");
    let (result, took) = timed(|| p.call("attack", &[]));
    assert_deadline(result, took, "path_open of a 16 MiB path in a loop");
    neighbours_ok();
}
