//! Limits: fuel, deadlines, cancellation, memory, tables, call depth; what happens to the
//! instance after them; and that nothing else is affected.

use crate::common;

use std::sync::Arc;
use std::time::Duration;

use common::{call, fixture_bytes, kind};
use xxlang_plugin::{
    Config, Error, ErrorKind, Limit, Loader, Object, Plugin, Recovery, Registry, WasmPlugin,
};

fn limits(config: &Config) -> WasmPlugin {
    WasmPlugin::from_bytes_with("limits", &fixture_bytes("limits"), config).expect("loads")
}

#[track_caller]
fn assert_limit(result: Result<Object, Error>, function: &str, want: Limit) {
    match result {
        Err(e) if matches!(e.kind(), ErrorKind::Limit(_)) => {
            assert_eq!(
                (e.plugin(), e.function(), e.kind()),
                (Some("limits"), Some(function), &ErrorKind::Limit(want)),
                "{e}"
            );
            assert!(
                e.to_string().starts_with(&format!("limits.{function}: ")),
                "{e}"
            );
        }
        other => panic!("expected {want:?} from {function}, got {other:?}"),
    }
}

#[test]
fn fuel_stops_an_endless_loop_and_the_plugin_goes_on() {
    let p = limits(&Config::new().fuel(100_000));
    assert_limit(p.call("spin", &[]), "spin", Limit::Fuel(100_000));
    assert_eq!(
        p.call("work", &[Object::Int(1000)]).ok(),
        Some(Object::Int(1000))
    );
    // The budget is per call: many calls that each fit all succeed.
    for _ in 0..100 {
        assert_eq!(
            p.call("work", &[Object::Int(5000)]).ok(),
            Some(Object::Int(5000))
        );
    }
    assert_limit(
        p.call("work", &[Object::Int(10_000_000)]),
        "work",
        Limit::Fuel(100_000),
    );
    let err = p.call("spin", &[]).unwrap_err().to_string();
    assert_eq!(
        err,
        "limits.spin: ran out of fuel (limit: 100000 units per call) (plugin restarted, state \
         reset)"
    );
}

#[test]
fn a_deadline_stops_an_endless_loop() {
    let deadline = Duration::from_millis(50);
    let p = limits(&Config::new().deadline(deadline));
    assert_limit(p.call("spin", &[]), "spin", Limit::Time(deadline));
    assert_eq!(
        p.call("spin", &[]).unwrap_err().to_string(),
        "limits.spin: ran past its deadline (50 ms) (plugin restarted, state reset)"
    );
    assert_eq!(
        p.call("work", &[Object::Int(10)]).ok(),
        Some(Object::Int(10))
    );
}

#[test]
fn cancel_from_another_thread() {
    let p = Arc::new(limits(&Config::new().interruptible(true)));
    let handle = p.cancel_handle().expect("interruptible");
    // The same handle works more than once; a call after a cancel runs normally.
    for _ in 0..2 {
        let h = handle.clone();
        let canceller = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            h.cancel();
        });
        assert_limit(p.call("spin", &[]), "spin", Limit::Cancelled);
        canceller.join().expect("canceller");
        assert_eq!(
            p.call("work", &[Object::Int(100)]).ok(),
            Some(Object::Int(100))
        );
    }
    // A cancel with no call running does not cancel the next call.
    handle.cancel();
    assert_eq!(
        p.call("work", &[Object::Int(100)]).ok(),
        Some(Object::Int(100))
    );
}

#[test]
fn every_call_can_be_cancelled_unless_the_plugin_is_trusted() {
    assert!(limits(&Config::new()).cancel_handle().is_some());
    assert!(
        limits(&Config::new().trusted(true))
            .cancel_handle()
            .is_none()
    );
    let metered = Config::new().trusted(true).fuel(10);
    assert!(limits(&metered).cancel_handle().is_some());
}

#[test]
fn memory_growth_stops_at_the_limit() {
    let p = limits(&Config::new().max_memory(4 << 16));
    assert_eq!(
        p.call("grow", &[Object::Int(2)]).ok(),
        Some(Object::Int(1)),
        "1 -> 3 pages"
    );
    assert_eq!(
        p.call("grow", &[Object::Int(2)]).ok(),
        Some(Object::Int(-1)),
        "5 pages: refused"
    );
    assert_eq!(p.memory_bytes(), Some(3 << 16));
    assert_limit(
        p.call("grow_bomb", &[]),
        "grow_bomb",
        Limit::Memory(4 << 16),
    );
    assert_eq!(
        p.call("grow_bomb", &[]).unwrap_err().to_string(),
        "limits.grow_bomb: hit its memory limit (256 KiB) (plugin restarted, state reset)"
    );
}

