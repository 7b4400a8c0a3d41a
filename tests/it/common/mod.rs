//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod textkit_calls;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use xxlang_plugin::{Builtin, Error, ErrorKind, Object, Plugin, WasmPlugin};

/// The repository root (tests run with it as the working directory too).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A committed plugin: `plugins/NAME.wasm`.
pub fn plugin_file(name: &str) -> PathBuf {
    root().join("plugins").join(format!("{name}.wasm"))
}

/// Whether these tests run from the published package (`cargo package`) rather than the
/// repository: Cargo writes `Cargo.toml.orig` into every package it makes.
pub fn packaged() -> bool {
    root().join("Cargo.toml.orig").is_file()
}

/// Whether the committed plugin `plugins/NAME.wasm` is there to test. In the repository it
/// always is: a missing one is not skipped, the test goes on and fails. The published package
/// leaves out the Go plugins (4 MB; Cargo.toml's `include`): there a test of one is skipped,
/// saying so.
pub fn have_plugin(name: &str) -> bool {
    if plugin_file(name).is_file() || !packaged() {
        return true;
    }
    eprintln!("skipped: plugins/{name}.wasm is not in the published package");
    false
}

/// Loads a committed plugin.
pub fn load(name: &str) -> WasmPlugin {
    WasmPlugin::from_file(plugin_file(name))
        .unwrap_or_else(|e| panic!("loading plugins/{name}.wasm: {e}"))
}

/// The bytes of `tests/fixtures/NAME.wat`.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = root().join("tests/fixtures").join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads `tests/fixtures/NAME.wat` as a plugin named NAME.
pub fn fixture(name: &str) -> WasmPlugin {
    WasmPlugin::from_bytes(name, &fixture_bytes(name))
        .unwrap_or_else(|e| panic!("loading fixture {name}: {e}"))
}

/// Loads inline WAT as a plugin named `name`.
pub fn wat(name: &str, source: &str) -> Result<WasmPlugin, Error> {
    let bytes = wat::parse_str(source).unwrap_or_else(|e| panic!("bad test WAT: {e}"));
    WasmPlugin::from_bytes(name, &bytes)
}

/// What went wrong, when `result` failed: `matches!(kind(&r), Some(ErrorKind::Closed))`.
pub fn kind<T>(result: &Result<T, Error>) -> Option<&ErrorKind> {
    result.as_ref().err().map(Error::kind)
}

/// The builtin a script would call as `plugin.name`.
pub fn builtin(plugin: &dyn Plugin, name: &str) -> Builtin {
    match plugin.exports().get(name) {
        Some(Object::Builtin(b)) => b.clone(),
        other => panic!("{}.{name} is not a builtin: {other:?}", plugin.name()),
    }
}

/// Calls `plugin.name(args...)` the way a script does.
pub fn call(plugin: &dyn Plugin, name: &str, args: &[Object]) -> Object {
    builtin(plugin, name).call(args)
}

pub fn ints(values: &[i64]) -> Vec<Object> {
    values.iter().map(|v| Object::Int(*v)).collect()
}

/// Asserts `v` is an Error value whose message contains every fragment.
#[track_caller]
pub fn assert_error(v: &Object, fragments: &[&str]) {
    let Some(msg) = v.error_message() else {
        panic!("expected an Error value, got {v:?}");
    };
    for f in fragments {
        assert!(msg.contains(f), "error {msg:?} does not mention {f:?}");
    }
}

/// A fresh temporary directory under the target directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xxlang-plugin-test-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to `RELATIVE` inside, creating folders.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, bytes).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// SEED.md's `fib` expectations, shared by `tests/it/legacy_plugins.rs` (the Rust build) and
/// `tests/it/conformance.rs` (every language's build): `fast(n)` and `matrix(n)` values.
pub const FIB_FAST: &[(i64, i64)] = &[
    (0, 0),
    (1, 1),
    (2, 1),
    (3, 2),
    (5, 5),
    (10, 55),
    (20, 6765),
    (50, 12586269025),
];
pub const FIB_MATRIX: &[(i64, i64)] = &[
    (0, 0),
    (1, 1),
    (10, 55),
    (15, 610),
    (92, 7540113804746346429),
];
/// Numbers `isFib` must accept, and numbers it must refuse.
pub const FIB_IS: &[i64] = &[0, 1, 2, 3, 5, 8, 13, 55];
pub const FIB_NOT: &[i64] = &[4, 6, 7, 14, 56];

