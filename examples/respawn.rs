//! How long a plugin takes to come back after a trap: the call after one that ran out of fuel
//! builds a fresh instance (from the load's snapshot, or by running start-up again) before it
//! runs. Prints the median and the spread of that call, and of an ordinary call for
//! comparison, for each plugin named (default: the Go builds, whose start-up is the slowest).
//!
//! ```sh
//! cargo run --release --example respawn                       # fib_go and textkit_go, 50 rounds
//! cargo run --release --example respawn -- 200 plugins/fib.wasm
//! ```

use std::time::{Duration, Instant};

use xxlang_plugin::{Config, Object, WasmPlugin};

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map(|n| n.parse().expect("the number of rounds"))
        .unwrap_or(50);
    let mut files: Vec<String> = args.collect();
    if files.is_empty() {
        files = vec![
            String::from("plugins/fib_go.wasm"),
            String::from("plugins/textkit_go.wasm"),
        ];
    }
    println!("{rounds} rounds per plugin");
    println!(
        "{:<28} {:>12} {:>12} {:>12} {:>12}",
        "plugin", "load", "call", "respawn p50", "respawn max"
    );
    for file in &files {
        measure(file, rounds);
    }
}

fn measure(file: &str, rounds: usize) {
    // Fuel per call: enough for the ordinary call, too little for the spinning one. The fib
    // builds spin in `fast` (iterative up to 4096), textkit in `upper` on a long string.
    let fib = file.contains("fib");
    let config = Config::new().fuel(if fib { 20_000 } else { 1_000_000 });
    let started = Instant::now();
    let p = WasmPlugin::from_file_with(file, &config).expect("load");
    let load = started.elapsed();
    let (ok, ok_args, spin) = if fib {
        ("fast", vec![Object::Int(10)], vec![Object::Int(4096)])
    } else {
        let long = "ab".repeat(1 << 20);
        (
            "upper",
            vec![Object::from("ab")],
            vec![Object::from(long.as_str())],
        )
    };
    let mut calls = Vec::with_capacity(rounds);
    let mut respawns = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let t = Instant::now();
        p.call(ok, &ok_args).expect("an ordinary call");
        calls.push(t.elapsed());
        let err = p.call(ok, &spin).expect_err("runs out of fuel");
        assert!(err.to_string().contains("fuel"), "{err}");
        let t = Instant::now();
        p.call(ok, &ok_args).expect("the call after the trap");
        respawns.push(t.elapsed());
    }
    calls.sort();
    respawns.sort();
    let median = |v: &[Duration]| v[v.len() / 2];
    println!(
        "{:<28} {:>12.2?} {:>12.2?} {:>12.2?} {:>12.2?}",
        file,
        load,
        median(&calls),
        median(&respawns),
        respawns[respawns.len() - 1]
    );
}