#[test]
fn a_refused_grow_the_plugin_handled_is_not_blamed_for_a_later_trap() {
    let p = limits(&Config::new().max_memory(4 << 16));
    assert_eq!(
        p.call("grow", &[Object::Int(10)]).ok(),
        Some(Object::Int(-1)),
        "refused, and the call goes on"
    );
    match p.call("trap", &[]) {
        Err(e) if matches!(e.kind(), ErrorKind::Trap { .. }) => {
            assert!(e.to_string().contains("unreachable"), "{e}")
        }
        other => panic!("a plain trap, not a limit: {other:?}"),
    }
}

#[test]
fn table_growth_stops_at_the_limit() {
    let p = limits(&Config::new().max_table_elements(5000));
    assert_eq!(
        p.call("table_grow", &[Object::Int(10)]).ok(),
        Some(Object::Int(1))
    );
    assert_eq!(
        p.call("table_grow", &[Object::Int(10_000)]).ok(),
        Some(Object::Int(-1))
    );
    assert_limit(p.call("table_bomb", &[]), "table_bomb", Limit::Table(5000));
}

#[test]
fn deep_recursion_stops_at_the_call_depth() {
    let p = limits(&Config::new().max_call_depth(500));
    assert_limit(
        p.call("recurse", &[Object::Int(0)]),
        "recurse",
        Limit::CallDepth(500),
    );
    let default = limits(&Config::new());
    assert_limit(
        default.call("recurse", &[Object::Int(0)]),
        "recurse",
        Limit::CallDepth(10_000),
    );
}