/// Plugins that live next to attackers; [`neighbours_ok`] checks they still answer.
pub fn neighbours() -> &'static (WasmPlugin, WasmPlugin) {
    static N: OnceLock<(WasmPlugin, WasmPlugin)> = OnceLock::new();
    N.get_or_init(|| (load("fib"), load("textkit")))
}

/// Both neighbours still answer correctly.
#[track_caller]
pub fn neighbours_ok() {
    let (fib, textkit) = neighbours();
    assert_eq!(
        call(fib, "fast", &[Object::Int(50)]),
        Object::Int(12_586_269_025)
    );
    assert_eq!(
        call(textkit, "upper", &[Object::from("still here")]),
        Object::from("STILL HERE")
    );
}

/// The environment variable that tells a child process which test body to run.
const CHILD: &str = "XXPLUGIN_TEST_CHILD";

/// Runs `body` in a child process (this test binary, running only the test `test`, its full
/// path like `sandbox::name`) on a 2 MiB thread; fails if the child dies or the body fails.
/// For tests that could kill the process, or that measure the process (its RSS) and must not
/// see other tests running beside them.
pub fn in_child(test: &str, body: fn()) {
    if std::env::var(CHILD).as_deref() == Ok(test) {
        let thread = std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(body)
            .expect("spawn the test thread");
        if thread.join().is_err() {
            std::process::exit(101);
        }
        return;
    }
    let exe = std::env::current_exe().expect("the test binary");
    let out = std::process::Command::new(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, test)
        .output()
        .expect("run the child");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{test}: the child process failed ({:?})\nstdout:\n{stdout}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What `f` logs through `tracing` at `level` and above, one line each: `span NAME fields`,
/// `record fields` (a span's later fields) and `event LEVEL fields`.
pub fn traced(level: tracing::Level, f: impl FnOnce()) -> Vec<String> {
    use std::sync::{Arc, Mutex};
    use tracing::field::{Field, Visit};
    use tracing::span::{Attributes, Id, Record};
    use tracing::{Event, Subscriber};
    use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

    #[derive(Default, Clone)]
    struct Seen(Arc<Mutex<Vec<String>>>);
    struct Fields(String);
    impl Visit for Fields {
        fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
            self.0.push_str(&format!(" {}={value:?}", field.name()));
        }
    }
    impl Seen {
        fn push(&self, line: String) {
            self.0.lock().expect("lock").push(line);
        }
    }
    impl<S: Subscriber> Layer<S> for Seen {
        fn on_new_span(&self, attrs: &Attributes<'_>, _: &Id, _: Context<'_, S>) {
            let mut f = Fields(format!("span {}", attrs.metadata().name()));
            attrs.record(&mut f);
            self.push(f.0);
        }
        fn on_record(&self, _: &Id, values: &Record<'_>, _: Context<'_, S>) {
            let mut f = Fields(String::from("record"));
            values.record(&mut f);
            self.push(f.0);
        }
        fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
            let mut f = Fields(format!("event {}", event.metadata().level()));
            event.record(&mut f);
            self.push(f.0);
        }
    }
    let seen = Seen::default();
    let subscriber = tracing_subscriber::registry()
        .with(seen.clone())
        .with(tracing_subscriber::filter::LevelFilter::from_level(level));
    tracing::subscriber::with_default(subscriber, f);
    seen.0.lock().expect("lock").clone()
}

/// The process's resident memory in KiB (`VmRSS`), where /proc tells it.
pub fn rss_kib() -> Option<u64> {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        })
}

/// A host function that holds the calls that reach it: each tells the test it arrived (with
/// its arguments, on `arrived`), then waits (at most 10 s) for a message on `go` and returns
/// `reply(args)`. For tests that need calls to be inside a plugin at a known moment.
pub struct Gate {
    pub function: xxlang_plugin::HostFunction,
    pub arrived: std::sync::mpsc::Receiver<Vec<Object>>,
    pub go: std::sync::mpsc::Sender<()>,
}

pub fn gate(
    name: &str,
    signature: xxlang_plugin::Signature,
    reply: fn(&[Object]) -> Object,
) -> Gate {
    use std::sync::{Mutex, mpsc};
    let (arrived_tx, arrived) = mpsc::channel();
    let (go, go_rx) = mpsc::channel::<()>();
    let go_rx = Mutex::new(go_rx);
    let function = xxlang_plugin::HostFunction::new(name, signature, move |_, args| {
        arrived_tx.send(args.to_vec()).map_err(|e| e.to_string())?;
        let rx = go_rx.lock().map_err(|e| e.to_string())?;
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .map_err(|e| e.to_string())?;
        Ok(reply(args))
    });
    Gate {
        function,
        arrived,
        go,
    }
}
