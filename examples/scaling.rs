//! `cargo run --release --example scaling`: calls per second on one plugin from 1 and 2
//! threads, next to raw wasmi with one shared engine and with an engine per thread.
//! The ratio is (calls/s on 2 threads) / (calls/s on 1 thread); 2.0 is perfect scaling.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use wasmi::{Engine, Linker, Module, Store, TypedFunc};
use xxlang_plugin::{Config, Object, Plugin, WasmPlugin};

const WAT: &str = r#"(module
    (@custom "xxplugin" "abi 1\nstateless\nfn add(a: int, b: int) -> int\nfn fib(n: int) -> int\n")
    (func (export "add") (param i64 i64) (result i64) local.get 0 local.get 1 i64.add)
    (func $fib (export "fib") (param i64) (result i64)
        local.get 0 i64.const 2 i64.lt_s
        if (result i64) local.get 0
        else local.get 0 i64.const 1 i64.sub call $fib local.get 0 i64.const 2 i64.sub call $fib i64.add end))"#;

/// Runs `work` on `threads` threads for about `time`, each thread given its index; returns
/// calls per second in total.
fn rate(threads: usize, time: Duration, work: &(dyn Fn(usize) -> u64 + Sync)) -> f64 {
    let barrier = Barrier::new(threads);
    let started = Instant::now();
    let calls: u64 = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    barrier.wait();
                    let end = Instant::now() + time;
                    let mut n = 0;
                    while Instant::now() < end {
                        n += work(t);
                    }
                    n
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker")).sum()
    });
    calls as f64 / started.elapsed().as_secs_f64()
}

/// On cache lines of its own, as the plugin's pool slots are: two threads' instances must not
/// share a line (false sharing would halve the raw baseline's scaling).
#[repr(align(128))]
struct Padded<T>(T);

/// A raw wasmi instance with its `fib` and `add`.
type RawInstance = (Store<()>, TypedFunc<i64, i64>, TypedFunc<(i64, i64), i64>);

fn raw_instance(engine: &Engine, bytes: &[u8]) -> RawInstance {
    let module = Module::new(engine, bytes).expect("module");
    let mut store = Store::new(engine, ());
    let instance = Linker::new(engine)
        .instantiate_and_start(&mut store, &module)
        .expect("instance");
    let fib = instance.get_typed_func(&store, "fib").expect("fib");
    let add = instance.get_typed_func(&store, "add").expect("add");
    (store, fib, add)
}

fn report(what: &str, one: f64, two: f64) {
    println!(
        "{what:<44} 1 thread {:>12.0}/s   2 threads {:>12.0}/s   ratio {:.2}x",
        one,
        two,
        two / one
    );
}

fn main() {
    let bytes = wat::parse_str(WAT).expect("wat");
    let time = Duration::from_millis(
        std::env::var("SCALING_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000),
    );
    for (label, fib_n) in [("add(1,2)", None), ("fib(20)", Some(20i64))] {
        // Raw wasmi: two instances on one shared engine, and on an engine each.
        for shared in [true, false] {
            let one_engine = Engine::default();
            let insts: Vec<_> = (0..2)
                .map(|_| {
                    let engine = if shared {
                        one_engine.clone()
                    } else {
                        Engine::default()
                    };
                    Padded(std::sync::Mutex::new(raw_instance(&engine, &bytes)))
                })
                .collect();
            let work = |t: usize| {
                let mut g = insts[t].0.lock().expect("lock");
                let (store, fib, add) = &mut *g;
                for _ in 0..100 {
                    match fib_n {
                        Some(n) => std::hint::black_box(fib.call(&mut *store, n).expect("call")),
                        None => std::hint::black_box(add.call(&mut *store, (1, 2)).expect("call")),
                    };
                }
                100
            };
            let engines = if shared {
                "shared engine"
            } else {
                "engine per instance"
            };
            let (one, two) = (rate(1, time, &work), rate(2, time, &work));
            report(&format!("raw wasmi, {engines}: {label}"), one, two);
        }
        // xxlang-plugin, default config (metered), with one instance and with a pool of two.
        for instances in [1, 2] {
            let config = Config::new().instances(instances);
            let p = WasmPlugin::from_bytes_with("scaling", &bytes, &config).expect("load");
            let (function, args) = match fib_n {
                Some(n) => (p.exports()["fib"].clone(), vec![Object::Int(n)]),
                None => (
                    p.exports()["add"].clone(),
                    vec![Object::Int(1), Object::Int(2)],
                ),
            };
            let builtin = function.as_builtin().expect("builtin").clone();
            let work = |_| {
                for _ in 0..100 {
                    std::hint::black_box(builtin.call(&args));
                }
                100
            };
            let one = rate(1, time, &work);
            let two = rate(2, time, &work);
            report(
                &format!("xxlang-plugin, {instances} instance(s): {label}"),
                one,
                two,
            );
        }
    }
}
