//! Typed-ABI calls: our typed handles and builtins next to a hand-written raw wasmi host doing
//! the same copies.
//!
//! `cargo bench --bench typed`. Both sides run the same `plugins/textkit.wasm`: the raw side
//! defines the three `xxplugin` imports itself (the argument bytes live in its store data, the
//! guest pulls them with `arg` and pushes the result with `result`, which copies it out) and
//! decodes the result into a `String` / `Vec<i64>`. The difference is what the library adds.
//! Groups `strings` (echo_str of 1 KiB), `strings_64k` and `arrays` (iota(1000)), each with:
//! `raw`, `raw_metered` (the raw host on an engine with fuel metering on: what metering costs
//! the guest's own code), our typed handle (`typed_*`, strings only) and builtin
//! (`builtin_*`), each `trusted` (unmetered) and `default` (metered).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use wasmi::{Caller, Engine, Extern, Linker, Module, Store, TypedFunc};
use xxlang_plugin::{Builtin, Config, Object, Plugin, WasmPlugin};

const TEXTKIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/plugins/textkit.wasm");

/// The raw host's per-call data: the argument, and the result bytes.
#[derive(Default)]
struct Raw {
    arg: Vec<u8>,
    result: Vec<u8>,
}

fn memory(caller: &Caller<'_, Raw>) -> wasmi::Memory {
    match caller.get_export("memory") {
        Some(Extern::Memory(m)) => m,
        _ => panic!("no memory"),
    }
}

struct RawTextkit {
    store: Store<Raw>,
    echo_str: TypedFunc<i32, ()>,
    iota: TypedFunc<i64, ()>,
    metered: bool,
}

impl RawTextkit {
    fn new(metered: bool) -> Self {
        let bytes = std::fs::read(TEXTKIT).expect("read textkit");
        let mut config = wasmi::Config::default();
        config.consume_fuel(metered);
        let engine = Engine::new(&config);
        let module = Module::new(&engine, &bytes).expect("compile");
        let mut linker = Linker::<Raw>::new(&engine);
        linker
            .func_wrap(
                "xxplugin",
                "arg",
                |mut caller: Caller<'_, Raw>, _index: i32, dst: i32| {
                    let mem = memory(&caller);
                    let (data, raw) = mem.data_and_store_mut(&mut caller);
                    let dst = dst as usize;
                    data[dst..dst + raw.arg.len()].copy_from_slice(&raw.arg);
                },
            )
            .expect("arg");
        linker
            .func_wrap(
                "xxplugin",
                "result",
                |mut caller: Caller<'_, Raw>, ptr: i32, len: i32| {
                    let mem = memory(&caller);
                    let (data, raw) = mem.data_and_store_mut(&mut caller);
                    let (ptr, len) = (ptr as usize, len as usize);
                    raw.result.clear();
                    raw.result.extend_from_slice(&data[ptr..ptr + len]);
                },
            )
            .expect("result");
        linker
            .func_wrap(
                "xxplugin",
                "error",
                |_: Caller<'_, Raw>, _: i32, _: i32| -> () { panic!("unexpected guest error") },
            )
            .expect("error");
        let mut store = Store::new(&engine, Raw::default());
        let instance = linker
            .instantiate_and_start(&mut store, &module)
            .expect("instantiate");
        RawTextkit {
            echo_str: instance
                .get_typed_func(&store, "echo_str")
                .expect("echo_str"),
            iota: instance.get_typed_func(&store, "iota").expect("iota"),
            store,
            metered,
        }
    }

    /// With metering on, each call gets fuel enough to finish.
    fn fuel(&mut self) {
        if self.metered {
            self.store.set_fuel(u64::MAX / 2).expect("fuel");
        }
    }

    fn echo_str(&mut self, s: &str) -> String {
        let raw = self.store.data_mut();
        raw.arg.clear();
        raw.arg.extend_from_slice(s.as_bytes());
        self.fuel();
        self.echo_str
            .call(&mut self.store, s.len() as i32)
            .expect("call");
        String::from_utf8(self.store.data().result.clone()).expect("utf-8")
    }

    fn iota(&mut self, n: i64) -> Vec<i64> {
        self.fuel();
        self.iota.call(&mut self.store, n).expect("call");
        decode_int_array(&self.store.data().result)
    }
}