#[test]
fn a_module_too_big_for_its_memory_limit_does_not_load() {
    // The error names the module's initial memory, which no call can change.
    let big = wat::parse_str(r#"(module (memory 100))"#).expect("wat");
    match WasmPlugin::from_bytes_with("big", &big, &Config::new().max_memory(1 << 20)) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => assert_eq!(
            e.to_string(),
            "plugin big: cannot instantiate: its initial memory is 6400 KiB, more than its \
             memory limit of 1 MiB (Config::max_memory)"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn endless_start_up_code_is_bounded_when_metered() {
    let src = r#"(module (func $s (loop $l (br $l))) (start $s))"#;
    let bytes = wat::parse_str(src).expect("wat");
    match WasmPlugin::from_bytes_with("starter", &bytes, &Config::new().fuel(300)) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => {
            assert!(e.to_string().contains("fuel"), "{e}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn startup_fuel_bounds_start_up_code_on_its_own() {
    // The start function counts to 10,000: some 50,000 instructions.
    let src = r#"(module
        (global $n (mut i32) (i32.const 0))
        (func $start
          (loop $l
            (global.set $n (i32.add (global.get $n) (i32.const 1)))
            (br_if $l (i32.lt_u (global.get $n) (i32.const 10000)))))
        (start $start)
        (func (export "count") (result i32) (global.get $n))
        (func (export "spin") (loop $l (br $l))))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let load = |config: &Config| WasmPlugin::from_bytes_with("limits", &bytes, config);

    // Too little for the start: the load fails, naming the start-up budget, not a call's.
    match load(&Config::new().startup_fuel(1000)) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => assert_eq!(
            e.to_string(),
            "plugin limits: cannot instantiate: it ran out of fuel at start (limit: 1000 units)"
        ),
        other => panic!("{other:?}"),
    }
    // Enough for the start, however small the call budget; calls keep their own budget, and
    // the fresh instance after a limit starts under the start-up budget again.
    let p = load(&Config::new().fuel(100).startup_fuel(1_000_000)).expect("loads");
    assert_eq!(p.call("count", &[]).ok(), Some(Object::Int(10_000)));
    assert_limit(p.call("spin", &[]), "spin", Limit::Fuel(100));
    assert_eq!(p.call("count", &[]).ok(), Some(Object::Int(10_000)));
    // Alone, it meters start-up code only: calls have no fuel limit.
    let p = load(&Config::new().startup_fuel(1_000_000)).expect("loads");
    assert!(
        p.cancel_handle().is_some(),
        "start-up fuel turns on metering"
    );
    assert_eq!(p.call("count", &[]).ok(), Some(Object::Int(10_000)));
}

#[test]
fn describe_with_runs_start_up_code_under_the_config() {
    // No manifest section, so describing means loading it; its start needs 2 MiB of memory.
    let src = r#"(module (memory (export "memory") 1)
        (func $start
          (if (i32.lt_s (memory.grow (i32.const 31)) (i32.const 0)) (then unreachable)))
        (start $start)
        (func (export "call_one") (result i64) (i64.const 1)))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let d = WasmPlugin::describe(&bytes).expect("describes under the defaults");
    assert!(d.instantiated);
    let names: Vec<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["one"]);
    assert_eq!(
        WasmPlugin::describe_with(&bytes, &Config::new()).ok(),
        Some(d)
    );
    match WasmPlugin::describe_with(&bytes, &Config::new().max_memory(1 << 20)) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => assert_eq!(
            e.to_string(),
            "plugin plugin: cannot instantiate: it hit its memory limit (1 MiB) at start"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn after_a_trap_the_instance_starts_afresh_by_default() {
    for (config, after) in [
        (Config::new(), 1),
        (Config::new().on_trap(Recovery::KeepInstance), 3),
        (Config::new().fuel(1_000_000), 1),
    ] {
        let p = limits(&config);
        assert_eq!(call(&p, "count", &[]), Object::Int(1));
        assert_eq!(call(&p, "count", &[]), Object::Int(2));
        assert!(call(&p, "trap", &[]).is_error());
        assert_eq!(call(&p, "count", &[]), Object::Int(after), "{config:?}");
    }
    // Limits count as traps.
    let p = limits(&Config::new().fuel(10_000));
    call(&p, "count", &[]);
    assert!(call(&p, "spin", &[]).is_error());
    assert_eq!(call(&p, "count", &[]), Object::Int(1));
    // A guest error (the typed ABI's xxplugin.error) is not a trap: state survives.
    let tiny = common::fixture("abi_tiny");
    assert!(call(&tiny, "echo_str", &[Object::from("")]).is_error());
    assert_eq!(
        call(&tiny, "echo_str", &[Object::from("x")]),
        Object::from("x")
    );
}

#[test]
fn a_spinning_plugin_does_not_hold_up_another() {
    let spinner = Arc::new(limits(&Config::new().deadline(Duration::from_millis(300))));
    let fib = common::load("fib");
    let fast = common::builtin(&fib, "fast");
    let busy = {
        let spinner = spinner.clone();
        std::thread::spawn(move || spinner.call("spin", &[]))
    };
    for n in 0..1000 {
        assert!(!fast.call(&[Object::Int(n % 50)]).is_error());
    }
    assert!(matches!(
        kind(&busy.join().expect("thread")),
        Some(ErrorKind::Limit(Limit::Time(_)))
    ));
}

#[test]
fn a_loader_configures_plugins_by_name() {
    let dir = common::TempDir::new("config");
    dir.write("limits.wasm", &fixture_bytes("limits"));
    dir.write("other.wasm", &fixture_bytes("limits"));
    let loader = Loader::with_registry(Arc::new(Registry::new()));
    loader.set_paths([dir.path()]);
    loader.set_config(&Config::new().fuel(1_000));
    let _ = loader.configure("other", &Config::new().fuel(1_000_000));
    let strict = loader.load("limits").expect("limits");
    let loose = loader.load("other").expect("other");
    let work = |p: &dyn Plugin| call(p, "work", &[Object::Int(10_000)]);
    assert!(
        work(&*strict)
            .error_message()
            .is_some_and(|m| m.contains("ran out of fuel"))
    );
    assert_eq!(work(&*loose), Object::Int(10_000));
}

#[test]
fn loading_a_busy_plugin_again_does_not_wait_for_its_call() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let dir = common::TempDir::new("busy");
    dir.write("limits.wasm", &fixture_bytes("limits"));
    let loader = Loader::with_registry(Arc::new(Registry::new()));
    loader.set_paths([dir.path()]);
    // The deadline only ends the spin; a load that waited for it would see `done`.
    loader.set_config(&Config::new().deadline(Duration::from_secs(2)));
    let p = loader.load("limits").expect("loads");
    let spin = common::builtin(&*p, "spin");
    let done = Arc::new(AtomicBool::new(false));
    let busy = {
        let done = done.clone();
        std::thread::spawn(move || {
            let r = spin.call(&[]);
            done.store(true, Ordering::SeqCst);
            r
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    let again = loader.load("limits").expect("loads again");
    assert!(!again.is_closed());
    assert!(
        !done.load(Ordering::SeqCst),
        "the load waited for the running call"
    );
    let spun = busy.join().expect("spinner");
    assert!(
        spun.error_message().is_some_and(|m| m.contains("deadline")),
        "{spun:?}"
    );
}

#[test]
fn one_instruction_that_needs_more_than_a_fuel_slice_still_runs() {
    // memory.fill of 16 MiB costs 262,144 fuel (64 bytes per unit under a 32 MiB memory
    // limit): more than a slice, which is 100,000.
    let src = r#"(module (memory (export "memory") 257)
        (func (export "fill") (result i64)
          (memory.fill (i32.const 0) (i32.const 7) (i32.const 16777216))
          (i64.load8_u (i32.const 16777215))))"#;
    let bytes = wat::parse_str(src).expect("wat");
    for config in [
        Config::new().deadline(Duration::from_secs(10)),
        Config::new().interruptible(true),
        Config::new().fuel(1_000_000),
    ] {
        let config = config.max_memory(32 << 20);
        let p = WasmPlugin::from_bytes_with("filler", &bytes, &config).expect("loads");
        assert_eq!(p.call("fill", &[]).ok(), Some(Object::Int(7)), "{config:?}");
    }
    // With less fuel than the instruction needs, it is the fuel limit.
    let config = Config::new().fuel(200_000).max_memory(32 << 20);
    let p = WasmPlugin::from_bytes_with("filler", &bytes, &config).expect("loads");
    assert_eq!(
        kind(&p.call("fill", &[])),
        Some(&ErrorKind::Limit(Limit::Fuel(200_000)))
    );
}

#[test]
fn large_functions_run_under_a_deadline() {
    // Translating a function on its first call is not charged to the call's fuel: a large
    // function (here testplugin's, and every function of a 2 MB Go plugin) runs metered.
    let config = Config::new().deadline(Duration::from_secs(10));
    let test =
        WasmPlugin::from_file_with(common::plugin_file("testplugin"), &config).expect("loads");
    assert_eq!(
        test.call("count_primes", &[Object::Int(1000)]).ok(),
        Some(Object::Int(168))
    );
    #[cfg(feature = "wasi")]
    if common::have_plugin("textkit_go") {
        let go =
            WasmPlugin::from_file_with(common::plugin_file("textkit_go"), &config).expect("loads");
        assert_eq!(
            go.call("upper", &[Object::from("go")]).ok(),
            Some(Object::from("GO"))
        );
    }
}

#[test]
fn metered_calls_pass_every_shape_of_value() {
    // Metered calls run untyped inside: every typed shape must come back the same.
    let src = r#"(module
        (func (export "half") (param f64) (result f64) (f64.mul (local.get 0) (f64.const 0.5)))
        (func (export "sum") (param f64 f64) (result f64) (f64.add (local.get 0) (local.get 1)))
        (func (export "isOdd") (param i64) (result i32) (i32.wrap_i64 (i64.and (local.get 0) (i64.const 1))))
        (func (export "lt") (param i64 i64) (result i32) (i64.lt_s (local.get 0) (local.get 1)))
        (func (export "add3") (param i64 i64 i64) (result i64)
          (i64.add (local.get 0) (i64.add (local.get 1) (local.get 2))))
        (func (export "seven") (result i64) (i64.const 7))
        (func (export "neg") (param i64) (result i64) (i64.sub (i64.const 0) (local.get 0))))"#;
    let bytes = wat::parse_str(src).expect("wat");
    for config in [
        Config::new(),
        Config::new().fuel(300),
        Config::new().deadline(Duration::from_secs(5)),
    ] {
        let p = WasmPlugin::from_bytes_with("shapes", &bytes, &config).expect("loads");
        let f = |name: &str, args: &[Object]| p.call(name, args).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            f("half", &[Object::Float(3.0)]),
            Object::Float(1.5),
            "{config:?}"
        );
        assert_eq!(
            f("sum", &[Object::Float(1.25), Object::Int(2)]),
            Object::Float(3.25)
        );
        assert_eq!(f("isOdd", &[Object::Int(3)]), Object::Bool(true));
        assert_eq!(f("lt", &[Object::Int(3), Object::Int(2)]), Object::Int(0));
        assert_eq!(
            f("add3", &[Object::Int(1), Object::Int(2), Object::Int(3)]),
            Object::Int(6)
        );
        assert_eq!(f("seven", &[]), Object::Int(7));
        assert_eq!(
            f("neg", &[Object::Int(i64::MIN + 1)]),
            Object::Int(i64::MAX)
        );
    }
}

/// wasmi 2.0's default dispatch keeps a native stack frame for each failed `memory.grow` or
/// `table.grow` until the interpreter returns, so a plugin that retries a failing grow in a loop
/// overflows the calling thread's stack and aborts the process. Metered calls return to the
/// host at the end of every fuel slice, which bounds the frames; this runs the loop on a
/// thread with Rust's default 2 MiB stack (a failure here is a crash of the test binary).
#[test]
fn a_retried_failing_grow_cannot_overflow_the_stack_when_metered() {
    let src = r#"(module (memory (export "memory") 1 1) (table $t 1 10 funcref)
        (func (export "grow_memory") (loop $l
          (br_if $l (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))))
        (func (export "grow_table") (loop $l
          (br_if $l (i32.eq (table.grow $t (ref.null func) (i32.const 100)) (i32.const -1))))))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let configs = [
        Config::new().fuel(20_000_000),
        Config::new().deadline(Duration::from_millis(300)),
    ];
    let outcome = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || {
            let mut limits = Vec::new();
            for config in &configs {
                let p = WasmPlugin::from_bytes_with("regrow", &bytes, config).expect("loads");
                for f in ["grow_memory", "grow_table"] {
                    let result = p.call(f, &[]);
                    match kind(&result) {
                        Some(&ErrorKind::Limit(limit)) => limits.push(limit),
                        _ => panic!("{f}: {result:?}"),
                    }
                }
            }
            limits
        })
        .expect("thread")
        .join()
        .expect("no crash");
    assert_eq!(
        outcome,
        [
            Limit::Fuel(20_000_000),
            Limit::Fuel(20_000_000),
            Limit::Time(Duration::from_millis(300)),
            Limit::Time(Duration::from_millis(300)),
        ]
    );
}

