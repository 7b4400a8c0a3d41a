//! Loading, one criterion group per figure of issue 10 (point 4), each next to raw wasmi doing
//! the same work by hand, so a group's ratio is `from_bytes / raw`:
//!
//! | group | `raw` | `from_bytes` |
//! |---|---|---|
//! | `load_first` | `Module::new` + `Store::new` + `instantiate_and_start` of testplugin on a new default engine | `WasmPlugin::from_bytes` of testplugin, nothing cached |
//! | `load_hit` | `Store::new` + `instantiate_and_start` of testplugin, compiled already | `WasmPlugin::from_bytes` of testplugin, its module cached |
//! | `load_hit_4mib` | the same, a module with 4 MiB of data and one function | the same |
//! | `load_hit_go` | the same for `textkit_go.wasm` (the largest plugin), plus its `_initialize` (with the `wasi` feature) | the same |
//! | `load_first_go` | `load_first`'s `raw` for `textkit_go.wasm` (2.2 MB, the size class of issue 10's 1.48 MB module), plus WASI and its `_initialize` (with the `wasi` feature) | `WasmPlugin::from_bytes` of it, nothing cached |
//!
//! `from_bytes_and_call` (in `load_hit` and `load_hit_4mib`) is a hit and one call: a hit of
//! a module that imports nothing starts the plugin's instance at its first call.
//!
//! `raw_fuel` (in `load_first` and `load_hit_go`) is `raw` on an engine configured as ours
//! (fuel metering, the same fuel costs, lazy translation): what metering itself costs.
//! `raw_start` (in `load_first` and `load_hit`) is `raw_fuel` plus what a load of testplugin
//! runs before any call (`alloc(8)`, `plugin_name`, `plugin_version`): the floor of a load
//! that must run them.
//!
//! `cargo bench --bench load` (results in `target/criterion/<group>/<id>/new/estimates.json`)

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
#[cfg(feature = "wasi")]
use wasmi::Val;
use wasmi::{
    CompilationMode, Config as EngineConfig, CustomFuelCosts, Engine, Linker, Module, OperatorCost,
    Store,
};
use xxlang_plugin::{Object, WasmPlugin};

fn plugin(file: &str) -> Vec<u8> {
    std::fs::read(format!("{}/plugins/{file}", env!("CARGO_MANIFEST_DIR"))).expect("read")
}

/// An engine configured as a default `Config` makes ours (see `src/wasm/engine.rs`).
fn metered_engine() -> Engine {
    let mut config = EngineConfig::default();
    config.compilation_mode(CompilationMode::LazyTranslation);
    config.wasm_multi_memory(false);
    config.consume_fuel(true);
    config.fuel_cost(CustomFuelCosts {
        bytes_copied_per_fuel: 64,
        fuel_per_bytes_translated: 0,
        fuel_per_bytes_validated: 0,
    });
    config.operator_cost(OperatorCost {
        memory_grow: u8::MAX,
        table_grow: u8::MAX,
        ..OperatorCost::default()
    });
    config.set_max_recursion_depth(10_000);
    Engine::new(&config)
}

/// Compiles and instantiates `bytes` (no imports) on a new `engine`, as a raw first load;
/// with `metadata`, then runs what a load of testplugin runs (see [`run_metadata`]).
fn raw_first(engine: Engine, bytes: &[u8], metadata: bool) {
    let module = Module::new(&engine, bytes).expect("compile");
    raw_instance(&engine, &module, &Linker::new(&engine), metadata);
}

/// Instantiates `module` (no imports); with `metadata`, then runs what a load of testplugin
/// runs (see [`run_metadata`]).
fn raw_instance(engine: &Engine, module: &Module, linker: &Linker<()>, metadata: bool) {
    let mut store = Store::new(engine, ());
    // An error only when the engine does not meter.
    let _ = store.set_fuel(u64::MAX);
    let instance = linker
        .instantiate_and_start(&mut store, module)
        .expect("instance");
    if metadata {
        run_metadata(&mut store, &instance);
    }
    black_box(instance);
}

