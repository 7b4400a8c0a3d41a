//! Loads in a loop, for `perf` or `valgrind --tool=callgrind`: run it with N and 2N loads and
//! subtract, so set-up cancels out and what is left is the cost of N loads.
//!
//! `cargo run --release --example load_profile -- MODE MODULE N`: MODE `hit` (the module stays
//! cached: one plugin is kept alive), `hit-call` (a hit, then a call of a function without
//! parameters) or `first` (nothing is kept: each load compiles);
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
