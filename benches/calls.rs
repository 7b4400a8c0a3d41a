//! Plugin call overhead: our builtins, calls by name and typed handles next to raw wasmi calls
//! of the same exports, one criterion group per figure (`add`, `fast`, `range`, `compute`,
//! `host`), each with its raw baseline (`raw`) in the group.
//!
//! `cargo bench --bench calls`; `cargo run --release --example perf_report` turns the results
//! into the README's table and docs/performance.svg. Rows are `builtin_trusted` (unmetered),
//! `builtin_default` (`Config::new()`: fuel slices, cancellable), `builtin_fuel`,
//! `builtin_deadline`, `by_name_*` (`WasmPlugin::call`) and `typed_*` (`WasmPlugin::typed`).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmi::{Engine, Linker, Module, Store, TypedFunc};
use xxlang_plugin::{Builtin, Config, Object, Plugin, WasmPlugin};

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
    /// `metered`: fuel metering on (the engine setting a metered plugin needs).
    fn new(name: &str, metered: bool) -> Self {
        let path = format!("{}/plugins/{name}.wasm", env!("CARGO_MANIFEST_DIR"));
        let bytes = std::fs::read(&path).expect("read plugin");
        let mut config = wasmi::Config::default();
        config.consume_fuel(metered);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, &bytes).expect("compile");
        let mut store = Store::new(&engine, ());
        if metered {
            store.set_fuel(u64::MAX / 2).expect("fuel");
        }
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