/// What a load of testplugin runs before any call: `alloc(8)` for the legacy result slot,
/// then `plugin_name` and `plugin_version` writing through it. Its Rust allocator grows the
/// memory on its first allocation, and wasmi reallocates (copies) the memory to grow it:
/// the floor of a testplugin load beyond a bare instantiation.
fn run_metadata(store: &mut Store<()>, instance: &wasmi::Instance) {
    let alloc = instance
        .get_typed_func::<i32, i32>(&*store, "alloc")
        .expect("alloc");
    let slot = alloc.call(&mut *store, 8).expect("alloc runs");
    for getter in ["plugin_name", "plugin_version"] {
        let f = instance
            .get_typed_func::<i32, ()>(&*store, getter)
            .expect("getter");
        f.call(&mut *store, slot).expect("getter runs");
    }
}

fn load_first(c: &mut Criterion) {
    let testplugin = plugin("testplugin.wasm");
    let mut g = c.benchmark_group("load_first");
    // A new engine each time, as a load makes: an engine keeps the code it compiled until it
    // is dropped.
    g.bench_function("raw", |b| {
        b.iter(|| raw_first(Engine::default(), black_box(&testplugin), false))
    });
    g.bench_function("raw_fuel", |b| {
        b.iter(|| raw_first(metered_engine(), black_box(&testplugin), false))
    });
    g.bench_function("raw_start", |b| {
        b.iter(|| raw_first(metered_engine(), black_box(&testplugin), true))
    });
    g.bench_function("from_bytes", |b| {
        // Nothing keeps the module alive between iterations, so each one compiles anew.
        b.iter(|| WasmPlugin::from_bytes("testplugin", black_box(&testplugin)).expect("load"))
    });
    g.finish();
}

/// A hit of `bytes` (no imports) against instantiating its compiled module by hand, in group
/// `group`; with `metadata`, also against instantiating it and running what a load of
/// testplugin runs (`raw_start`, on our engine settings).
fn hit_group(
    c: &mut Criterion,
    group: &str,
    bytes: &[u8],
    metadata: bool,
    call: (&str, Vec<Object>),
) {
    let mut g = c.benchmark_group(group);
    let mut rows = vec![("raw", Engine::default(), false)];
    if metadata {
        rows.push(("raw_start", metered_engine(), true));
    }
    for (id, engine, metadata) in rows {
        let module = Module::new(&engine, bytes).expect("compile");
        let linker = Linker::new(&engine);
        // The first run translates the functions it calls (lazy translation); a hit finds
        // them translated too.
        raw_instance(&engine, &module, &linker, metadata);
        g.bench_function(id, |b| {
            b.iter(|| raw_instance(&engine, &module, &linker, metadata))
        });
    }
    g.bench_function("from_bytes", |b| {
        let _keep = WasmPlugin::from_bytes("cached", bytes).expect("load");
        b.iter(|| WasmPlugin::from_bytes("cached", black_box(bytes)).expect("load"))
    });
    // A hit of a module that imports nothing starts its instance at the first call (see
    // `Prelude` in src/wasm/load.rs): this row shows what a load and that call cost together.
    g.bench_function("from_bytes_and_call", |b| {
        let _keep = WasmPlugin::from_bytes("cached", bytes).expect("load");
        b.iter(|| {
            let p = WasmPlugin::from_bytes("cached", black_box(bytes)).expect("load");
            p.call(call.0, &call.1).expect("call")
        })
    });
    g.finish();
}

fn load_hit(c: &mut Criterion) {
    let add = ("add", vec![Object::Int(1), Object::Int(2)]);
    hit_group(c, "load_hit", &plugin("testplugin.wasm"), true, add);
}

fn load_hit_4mib(c: &mut Criterion) {
    // A module whose instantiation is cheap for its size: 4 MiB of data, one function. A hit
    // must not cost in proportion to the bytes more than instantiating does.
    let large = wat::parse_str(format!(
        r#"(module (memory (export "memory") 65)
            (data (i32.const 0) "{}")
            (func (export "call_one") (result i64) i64.const 1))"#,
        "\\2a".repeat(4 << 20)
    ))
    .expect("wat");
    hit_group(c, "load_hit_4mib", &large, false, ("one", Vec::new()));
}

