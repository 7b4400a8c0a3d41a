//! Hot reload (`WasmPlugin::reload_bytes`, `Loader::reload`, and with the `watch` feature
//! `Watcher`): new code is validated first, swapped in atomically for every builtin already
//! handed out, calls in flight finish on the old code, failures keep the old plugin, and the
//! old engine is freed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use xxlang_plugin::{
    Config, ErrorKind, Loader, Object, Plugin, Registry, Signature, Type, WasmPlugin,
};

/// A typed plugin whose `answer()` returns `n`, plus `f` with the given signature.
fn version(n: i64, f: &str) -> Vec<u8> {
    let (decl, body) = match f {
        "int" => (
            "fn f(x: int) -> int",
            "(func (export \"f\") (param i64) (result i64) local.get 0)",
        ),
        "float" => (
            "fn f(x: float) -> float",
            "(func (export \"f\") (param f64) (result f64) local.get 0)",
        ),
        _ => ("", ""),
    };
    wat::parse_str(format!(
        r#"(module
            (@custom "xxplugin" "abi 1\nname swap\nfn answer() -> int\n{decl}\n")
            (func (export "answer") (result i64) i64.const {n})
            {body})"#
    ))
    .expect("wat")
}

fn builtin(p: &WasmPlugin, name: &str) -> xxlang_plugin::Builtin {
    p.exports()[name].as_builtin().expect("builtin").clone()
}

#[test]
fn builtins_handed_out_before_call_the_new_code_and_signatures_follow() {
    let p = WasmPlugin::from_bytes("swap", &version(1, "int")).expect("v1");
    let answer = builtin(&p, "answer");
    let f = builtin(&p, "f");
    assert_eq!(answer.call(&[]), Object::Int(1));
    assert_eq!(f.call(&[Object::Int(3)]), Object::Int(3));

    let v2 = p
        .reload_bytes(&version(2, "float"), &Config::new())
        .expect("v2");
    assert_eq!(answer.call(&[]), Object::Int(2));
    assert_eq!(
        f.call(&[Object::Float(0.5)]),
        Object::Float(0.5),
        "f takes a float now"
    );
    let sig = |p: &WasmPlugin| {
        p.functions()
            .into_iter()
            .find(|i| i.name == "f")
            .map(|i| i.signature.to_string())
    };
    assert_eq!(sig(&v2).as_deref(), Some("(x: float) -> float"));
    assert_eq!(
        sig(&p).as_deref(),
        Some("(x: float) -> float"),
        "the old handle sees it too"
    );
    assert_eq!(p.call("answer", &[]).expect("by name"), Object::Int(2));

    // A reload without `f`: its builtin fails, naming it; bringing it back revives it.
    p.reload_bytes(&version(3, "none"), &Config::new())
        .expect("v3");
    let err = f.call(&[Object::Int(1)]);
    assert_eq!(err.error_message(), Some("swap: no function named \"f\""));
    assert!(
        !p.reload_bytes(&version(3, "none"), &Config::new())
            .expect("v3")
            .exports()
            .contains_key("f")
    );
    p.reload_bytes(&version(4, "int"), &Config::new())
        .expect("v4");
    assert_eq!(f.call(&[Object::Int(9)]), Object::Int(9));
    assert_eq!(answer.call(&[]), Object::Int(4));
}

