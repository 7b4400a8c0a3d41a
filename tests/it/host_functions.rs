//! Host functions: a plugin calls back into its embedder (tests/fixtures/hostcall.wat), with
//! arguments and results checked against the declared signature both ways, errors that name
//! everything, no way to hurt the host with bad pointers, and no deadlock on re-entry.

use crate::common;

use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use common::{assert_error, call, fixture_bytes};
use xxlang_plugin::{
    Builtin, Config, Error, ErrorKind, HostFunction, Loader, Object, Param, Registry, Signature,
    Type, WasmPlugin,
};

fn lookup(seen: Arc<Mutex<Vec<String>>>) -> HostFunction {
    HostFunction::new(
        "lookup",
        Signature::new(vec![Param::named("key", Type::String)], Type::String),
        move |call, args| {
            let [Object::String(key)] = args else {
                return Err(format!("unexpected arguments {args:?}"));
            };
            seen.lock()
                .expect("lock")
                .push(format!("{}:{key}", call.plugin()));
            match &**key {
                "world" => Ok(Object::from("Hello")),
                "wrong type" => Ok(Object::Int(7)),
                "big" => Ok(Object::from("x".repeat(100_000))),
                other => Err(format!("no greeting for {other:?}")),
            }
        },
    )
}

fn scale() -> HostFunction {
    HostFunction::new(
        "scale",
        Signature::new(
            vec![Param::named("n", Type::Int), Param::named("f", Type::Float)],
            Type::Float,
        ),
        |_, args| match args {
            [Object::Int(n), Object::Float(f)] => Ok(Object::Float(*n as f64 * f)),
            _ => Err(format!("unexpected arguments {args:?}")),
        },
    )
}

/// `call_me(n)` calls `target` (set after load) with `n` and returns its result.
fn call_me(target: Arc<OnceLock<Builtin>>) -> HostFunction {
    HostFunction::new(
        "call_me",
        Signature::new(vec![Param::named("n", Type::Int)], Type::Int),
        move |_, args| {
            let Some(f) = target.get() else {
                return Err(String::from("no target"));
            };
            match f.call(args) {
                Object::Error(e) => Err(e.to_string()),
                v => Ok(v),
            }
        },
    )
}

struct Setup {
    plugin: WasmPlugin,
    seen: Arc<Mutex<Vec<String>>>,
    target: Arc<OnceLock<Builtin>>,
}

fn setup() -> Setup {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let target = Arc::new(OnceLock::new());
    let config = Config::new()
        .host_function(lookup(seen.clone()))
        .host_function(scale())
        .host_function(call_me(target.clone()));
    let plugin = WasmPlugin::from_bytes_with("hostcall", &fixture_bytes("hostcall"), &config)
        .expect("loads");
    Setup {
        plugin,
        seen,
        target,
    }
}

/// Runs `f` on another thread and fails the test if it does not finish in 10 s (a deadlock).
fn within_10s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .expect("finished (no deadlock)")
}

#[test]
fn a_plugin_calls_a_host_function_and_uses_its_result() {
    let s = setup();
    assert_eq!(
        call(&s.plugin, "greet", &[Object::from("world")]),
        Object::from("Hello, world!")
    );
    assert_eq!(
        call(&s.plugin, "scaled", &[Object::Int(4)]),
        Object::Float(6.0)
    );
    assert_eq!(s.seen.lock().expect("lock").as_slice(), ["hostcall:world"]);
    // A large result crosses through xxplugin.fetch too.
    let Object::String(big) = call(&s.plugin, "greet", &[Object::from("big")]) else {
        panic!("not a string");
    };
    assert_eq!(big.len(), 100_000 + ", big!".len());
}

#[test]
fn a_host_function_error_is_that_functions_error_unmetered_too() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let config = Config::new()
        .trusted(true)
        .host_function(lookup(seen))
        .host_function(scale())
        .host_function(call_me(Arc::new(OnceLock::new())));
    let plugin = WasmPlugin::from_bytes_with("hostcall", &fixture_bytes("hostcall"), &config)
        .expect("loads");
    let greet = common::builtin(&plugin, "greet");
    let value = greet.call(&[Object::from("nobody")]);
    assert_eq!(
        value.error_message(),
        Some(
            "hostcall.greet: host function lookup failed: no greeting for \"nobody\" \
             (plugin restarted, state reset)"
        )
    );
    assert_eq!(
        call(&plugin, "greet", &[Object::from("world")]),
        Object::from("Hello, world!")
    );
}