#[cfg(feature = "wasi")] // Go plugins import WASI
/// A raw instance of a Go plugin on `engine`: WASI (an empty context), its `xxplugin` imports
/// stubbed (start-up does not call them), and its `_initialize` run, which a Go reactor needs
/// before any call.
fn raw_go(engine: &Engine, module: &Module, linker: &Linker<wasmi_wasi::WasiCtx>) {
    let mut store = Store::new(engine, wasmi_wasi::WasiCtxBuilder::new().build());
    // An error only when the engine does not meter.
    let _ = store.set_fuel(u64::MAX);
    let instance = linker
        .instantiate_and_start(&mut store, module)
        .expect("instance");
    let init = instance
        .get_typed_func::<(), ()>(&store, "_initialize")
        .expect("_initialize");
    init.call(&mut store, ()).expect("_initialize runs");
    black_box(instance);
}

#[cfg(feature = "wasi")] // Go plugins import WASI
fn go_linker(engine: &Engine, module: &Module) -> Linker<wasmi_wasi::WasiCtx> {
    let mut linker = Linker::new(engine);
    wasmi_wasi::add_to_linker(&mut linker, |ctx| ctx).expect("wasi");
    for import in module.imports() {
        if import.module() != "xxplugin" {
            continue;
        }
        let ty = import.ty().func().expect("a function").clone();
        linker
            .func_new(import.module(), import.name(), ty, |_, _, out| {
                out.iter_mut().for_each(|v| *v = Val::I32(0));
                Ok(())
            })
            .expect("stub");
    }
    linker
}

#[cfg(feature = "wasi")] // Go plugins import WASI
fn load_hit_go(c: &mut Criterion) {
    let bytes = plugin("textkit_go.wasm");
    let mut g = c.benchmark_group("load_hit_go");
    for (id, engine) in [("raw", Engine::default()), ("raw_fuel", metered_engine())] {
        let module = Module::new(&engine, &bytes[..]).expect("compile");
        let linker = go_linker(&engine, &module);
        // The first instance translates the functions start-up runs (lazy translation); a hit
        // finds them translated too.
        raw_go(&engine, &module, &linker);
        g.bench_function(id, |b| b.iter(|| raw_go(&engine, &module, &linker)));
    }
    g.bench_function("from_bytes", |b| {
        let _keep = WasmPlugin::from_bytes("cached", &bytes).expect("load");
        b.iter(|| WasmPlugin::from_bytes("cached", black_box(&bytes)).expect("load"))
    });
    g.finish();
}

#[cfg(feature = "wasi")] // Go plugins import WASI
fn load_first_go(c: &mut Criterion) {
    let bytes = plugin("textkit_go.wasm");
    let mut g = c.benchmark_group("load_first_go");
    // A load compiles (validates) 2.2 MB: milliseconds, so fewer samples keep the group short.
    g.sample_size(20);
    g.measurement_time(Duration::from_secs(5));
    // A new engine each time, as in `load_first`; the linker is made per load too, as ours is.
    let raw = |engine: Engine| {
        let module = Module::new(&engine, black_box(&bytes[..])).expect("compile");
        raw_go(&engine, &module, &go_linker(&engine, &module));
    };
    g.bench_function("raw", |b| b.iter(|| raw(Engine::default())));
    g.bench_function("raw_fuel", |b| b.iter(|| raw(metered_engine())));
    g.bench_function("from_bytes", |b| {
        // Nothing keeps the module alive between iterations, so each one compiles anew.
        b.iter(|| WasmPlugin::from_bytes("textkit_go", black_box(&bytes)).expect("load"))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(4))
}

#[cfg(feature = "wasi")]
criterion_group! {
    name = benches;
    config = config();
    targets = load_first, load_first_go, load_hit, load_hit_4mib, load_hit_go
}
#[cfg(not(feature = "wasi"))]
criterion_group! {
    name = benches;
    config = config();
    targets = load_first, load_hit, load_hit_4mib
}
criterion_main!(benches);