/// A module with the same straight-line work (300 additions, about 600 units of fuel)
/// in three functions: `straight`, which ends within one fuel slice whatever it is given and so
/// runs as a plain wasmi call; `looped`, the same code inside a loop that runs once, which
/// is pure (it only computes), so it runs as a plain call first and in slices only if that
/// runs out; and `looped_sliced`, the same behind a branch never taken to a `global.set`
/// (not pure), which runs in slices. All must meet every limit alike.
fn short_and_sliced() -> Vec<u8> {
    let adds = "i64.const 1 i64.add ".repeat(300);
    wat::parse_str(format!(
        r#"(module
            (memory 1 2)
            (func (export "straight") (param i64) (result i64) local.get 0 {adds})
            (func (export "looped") (param i64) (result i64)
                (local i32)
                local.get 0
                (loop (param i64) (result i64)
                    {adds}
                    local.get 1 i32.const 1 i32.add local.tee 1 i32.const 1 i32.lt_u br_if 0))
            (global $g (mut i32) (i32.const 0))
            (func (export "looped_sliced") (param i64) (result i64)
                (local i32)
                (if (i32.const 0) (then (global.set $g (i32.const 1))))
                local.get 0
                (loop (param i64) (result i64)
                    {adds}
                    local.get 1 i32.const 1 i32.add local.tee 1 i32.const 1 i32.lt_u br_if 0))
            (table 1 funcref)
            ;; `straight` behind a branch never taken to an indirect call: it could run long,
            ;; so it runs in slices.
            (func (export "straight_sliced") (param i64) (result i64)
                (if (i32.const 0) (then (call_indirect (i32.const 0))))
                local.get 0 {adds})
            ;; Two results: called untyped.
            (func (export "pair") (param i64) (result i64 i64) local.get 0 {adds} local.get 0)
            (func (export "grows") (result i32)
                {grows}))"#,
        // 3 grows, 2 past the maximum (refused: -1), at 255 fuel each.
        grows = "i32.const 1 memory.grow drop ".repeat(3) + "i32.const 0 memory.grow",
    ))
    .expect("wat")
}