#[test]
fn builtins_of_raw_functions_follow_a_reload_that_reorders_and_drops_functions() {
    // Raw i64 functions take the typed call path; a reload that changes which functions
    // there are, and their order, must still send each builtin to its own function.
    let module = |funcs: &[(&str, i64)]| {
        let funcs: String = funcs
            .iter()
            .map(|(name, k)| {
                format!(
                    "(func (export \"{name}\") (param i64) (result i64) local.get 0 i64.const {k} i64.add)"
                )
            })
            .collect();
        wat::parse_str(format!("(module {funcs})")).expect("wat")
    };
    for config in [Config::new(), Config::new().trusted(true)] {
        let p = WasmPlugin::from_bytes_with("raw", &module(&[("a", 1), ("b", 2)]), &config)
            .expect("v1");
        let (a, b) = (builtin(&p, "a"), builtin(&p, "b"));
        assert_eq!(
            (a.call(&[Object::Int(0)]), b.call(&[Object::Int(0)])),
            (Object::Int(1), Object::Int(2))
        );
        let v2 = p
            .reload_bytes(&module(&[("c", 30), ("b", 20)]), &config)
            .expect("v2");
        assert_eq!(b.call(&[Object::Int(0)]), Object::Int(20), "{config:?}");
        assert_eq!(
            a.call(&[Object::Int(0)]).error_message(),
            Some("raw: no function named \"a\"")
        );
        assert_eq!(
            v2.call("c", &[Object::Int(0)]).map_err(|e| e.to_string()),
            Ok(Object::Int(30))
        );
        p.reload_bytes(&module(&[("b", 200), ("a", 100)]), &config)
            .expect("v3");
        assert_eq!(
            (a.call(&[Object::Int(0)]), b.call(&[Object::Int(0)])),
            (Object::Int(100), Object::Int(200)),
            "{config:?}"
        );
    }
}

#[test]
fn a_failed_reload_keeps_the_old_plugin_and_says_why() {
    let p = WasmPlugin::from_bytes("swap", &version(1, "int")).expect("v1");
    let answer = builtin(&p, "answer");
    let err = p.reload_bytes(b"\0asm junk", &Config::new()).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::InvalidModule { .. }),
        "{err}"
    );
    // Start-up that traps: refused too.
    let trap = wat::parse_str(
        r#"(module (@custom "xxplugin" "abi 1\nname swap\n") (func $s unreachable) (start $s))"#,
    )
    .expect("wat");
    let err = p.reload_bytes(&trap, &Config::new()).unwrap_err();
    assert!(err.to_string().contains("start function trapped"), "{err}");
    // Another plugin's name: refused.
    let other =
        wat::parse_str(r#"(module (@custom "xxplugin" "abi 1\nname other\n"))"#).expect("wat");
    let err = p.reload_bytes(&other, &Config::new()).unwrap_err();
    assert!(
        err.to_string().contains("declares the name \"other\""),
        "{err}"
    );
    assert_eq!(answer.call(&[]), Object::Int(1));
}

#[test]
fn a_call_in_flight_finishes_on_the_old_code() {
    let gate = crate::common::gate("wait", Signature::new(vec![], Type::Int), |_| {
        Object::Int(0)
    });
    let (wait, arrived, go) = (gate.function, gate.arrived, gate.go);
    let code = |n: i64| {
        wat::parse_str(format!(
            r#"(module
                (@custom "xxplugin" "abi 1\nname swap\nfn answer() -> int\n")
                (import "xxhost" "wait" (func $wait (result i64)))
                (func (export "answer") (result i64) call $wait i64.const {n} i64.add))"#
        ))
        .expect("wat")
    };
    let config = Config::new().host_function(wait);
    let p = Arc::new(WasmPlugin::from_bytes_with("swap", &code(1), &config).expect("v1"));
    let in_flight = {
        let p = p.clone();
        std::thread::spawn(move || p.call("answer", &[]))
    };
    arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("the call is inside");
    // The reload does not wait for the call.
    p.reload_bytes(&code(2), &config)
        .expect("reload during a call");
    go.send(()).expect("go");
    assert_eq!(
        in_flight.join().expect("no panic").expect("old call"),
        Object::Int(1)
    );
    let next = {
        let p = p.clone();
        std::thread::spawn(move || p.call("answer", &[]))
    };
    arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("next call");
    go.send(()).expect("go");
    assert_eq!(
        next.join().expect("no panic").expect("new call"),
        Object::Int(2)
    );
}

