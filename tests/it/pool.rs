//! The instance pool (`Config::instances`): calls from several threads run at once on
//! different instances of a stateless plugin; stateful plugins keep one instance unless the
//! embedder says otherwise; a trapped instance is replaced; cancel and close reach them all.

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use xxlang_plugin::{Config, ErrorKind, Limit, Object, Param, Plugin, Signature, Type, WasmPlugin};

/// A plugin whose `meet(n)` calls the host function `meet` (which the tests use to hold calls
/// inside the plugin), `bump()` counts in a global, `boom()` traps and `spin()` never ends.
fn wat(stateless: bool) -> Vec<u8> {
    let manifest = if stateless {
        "abi 1\\nstateless\\n"
    } else {
        "abi 1\\n"
    };
    wat::parse_str(format!(
        r#"(module
            (@custom "xxplugin" "{manifest}fn meet(n: int) -> int\nfn bump() -> int\nfn boom()\nfn spin()\n")
            (import "xxhost" "meet" (func $meet (param i64) (result i64)))
            (global $count (mut i64) (i64.const 0))
            (memory (export "memory") 1)
            (func (export "meet") (param i64) (result i64) local.get 0 call $meet)
            (func (export "bump") (result i64)
                global.get $count i64.const 1 i64.add global.set $count global.get $count)
            (func (export "boom") unreachable)
            (func (export "spin") (loop $l (br $l))))"#
    ))
    .expect("wat")
}

/// The plugin of [`wat`] under `config`, with `meet(n)` held at the gate until the test's go
/// (then it returns `n * 10`).
fn load(
    stateless: bool,
    config: Config,
) -> (
    Arc<WasmPlugin>,
    mpsc::Receiver<Vec<Object>>,
    mpsc::Sender<()>,
) {
    let signature = Signature::new(vec![Param::named("n", Type::Int)], Type::Int);
    let meet = crate::common::gate("meet", signature, |args| match args {
        [Object::Int(n)] => Object::Int(n * 10),
        _ => Object::Null,
    });
    let config = config.host_function(meet.function);
    let p = WasmPlugin::from_bytes_with("pooled", &wat(stateless), &config).expect("load");
    (Arc::new(p), meet.arrived, meet.go)
}

#[test]
fn calls_from_two_threads_run_at_once_on_two_instances() {
    let (p, arrived, go) = load(true, Config::new().instances(2));
    assert_eq!(p.pool().capacity, 2);
    assert_eq!(
        p.pool().instances,
        1,
        "the pool grows only when calls collide"
    );
    let callers: Vec<_> = (1..=2)
        .map(|n| {
            let p = p.clone();
            std::thread::spawn(move || p.call("meet", &[Object::Int(n)]))
        })
        .collect();
    // Both calls are inside the plugin at the same time: with one instance the second could
    // not start before the first returned.
    let mut seen = vec![
        arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("first call arrives"),
        arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("second call arrives while the first is inside"),
    ];
    seen.sort_by_key(|args| args.first().map(Object::to_string));
    assert_eq!(seen, [[Object::Int(1)], [Object::Int(2)]]);
    assert_eq!(p.pool().instances, 2);
    go.send(()).expect("go");
    go.send(()).expect("go");
    let mut results: Vec<Object> = callers
        .into_iter()
        .map(|c| c.join().expect("no panic").expect("call"))
        .collect();
    results.sort_by_key(|o| o.to_string());
    assert_eq!(results, [Object::Int(10), Object::Int(20)]);
}

#[test]
fn a_stateful_plugin_keeps_one_instance_unless_the_embedder_says_otherwise() {
    let (p, ..) = load(false, Config::new().instances(4));
    assert_eq!(p.pool().capacity, 1);
    let (p, ..) = load(false, Config::new().instances(4).pool_stateful(true));
    assert_eq!(p.pool().capacity, 4);
    let (p, ..) = load(true, Config::new());
    assert_eq!(p.pool().capacity, 1, "one instance by default");
    let (p, ..) = load(true, Config::new().instances(usize::MAX));
    assert_eq!(p.pool().capacity, 1024, "bounded");
}