/// The MessagePack int-array decoding a raw host would write (no error handling).
fn decode_int_array(b: &[u8]) -> Vec<i64> {
    let (count, mut at) = match b[0] {
        m @ 0x90..=0x9f => (usize::from(m & 0x0f), 1),
        0xdc => (usize::from(u16::from_be_bytes([b[1], b[2]])), 3),
        _ => (u32::from_be_bytes([b[1], b[2], b[3], b[4]]) as usize, 5),
    };
    let mut out = Vec::with_capacity(count);
    for _ in 0..count {
        let (v, n) = match b[at] {
            m @ 0x00..=0x7f => (i64::from(m), 1),
            0xcc => (i64::from(b[at + 1]), 2),
            0xcd => (i64::from(u16::from_be_bytes([b[at + 1], b[at + 2]])), 3),
            0xce => (
                i64::from(u32::from_be_bytes([
                    b[at + 1],
                    b[at + 2],
                    b[at + 3],
                    b[at + 4],
                ])),
                5,
            ),
            m => panic!("unexpected {m:#x}"),
        };
        out.push(v);
        at += n;
    }
    out
}

fn builtin(p: &WasmPlugin, name: &str) -> Builtin {
    match p.exports().get(name) {
        Some(Object::Builtin(b)) => b.clone(),
        _ => panic!("no builtin {name}"),
    }
}

fn typed(c: &mut Criterion) {
    let default = WasmPlugin::from_file(TEXTKIT).expect("load textkit");
    let trusted = WasmPlugin::from_file_with(TEXTKIT, &Config::new().trusted(true)).expect("load");
    let mut raw = RawTextkit::new(false);
    let mut raw_metered = RawTextkit::new(true);

    for (group, size) in [("strings", 1024), ("strings_64k", 64 * 1024)] {
        let text: String = "abcdéfgh".chars().cycle().take(size).collect();
        let arg = [Object::from(text.as_str())];
        assert_eq!(raw.echo_str(&text), text);
        assert_eq!(raw_metered.echo_str(&text), text);
        let mut g = c.benchmark_group(group);
        g.bench_function("raw", |b| b.iter(|| raw.echo_str(black_box(&text))));
        g.bench_function("raw_metered", |b| {
            b.iter(|| raw_metered.echo_str(black_box(&text)))
        });
        for (label, plugin) in [("trusted", &trusted), ("default", &default)] {
            let echo = plugin
                .typed::<&str, String>("echo_str")
                .expect("typed echo_str");
            assert_eq!(echo.call(&text).expect("echo"), text);
            g.bench_function(format!("typed_{label}"), |b| {
                b.iter(|| echo.call(black_box(&text)).expect("call"))
            });
            let echo = builtin(plugin, "echo_str");
            assert_eq!(echo.call(&arg), arg[0]);
            g.bench_function(format!("builtin_{label}"), |b| {
                b.iter(|| echo.call(black_box(&arg)))
            });
        }
        g.finish();
    }

    let n = 1000;
    let arg = [Object::Int(n)];
    let want: Vec<i64> = (0..n).collect();
    assert_eq!(raw.iota(n), want);
    let mut g = c.benchmark_group("arrays");
    g.bench_function("raw", |b| b.iter(|| raw.iota(black_box(n))));
    g.bench_function("raw_metered", |b| b.iter(|| raw_metered.iota(black_box(n))));
    for (label, plugin) in [("trusted", &trusted), ("default", &default)] {
        let iota = builtin(plugin, "iota");
        assert_eq!(
            iota.call(&arg),
            want.iter().map(|v| Object::Int(*v)).collect::<Object>()
        );
        g.bench_function(format!("builtin_{label}"), |b| {
            b.iter(|| iota.call(black_box(&arg)))
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
    targets = typed
}
criterion_main!(benches);