#[test]
fn a_host_function_error_becomes_the_calls_error() {
    let s = setup();
    let err = s
        .plugin
        .call("greet", &[Object::from("nobody")])
        .unwrap_err();
    let msg = err.to_string();
    assert_eq!(
        msg,
        "hostcall.greet: host function lookup failed: no greeting for \"nobody\" \
         (plugin restarted, state reset)"
    );
    assert!(err.instance_reset());
    match err.kind() {
        ErrorKind::Host { function, message } => {
            assert_eq!(function, "lookup");
            assert_eq!(message, "no greeting for \"nobody\"");
        }
        other => panic!("not a host function's error: {other:?}"),
    }
    // The plugin goes on.
    assert_eq!(
        call(&s.plugin, "greet", &[Object::from("world")]),
        Object::from("Hello, world!")
    );
}

#[test]
fn results_are_checked_against_the_signature() {
    let s = setup();
    assert_error(
        &call(&s.plugin, "greet", &[Object::from("wrong type")]),
        &[
            "hostcall.greet: ",
            "host function lookup",
            "returned int",
            "returns string",
        ],
    );
}

#[test]
fn bad_pointers_from_the_plugin_are_errors() {
    let s = setup();
    // Out of bounds, overflowing, negative length, and bytes that are not UTF-8.
    for (ptr, len) in [(196_600, 100), (-1, 8), (0, -1), (i64::from(i32::MAX), 2)] {
        assert_error(
            &call(
                &s.plugin,
                "lookup_raw",
                &[Object::Int(ptr), Object::Int(len)],
            ),
            &[
                "hostcall.lookup_raw: ",
                "host function lookup",
                "argument 1",
            ],
        );
    }
    // Bytes that are not UTF-8 for a string parameter.
    assert_eq!(
        call(&s.plugin, "stash", &[Object::from(vec![0xffu8, 0xfe])]),
        Object::Null
    );
    assert_error(
        &call(
            &s.plugin,
            "lookup_raw",
            &[Object::Int(1024), Object::Int(2)],
        ),
        &[
            "hostcall.lookup_raw: ",
            "host function lookup",
            "argument 1 is not UTF-8",
        ],
    );
    assert_error(
        &call(
            &s.plugin,
            "fetch_to",
            &[Object::from("world"), Object::Int(196_606)],
        ),
        &[
            "hostcall.fetch_to: ",
            "xxplugin.fetch",
            "outside the plugin's memory",
        ],
    );
    // None of them reached the host function but the one with a valid key.
    assert_eq!(s.seen.lock().expect("lock").as_slice(), ["hostcall:world"]);
    assert_eq!(
        call(&s.plugin, "greet", &[Object::from("world")]),
        Object::from("Hello, world!")
    );
}

#[test]
fn calling_back_into_the_same_plugin_fails_instead_of_deadlocking() {
    let s = setup();
    s.target.set(common::builtin(&s.plugin, "calls")).ok();
    let plugin = Arc::new(s.plugin);
    let p = plugin.clone();
    let outcome = within_10s(move || p.call("recurse", &[Object::Int(1)]));
    match outcome {
        Err(e) => {
            let msg = e.to_string();
            assert!(msg.starts_with("hostcall.recurse: "), "{msg}");
            assert!(
                msg.contains("hostcall.calls: hostcall is inside a host function"),
                "{msg}"
            );
        }
        Ok(v) => panic!("a re-entrant call returned {v:?}"),
    }
    // Afterwards, from outside, the plugin works.
    assert_eq!(call(&*plugin, "calls", &[]), Object::Int(0));
}

#[test]
fn a_host_function_may_call_another_plugin() {
    let s = setup();
    let fib = common::load("fib");
    s.target.set(common::builtin(&fib, "fast")).ok();
    let p = Arc::new(s.plugin);
    let q = p.clone();
    assert_eq!(
        within_10s(move || q.call("recurse", &[Object::Int(10)]).ok()),
        Some(Object::Int(56))
    );
}