#[test]
fn reloads_under_load_never_fail_a_call() {
    let p = Arc::new(
        WasmPlugin::from_bytes_with("swap", &version(0, "int"), &Config::new().instances(2))
            .expect("v0"),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let callers: Vec<_> = (0..3)
        .map(|_| {
            let (answer, stop) = (builtin(&p, "answer"), stop.clone());
            std::thread::spawn(move || {
                let mut seen = 0i64;
                let mut calls = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    match answer.call(&[]) {
                        Object::Int(n) => {
                            assert!(n >= seen, "went back from version {seen} to {n}");
                            seen = n;
                        }
                        other => panic!("call failed during reloads: {other}"),
                    }
                    calls += 1;
                }
                calls
            })
        })
        .collect();
    for n in 1..=200 {
        p.reload_bytes(&version(n, "int"), &Config::new().instances(2))
            .expect("reload");
    }
    stop.store(true, Ordering::Relaxed);
    for c in callers {
        assert!(c.join().expect("no panic") > 0);
    }
    assert_eq!(p.call("answer", &[]).expect("after"), Object::Int(200));
    assert!(p.pool().instances <= 2, "{:?}", p.pool());
}

#[test]
fn a_reload_can_change_the_pool_capacity() {
    let code = |stateless: bool, n: i64| {
        let line = if stateless { "stateless\\n" } else { "" };
        wat::parse_str(format!(
            r#"(module
                (@custom "xxplugin" "abi 1\nname swap\n{line}fn answer() -> int\n")
                (func (export "answer") (result i64) i64.const {n}))"#
        ))
        .expect("wat")
    };
    let config = Config::new().instances(3);
    let p = WasmPlugin::from_bytes_with("swap", &code(false, 1), &config).expect("stateful");
    assert_eq!(p.pool().capacity, 1);
    p.reload_bytes(&code(true, 2), &config).expect("stateless");
    assert_eq!(p.pool().capacity, 3);
    assert_eq!(p.call("answer", &[]).expect("call"), Object::Int(2));
    p.reload_bytes(&code(false, 3), &config)
        .expect("stateful again");
    assert_eq!(p.pool().capacity, 1);
    // Many threads, one instance.
    let p = Arc::new(p);
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    assert_eq!(p.call("answer", &[]).expect("call"), Object::Int(3));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
    assert_eq!(p.pool().instances, 1);
}

#[test]
fn the_cancel_handle_from_before_a_reload_cancels_calls_after_it() {
    let spin = |n: i64| {
        wat::parse_str(format!(
            r#"(module
                (@custom "xxplugin" "abi 1\nname swap\nfn spin() -> int\n")
                (func (export "spin") (result i64) (loop $l (br $l)) i64.const {n}))"#
        ))
        .expect("wat")
    };
    let p = Arc::new(WasmPlugin::from_bytes("swap", &spin(1)).expect("v1"));
    let cancel = p.cancel_handle().expect("metered");
    p.reload_bytes(&spin(2), &Config::new()).expect("v2");
    let spinner = {
        let p = p.clone();
        std::thread::spawn(move || p.call("spin", &[]))
    };
    std::thread::sleep(Duration::from_millis(30));
    cancel.cancel();
    let err = spinner.join().expect("no panic").unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Limit(xxlang_plugin::Limit::Cancelled)
        ),
        "{err}"
    );
}

#[test]
fn a_closed_plugin_is_not_reloaded() {
    let p = WasmPlugin::from_bytes("swap", &version(1, "int")).expect("v1");
    p.close().expect("close");
    let err = p
        .reload_bytes(&version(2, "int"), &Config::new())
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Closed), "{err}");
    assert!(p.call("answer", &[]).is_err());
}

