//! Plugin call overhead: our builtins next to raw wasmi calls of the same exports.
//!
//! `cargo bench --bench calls` — the group `calls` puts `builtin add(10,20)` beside
//! `raw wasmi typed add(10,20)`, so the cost of a builtin over the interpreter's own floor reads
//! off directly (target: at most 1.10x). The group `defaults` shows what the safe defaults
//! (fuel slices), fuel budgets and deadlines cost next to raw wasmi and to a trusted plugin.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmi::{Engine, Linker, Module, Store, TypedFunc};
use xxlang_plugin::{Builtin, Config, Object, Plugin, WasmPlugin};

fn plugin(name: &str) -> WasmPlugin {
    let path = format!("{}/plugins/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
    WasmPlugin::from_file(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn builtin(p: &WasmPlugin, name: &str) -> Builtin {
    match p.exports().get(name) {
        Some(Object::Builtin(b)) => b.clone(),
        _ => panic!("no builtin {name}"),
    }
}

/// A bare wasmi instance of a committed plugin: what an embedder would write by hand.
struct Raw {
    store: Store<()>,
    instance: wasmi::Instance,
}

impl Raw {
    fn new(name: &str) -> Self {
        let path = format!("{}/plugins/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).expect("read plugin");
        let engine = Engine::default();
        let module = Module::new(&engine, &bytes).expect("compile");
        let mut store = Store::new(&engine, ());
        let instance = Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .expect("instantiate");
        Raw { store, instance }
    }

    fn typed<P: wasmi::WasmParams, R: wasmi::WasmResults>(&self, name: &str) -> TypedFunc<P, R> {
        self.instance
            .get_typed_func(&self.store, name)
            .expect("typed func")
    }
}

fn calls(c: &mut Criterion) {
    let test = plugin("testplugin");
    let fib = plugin("fib");
    let add = builtin(&test, "add");
    let fast = builtin(&fib, "fast");
    let range = builtin(&fib, "range_");

    let mut raw_test = Raw::new("testplugin");
    let raw_add = raw_test.typed::<(i64, i64), i64>("call_add");
    let mut raw_fib = Raw::new("fib");
    let raw_fast = raw_fib.typed::<i64, i64>("call_fast");
    let raw_alloc = raw_fib.typed::<i32, i32>("alloc");
    let raw_range = raw_fib.typed::<(i64, i32), ()>("range_");
    let memory = raw_fib
        .instance
        .get_memory(&raw_fib.store, "memory")
        .expect("memory");
    let slot = raw_alloc.call(&mut raw_fib.store, 8).expect("alloc");

    let mut g = c.benchmark_group("calls");
    let args = [Object::Int(10), Object::Int(20)];
    g.bench_function("builtin add(10,20)", |b| {
        b.iter(|| add.call(black_box(&args)))
    });
    g.bench_function("raw wasmi typed add(10,20)", |b| {
        b.iter(|| raw_add.call(&mut raw_test.store, (black_box(10), black_box(20))))
    });
    g.bench_function("WasmPlugin::call add(10,20) (by name)", |b| {
        b.iter(|| test.call(black_box("add"), black_box(&args)))
    });
    let n20 = [Object::Int(20)];
    g.bench_function("builtin fast(20)", |b| {
        b.iter(|| fast.call(black_box(&n20)))
    });
    g.bench_function("raw wasmi typed fast(20)", |b| {
        b.iter(|| raw_fast.call(&mut raw_fib.store, black_box(20)))
    });
    let n10 = [Object::Int(10)];
    g.bench_function("builtin range_(10)", |b| {
        b.iter(|| range.call(black_box(&n10)))
    });
    g.bench_function("raw wasmi range_(10) + decode", |b| {
        b.iter(|| {
            raw_range
                .call(&mut raw_fib.store, (black_box(10), slot))
                .expect("call");
            let mem = memory.data(&raw_fib.store);
            let word = |at: usize| {
                u32::from_le_bytes(mem[at..at + 4].try_into().expect("4 bytes")) as usize
            };
            let (ptr, count) = (word(slot as usize), word(slot as usize + 4));
            mem[ptr..ptr + count * 8]
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect::<Vec<i64>>()
        })
    });
    g.finish();
}

/// What safety costs: the same calls raw (wasmi, no fuel), trusted (our builtin, unmetered),
/// by default (fuel slices, cancellable) and with a fuel budget or a deadline; on a tiny call
/// (per-call overhead) and on a compute-heavy one (count_primes(10^6), a sum loop).
fn defaults(c: &mut Criterion) {
    let path = format!("{}/plugins/testplugin.wasm", env!("CARGO_MANIFEST_DIR"));
    let configs = [
        ("trusted", Config::new().trusted(true)),
        ("default", Config::new()),
        ("fuel 10^9", Config::new().fuel(1_000_000_000)),
        (
            "deadline 1 s",
            Config::new().deadline(Duration::from_secs(1)),
        ),
    ];
    let mut raw = Raw::new("testplugin");
    let raw_add = raw.typed::<(i64, i64), i64>("call_add");
    let raw_primes = raw.typed::<i64, i64>("call_count_primes");
    let mut g = c.benchmark_group("defaults");
    g.bench_function("add(10,20) raw wasmi typed", |b| {
        b.iter(|| raw_add.call(&mut raw.store, (black_box(10), black_box(20))))
    });
    for (label, config) in &configs {
        let p = WasmPlugin::from_file_with(&path, config).expect("load");
        let add = builtin(&p, "add");
        let args = [Object::Int(10), Object::Int(20)];
        g.bench_function(format!("add(10,20) {label}"), |b| {
            b.iter(|| add.call(black_box(&args)))
        });
    }
    g.sample_size(20);
    g.bench_function("count_primes(10^6) raw wasmi typed", |b| {
        b.iter(|| raw_primes.call(&mut raw.store, black_box(1_000_000)))
    });
    for (label, config) in &configs {
        let p = WasmPlugin::from_file_with(&path, config).expect("load");
        let primes = builtin(&p, "count_primes");
        let args = [Object::Int(1_000_000)];
        g.bench_function(format!("count_primes(10^6) {label}"), |b| {
            b.iter(|| primes.call(black_box(&args)))
        });
    }
    g.finish();
}

criterion_group!(benches, calls, defaults);
criterion_main!(benches);