#[test]
fn a_call_that_fits_in_one_slice_meets_the_fuel_limit_as_a_sliced_one_does() {
    let bytes = short_and_sliced();
    for function in ["straight", "looped", "looped_sliced"] {
        // Enough fuel: both add up the same.
        for config in [
            Config::new(),
            Config::new().fuel(1_000_000),
            Config::new().deadline(Duration::from_secs(10)),
            Config::new().trusted(true),
        ] {
            let p = WasmPlugin::from_bytes_with("short", &bytes, &config).expect("loads");
            let typed = p.typed::<i64, i64>(function).expect("typed handle");
            for _ in 0..3 {
                assert_eq!(
                    p.call(function, &[Object::Int(5)]).ok(),
                    Some(Object::Int(305)),
                    "{function} {config:?}"
                );
                assert_eq!(typed.call(5).ok(), Some(305), "{function} {config:?}");
            }
        }
        // Too little: the fuel limit, the instance restarted, and the next call with the
        // same budget fails the same way (nothing carried over).
        let p =
            WasmPlugin::from_bytes_with("short", &bytes, &Config::new().fuel(300)).expect("loads");
        for _ in 0..2 {
            let err = p.call(function, &[Object::Int(5)]).unwrap_err();
            assert_eq!(
                err.kind(),
                &ErrorKind::Limit(Limit::Fuel(300)),
                "{function}: {err}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "short.{function}: ran out of fuel (limit: 300 units per call) (plugin \
                     restarted, state reset)"
                )
            );
        }
        // A typed handle's call meets it alike, on the restarted instance and the next.
        let typed = p.typed::<i64, i64>(function).expect("typed handle");
        for _ in 0..2 {
            assert_eq!(
                typed.call(5).err().map(|e| e.kind().clone()),
                Some(ErrorKind::Limit(Limit::Fuel(300))),
                "{function}"
            );
        }
    }
    // A typed handle of a function that runs for many slices: sliced, so it finishes
    // (a plain call would run out of its one slice of fuel).
    let test = common::load("testplugin");
    let primes = test
        .typed::<i64, i64>("count_primes")
        .expect("typed handle");
    for _ in 0..2 {
        assert_eq!(primes.call(100_000).ok(), Some(9592));
    }
    // An untyped call (two results) of the same code, in slices.
    let pair = Object::Array(vec![Object::Int(305), Object::Int(5)].into());
    let p = WasmPlugin::from_bytes_with("short", &bytes, &Config::new()).expect("loads");
    assert_eq!(p.call("pair", &[Object::Int(5)]).ok(), Some(pair));
    let p = WasmPlugin::from_bytes_with("short", &bytes, &Config::new().fuel(300)).expect("loads");
    assert_eq!(
        kind(&p.call("pair", &[Object::Int(5)])),
        Some(&ErrorKind::Limit(Limit::Fuel(300)))
    );
    // Refused grows in a call that fits a slice: -1 each, and the host carries on.
    let p = WasmPlugin::from_bytes_with("short", &bytes, &Config::new()).expect("loads");
    assert_eq!(p.call("grows", &[]).ok(), Some(Object::Int(2)));
}