#[test]
fn a_plugin_cannot_close_itself_from_a_host_function() {
    let holder: Arc<OnceLock<Arc<WasmPlugin>>> = Arc::new(OnceLock::new());
    let h = holder.clone();
    let closer = HostFunction::new(
        "call_me",
        Signature::new(vec![Param::named("n", Type::Int)], Type::Int),
        move |_, _| {
            let p = h.get().ok_or("no plugin")?;
            xxlang_plugin::Plugin::close(&**p).map_err(|e| e.to_string())?;
            Ok(Object::Int(0))
        },
    );
    let config = Config::new()
        .host_function(lookup(Arc::new(Mutex::new(Vec::new()))))
        .host_function(scale())
        .host_function(closer);
    let p = Arc::new(
        WasmPlugin::from_bytes_with("hostcall", &fixture_bytes("hostcall"), &config)
            .expect("loads"),
    );
    holder.set(p.clone()).ok();
    let q = p.clone();
    let err = within_10s(move || q.call("recurse", &[Object::Int(1)]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("hostcall.close: hostcall is inside a host function"),
        "{err}"
    );
    assert!(!xxlang_plugin::Plugin::is_closed(&*p));
    // From outside, closing works.
    assert!(xxlang_plugin::Plugin::close(&*p).is_ok());
}

/// A host function that calls its own plugin, on its own thread and from a thread it spawns
/// and joins: both calls fail at once with `ErrorKind::Reentrant` (each would wait for the call the
/// host function is in; the spawned one used to wait for ever), the host function returns, and
/// the outer call completes.
#[test]
fn calls_into_a_plugin_inside_a_host_function_fail_from_any_thread() {
    type Seen = Vec<Result<Object, Error>>;
    let holder: Arc<OnceLock<std::sync::Weak<WasmPlugin>>> = Arc::new(OnceLock::new());
    let seen: Arc<Mutex<Seen>> = Arc::new(Mutex::new(Vec::new()));
    let (h, s) = (holder.clone(), seen.clone());
    let reenter = HostFunction::new(
        "call_me",
        Signature::new(vec![Param::named("n", Type::Int)], Type::Int),
        move |_, _| {
            let p = h
                .get()
                .and_then(std::sync::Weak::upgrade)
                .ok_or("no plugin")?;
            let same_thread = p.call("calls", &[]);
            let q = p.clone();
            let other_thread = std::thread::spawn(move || q.call("calls", &[]))
                .join()
                .map_err(|_| "the thread panicked")?;
            s.lock()
                .map_err(|e| e.to_string())?
                .extend([same_thread, other_thread]);
            Ok(Object::Int(7))
        },
    );
    let config = Config::new()
        .host_function(lookup(Arc::new(Mutex::new(Vec::new()))))
        .host_function(scale())
        .host_function(reenter);
    let p = Arc::new(
        WasmPlugin::from_bytes_with("hostcall", &fixture_bytes("hostcall"), &config)
            .expect("loads"),
    );
    holder.set(Arc::downgrade(&p)).ok();
    let q = p.clone();
    let outcome = within_10s(move || q.call("recurse", &[Object::Int(1)]));
    assert_eq!(
        outcome.ok(),
        Some(Object::Int(8)),
        "the outer call completes"
    );
    let seen = std::mem::take(&mut *seen.lock().expect("lock"));
    assert_eq!(seen.len(), 2);
    for got in seen {
        match got {
            Err(e) if *e.kind() == ErrorKind::Reentrant => {
                let msg = e.to_string();
                assert!(
                    msg.starts_with(
                        "hostcall.calls: hostcall is inside a host function and this call \
                         would wait on it"
                    ),
                    "{msg}"
                );
            }
            other => panic!("expected ErrorKind::Reentrant, got {other:?}"),
        }
    }
    // Afterwards, from any thread, the plugin works.
    let q = p.clone();
    assert_eq!(
        within_10s(move || q.call("calls", &[]).ok()),
        Some(Object::Int(0))
    );
}

#[test]
fn a_missing_host_function_fails_the_load_by_name() {
    let config = Config::new().host_function(scale());
    match WasmPlugin::from_bytes_with("hostcall", &fixture_bytes("hostcall"), &config) {
        Err(e) if matches!(e.kind(), ErrorKind::MissingImports { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("xxhost.call_me") && msg.contains("xxhost.lookup"),
                "{msg}"
            );
            assert!(!msg.contains("xxhost.scale"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_import_of_the_wrong_wasm_type_fails_the_load() {
    let wrong = HostFunction::new(
        "scale",
        Signature::new(vec![Param::named("s", Type::String)], Type::Float),
        |_, _| Ok(Object::Float(0.0)),
    );
    let config = Config::new()
        .host_function(lookup(Arc::new(Mutex::new(Vec::new()))))
        .host_function(wrong)
        .host_function(call_me(Arc::new(OnceLock::new())));
    let err = WasmPlugin::from_bytes_with("hostcall", &fixture_bytes("hostcall"), &config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("xxhost.scale with wasm type (i64, f64) -> (f64)"),
        "{err}"
    );
    assert!(
        err.contains("scale(s: string) -> float has wasm type (i32, i32) -> (f64)"),
        "{err}"
    );
}

#[test]
fn host_functions_registered_on_a_loader_reach_its_plugins() {
    let dir = common::TempDir::new("hostfns");
    dir.write("hostcall.wasm", &fixture_bytes("hostcall"));
    let loader = Loader::with_registry(Arc::new(Registry::new()));
    loader.set_paths([dir.path()]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    loader.add_host_function(lookup(seen.clone()));
    loader.add_host_function(scale());
    loader.add_host_function(call_me(Arc::new(OnceLock::new())));
    let p = loader.load("hostcall").expect("loads");
    assert_eq!(
        call(&*p, "greet", &[Object::from("world")]),
        Object::from("Hello, world!")
    );
    assert_eq!(seen.lock().expect("lock").as_slice(), ["hostcall:world"]);
}

/// Loads of the same bytes under configs with different host functions each call their own:
/// a module that imports host functions is linked for each load (its imports depend on the
/// config), while one that does not shares one linker between its loads.
#[test]
fn loads_of_the_same_bytes_call_their_own_host_functions() {
    let src = r#"(module
        (import "xxhost" "answer" (func $answer (result i64)))
        (func (export "call_ask") (result i64) (call $answer)))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let answer = |n: i64| {
        HostFunction::new("answer", Signature::new(vec![], Type::Int), move |_, _| {
            Ok(Object::Int(n))
        })
    };
    let load = |n: i64| {
        WasmPlugin::from_bytes_with("answers", &bytes, &Config::new().host_function(answer(n)))
            .expect("load")
    };
    let (one, two, three) = (load(1), load(2), load(3));
    for (p, n) in [(&one, 1), (&two, 2), (&three, 3)] {
        assert_eq!(call(p, "ask", &[]), Object::Int(n));
    }
    // Without the host function, the same bytes do not load.
    let err = WasmPlugin::from_bytes("answers", &bytes).expect_err("missing import");
    assert!(
        matches!(err.kind(), ErrorKind::MissingImports { .. }),
        "{err}"
    );
}

/// Host functions of every kind of wasm type: typed wasmi imports (at most two wasm
/// parameters, each `i32`, `i64` or `f64`, and at most one result; all numbers, or with a
/// string) and untyped ones (more parameters) pass their arguments and results as declared,
/// metered or not, and a result of the wrong type is an error on each path.
#[test]
fn host_functions_of_every_wasm_shape_pass_values_both_ways() {
    let src = r#"(module
        (import "xxhost" "tick" (func $tick))
        (import "xxhost" "seven" (func $seven (result i64)))
        (import "xxhost" "flip" (func $flip (param i32) (result i32)))
        (import "xxhost" "half" (func $half (param f64) (result f64)))
        (import "xxhost" "pick" (func $pick (param i64 i32) (result i64)))
        (import "xxhost" "mix" (func $mix (param f64 i64) (result f64)))
        (import "xxhost" "sum3" (func $sum3 (param i64 i64 i64) (result i64)))
        (import "xxhost" "tag" (func $tag (param i32 i32 i64) (result i64)))
        (import "xxhost" "size" (func $size (param i32 i32) (result i64)))
        (memory (export "memory") 1)
        (data (i32.const 16) "hello")
        (func (export "tick") (result i64) (call $tick) (i64.const 1))
        (func (export "seven") (result i64) (call $seven))
        (func (export "flip") (param i64) (result i64)
          (i64.extend_i32_u (call $flip (i32.wrap_i64 (local.get 0)))))
        (func (export "half") (param f64) (result f64) (call $half (local.get 0)))
        (func (export "pick") (param i64 i64) (result i64)
          (call $pick (local.get 0) (i32.wrap_i64 (local.get 1))))
        (func (export "mix") (param f64 i64) (result f64) (call $mix (local.get 0) (local.get 1)))
        (func (export "sum3") (param i64 i64 i64) (result i64)
          (call $sum3 (local.get 0) (local.get 1) (local.get 2)))
        (func (export "tag") (param i64) (result i64)
          (call $tag (i32.const 16) (i32.const 5) (local.get 0)))
        (func (export "size") (result i64) (call $size (i32.const 16) (i32.const 5)))
        (@custom "xxplugin" "abi 1\nname shapes\nfn tick() -> int\nfn seven() -> int\nfn flip(b: int) -> int\nfn half(x: float) -> float\nfn pick(n: int, b: int) -> int\nfn mix(a: float, n: int) -> float\nfn sum3(a: int, b: int, c: int) -> int\nfn tag(n: int) -> int\nfn size() -> int\n"))"#;
    let bytes = wat::parse_str(src).expect("wat");
    let int = |name| Param::named(name, Type::Int);
    // Each import's declaration.
    let declared: [(&'static str, Vec<Param>, Type); 9] = [
        ("tick", vec![], Type::Null),
        ("seven", vec![], Type::Int),
        ("flip", vec![Param::named("b", Type::Bool)], Type::Bool),
        ("half", vec![Param::named("x", Type::Float)], Type::Float),
        (
            "pick",
            vec![int("n"), Param::named("b", Type::Bool)],
            Type::Int,
        ),
        (
            "mix",
            vec![Param::named("a", Type::Float), int("n")],
            Type::Float,
        ),
        ("sum3", vec![int("a"), int("b"), int("c")], Type::Int),
        (
            "tag",
            vec![Param::named("s", Type::String), int("n")],
            Type::Int,
        ),
        ("size", vec![Param::named("s", Type::String)], Type::Int),
    ];
    let seen = Arc::new(Mutex::new(Vec::new()));
    let honest = declared.clone().map(|(name, params, result)| {
        let seen = seen.clone();
        HostFunction::new(name, Signature::new(params, result), move |_, args| {
            seen.lock().expect("lock").push(format!("{name}{args:?}"));
            Ok(match (name, args) {
                ("tick", []) => Object::Null,
                ("seven", []) => Object::Int(7),
                ("flip", [Object::Bool(b)]) => Object::Bool(!b),
                ("half", [Object::Float(x)]) => Object::Float(x / 2.0),
                ("pick", [Object::Int(n), Object::Bool(b)]) => {
                    Object::Int(if *b { *n } else { -n })
                }
                // An int for a float result is the float.
                ("mix", [Object::Float(a), Object::Int(n)]) => Object::Int(*a as i64 + n),
                ("sum3", [Object::Int(a), Object::Int(b), Object::Int(c)]) => {
                    Object::Int(a * 100 + b * 10 + c)
                }
                ("tag", [Object::String(s), Object::Int(n)]) => Object::Int(s.len() as i64 * n),
                ("size", [Object::String(s)]) => Object::Int(s.len() as i64),
                _ => return Err(format!("{name}: unexpected {args:?}")),
            })
        })
    });
    let cases = [
        ("tick", vec![], Object::Int(1)),
        ("seven", vec![], Object::Int(7)),
        ("flip", vec![Object::Int(0)], Object::Int(1)),
        ("flip", vec![Object::Int(1)], Object::Int(0)),
        ("half", vec![Object::Float(3.0)], Object::Float(1.5)),
        ("pick", vec![Object::Int(5), Object::Int(1)], Object::Int(5)),
        (
            "pick",
            vec![Object::Int(5), Object::Int(0)],
            Object::Int(-5),
        ),
        (
            "mix",
            vec![Object::Float(2.0), Object::Int(3)],
            Object::Float(5.0),
        ),
        (
            "sum3",
            vec![Object::Int(1), Object::Int(2), Object::Int(3)],
            Object::Int(123),
        ),
        ("tag", vec![Object::Int(3)], Object::Int(15)),
        ("size", vec![], Object::Int(5)),
    ];
    for config in [Config::new(), Config::new().trusted(true)] {
        let config = honest
            .iter()
            .fold(config, |c, f| c.host_function(f.clone()));
        let plugin = WasmPlugin::from_bytes_with("shapes", &bytes, &config).expect("loads");
        for (function, args, want) in &cases {
            assert_eq!(&call(&plugin, function, args), want, "{function}{args:?}");
        }
    }
    let seen = seen.lock().expect("lock");
    assert!(
        seen.contains(&String::from("tag[String(\"hello\"), Int(3)]")),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 2 * cases.len(), "{seen:?}");

    // The same imports, each returning a value of the wrong type: the number path, the path
    // with memory (`tag`, `size`) and the untyped one (`sum3`) all say so, naming it.
    let wrong = [
        Object::Int(1),
        Object::from("7"),
        Object::Int(1),
        Object::Bool(true),
        Object::Null,
        Object::Null,
        Object::Float(1.0),
        Object::Null,
        Object::from("x"),
    ];
    let config = declared.into_iter().zip(wrong).fold(
        Config::new(),
        |config, ((name, params, result), value)| {
            let value_for = value.clone();
            config.host_function(HostFunction::new(
                name,
                Signature::new(params, result),
                move |_, _| Ok(value_for.clone()),
            ))
        },
    );
    let plugin = WasmPlugin::from_bytes_with("shapes", &bytes, &config).expect("loads");
    for (function, args, _) in &cases {
        let result = call(&plugin, function, args);
        let text = result.error_message().unwrap_or_default().to_owned();
        assert!(
            text.contains(&format!("shapes.{function}: ")),
            "{function}: {result:?}"
        );
        assert!(
            text.contains(&format!("host function {function}: it returned ")),
            "{text}"
        );
    }
}
