//! Loading: a first load (compile + instantiate + start-up) and a cache hit (the same bytes
//! again), each next to raw wasmi doing the same work by hand.
//!
//! `cargo bench --bench load`

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmi::{Engine, Linker, Module, Store};
use xxlang_plugin::WasmPlugin;

fn load(c: &mut Criterion) {
    let mut g = c.benchmark_group("load");
    let testplugin = std::fs::read(format!(
        "{}/plugins/testplugin.wasm",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("read");
    // A large module whose instantiation is cheap: 4 MiB of data, one function. A cache hit
    // must not cost in proportion to the bytes.
    let large = wat::parse_str(format!(
        r#"(module (memory (export "memory") 65)
            (data (i32.const 0) "{}")
            (func (export "call_one") (result i64) i64.const 1))"#,
        "\\2a".repeat(4 << 20)
    ))
    .expect("wat");
    for (label, bytes) in [("testplugin", &testplugin), ("4 MiB module", &large)] {
        g.bench_function(
            format!("{label}: raw wasmi instantiate (compiled module)"),
            |b| {
                let engine = Engine::default();
                let module = Module::new(&engine, bytes).expect("compile");
                let linker = Linker::new(&engine);
                b.iter(|| {
                    let mut store = Store::new(&engine, ());
                    black_box(
                        linker
                            .instantiate_and_start(&mut store, &module)
                            .expect("instance"),
                    );
                })
            },
        );
        g.bench_function(format!("{label}: from_bytes (cached module)"), |b| {
            let _keep = WasmPlugin::from_bytes("cached", bytes).expect("load");
            b.iter(|| WasmPlugin::from_bytes("cached", black_box(bytes)).expect("load"))
        });
    }
    g.bench_function("testplugin: from_bytes (cold compile)", |b| {
        // Nothing keeps the module alive between iterations, so each one compiles anew.
        b.iter(|| WasmPlugin::from_bytes("testplugin", black_box(&testplugin)).expect("load"))
    });
    g.finish();
}

criterion_group!(benches, load);
criterion_main!(benches);