/// The smallest fuel limit under which `function(n)` of module `bytes` succeeds (found by
/// bisection, a new plugin for each try).
fn least_fuel(bytes: &[u8], function: &str, n: i64) -> u64 {
    let runs = |fuel: u64| {
        WasmPlugin::from_bytes_with("fuel", bytes, &Config::new().fuel(fuel))
            .expect("loads")
            .call(function, &[Object::Int(n)])
            .is_ok()
    };
    let (mut low, mut high) = (1u64, 10_000_000u64);
    assert!(runs(high) && !runs(low), "{function}({n})");
    while high - low > 1 {
        let mid = (low + high) / 2;
        if runs(mid) { high = mid } else { low = mid }
    }
    high
}

#[test]
fn a_short_call_is_charged_the_fuel_a_sliced_call_is_charged() {
    // The smallest budget each succeeds with: `straight` runs as a plain call, and
    // `straight_sliced` (the same code behind two more operators) in slices.
    let bytes = short_and_sliced();
    let needs = |function: &str| least_fuel(&bytes, function, 0);
    let (plain, sliced) = (needs("straight"), needs("straight_sliced"));
    // About two units per addition (the exact figure is wasmi's), and the branch costs the
    // sliced one a few more (4 with wasmi 2.0).
    assert!((600..700).contains(&plain), "needs {plain}");
    assert!(
        (plain + 1..=plain + 8).contains(&sliced),
        "{plain} vs {sliced}"
    );
}