#[test]
fn with_one_instance_a_collision_with_a_host_function_fails_instead_of_waiting() {
    let (p, arrived, go) = load(true, Config::new());
    let first = {
        let p = p.clone();
        std::thread::spawn(move || p.call("meet", &[Object::Int(1)]))
    };
    arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("arrives");
    let err = p.call("bump", &[]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Reentrant), "{err}");
    go.send(()).expect("go");
    assert_eq!(
        first.join().expect("no panic").expect("call"),
        Object::Int(10)
    );
}

#[test]
fn an_instance_that_trapped_is_replaced_before_the_next_call() {
    let (p, ..) = load(true, Config::new().instances(3));
    assert_eq!(p.call("bump", &[]).expect("bump"), Object::Int(1));
    assert_eq!(p.call("bump", &[]).expect("bump"), Object::Int(2));
    let err = p.call("boom", &[]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Trap { .. }), "{err}");
    assert_eq!(p.pool().instances, 0);
    assert_eq!(
        p.call("bump", &[]).expect("bump"),
        Object::Int(1),
        "the next call runs on a fresh instance"
    );
    assert_eq!(p.pool().instances, 1);
}

#[test]
fn cancel_stops_the_calls_on_every_instance() {
    let (p, ..) = load(true, Config::new().instances(2));
    let cancel = p.cancel_handle().expect("metered");
    let spinners: Vec<_> = (0..2)
        .map(|_| {
            let p = p.clone();
            std::thread::spawn(move || p.call("spin", &[]))
        })
        .collect();
    // Both spin on instances of their own (the second call finds the first instance busy).
    let started = std::time::Instant::now();
    while p.pool().instances < 2 && started.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(p.pool().instances, 2);
    std::thread::sleep(Duration::from_millis(20));
    cancel.cancel();
    for s in spinners {
        let err = s.join().expect("no panic").unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Limit(Limit::Cancelled)),
            "{err}"
        );
    }
    assert_eq!(p.call("bump", &[]).expect("works after"), Object::Int(1));
}

#[test]
fn close_drops_every_instance() {
    let (p, arrived, go) = load(true, Config::new().instances(2));
    let callers: Vec<_> = (1..=2)
        .map(|n| {
            let p = p.clone();
            std::thread::spawn(move || p.call("meet", &[Object::Int(n)]))
        })
        .collect();
    for _ in 0..2 {
        arrived
            .recv_timeout(Duration::from_secs(10))
            .expect("arrives");
    }
    go.send(()).expect("go");
    go.send(()).expect("go");
    for c in callers {
        c.join().expect("no panic").expect("call");
    }
    assert_eq!(p.pool().instances, 2);
    assert_eq!(p.memory_bytes(), Some(2 * 65536), "both instances' memory");
    p.close().expect("close");
    assert!(p.is_closed());
    assert_eq!(p.pool().instances, 0);
    assert_eq!(p.memory_bytes(), None);
    let err = p.call("bump", &[]).unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Closed), "{err}");
}

#[test]
fn many_threads_on_a_small_pool_all_get_their_results() {
    let wasm = wat::parse_str(
        r#"(module
            (@custom "xxplugin" "abi 1\nstateless\nfn add(a: int, b: int) -> int\n")
            (func (export "add") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add))"#,
    )
    .expect("wat");
    let p = Arc::new(
        WasmPlugin::from_bytes_with("adder", &wasm, &Config::new().instances(3)).expect("load"),
    );
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let p = p.clone();
            std::thread::spawn(move || {
                for i in 0..2000i64 {
                    let sum = p
                        .call("add", &[Object::Int(t), Object::Int(i)])
                        .expect("add");
                    assert_eq!(sum, Object::Int(t + i));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("no panic");
    }
    assert!((1..=3).contains(&p.pool().instances), "{:?}", p.pool());
}
