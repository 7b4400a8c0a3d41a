//! Loads in a loop, for `perf` or `valgrind --tool=callgrind`: run it with N and 2N loads and
//! subtract, so set-up cancels out and what is left is the cost of N loads.
//!
//! `cargo run --release --example load_profile -- MODE MODULE N`: MODE `hit` (the module stays
//! cached: one plugin is kept alive), `hit-call` (a hit, then a call of a function without
//! parameters), `first` (nothing is kept: each load compiles) or `raw-start` (raw wasmi doing
//! what `first` compares against in `benches/load.rs`: compile, instantiate, testplugin's
//! start-up);
//! MODULE a file under `plugins/` (`testplugin.wasm`, `textkit_go.wasm`, ...) or `4mib` (4 MiB
//! of data, one function).

use std::time::Instant;

use xxlang_plugin::WasmPlugin;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "hit".into());
    let module = args.next().unwrap_or_else(|| "testplugin.wasm".into());
    let n: u32 = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let bytes = if module == "4mib" {
        wat::parse_str(format!(
            r#"(module (memory (export "memory") 65)
                (data (i32.const 0) "{}")
                (func (export "call_one") (result i64) i64.const 1))"#,
            "\\2a".repeat(4 << 20)
        ))
        .expect("wat")
    } else {
        std::fs::read(format!("{}/plugins/{module}", env!("CARGO_MANIFEST_DIR"))).expect("read")
    };
    let keep = (mode != "first").then(|| WasmPlugin::from_bytes("profiled", &bytes).expect("load"));
    // `hit-call`: each load then calls the plugin's first function without parameters.
    let call = (mode == "hit-call").then(|| {
        keep.as_ref()
            .and_then(|p| p.functions().into_iter().find(|f| f.signature.arity() == 0))
            .map(|f| f.name)
            .expect("a function without parameters")
    });
    if mode == "raw-start" {
        raw_start(&bytes, n);
        return;
    }
    let started = Instant::now();
    for _ in 0..n {
        let p = WasmPlugin::from_bytes("profiled", &bytes).expect("load");
        if let Some(name) = &call {
            p.call(name, &[]).expect("call");
        }
    }
    let per = started.elapsed() / n;
    println!("{mode} {module}: {per:?} per load");
    drop(keep);
}

/// `raw-start`: what `load_first/raw_start` in `benches/load.rs` measures, by hand on wasmi: a
/// new engine configured as ours, compile, instantiate, then the start-up a load of testplugin
/// runs (`alloc(8)`, `plugin_name`, `plugin_version`).
fn raw_start(bytes: &[u8], n: u32) {
    let started = Instant::now();
    for _ in 0..n {
        let mut config = wasmi::Config::default();
        config.compilation_mode(wasmi::CompilationMode::LazyTranslation);
        config.wasm_multi_memory(false);
        config.consume_fuel(true);
        config.fuel_cost(wasmi::CustomFuelCosts {
            bytes_copied_per_fuel: 64,
            fuel_per_bytes_translated: 0,
            fuel_per_bytes_validated: 0,
        });
        config.operator_cost(wasmi::OperatorCost {
            memory_grow: u8::MAX,
            table_grow: u8::MAX,
            ..wasmi::OperatorCost::default()
        });
        config.set_max_recursion_depth(10_000);
        let engine = wasmi::Engine::new(&config);
        let module = wasmi::Module::new(&engine, bytes).expect("compile");
        let mut store = wasmi::Store::new(&engine, ());
        let _ = store.set_fuel(u64::MAX);
        let instance = wasmi::Linker::new(&engine)
            .instantiate_and_start(&mut store, &module)
            .expect("instance");
        let alloc = instance
            .get_typed_func::<i32, i32>(&store, "alloc")
            .expect("alloc");
        let slot = alloc.call(&mut store, 8).expect("alloc runs");
        for getter in ["plugin_name", "plugin_version"] {
            let f = instance
                .get_typed_func::<i32, ()>(&store, getter)
                .expect("getter");
            f.call(&mut store, slot).expect("getter runs");
        }
    }
    println!("raw-start: {:?} per load", started.elapsed() / n);
}