/// One function of each typed call shape, each spinning through several fuel slices before it
/// answers (a loop, and a branch never taken to a `global.set`: not pure, so it runs in
/// slices from the start), with answers whose every bit counts: negative ints, an i32 to
/// sign-extend, a bool, a negative zero.
fn every_shape_sliced() -> Vec<u8> {
    // About 250,000 units of fuel: a few slices of 100,000.
    let spin = r#"(if (i32.const 0) (then (global.set $g (i32.const 1))))
        (local.set $i (i32.const 50000))
        (loop $l (br_if $l (local.tee $i (i32.sub (local.get $i) (i32.const 1)))))"#;
    wat::parse_str(format!(
        r#"(module
            (global $g (mut i32) (i32.const 0))
            (func (export "not") (param i64) (result i64) (local $i i32)
                {spin} (i64.xor (local.get 0) (i64.const -1)))
            (func (export "sub") (param i64 i64) (result i64) (local $i i32)
                {spin} (i64.sub (local.get 0) (local.get 1)))
            (func (export "mul_add") (param i64 i64 i64) (result i64) (local $i i32)
                {spin} (i64.add (i64.mul (local.get 0) (local.get 1)) (local.get 2)))
            (func (export "least") (result i64) (local $i i32)
                {spin} (i64.const -9223372036854775808))
            (func (export "neg32") (param i64) (result i32) (local $i i32)
                {spin} (i32.sub (i32.const 0) (i32.wrap_i64 (local.get 0))))
            (func (export "is_negative") (param i64) (result i32) (local $i i32)
                {spin} (i64.lt_s (local.get 0) (i64.const 0)))
            (func (export "lt32") (param i64 i64) (result i32) (local $i i32)
                {spin} (i32.sub (i32.const 0) (i64.lt_s (local.get 0) (local.get 1))))
            (func (export "negate") (param f64) (result f64) (local $i i32)
                {spin} (f64.neg (local.get 0)))
            (func (export "copysign") (param f64 f64) (result f64) (local $i i32)
                {spin} (f64.copysign (local.get 0) (local.get 1))))"#
    ))
    .expect("wat")
}

#[test]
fn a_call_that_runs_in_slices_returns_what_a_plain_call_returns_in_every_shape() {
    // Metered calls that pause at the end of each slice take another route through wasmi
    // than plain ones (see src/wasm/twin.rs): the answers must not differ in a bit.
    let bytes = every_shape_sliced();
    let int = Object::Int;
    let cases = [
        ("not", vec![int(5)], int(-6)),
        ("sub", vec![int(1), int(i64::MAX)], int(i64::MIN + 2)),
        ("mul_add", vec![int(-3), int(7), int(-1)], int(-22)),
        ("least", vec![], int(i64::MIN)),
        ("neg32", vec![int(5)], int(-5)),
        (
            "neg32",
            vec![int(i64::from(i32::MIN))],
            int(i64::from(i32::MIN)),
        ),
        ("is_negative", vec![int(-1)], Object::Bool(true)),
        ("lt32", vec![int(-2), int(1)], int(-1)),
        ("negate", vec![Object::Float(0.0)], Object::Float(-0.0)),
        (
            "copysign",
            vec![Object::Float(2.5), int(-1)],
            Object::Float(-2.5),
        ),
    ];
    let same = |a: &Object, b: &Object| match (a, b) {
        (Object::Float(x), Object::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    };
    for config in [
        Config::new(),
        Config::new().fuel(10_000_000),
        Config::new().trusted(true),
    ] {
        let p = WasmPlugin::from_bytes_with("shapes", &bytes, &config).expect("loads");
        for (function, args, want) in &cases {
            let builtin = match p.exports().get(*function) {
                Some(Object::Builtin(b)) => b.clone(),
                other => panic!("{function}: {other:?}"),
            };
            for _ in 0..2 {
                let by_name = p.call(function, args).expect("runs");
                let called = builtin.call(args);
                for got in [&by_name, &called] {
                    assert!(
                        same(got, want),
                        "{function}{args:?} under {config:?}: {got:?}, want {want:?}"
                    );
                }
            }
        }
        // Typed handles take the same routes.
        let not = p.typed::<i64, i64>("not").expect("typed handle");
        assert_eq!(not.call(5).ok(), Some(-6), "{config:?}");
        let negate = p.typed::<f64, f64>("negate").expect("typed handle");
        let negated = negate.call(0.0).expect("runs");
        assert_eq!(negated.to_bits(), (-0.0f64).to_bits(), "{config:?}");
    }
    // Under a fuel limit below the spin: the limit, in every shape.
    let p =
        WasmPlugin::from_bytes_with("shapes", &bytes, &Config::new().fuel(150_000)).expect("loads");
    for (function, args, _) in &cases {
        assert_eq!(
            kind(&p.call(function, args)),
            Some(&ErrorKind::Limit(Limit::Fuel(150_000))),
            "{function}"
        );
    }
}

/// `sum(n)`: 1 + 2 + ... + n in a loop over locals (pure: a run cut short leaves nothing
/// behind); `sum_sliced`: the same behind a branch never taken to a `global.set` (not pure);
/// `tally(n)`: adds one to a counter in memory, then loops n times (not pure: a second run
/// would count twice); `tallied()`: the counter.
fn pure_loops() -> Vec<u8> {
    let sum = r#"(block $done
            (loop $l
                (br_if $done (i64.eqz (local.get $n)))
                (local.set $acc (i64.add (local.get $acc) (local.get $n)))
                (local.set $n (i64.sub (local.get $n) (i64.const 1)))
                (br $l)))
        (local.get $acc)"#;
    wat::parse_str(format!(
        r#"(module
            (memory 1)
            (global $g (mut i32) (i32.const 0))
            (func (export "sum") (param $n i64) (result i64) (local $acc i64) {sum})
            (func (export "sum_sliced") (param $n i64) (result i64) (local $acc i64)
                (if (i32.const 0) (then (global.set $g (i32.const 1))))
                {sum})
            (func (export "tally") (param $n i64) (result i64)
                (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1)))
                (loop $l
                    (local.set $n (i64.sub (local.get $n) (i64.const 1)))
                    (br_if $l (i64.gt_s (local.get $n) (i64.const 0))))
                (i64.load (i32.const 0)))
            (func (export "tallied") (result i64) (i64.load (i32.const 0))))"#
    ))
    .expect("wat")
}

