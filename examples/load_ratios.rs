//! A first load and a cache hit of every plugin in `plugins/` (and of a 4 MiB data module)
//! against raw wasmi making the same module usable: `Store::new` + `instantiate_and_start` on
//! a default engine, plus its `_initialize` when it exports one (WASI from `wasmi_wasi`, other
//! imports stubbed: start-up does not call them); for a first load, a new engine and
//! `Module::new` before that. A legacy plugin's load also runs `alloc(8)`, `plugin_name` and
//! `plugin_version`, which raw wasmi here does not.
//!
//! `cargo run --release --example load_ratios [ROUNDS]`: prints the median of ROUNDS batches
//! (default 15) of each, and the ratios. `benches/load.rs` has the figures of issue 10; this
//! is the same measure over every module we ship.

use std::hint::black_box;
use std::time::{Duration, Instant};

use wasmi::{Engine, Linker, Module, Store, Val};
use wasmi_wasi::WasiCtx;
use xxlang_plugin::WasmPlugin;

/// The median time of one run of `f`, over `rounds` batches sized to take about 20 ms.
fn median(rounds: usize, mut f: impl FnMut()) -> Duration {
    let started = Instant::now();
    f();
    let once = started.elapsed().max(Duration::from_micros(1));
    let batch = (Duration::from_millis(20).as_nanos() / once.as_nanos()).clamp(1, 100_000) as u32;
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let started = Instant::now();
            for _ in 0..batch {
                f();
            }
            started.elapsed() / batch
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn linker(engine: &Engine, module: &Module) -> Linker<WasiCtx> {
    let mut linker = Linker::new(engine);
    wasmi_wasi::add_to_linker(&mut linker, |ctx| ctx).expect("wasi");
    for import in module.imports() {
        let Some(ty) = import.ty().func() else {
            continue;
        };
        if import.module() == "wasi_snapshot_preview1" {
            continue;
        }
        linker
            .func_new(import.module(), import.name(), ty.clone(), |_, _, out| {
                out.iter_mut().for_each(|v| *v = Val::I32(0));
                Ok(())
            })
            .expect("stub");
    }
    linker
}

fn raw(engine: &Engine, module: &Module, linker: &Linker<WasiCtx>) {
    let mut store = Store::new(engine, wasmi_wasi::WasiCtxBuilder::new().build());
    let instance = linker
        .instantiate_and_start(&mut store, module)
        .expect("instance");
    if let Ok(init) = instance.get_typed_func::<(), ()>(&store, "_initialize") {
        init.call(&mut store, ()).expect("_initialize runs");
    }
    black_box(instance);
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(15);
    let dir = format!("{}/plugins", env!("CARGO_MANIFEST_DIR"));
    let mut modules: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .expect("plugins/")
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "wasm").then(|| {
                let name = path.file_name()?.to_string_lossy().into_owned();
                Some((name, std::fs::read(&path).ok()?))
            })?
        })
        .collect();
    modules.sort();
    let large = wat::parse_str(format!(
        r#"(module (memory (export "memory") 65)
            (data (i32.const 0) "{}")
            (func (export "call_one") (result i64) i64.const 1))"#,
        "\\2a".repeat(4 << 20)
    ))
    .expect("wat");
    modules.push((String::from("4 MiB data"), large));
    println!(
        "{:<18} {:>10} {:>12} {:>12} {:>7} {:>12} {:>12} {:>7}",
        "module", "bytes", "raw first", "first", "ratio", "raw", "hit", "ratio"
    );
    for (name, bytes) in &modules {
        // Nothing keeps the module compiled between these loads.
        let raw_first = median(rounds, || {
            let engine = Engine::default();
            let module = Module::new(&engine, &bytes[..]).expect("compile");
            raw(&engine, &module, &linker(&engine, &module));
        });
        let first = median(rounds, || {
            black_box(WasmPlugin::from_bytes("first", black_box(bytes)).expect("load"));
        });
        let engine = Engine::default();
        let module = Module::new(&engine, &bytes[..]).expect("compile");
        let linker = linker(&engine, &module);
        raw(&engine, &module, &linker);
        let raw = median(rounds, || raw(&engine, &module, &linker));
        let _keep = WasmPlugin::from_bytes("cached", bytes).expect("load");
        let hit = median(rounds, || {
            black_box(WasmPlugin::from_bytes("cached", black_box(bytes)).expect("load"));
        });
        println!(
            "{name:<18} {:>10} {:>12.1?} {:>12.1?} {:>6.2}x {:>12.1?} {:>12.1?} {:>6.2}x",
            bytes.len(),
            raw_first,
            first,
            first.as_secs_f64() / raw_first.as_secs_f64(),
            raw,
            hit,
            hit.as_secs_f64() / raw.as_secs_f64()
        );
    }
}
