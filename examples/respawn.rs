//! How long a plugin takes to come back after a trap: the call after one that ran out of fuel
//! makes a fresh instance before it runs, from a snapshot (`Config::snapshots`, the default)
//! or by running start-up again (`snapshots(false)`, what every fresh instance did before
//! snapshots). Both are loaded and measured in alternation, so machine load hits them alike.
//! Prints the load (the module compiled already), an ordinary call, and the call after the
//! trap: the first one apart (with snapshots it runs start-up once more and takes the snapshot
//! when the load deferred it, see `instance::Fresh`, or reads the module's code once, see
//! `scan::CodeCheck`), then its 10th, 50th and 90th percentile.
//!
//! ```sh
//! cargo run --release --example respawn                     # fib_go and textkit_go, 200 rounds
//! cargo run --release --example respawn -- 50 plugins/fib.wasm
//! ```
//!
//! A plugin named `*fib*` must have `fast(n)` looping `n` times (all the fib builds do up to
//! 4096); any other is called like textkit (`upper` on a long string).

use std::time::{Duration, Instant};

use xxlang_plugin::{Config, Object, WasmPlugin};

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map(|n| n.parse().expect("the number of rounds"))
        .unwrap_or(200);
    let mut files: Vec<String> = args.collect();
    if files.is_empty() {
        files = vec![
            String::from("plugins/fib_go.wasm"),
            String::from("plugins/textkit_go.wasm"),
        ];
    }
    println!(
        "{rounds} rounds per plugin and mode; times of the call that makes the fresh instance"
    );
    println!(
        "{:<24} {:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "plugin", "snapshot", "load", "call", "first", "p10", "p50", "p90"
    );
    for file in &files {
        measure(file, rounds);
    }
}

/// A plugin and how to make it run out of fuel.
struct Subject {
    plugin: WasmPlugin,
    load: Duration,
    ok: (&'static str, Vec<Object>),
    spin: (&'static str, Vec<Object>),
    calls: Vec<Duration>,
    respawns: Vec<Duration>,
}

impl Subject {
    fn load(file: &str, snapshots: bool) -> Self {
        // Fuel per call: enough for the ordinary call, too little for the spinning one.
        let fib = file.contains("fib");
        let config = Config::new()
            .fuel(if fib { 20_000 } else { 1_000_000 })
            .snapshots(snapshots);
        let started = Instant::now();
        let plugin = WasmPlugin::from_file_with(file, &config).expect("load");
        let load = started.elapsed();
        let (ok, spin) = if fib {
            (
                ("fast", vec![Object::Int(10)]),
                ("fast", vec![Object::Int(4096)]),
            )
        } else {
            let long = "ab".repeat(1 << 20);
            (
                ("upper", vec![Object::from("ab")]),
                ("upper", vec![Object::from(long.as_str())]),
            )
        };
        Self {
            plugin,
            load,
            ok,
            spin,
            calls: Vec::new(),
            respawns: Vec::new(),
        }
    }

    fn round(&mut self) {
        let t = Instant::now();
        self.plugin
            .call(self.ok.0, &self.ok.1)
            .expect("an ordinary call");
        self.calls.push(t.elapsed());
        let err = self
            .plugin
            .call(self.spin.0, &self.spin.1)
            .expect_err("runs out of fuel");
        assert!(err.to_string().contains("fuel"), "{err}");
        let t = Instant::now();
        self.plugin
            .call(self.ok.0, &self.ok.1)
            .expect("the call after the trap");
        self.respawns.push(t.elapsed());
    }

    fn report(&self, file: &str, snapshots: bool) {
        let first = self.respawns.first().copied().unwrap_or_default();
        let mut rest = self.respawns.get(1..).unwrap_or_default().to_vec();
        rest.sort();
        let mut calls = self.calls.clone();
        calls.sort();
        let at = |v: &[Duration], p: usize| v.get(v.len() * p / 100).copied().unwrap_or_default();
        let ms = |d: Duration| format!("{:.3}ms", d.as_secs_f64() * 1e3);
        println!(
            "{:<24} {:<9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}",
            file.rsplit('/').next().unwrap_or(file),
            if snapshots { "on" } else { "off" },
            ms(self.load),
            format!("{:.1}µs", at(&calls, 50).as_secs_f64() * 1e6),
            ms(first),
            ms(at(&rest, 10)),
            ms(at(&rest, 50)),
            ms(at(&rest, 90)),
        );
    }
}

fn measure(file: &str, rounds: usize) {
    // Compiled once and kept (the cache holds modules only while a plugin uses them), so the
    // loads below time instantiation, start-up and the snapshot, not compilation.
    let _compiled = Subject::load(file, false);
    let mut on = Subject::load(file, true);
    let mut off = Subject::load(file, false);
    for _ in 0..rounds {
        on.round();
        off.round();
    }
    on.report(file, true);
    off.report(file, false);
}
