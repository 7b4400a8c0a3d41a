//! The long leak run: every typed function of every language's `textkit`, N calls each (one
//! million by default), reporting the guest's memory after a warm-up and at the end.
//!
//! ```sh
//! cargo run --release --example leak_check            # 1,000,000 calls per function
//! cargo run --release --example leak_check -- 100000  # fewer
//! ```
//!
//! Exits 1 if any plugin's memory grew after the warm-up. (The test suite runs a shorter
//! version of this in tests/it/conformance.rs.)

use std::time::Instant;

use xxlang_plugin::{Object, Plugin, WasmPlugin};

// The same calls as the leak test of tests/it/conformance.rs.
#[path = "../tests/it/common/textkit_calls.rs"]
mod textkit_calls;

const BUILDS: &[&str] = &[
    "textkit",
    "textkit_c",
    "textkit_zig",
    "textkit_as",
    "textkit_go",
];

fn main() {
    let calls: usize = std::env::args()
        .nth(1)
        .map(|n| n.parse().expect("the number of calls"))
        .unwrap_or(1_000_000);
    let cases = textkit_calls::every_typed_function();
    let warm_up = (calls / 10).clamp(1, 10_000);
    let mut grew = false;
    println!("{calls} calls per function after {warm_up} warm-up calls");
    println!(
        "{:<12} {:<14} {:>12} {:>12} {:>10}",
        "build", "function", "warm bytes", "end bytes", "time"
    );
    for build in BUILDS {
        let path = format!("{}/plugins/{build}.wasm", env!("CARGO_MANIFEST_DIR"));
        let plugin = WasmPlugin::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
        let exports = plugin.exports();
        for (function, args) in &cases {
            let Some(Object::Builtin(b)) = exports.get(*function) else {
                panic!("{build} has no {function}");
            };
            for _ in 0..warm_up {
                let _ = b.call(args);
            }
            let warm = plugin.memory_bytes().unwrap_or(0);
            let started = Instant::now();
            for _ in 0..calls {
                let _ = b.call(args);
            }
            let end = plugin.memory_bytes().unwrap_or(0);
            let flag = if end > warm { "  GREW" } else { "" };
            grew |= end > warm;
            println!(
                "{build:<12} {function:<14} {warm:>12} {end:>12} {:>9.2}s{flag}",
                started.elapsed().as_secs_f64()
            );
        }
    }
    if grew {
        println!("memory grew after warm-up");
        std::process::exit(1);
    }
    println!("no plugin's memory grew after warm-up");
}