/// The configurations every builtin row runs under.
fn configs() -> [(&'static str, Config); 4] {
    [
        ("trusted", Config::new().trusted(true)),
        ("default", Config::new()),
        ("fuel", Config::new().fuel(1_000_000_000)),
        ("deadline", Config::new().deadline(Duration::from_secs(1))),
    ]
}

/// Group `add`: `add(10, 20)` of testplugin, every way of calling it, beside raw wasmi
/// (`raw`: `TypedFunc::call`; `raw_metered`: the same on an engine with fuel metering on,
/// `set_fuel` + `call_resumable` per call, the floor of any metered call). Raw rows unwrap
/// their result as a caller would: handing criterion the whole `Result` cost ~15 ns more per
/// call in this binary, which made raw wasmi look slower than it is.
fn add(c: &mut Criterion) {
    let path = format!("{}/plugins/testplugin.wasm", env!("CARGO_MANIFEST_DIR"));
    let mut raw = Raw::new("testplugin", false);
    let raw_add = raw.typed::<(i64, i64), i64>("call_add");
    let mut metered = Raw::new("testplugin", true);
    let metered_add = metered.typed::<(i64, i64), i64>("call_add");
    let mut g = c.benchmark_group("add");
    g.bench_function("raw", |b| {
        b.iter(|| {
            raw_add
                .call(&mut raw.store, (black_box(10), black_box(20)))
                .expect("call")
        })
    });
    g.bench_function("raw_metered", |b| {
        b.iter(|| {
            metered.store.set_fuel(10_000).expect("fuel");
            let args = (black_box(10), black_box(20));
            match metered_add.call_resumable(&mut metered.store, args) {
                Ok(wasmi::TypedResumableCall::Finished(v)) => v,
                _ => unreachable!("add finishes in one slice"),
            }
        })
    });
    let args = [Object::Int(10), Object::Int(20)];
    for (label, config) in configs() {
        let p = WasmPlugin::from_file_with(&path, &config).expect("load");
        let add = builtin(&p, "add");
        g.bench_function(format!("builtin_{label}"), |b| {
            b.iter(|| add.call(black_box(&args)))
        });
        if let "trusted" | "default" = label {
            g.bench_function(format!("by_name_{label}"), |b| {
                b.iter(|| p.call(black_box("add"), black_box(&args)).expect("call"))
            });
            let typed = p.typed::<(i64, i64), i64>("add").expect("typed add");
            g.bench_function(format!("typed_{label}"), |b| {
                b.iter(|| typed.call((black_box(10), black_box(20))).expect("call"))
            });
        }
    }
    g.finish();
}

/// Groups `fast` (`fast(20)` of fib; `raw_metered` as in `add`, but a plain call, as a
/// metered builtin makes one of `fast`) and `range` (`range_(10)`: an int array through the legacy
/// result slot, decoded into a `Vec<i64>` on the raw side, and into the script's array value
/// in `raw_object`), trusted and default.
fn fib(c: &mut Criterion) {
    let path = format!("{}/plugins/fib.wasm", env!("CARGO_MANIFEST_DIR"));
    let mut raw = Raw::new("fib", false);
    let raw_fast = raw.typed::<i64, i64>("call_fast");
    let raw_alloc = raw.typed::<i32, i32>("alloc");
    let raw_range = raw.typed::<(i64, i32), ()>("range_");
    let memory = raw
        .instance
        .get_memory(&raw.store, "memory")
        .expect("memory");
    let slot = raw_alloc.call(&mut raw.store, 8).expect("alloc");
    let plugins: Vec<_> = configs()
        .into_iter()
        .take(2)
        .map(|(label, config)| {
            (
                label,
                WasmPlugin::from_file_with(&path, &config).expect("load"),
            )
        })
        .collect();

    let mut g = c.benchmark_group("fast");
    g.bench_function("raw", |b| {
        b.iter(|| raw_fast.call(&mut raw.store, black_box(20)).expect("call"))
    });
    // Fuel metering on, a plain call with a slice of fuel per call: how a metered builtin
    // runs `fast` (a pure function, see src/wasm/short.rs), so the floor of its default row.
    let mut metered = Raw::new("fib", true);
    let metered_fast = metered.typed::<i64, i64>("call_fast");
    g.bench_function("raw_metered", |b| {
        b.iter(|| {
            metered.store.set_fuel(100_000).expect("fuel");
            metered_fast
                .call(&mut metered.store, black_box(20))
                .expect("call")
        })
    });
    let n20 = [Object::Int(20)];
    for (label, p) in &plugins {
        let fast = builtin(p, "fast");
        g.bench_function(format!("builtin_{label}"), |b| {
            b.iter(|| fast.call(black_box(&n20)))
        });
    }
    g.finish();

    let mut g = c.benchmark_group("range");
    g.bench_function("raw", |b| {
        b.iter(|| {
            raw_range_bytes(&raw_range, &mut raw.store, memory, slot)
                .chunks_exact(8)
                .map(le_i64)
                .collect::<Vec<i64>>()
        })
    });
    // The same, building the value a script gets (an array of ints) as a hand-written host
    // would: what the value itself costs, next to the plain `Vec<i64>` above.
    g.bench_function("raw_object", |b| {
        b.iter(|| {
            raw_range_bytes(&raw_range, &mut raw.store, memory, slot)
                .chunks_exact(8)
                .map(|c| Object::Int(le_i64(c)))
                .collect::<Object>()
        })
    });
    let n10 = [Object::Int(10)];
    for (label, p) in &plugins {
        let range = builtin(p, "range_");
        g.bench_function(format!("builtin_{label}"), |b| {
            b.iter(|| range.call(black_box(&n10)))
        });
    }
    g.finish();
}

/// Runs raw `range_(10)` and gives the bytes of the ints it wrote through the result slot at
/// `slot`, found as a hand-written host would (no error handling).
fn raw_range_bytes<'a>(
    range: &TypedFunc<(i64, i32), ()>,
    store: &'a mut Store<()>,
    memory: wasmi::Memory,
    slot: i32,
) -> &'a [u8] {
    range
        .call(&mut *store, (black_box(10), slot))
        .expect("call");
    let mem = memory.data(store);
    let word =
        |at: usize| u32::from_le_bytes(mem[at..at + 4].try_into().expect("4 bytes")) as usize;
    let (ptr, count) = (word(slot as usize), word(slot as usize + 4));
    &mem[ptr..ptr + count * 8]
}