#[test]
fn the_loader_reloads_by_name_and_keeps_the_old_plugin_on_failure() {
    let dir = tempdir("loader");
    std::fs::write(dir.join("swap.wasm"), version(1, "int")).expect("write");
    let loader = Loader::with_registry(Arc::new(Registry::new()));
    loader.set_paths([&dir]);
    let module = loader.import("plugin/swap").expect("import");
    let Object::Module(m) = &module else {
        panic!("{module}")
    };
    let answer = m
        .get("answer")
        .expect("answer")
        .as_builtin()
        .expect("builtin")
        .clone();
    assert_eq!(answer.call(&[]), Object::Int(1));

    std::fs::write(dir.join("swap.wasm"), version(2, "int")).expect("write");
    let now = loader.reload("swap").expect("reload");
    assert_eq!(answer.call(&[]), Object::Int(2));
    assert!(Arc::ptr_eq(
        &now,
        &loader.load_wasm("swap").expect("load_wasm")
    ));
    let registered = loader.registry().get("swap").expect("registered");
    assert!(std::ptr::addr_eq(
        Arc::as_ptr(&registered),
        Arc::as_ptr(&now)
    ));

    std::fs::write(dir.join("swap.wasm"), b"broken").expect("write");
    let err = loader.reload("swap").unwrap_err();
    assert!(err.to_string().contains("invalid module"), "{err}");
    assert_eq!(answer.call(&[]), Object::Int(2));
    assert!(Arc::ptr_eq(
        &now,
        &loader.load_wasm("swap").expect("still there")
    ));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn load_wasm_refuses_a_registered_plugin_that_is_not_the_loaders() {
    struct Native;
    impl Plugin for Native {
        fn name(&self) -> &str {
            "native"
        }
        fn exports(&self) -> std::collections::BTreeMap<String, Object> {
            Default::default()
        }
    }
    let registry = Arc::new(Registry::new());
    registry.register(Arc::new(Native));
    let loader = Loader::with_registry(registry);
    assert!(loader.load("native").is_ok());
    let err = loader.load_wasm("native").unwrap_err();
    assert!(
        err.to_string().contains("did not load from a .wasm file"),
        "{err}"
    );
}

#[test]
fn reloading_ten_thousand_times_keeps_memory_flat() {
    // In a process of its own: other tests running beside it would move its RSS.
    crate::common::in_child(
        "reload::reloading_ten_thousand_times_keeps_memory_flat",
        ten_thousand_reloads,
    );
}

fn ten_thousand_reloads() {
    let p = WasmPlugin::from_bytes("swap", &version(0, "int")).expect("v0");
    let answer = builtin(&p, "answer");
    let reload = |n: i64| {
        p.reload_bytes(&version(n, "int"), &Config::new())
            .expect("reload");
        assert_eq!(answer.call(&[]), Object::Int(n));
    };
    for n in 1..=1000 {
        reload(n);
    }
    let before = crate::common::rss_kib();
    for n in 1001..=10_000 {
        reload(n);
    }
    let after = crate::common::rss_kib();
    eprintln!("RSS after 1,000 reloads: {before:?} KiB; after 10,000: {after:?} KiB");
    if let (Some(before), Some(after)) = (before, after) {
        // Every reload compiles a module on an engine of its own; 9,000 kept engines would be
        // tens of MiB. Allow allocator noise.
        assert!(
            after < before + 8 * 1024,
            "RSS grew from {before} KiB to {after} KiB"
        );
    }
}

#[cfg(feature = "watch")]
#[test]
fn the_watcher_reloads_a_plugin_when_its_file_changes() {
    let dir = tempdir("watch");
    std::fs::write(dir.join("swap.wasm"), version(1, "int")).expect("write");
    let loader = Arc::new(Loader::with_registry(Arc::new(Registry::new())));
    loader.set_paths([&dir]);
    let plugin = loader.load_wasm("swap").expect("load");
    let answer = builtin(&plugin, "answer");
    let (tx, rx) = std::sync::mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let _watcher = xxlang_plugin::Watcher::new(&loader, move |name, outcome| {
        let _ = tx
            .lock()
            .map(|tx| tx.send((name.to_string(), outcome.is_ok())));
    })
    .expect("watch");
    std::fs::write(dir.join("swap.wasm"), version(2, "int")).expect("write");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok((String::from("swap"), true))
    );
    assert_eq!(answer.call(&[]), Object::Int(2));
    std::fs::write(dir.join("swap.wasm"), b"broken").expect("write");
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(10)),
        Ok((String::from("swap"), false))
    );
    assert_eq!(answer.call(&[]), Object::Int(2), "the old plugin runs on");
    std::fs::remove_dir_all(&dir).ok();
}

fn tempdir(what: &str) -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "xxplugin-reload-{what}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}