#[test]
fn a_pure_loop_that_outlasts_its_plain_slice_runs_again_in_slices() {
    let bytes = pure_loops();
    // 10 ends within the first slice; 10^6 needs dozens of slices, so its plain run is
    // abandoned and the call runs again, sliced (and so does every later call of it).
    let sums = [(10, 55), (1_000_000, 500_000_500_000), (10, 55)];
    for config in [
        Config::new(),
        Config::new().fuel(1_000_000_000),
        Config::new().deadline(Duration::from_secs(30)),
        Config::new().trusted(true),
    ] {
        for function in ["sum", "sum_sliced"] {
            let p = WasmPlugin::from_bytes_with("pure", &bytes, &config).expect("loads");
            let typed = p.typed::<i64, i64>(function).expect("typed handle");
            let builtin = match p.exports().get(function) {
                Some(Object::Builtin(b)) => b.clone(),
                other => panic!("{function}: {other:?}"),
            };
            for (n, want) in sums {
                let label = format!("{function}({n}) under {config:?}");
                assert_eq!(
                    p.call(function, &[Object::Int(n)]).ok(),
                    Some(Object::Int(want)),
                    "{label}"
                );
                assert_eq!(typed.call(n).ok(), Some(want), "{label}");
                assert_eq!(
                    builtin.call(&[Object::Int(n)]),
                    Object::Int(want),
                    "{label}"
                );
            }
        }
    }
}

#[test]
fn a_pure_loop_is_charged_the_fuel_a_sliced_one_is_charged() {
    // The smallest budget each succeeds with, for a run within one slice (n = 100) and one
    // of many slices (n = 200,000, about 1,000,000 units): the abandoned plain run of the
    // second charges nothing, so `sum` needs what `sum_sliced` needs, less its branch.
    let bytes = pure_loops();
    for n in [100, 200_000] {
        let needs = |function: &str| least_fuel(&bytes, function, n);
        let (pure, sliced) = (needs("sum"), needs("sum_sliced"));
        if n == 100 {
            // One slice: the branch costs the sliced one a few units (4 with wasmi 2.0).
            assert!(
                (pure + 1..=pure + 8).contains(&sliced),
                "sum({n}) needs {pure}, sum_sliced({n}) {sliced}"
            );
        } else {
            // Many slices: both run sliced in the end, and where a slice runs out leaves a
            // few units unused at each end of slice (where the branch moves those ends, the
            // two differ by some units); charging the abandoned run would add a whole slice.
            assert!(pure > 500_000, "sum({n}) needs {pure}: several slices");
            assert!(
                sliced.abs_diff(pure) < 1_000,
                "sum({n}) needs {pure}, sum_sliced({n}) {sliced}"
            );
        }
    }
}

#[test]
fn a_loop_that_writes_memory_is_never_run_twice() {
    // `tally` counts its runs in memory before a loop of many slices: each call counts once
    // (a rerun of it would count twice).
    for config in [Config::new(), Config::new().fuel(1_000_000_000)] {
        let p = WasmPlugin::from_bytes_with("pure", &pure_loops(), &config).expect("loads");
        for round in 1..=3 {
            assert_eq!(
                p.call("tally", &[Object::Int(200_000)]).ok(),
                Some(Object::Int(round)),
                "{config:?}"
            );
            assert_eq!(p.call("tallied", &[]).ok(), Some(Object::Int(round)));
        }
    }
}