/// A little-endian i64 from 8 bytes.
fn le_i64(bytes: &[u8]) -> i64 {
    i64::from_le_bytes(bytes.try_into().expect("8 bytes"))
}

/// Group `compute`: `count_primes(10^6)` (a sum loop), where the interpreter's own speed is
/// all there is: metering must not cost it much.
fn compute(c: &mut Criterion) {
    let path = format!("{}/plugins/testplugin.wasm", env!("CARGO_MANIFEST_DIR"));
    let mut raw = Raw::new("testplugin", false);
    let raw_primes = raw.typed::<i64, i64>("call_count_primes");
    let mut g = c.benchmark_group("compute");
    g.sample_size(20);
    g.bench_function("raw", |b| {
        b.iter(|| {
            raw_primes
                .call(&mut raw.store, black_box(1_000_000))
                .expect("call")
        })
    });
    let args = [Object::Int(1_000_000)];
    for (label, config) in configs().into_iter().take(2) {
        let p = WasmPlugin::from_file_with(&path, &config).expect("load");
        let primes = builtin(&p, "count_primes");
        g.bench_function(format!("builtin_{label}"), |b| {
            b.iter(|| primes.call(black_box(&args)))
        });
    }
    g.finish();
}

/// A plugin that calls the host function `inc(x: int) -> int` `n` times in a loop
/// (`count(n) -> int`).
const HOST_LOOP: &str = r#"(module
    (import "xxhost" "inc" (func $inc (param i64) (result i64)))
    (func (export "count") (param $n i64) (result i64) (local $acc i64)
      (block $done (loop $l
        (br_if $done (i64.eqz (local.get $n)))
        (local.set $acc (call $inc (local.get $acc)))
        (local.set $n (i64.sub (local.get $n) (i64.const 1)))
        (br $l)))
      (local.get $acc)))"#;

/// Group `host`: 1000 calls of a host function from a plugin's loop, against raw wasmi with
/// the same function as a typed import (`Linker::func_wrap`).
fn host(c: &mut Criterion) {
    let bytes = wat::parse_str(HOST_LOOP).expect("wat");
    let n = 1000;
    let mut g = c.benchmark_group("host");
    let engine = Engine::default();
    let module = Module::new(&engine, &bytes).expect("compile");
    let mut linker = Linker::<()>::new(&engine);
    linker
        .func_wrap("xxhost", "inc", |x: i64| x + 1)
        .expect("inc");
    let mut store = Store::new(&engine, ());
    let count = linker
        .instantiate_and_start(&mut store, &module)
        .expect("instantiate")
        .get_typed_func::<i64, i64>(&store, "count")
        .expect("count");
    assert_eq!(count.call(&mut store, n).expect("call"), n);
    g.bench_function("raw", |b| {
        b.iter(|| count.call(&mut store, black_box(n)).expect("call"))
    });
    let inc = xxlang_plugin::HostFunction::new(
        "inc",
        xxlang_plugin::Signature::new(
            vec![xxlang_plugin::Param::named("x", xxlang_plugin::Type::Int)],
            xxlang_plugin::Type::Int,
        ),
        |_, args| match args {
            [Object::Int(x)] => Ok(Object::Int(x + 1)),
            _ => Err(String::from("one int")),
        },
    );
    let args = [Object::Int(n)];
    for (label, config) in configs().into_iter().take(2) {
        let config = config.host_function(inc.clone());
        let p = WasmPlugin::from_bytes_with("host", &bytes, &config).expect("load");
        let count = builtin(&p, "count");
        assert_eq!(count.call(&args), Object::Int(n));
        g.bench_function(format!("builtin_{label}"), |b| {
            b.iter(|| count.call(black_box(&args)))
        });
    }
    g.finish();
}

criterion_group! {
    name = benches;
    // Short runs (one second of warm-up, three of measurement per row) keep every bench of
    // the crate under ten minutes on two cores; the medians move by about as much as between
    // two full-length runs on this kind of machine.
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(3));
    targets = add, fib, compute, host
}
criterion_main!(benches);
