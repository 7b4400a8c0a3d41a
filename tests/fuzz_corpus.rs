//! Replays the fuzz corpora (`fuzz/corpus/TARGET/`) and the inputs that once found bugs
//! (`fuzz/regressions/TARGET/`) through the fuzz targets' own entry points, on stable Rust:
//! none may panic. The entry points live in `fuzz/src/lib.rs`, shared with the fuzz targets,
//! so this runs exactly what was fuzzed. See fuzz/README.md.
//!
//! A test binary of its own, not a module of `tests/it`: `fuzz/` is not part of the published
//! package (16 MB of corpus), so this file is left out of it too (Cargo.toml's `include`) and
//! the packaged crate's tests build without it.

#[path = "../fuzz/src/lib.rs"]
mod fuzz_targets;

use std::panic;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Entry = fn(&[u8]);

/// The files of `fuzz/{corpus,regressions}/TARGET/`, in a fixed order.
fn inputs(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut files = Vec::new();
    for kind in ["corpus", "regressions"] {
        let Ok(dir) = std::fs::read_dir(root.join(kind).join(target)) else {
            continue;
        };
        for entry in dir.flatten() {
            let path = entry.path();
            if path.is_file() {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn replay(target: &str, entry: Entry) {
    let files = inputs(target);
    assert!(
        !files.is_empty(),
        "no inputs for fuzz target {target} in fuzz/corpus/{target}/"
    );
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, PathBuf::new());
    let started = Instant::now();
    for path in &files {
        let data = std::fs::read(path).expect("read a corpus file");
        let t = Instant::now();
        if panic::catch_unwind(|| entry(&data)).is_err() {
            failures.push(path.display().to_string());
        }
        if t.elapsed() > slowest.0 {
            slowest = (t.elapsed(), path.clone());
        }
    }
    eprintln!(
        "{target}: {} inputs in {:?} (slowest {:?}: {})",
        files.len(),
        started.elapsed(),
        slowest.0,
        slowest.1.display()
    );
    assert!(
        failures.is_empty(),
        "{target}: {} input(s) panicked (messages above); reproduce with \
         `cargo +nightly fuzz run {target} FILE` in fuzz/:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn load_module_corpus() {
    replay("load_module", fuzz_targets::load_module);
}

#[test]
fn manifest_corpus() {
    replay("manifest", fuzz_targets::manifest);
}

#[test]
fn msgpack_corpus() {
    replay("msgpack", fuzz_targets::msgpack);
}

/// The module the manifest target builds is valid wasm and carries its input: what the
/// target fuzzes is the manifest, not the module around it.
#[test]
fn manifest_module_is_what_it_says() {
    let text = "abi 1\nname m\nversion 3\nfn upper(s: string) -> string\n";
    let module = fuzz_targets::manifest_module(text.as_bytes());
    let d = xxlang_plugin::WasmPlugin::describe(&module).expect("describes");
    assert_eq!(d.name.as_deref(), Some("m"));
    assert_eq!(d.version.as_deref(), Some("3"));
    assert!(!d.instantiated);
    let names: Vec<&str> = d.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(names.contains(&"upper"), "{names:?}");
    // Undeclared exports follow the legacy rules.
    assert!(names.contains(&"fast"), "{names:?}");
}
