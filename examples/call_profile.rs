//! One call shape in a loop, for `valgrind --tool=callgrind`: run it with N and 2N calls and
//! subtract, so start-up cancels out and what is left is the cost of N calls.
//!
//! `cargo run --release --example call_profile -- MODE N`, MODE one of `raw`, `trusted`,
//! `default`, `fuel`, `deadline`, `by-name`, `fast`, `fast-trusted`, `raw-fast`, `range`,
//! `range-trusted`, `raw-range`, `raw-range-object` (the array as a script value),
//! `raw-metered` (fuel on, resumable), `raw-metered-plain`, `raw-resumable` (fuel off,
//! resumable), `raw-locked`, `typed` (a typed
//! handle, trusted), `typed-default`, `typed-obj` (a typed handle wrapped as a script function).

use std::hint::black_box;
use std::time::Duration;

use xxlang_plugin::{Config, Object, Plugin, WasmPlugin};

/// A script function written in this crate (`typed-obj`).
type ScriptFn = Box<dyn Fn(&[Object]) -> Object>;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "default".into());
    let n: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let dir = env!("CARGO_MANIFEST_DIR");
    let test = format!("{dir}/plugins/testplugin.wasm");
    let fib = format!("{dir}/plugins/fib.wasm");
    let config = match mode.as_str() {
        m if m == "trusted" || m.ends_with("-trusted") => Config::new().trusted(true),
        "fuel" => Config::new().fuel(1_000_000_000),
        "deadline" => Config::new().deadline(Duration::from_secs(1)),
        _ => Config::new(),
    };
    let (path, function, call_args) = match mode.as_str() {
        "fast" | "fast-trusted" | "raw-fast" => (&fib, "fast", vec![Object::Int(20)]),
        "range" | "range-trusted" | "raw-range" | "raw-range-object" => {
            (&fib, "range_", vec![Object::Int(10)])
        }
        _ => (&test, "add", vec![Object::Int(10), Object::Int(20)]),
    };
    let mut acc = 0usize;
    if let Some(raw) = mode.strip_prefix("raw") {
        let mut wasmi_config = wasmi::Config::default();
        wasmi_config.consume_fuel(raw.starts_with("-metered"));
        let engine = wasmi::Engine::new(&wasmi_config);
        let bytes = std::fs::read(path).expect("read");
        let module = wasmi::Module::new(&engine, &bytes).expect("compile");
        let mut store = wasmi::Store::new(&engine, ());
        let instance = wasmi::Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .expect("instantiate");
        match raw {
            "-fast" => {
                let f = instance
                    .get_typed_func::<i64, i64>(&store, "call_fast")
                    .expect("call_fast");
                for _ in 0..n {
                    acc += f.call(&mut store, black_box(20)).expect("call") as usize;
                }
            }
            "-range" | "-range-object" => {
                let object = raw == "-range-object";
                let alloc = instance
                    .get_typed_func::<i32, i32>(&store, "alloc")
                    .expect("alloc");
                let f = instance
                    .get_typed_func::<(i64, i32), ()>(&store, "range_")
                    .expect("range_");
                let memory = instance.get_memory(&store, "memory").expect("memory");
                let slot = alloc.call(&mut store, 8).expect("alloc");
                for _ in 0..n {
                    f.call(&mut store, (black_box(10), slot)).expect("call");
                    let mem = memory.data(&store);
                    let word = |at: usize| {
                        u32::from_le_bytes(mem[at..at + 4].try_into().expect("4 bytes")) as usize
                    };
                    let (ptr, count) = (word(slot as usize), word(slot as usize + 4));
                    let ints = mem[ptr..ptr + count * 8]
                        .chunks_exact(8)
                        .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")));
                    acc += match object {
                        // The script's array value, as a hand-written host would build it.
                        true => ints.map(Object::Int).collect::<Object>().is_error() as usize,
                        false => ints.collect::<Vec<i64>>().len(),
                    };
                }
            }
            "-metered" => {
                let f = instance
                    .get_typed_func::<(i64, i64), i64>(&store, "call_add")
                    .expect("call_add");
                for _ in 0..n {
                    store.set_fuel(10_000).expect("fuel");
                    match f.call_resumable(&mut store, (black_box(10), black_box(20))) {
                        Ok(wasmi::TypedResumableCall::Finished(v)) => acc += v as usize,
                        _ => panic!("unfinished"),
                    }
                }
            }
            "-locked" => {
                let f = instance
                    .get_typed_func::<(i64, i64), i64>(&store, "call_add")
                    .expect("call_add");
                // The floor of a shared plugin: the same call behind an uncontended lock.
                let locked = spin::mutex::SpinMutex::<_, spin::relax::Spin>::new(store);
                for _ in 0..n {
                    let mut s = locked.lock();
                    acc += f
                        .call(&mut *s, (black_box(10), black_box(20)))
                        .expect("call") as usize;
                }
                println!("{acc}");
                return;
            }
            "-resumable" => {
                // Fuel off, but started as a resumable call: what a host-side yield costs.
                let f = instance
                    .get_typed_func::<(i64, i64), i64>(&store, "call_add")
                    .expect("call_add");
                for _ in 0..n {
                    match f.call_resumable(&mut store, (black_box(10), black_box(20))) {
                        Ok(wasmi::TypedResumableCall::Finished(v)) => acc += v as usize,
                        _ => panic!("unfinished"),
                    }
                }
            }
            "-metered-plain" => {
                let f = instance
                    .get_typed_func::<(i64, i64), i64>(&store, "call_add")
                    .expect("call_add");
                for _ in 0..n {
                    store.set_fuel(10_000).expect("fuel");
                    acc += f
                        .call(&mut store, (black_box(10), black_box(20)))
                        .expect("call") as usize;
                }
            }
            _ => {
                let f = instance
                    .get_typed_func::<(i64, i64), i64>(&store, "call_add")
                    .expect("call_add");
                for _ in 0..n {
                    acc += f
                        .call(&mut store, (black_box(10), black_box(20)))
                        .expect("call") as usize;
                }
            }
        }
    } else {
        let plugin = WasmPlugin::from_file_with(path, &config).expect("load");
        if mode == "typed-obj" {
            let plugin =
                WasmPlugin::from_file_with(path, &Config::new().trusted(true)).expect("load");
            let add = plugin.typed::<(i64, i64), i64>("add").expect("add");
            // A typed handle wrapped as a script function in this crate: what a builtin would
            // cost if its call were compiled here, where wasmi's call path is inlined.
            let f: ScriptFn = Box::new(move |args: &[Object]| match args {
                [Object::Int(a), Object::Int(b)] => match add.call((*a, *b)) {
                    Ok(v) => Object::Int(v),
                    Err(e) => Object::from(e),
                },
                _ => Object::Null,
            });
            for _ in 0..n {
                acc += !f(black_box(&call_args)).is_error() as usize;
            }
        } else if let Some(rest) = mode.strip_prefix("typed") {
            let plugin = match rest {
                "-default" => plugin,
                _ => WasmPlugin::from_file_with(path, &Config::new().trusted(true)).expect("load"),
            };
            let add = plugin.typed::<(i64, i64), i64>("add").expect("add");
            for _ in 0..n {
                acc += add.call((black_box(10), black_box(20))).expect("call") as usize;
            }
        } else if mode == "by-name" {
            for _ in 0..n {
                acc += plugin
                    .call(black_box(function), black_box(&call_args))
                    .is_ok() as usize;
            }
        } else {
            let Some(Object::Builtin(f)) = plugin.exports().get(function).cloned() else {
                panic!("no {function}");
            };
            for _ in 0..n {
                acc += !f.call(black_box(&call_args)).is_error() as usize;
            }
        }
    }
    println!("{acc}");
}
