//! xxlang-plugin built for `wasm32-unknown-unknown` with `std` (and no WASI): a target whose
//! std has no clock (`Instant::now` panics), no files and no threads. Built as a module whose
//! one export, `call_run`, loads the committed plugins and calls them every way the library
//! offers there; `.ci/run` runs it with the `xxplugin` CLI (xxlang-plugin on the host):
//! `xxplugin call wasm32_smoke.wasm run` prints 0 when every check passed, else the number of
//! the first that failed. A panic anywhere (which is what this is for: nothing may panic on
//! this target) aborts, and the host reports the call's trap.

use std::sync::Arc;

use xxlang_plugin::{
    Config, ErrorKind, Limit, Loader, Object, Plugin, Registry, WasmPlugin, to_module,
};

static FIB: &[u8] = include_bytes!("../../../plugins/fib.wasm");
static TEXTKIT: &[u8] = include_bytes!("../../../plugins/textkit.wasm");
static TESTPLUGIN: &[u8] = include_bytes!("../../../plugins/testplugin.wasm");

/// 0 when every check passed, else the number of the first that failed.
#[unsafe(no_mangle)]
pub extern "C" fn call_run() -> i64 {
    match checks() {
        Ok(()) => 0,
        Err(check) => check,
    }
}

/// `Err(n)` unless `ok`.
fn check(n: i64, ok: bool) -> Result<(), i64> {
    if ok { Ok(()) } else { Err(n) }
}

fn checks() -> Result<(), i64> {
    // A legacy plugin under the default config (metered: fuel slices, cancellable).
    let fib = WasmPlugin::from_bytes("fib", FIB).map_err(|_| 1)?;
    let fast = fib.call("fast", &[Object::Int(50)]).ok();
    check(2, fast == Some(Object::Int(12_586_269_025)))?;
    let range = fib.call("range_", &[Object::Int(5)]).map(|v| v.to_string());
    check(3, range.ok().as_deref() == Some("[0, 1, 1, 2, 3, 5]"))?;
    let typed = fib.typed::<i64, i64>("fast").map_err(|_| 4)?;
    check(5, typed.call(10).ok() == Some(55))?;

    // A typed-ABI plugin: memory-type arguments and results, and a guest error.
    let textkit = WasmPlugin::from_bytes("textkit", TEXTKIT).map_err(|_| 6)?;
    let upper = textkit.call("upper", &[Object::from("abc")]).ok();
    check(7, upper == Some(Object::from("ABC")))?;
    let empty = textkit.call("upper", &[Object::from("")]);
    check(
        8,
        matches!(
            empty.map_err(|e| e.kind().clone()),
            Err(ErrorKind::Guest { .. })
        ),
    )?;

    // A trap, then a fresh instance (restored from the snapshot); a limit, likewise.
    let test = WasmPlugin::from_bytes("testplugin", TESTPLUGIN).map_err(|_| 9)?;
    let div = test.call("div", &[Object::Int(1), Object::Int(0)]);
    check(
        10,
        matches!(
            div.map_err(|e| e.kind().clone()),
            Err(ErrorKind::Trap { .. })
        ),
    )?;
    let add = test.call("add", &[Object::Int(1), Object::Int(2)]).ok();
    check(11, add == Some(Object::Int(3)))?;
    let config = Config::new().fuel(10_000);
    let test = WasmPlugin::from_bytes_with("testplugin", TESTPLUGIN, &config).map_err(|_| 12)?;
    let many = test.call("count_primes", &[Object::Int(1_000_000)]);
    let kind = many.map_err(|e| e.kind().clone());
    check(13, kind == Err(ErrorKind::Limit(Limit::Fuel(10_000))))?;
    let add = test.call("add", &[Object::Int(2), Object::Int(2)]).ok();
    check(14, add == Some(Object::Int(4)))?;

    // A deadline needs a clock: refused at load, saying so.
    let config = Config::new().deadline(core::time::Duration::from_secs(1));
    let refused = WasmPlugin::from_bytes_with("fib", FIB, &config);
    let message = refused.err().map(|e| e.to_string()).unwrap_or_default();
    check(15, message.contains("Config::deadline needs a clock"))?;

    // What a VM does with a plugin: a module value, a registry; a loader that finds no files.
    let fib = Arc::new(fib);
    let module = to_module(&*fib);
    let fast = module
        .as_module()
        .and_then(|m| m.get("fast"))
        .and_then(Object::as_builtin);
    check(
        16,
        fast.map(|f| f.call(&[Object::Int(20)])) == Some(Object::Int(6765)),
    )?;
    let registry = Registry::new();
    registry.register(fib.clone());
    check(17, registry.has("fib") && registry.list() == ["fib"])?;
    let loader = Loader::with_registry(Arc::new(Registry::new()));
    check(18, loader.import("plugin/fib").is_err())?;
    check(
        19,
        WasmPlugin::describe(TEXTKIT).is_ok_and(|d| !d.functions.is_empty()),
    )?;

    // Closed: later calls are Error values.
    fib.close().map_err(|_| 20)?;
    check(21, fib.call("fast", &[Object::Int(1)]).is_err())?;

    // No files here: an error, not a panic.
    check(22, WasmPlugin::from_file("plugins/fib.wasm").is_err())?;
    check(23, Registry::global().is_empty())?;

    // With a subscriber listening, the load span wants its duration: there is no clock here.
    tracing::subscriber::with_default(Listening, || {
        let fib = WasmPlugin::from_bytes("fib", FIB).map_err(|_| 24)?;
        let fast = fib.call("fast", &[Object::Int(10)]).ok();
        check(25, fast == Some(Object::Int(55)))
    })?;
    Ok(())
}

/// A `tracing` subscriber that wants everything, and keeps nothing.
struct Listening;

impl tracing::Subscriber for Listening {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, _: &tracing::Event<'_>) {}
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}
