//! Concurrency stress: shared plugins called from many threads while other threads load,
//! close, re-register and cancel, with every answer checked against a value computed here.
//!
//! Eight workers make mixed calls on shared plugins: `fib` (legacy ABI), `textkit` and
//! `textkit_c` (typed ABI), `testplugin` (whose `div(_, 0)` traps, so the shared instance is
//! restarted under the other workers' feet), and the `limits` fixture twice: under a fuel limit
//! (some `work` calls run out) and under a 5 ms deadline (its `spin` never returns: it times
//! out or is cancelled). A quarter of the calls go through `WasmPlugin::call`, the rest through
//! builtins. Meanwhile three more threads run: two load, import, close, unregister and
//! re-register plugins through a `Loader` with its own `Registry` (never the global one) and
//! call builtins taken before a close (they must answer "closed"); one cancels the deadline
//! plugin's calls at random intervals.
//!
//! Every answer must be the value computed in Rust here, or an Error value of a kind that call
//! can legitimately get: closed, a limit (fuel, time, cancelled), a trap, or the guest's own
//! `empty input`. A wrong value, any other error (re-entrant, ABI, ...) or a panic fails the
//! run, and so does a storm that never hit one of those kinds (the test must be able to fail).
//! A watchdog fails the test if the storm has not ended after 60 s (a deadlock). Afterwards the
//! shared plugins must still answer correctly, and their linear memory must be within
//! [`MEMORY_SLACK`] of what it was after the warm-up.
//!
//! `examples/soak.rs` includes this file with `#[path]` and runs the same storm for minutes.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use xxlang_plugin::{Builtin, Config, Loader, Map, MapKey, Object, Plugin, Registry, WasmPlugin};

/// Fuel per call of the fuel-limited `limits` plugin: `work(n)` for n <= 5000 needs a few
/// tens of thousands of units, `work(10^8)` hundreds of millions.
const FUEL: u64 = 200_000;
/// Deadline per call of the time-limited `limits` plugin.
const DEADLINE: Duration = Duration::from_millis(5);
/// The canceller cancels the time-limited plugin's calls every 1 to this many ms, so some
/// `spin` calls are cancelled and some reach their deadline first.
const CANCEL_MAX_MS: u64 = 12;
/// A worker spins at most this often: a `spin` holds the time-limited plugin (and a core) for
/// up to [`DEADLINE`].
const SPIN_EVERY: Duration = Duration::from_millis(250);
/// Strings the workers send have up to this many characters.
const MAX_TEXT: u64 = 40;
/// `fib.range_(n)` is called with n up to this (past 92 the values wrap modulo 2^64).
const MAX_FIB_RANGE: i64 = 120;
/// How much a shared plugin's linear memory may grow after the warm-up: 4 wasm pages.
///
/// The warm-up calls every function with inputs of every size the storm uses, so a plugin that
/// frees what it allocates is at its high-water mark after it. The storm sends them in other
/// orders, though, and a guest allocator (dlmalloc in the Rust plugins, the C one in
/// `textkit_c`) may fragment and take another page now and then. (In practice none grew by a
/// single byte.) A leak does not hide in 4 pages: one lost allocation (8 bytes or more) per
/// call outgrows them in 32,768 calls, and a test run typically makes over 100,000 calls on
/// each text plugin (the soak, tens of millions).
pub const MEMORY_SLACK: usize = 4 << 16;
/// Threads besides the workers: the closer, the registrar and the canceller.
pub const CHURNERS: usize = 3;

/// What kind of Error value a call answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `plugin.f: plugin P is closed`.
    Closed,
    /// `plugin.f: ran out of fuel (...) (plugin restarted, state reset)`.
    Fuel,
    /// `plugin.f: ran past its deadline (...) (plugin restarted, state reset)`.
    Time,
    /// `plugin.f: was cancelled (plugin restarted, state reset)`.
    Cancelled,
    /// `plugin.f: trap: ... (plugin restarted, state reset)`.
    Trap,
    /// `textkit.upper: empty input`, the guest's own error.
    Guest,
}

impl Kind {
    /// Every kind, in the order [`Stats`] counts them.
    pub const ALL: [Kind; 6] = [
        Kind::Closed,
        Kind::Fuel,
        Kind::Time,
        Kind::Cancelled,
        Kind::Trap,
        Kind::Guest,
    ];

    /// Its name in the printed counts.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Closed => "closed",
            Kind::Fuel => "fuel",
            Kind::Time => "time",
            Kind::Cancelled => "cancelled",
            Kind::Trap => "trap",
            Kind::Guest => "guest",
        }
    }

    /// The kind of an error message from `plugin.function`, given what follows
    /// `plugin.function: `; `None` for anything this storm does not expect. A trap or a limit
    /// costs the plugin its instance (the default `Recovery::Reinstantiate`) and says so.
    fn of(plugin: &str, rest: &str) -> Option<Kind> {
        if let Some(rest) = rest.strip_suffix(" (plugin restarted, state reset)") {
            if rest == format!("ran out of fuel (limit: {FUEL} units per call)") {
                Some(Kind::Fuel)
            } else if rest == format!("ran past its deadline ({} ms)", DEADLINE.as_millis()) {
                Some(Kind::Time)
            } else if rest == "was cancelled" {
                Some(Kind::Cancelled)
            } else if rest.starts_with("trap: ") {
                Some(Kind::Trap)
            } else {
                None
            }
        } else if rest == format!("plugin {plugin} is closed") {
            Some(Kind::Closed)
        } else if rest == "empty input" {
            Some(Kind::Guest)
        } else {
            None
        }
    }
}

/// What a call must answer.
#[derive(Debug)]
enum Want {
    /// Exactly this value.
    Value(Object),
    /// An Error value of one of these kinds.
    Error(&'static [Kind]),
}

/// How a call answered, once checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Value,
    Error(Kind),
    /// A wrong value or an unexpected error (already counted and recorded).
    Bad,
}

/// No error tolerated beyond what [`Want`] says.
const STRICT: &[Kind] = &[];

/// Counts shared by every thread of a storm, and what went wrong.
pub struct Stats {
    /// Plugin calls made (builtins and `WasmPlugin::call`).
    pub calls: AtomicU64,
    /// Calls that answered the expected value.
    pub values: AtomicU64,
    errors: [AtomicU64; Kind::ALL.len()],
    /// Calls that answered a value other than the one computed here.
    pub wrong: AtomicU64,
    /// Calls (or loads) that failed in a way they must not.
    pub unexpected: AtomicU64,
    /// Panics caught in any thread of the storm.
    pub panics: AtomicU64,
    /// Successful `Loader::load`, `import` and `load_path` calls.
    pub loads: AtomicU64,
    /// Successful `Plugin::close` calls.
    pub closes: AtomicU64,
    /// `CancelHandle::cancel` calls.
    pub cancels: AtomicU64,
    /// Builtins called after their plugin's close, which answered "closed" as they must.
    pub closed_checks: AtomicU64,
    /// The first problems, described.
    failures: Mutex<Vec<String>>,
    /// What each thread is doing, for the watchdog.
    doing: Vec<Mutex<&'static str>>,
    workers: usize,
}

impl Stats {
    /// Counters for a storm of `workers` workers (and the [`CHURNERS`]).
    pub fn new(workers: usize) -> Self {
        Self {
            calls: AtomicU64::new(0),
            values: AtomicU64::new(0),
            errors: Default::default(),
            wrong: AtomicU64::new(0),
            unexpected: AtomicU64::new(0),
            panics: AtomicU64::new(0),
            loads: AtomicU64::new(0),
            closes: AtomicU64::new(0),
            cancels: AtomicU64::new(0),
            closed_checks: AtomicU64::new(0),
            failures: Mutex::new(Vec::new()),
            doing: (0..workers + CHURNERS)
                .map(|_| Mutex::new("starting"))
                .collect(),
            workers,
        }
    }

    /// How many calls answered an error of `kind`.
    pub fn errors(&self, kind: Kind) -> u64 {
        self.errors[kind as usize].load(Relaxed)
    }

    /// One line of counts.
    pub fn summary(&self) -> String {
        let errors: Vec<String> = Kind::ALL
            .iter()
            .map(|k| format!("{} {}", k.name(), self.errors(*k)))
            .collect();
        let total: u64 = Kind::ALL.iter().map(|k| self.errors(*k)).sum();
        format!(
            "calls {} (values {}, errors {total}: {}) | wrong {}, unexpected {}, panics {} | \
             loads {}, closes {}, cancels {}, calls after close {}",
            self.calls.load(Relaxed),
            self.values.load(Relaxed),
            errors.join(", "),
            self.wrong.load(Relaxed),
            self.unexpected.load(Relaxed),
            self.panics.load(Relaxed),
            self.loads.load(Relaxed),
            self.closes.load(Relaxed),
            self.cancels.load(Relaxed),
            self.closed_checks.load(Relaxed),
        )
    }

    /// What each thread was last seen doing.
    pub fn doing(&self) -> Vec<String> {
        self.doing
            .iter()
            .enumerate()
            .map(|(i, d)| {
                let who = match i.checked_sub(self.workers) {
                    None => format!("worker {i}"),
                    Some(0) => String::from("closer"),
                    Some(1) => String::from("registrar"),
                    Some(_) => String::from("canceller"),
                };
                format!(
                    "{who}: {}",
                    *d.lock().unwrap_or_else(PoisonError::into_inner)
                )
            })
            .collect()
    }

    /// The problems recorded so far (the first 50).
    pub fn failures(&self) -> Vec<String> {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_doing(&self, slot: usize, what: &'static str) {
        if let Some(d) = self.doing.get(slot) {
            *d.lock().unwrap_or_else(PoisonError::into_inner) = what;
        }
    }

    /// Records a problem (printed at once, for the first few).
    fn fail(&self, what: String) {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        if failures.len() < 10 {
            eprintln!("stress: {what}");
        }
        if failures.len() < 50 {
            failures.push(what);
        }
    }

    /// Records an unexpected failure that is not a call's answer (a load, a close, a lookup).
    fn unexpected(&self, what: String) {
        self.unexpected.fetch_add(1, Relaxed);
        self.fail(what);
    }

    /// Runs `f`, counting and recording a panic instead of letting it end the thread.
    fn guard(&self, what: &str, f: impl FnOnce()) {
        if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| String::from("(not a string)"));
            self.panics.fetch_add(1, Relaxed);
            self.fail(format!("{what} panicked: {msg}"));
        }
    }

    /// Calls `builtin` and checks its answer.
    fn call(&self, builtin: &Builtin, args: &[Object], want: &Want, also: &[Kind]) -> Answer {
        self.calls.fetch_add(1, Relaxed);
        let got = builtin.call(args);
        self.check(builtin.name(), args, &got, want, also)
    }

    /// Checks what `name` (`plugin.function`) answered to `args`. `also` are error kinds that
    /// other threads can cause at any moment (a close, a cancel), tolerated on top of `want`.
    fn check(
        &self,
        name: &str,
        args: &[Object],
        got: &Object,
        want: &Want,
        also: &[Kind],
    ) -> Answer {
        match got {
            Object::Error(msg) => {
                let plugin = name.split('.').next().unwrap_or(name);
                let kind = msg
                    .strip_prefix(name)
                    .and_then(|rest| rest.strip_prefix(": "))
                    .and_then(|rest| Kind::of(plugin, rest));
                match kind {
                    Some(k)
                        if also.contains(&k)
                            || matches!(want, Want::Error(ks) if ks.contains(&k)) =>
                    {
                        self.errors[k as usize].fetch_add(1, Relaxed);
                        Answer::Error(k)
                    }
                    _ => {
                        self.unexpected(format!(
                            "{name}{args:?} answered the error {msg:?}; wanted {want:?} (or an \
                             error of kind {also:?})"
                        ));
                        Answer::Bad
                    }
                }
            }
            value => match want {
                Want::Value(v) if v == value => {
                    self.values.fetch_add(1, Relaxed);
                    Answer::Value
                }
                _ => {
                    self.wrong.fetch_add(1, Relaxed);
                    self.fail(format!(
                        "WRONG RESULT: {name}{args:?} = {value:?}; wanted {want:?}"
                    ));
                    Answer::Bad
                }
            },
        }
    }

    /// Adds another phase's problems (warm-up, after the storm) to these counts.
    fn absorb(&self, other: &Stats, phase: &str) {
        self.wrong.fetch_add(other.wrong.load(Relaxed), Relaxed);
        self.unexpected
            .fetch_add(other.unexpected.load(Relaxed), Relaxed);
        self.panics.fetch_add(other.panics.load(Relaxed), Relaxed);
        for f in other.failures() {
            self.fail(format!("{phase}: {f}"));
        }
    }
}

/// A small, fast, seeded generator (xorshift64*): each thread's inputs are reproducible.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// In `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    /// In `lo..=hi`.
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }

    /// Up to `max` characters: ASCII, whitespace and multi-byte ones.
    fn text(&mut self, max: u64) -> String {
        const PIECES: &[&str] = &[
            "a", "b", "c", "x", "y", "z", "A", "Q", "0", "7", "-", " ", " ", "\t", "\n", "é", "ß",
            "Ж", "😀",
        ];
        let n = self.below(max + 1);
        (0..n)
            .map(|_| PIECES[self.below(PIECES.len() as u64) as usize])
            .collect()
    }

    /// Like [`Rng::text`], never empty.
    fn word_text(&mut self, max: u64) -> String {
        format!("w{}", self.text(max - 1))
    }
}

// ------------------------------------------------------------- expected values

/// `fib(n)` modulo 2^64, `n <= 0` gives 0: what the plugin's `fast` and `matrix` answer.
fn fib(n: i64) -> i64 {
    static TABLE: OnceLock<Vec<i64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let (mut a, mut b) = (0u64, 1u64);
        (0..=200)
            .map(|_| {
                let f = a as i64;
                (a, b) = (b, a.wrapping_add(b));
                f
            })
            .collect()
    });
    match usize::try_from(n) {
        Ok(i) => table[i],
        Err(_) => 0,
    }
}

/// The words of `s`: maximal runs of bytes other than ASCII whitespace.
fn words(s: &str) -> impl Iterator<Item = &str> {
    s.split([' ', '\t', '\n', '\x0B', '\x0C', '\r'])
        .filter(|w| !w.is_empty())
}

fn strings<'a>(items: impl Iterator<Item = &'a str>) -> Object {
    items.map(Object::from).collect()
}

fn word_counts(s: &str) -> Object {
    let mut counts = Map::new();
    for w in words(s) {
        let n = counts.entry(MapKey::from(w)).or_insert(Object::Int(0));
        if let Object::Int(c) = n {
            *c += 1;
        }
    }
    Object::from(counts)
}

fn ints(values: impl Iterator<Item = i64>) -> Object {
    values.map(Object::Int).collect()
}

// ------------------------------------------------------------ plugins under test

fn plugins_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("plugins")
}

fn limits_bytes() -> Result<Vec<u8>, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/limits.wat");
    wat::parse_file(&path).map_err(|e| format!("{}: {e}", path.display()))
}

/// A function of a shared plugin, callable as a script does (its builtin) or as Rust does
/// (`WasmPlugin::call`).
struct Target<'a> {
    /// What the watchdog shows: `textkit_c.upper`.
    label: &'static str,
    plugin: &'a WasmPlugin,
    function: &'static str,
    builtin: Builtin,
}

impl Target<'_> {
    /// Calls it (a quarter of the time through `WasmPlugin::call`) and checks the answer.
    fn call(&self, stats: &Stats, rng: &mut Rng, args: &[Object], want: &Want, also: &[Kind]) {
        if rng.below(4) == 0 {
            stats.calls.fetch_add(1, Relaxed);
            let got = self
                .plugin
                .call(self.function, args)
                .unwrap_or_else(Object::from);
            stats.check(self.builtin.name(), args, &got, want, also);
        } else {
            stats.call(&self.builtin, args, want, also);
        }
    }
}

/// The plugins the workers share, loaded once.
struct Shared {
    fib: WasmPlugin,
    textkit: WasmPlugin,
    textkit_c: WasmPlugin,
    testplugin: WasmPlugin,
    /// `limits` under a fuel limit of [`FUEL`] per call.
    fueled: WasmPlugin,
    /// `limits` under a deadline of [`DEADLINE`] per call (and so cancellable).
    timed: WasmPlugin,
}

impl Shared {
    fn load() -> Result<Self, String> {
        let file = |name: &str| {
            WasmPlugin::from_file(plugins_dir().join(format!("{name}.wasm")))
                .map_err(|e| format!("loading {name}: {e}"))
        };
        let limits = limits_bytes()?;
        let with = |name: &str, config: Config| {
            WasmPlugin::from_bytes_with(name, &limits, &config)
                .map_err(|e| format!("loading {name}: {e}"))
        };
        Ok(Shared {
            fib: file("fib")?,
            textkit: file("textkit")?,
            textkit_c: file("textkit_c")?,
            testplugin: file("testplugin")?,
            fueled: with("limits_fuel", Config::new().fuel(FUEL))?,
            timed: with("limits_time", Config::new().deadline(DEADLINE))?,
        })
    }

    /// Each shared plugin with the name it is shown under.
    fn all(&self) -> [(&'static str, &WasmPlugin); 6] {
        [
            ("fib", &self.fib),
            ("textkit", &self.textkit),
            ("textkit_c", &self.textkit_c),
            ("testplugin", &self.testplugin),
            ("limits_fuel", &self.fueled),
            ("limits_time", &self.timed),
        ]
    }
}

/// The builtins of [`Shared`], looked up once.
struct Targets<'a> {
    fast: Target<'a>,
    matrix: Target<'a>,
    is_fib: Target<'a>,
    fib_range: Target<'a>,
    upper: Target<'a>,
    reverse: Target<'a>,
    concat: Target<'a>,
    split: Target<'a>,
    sum: Target<'a>,
    word_counts: Target<'a>,
    length: Target<'a>,
    c_upper: Target<'a>,
    c_reverse: Target<'a>,
    c_concat: Target<'a>,
    c_length: Target<'a>,
    add: Target<'a>,
    div: Target<'a>,
    t_range: Target<'a>,
    fuel_work: Target<'a>,
    time_work: Target<'a>,
    spin: Target<'a>,
}

fn builtin_of(plugin: &dyn Plugin, function: &str) -> Result<Builtin, String> {
    match plugin.exports().get(function) {
        Some(Object::Builtin(b)) => Ok(b.clone()),
        other => Err(format!(
            "{}.{function} is not a builtin: {other:?}",
            plugin.name()
        )),
    }
}

impl<'a> Targets<'a> {
    fn new(s: &'a Shared) -> Result<Self, String> {
        let t = |label: &'static str, plugin: &'a WasmPlugin, function: &'static str| {
            Ok::<_, String>(Target {
                label,
                plugin,
                function,
                builtin: builtin_of(plugin, function)?,
            })
        };
        Ok(Targets {
            fast: t("fib.fast", &s.fib, "fast")?,
            matrix: t("fib.matrix", &s.fib, "matrix")?,
            is_fib: t("fib.isFib", &s.fib, "isFib")?,
            fib_range: t("fib.range_", &s.fib, "range_")?,
            upper: t("textkit.upper", &s.textkit, "upper")?,
            reverse: t("textkit.reverse", &s.textkit, "reverse")?,
            concat: t("textkit.concat", &s.textkit, "concat")?,
            split: t("textkit.split", &s.textkit, "split")?,
            sum: t("textkit.sum", &s.textkit, "sum")?,
            word_counts: t("textkit.word_counts", &s.textkit, "word_counts")?,
            length: t("textkit.length", &s.textkit, "length")?,
            c_upper: t("textkit_c.upper", &s.textkit_c, "upper")?,
            c_reverse: t("textkit_c.reverse", &s.textkit_c, "reverse")?,
            c_concat: t("textkit_c.concat", &s.textkit_c, "concat")?,
            c_length: t("textkit_c.length", &s.textkit_c, "length")?,
            add: t("testplugin.add", &s.testplugin, "add")?,
            div: t("testplugin.div", &s.testplugin, "div")?,
            t_range: t("testplugin.range_", &s.testplugin, "range_")?,
            fuel_work: t("limits_fuel.work", &s.fueled, "work")?,
            time_work: t("limits_time.work", &s.timed, "work")?,
            spin: t("limits_time.spin", &s.timed, "spin")?,
        })
    }

    /// One random call by a worker, checked. `last_spin` rations the worker's `spin` calls.
    fn worker_op(&self, stats: &Stats, slot: usize, rng: &mut Rng, last_spin: &mut Instant) {
        use Object::Int;
        let value = Want::Value;
        let (t, args, want, also): (&Target, Vec<Object>, Want, &[Kind]) = match rng.below(1000) {
            0..100 => {
                let n = rng.int(-5, 150);
                (&self.fast, vec![Int(n)], value(Int(fib(n))), STRICT)
            }
            100..170 => {
                let n = rng.int(-5, 150);
                (&self.matrix, vec![Int(n)], value(Int(fib(n))), STRICT)
            }
            170..230 => {
                let n = match rng.below(3) {
                    0 => fib(rng.int(0, 92)),
                    1 => fib(rng.int(0, 92)) + rng.int(-2, 2),
                    _ => rng.next() as i64,
                };
                let is = n >= 0 && (0..=92).any(|k| fib(k) == n);
                (&self.is_fib, vec![Int(n)], value(Object::Bool(is)), STRICT)
            }
            230..300 => {
                let n = rng.int(-3, MAX_FIB_RANGE);
                let want = ints((0..=n).map(fib));
                (&self.fib_range, vec![Int(n)], value(want), STRICT)
            }
            // Upper-casing: `upper` fails on empty input, with the guest's own error.
            r @ (300..380 | 660..700) => {
                let t = if r < 380 { &self.upper } else { &self.c_upper };
                let s = if rng.below(20) == 0 {
                    String::new()
                } else {
                    rng.word_text(MAX_TEXT)
                };
                let want = match s.is_empty() {
                    true => Want::Error(&[Kind::Guest]),
                    false => value(Object::from(s.to_ascii_uppercase())),
                };
                (t, vec![Object::from(s)], want, STRICT)
            }
            r @ (380..440 | 700..740) => {
                let t = if r < 440 {
                    &self.reverse
                } else {
                    &self.c_reverse
                };
                let s = rng.text(MAX_TEXT);
                let want = value(Object::from(s.chars().rev().collect::<String>()));
                (t, vec![Object::from(s)], want, STRICT)
            }
            r @ (440..490 | 740..770) => {
                let t = if r < 490 {
                    &self.concat
                } else {
                    &self.c_concat
                };
                let (a, b) = (rng.text(MAX_TEXT), rng.text(MAX_TEXT));
                let want = value(Object::from(format!("{a}{b}")));
                (t, vec![Object::from(a), Object::from(b)], want, STRICT)
            }
            490..540 => {
                let s = rng.text(MAX_TEXT);
                let want = value(strings(words(&s)));
                (&self.split, vec![Object::from(s)], want, STRICT)
            }
            540..580 => {
                let xs: Vec<f64> = (0..rng.below(17))
                    .map(|_| rng.int(-800, 800) as f64 / 8.0)
                    .collect();
                let want = value(Object::Float(xs.iter().fold(0.0, |acc, x| acc + x)));
                let arg: Object = xs.into_iter().map(Object::Float).collect();
                (&self.sum, vec![arg], want, STRICT)
            }
            580..630 => {
                let s = rng.text(MAX_TEXT);
                let want = value(word_counts(&s));
                (&self.word_counts, vec![Object::from(s)], want, STRICT)
            }
            r @ (630..660 | 770..800) => {
                let t = if r < 660 {
                    &self.length
                } else {
                    &self.c_length
                };
                let s = rng.text(MAX_TEXT);
                let want = value(Int(s.chars().count() as i64));
                (t, vec![Object::from(s)], want, STRICT)
            }
            800..860 => {
                let (a, b) = (rng.next() as i64, rng.next() as i64);
                (
                    &self.add,
                    vec![Int(a), Int(b)],
                    value(Int(a.wrapping_add(b))),
                    STRICT,
                )
            }
            // Division: by zero traps, and the shared instance starts afresh for the next call.
            860..900 => {
                let (a, b) = match rng.below(8) {
                    0 | 1 => (rng.next() as i64, 0),
                    2 => (i64::MIN, -1),
                    _ => (rng.next() as i64, rng.int(-1000, 1000)),
                };
                let want = match b {
                    0 => Want::Error(&[Kind::Trap]),
                    _ => value(Int(a.wrapping_div(b))),
                };
                (&self.div, vec![Int(a), Int(b)], want, STRICT)
            }
            900..930 => {
                let n = rng.int(-3, 64);
                (
                    &self.t_range,
                    vec![Int(n)],
                    value(ints(0..n.max(0))),
                    STRICT,
                )
            }
            // `work(n)` counts to n (at least 1); 10^8 is far past the fuel limit.
            930..975 => match rng.below(20) {
                0 => (
                    &self.fuel_work,
                    vec![Int(100_000_000)],
                    Want::Error(&[Kind::Fuel]),
                    STRICT,
                ),
                _ => {
                    let n = rng.int(1, 5000);
                    (&self.fuel_work, vec![Int(n)], value(Int(n)), STRICT)
                }
            },
            // The time-limited plugin: the canceller may cancel any call of it, and a call
            // descheduled past its deadline times out.
            _ if last_spin.elapsed() >= SPIN_EVERY => {
                *last_spin = Instant::now();
                (
                    &self.spin,
                    vec![],
                    Want::Error(&[Kind::Time, Kind::Cancelled]),
                    STRICT,
                )
            }
            _ => {
                let n = rng.int(1, 5000);
                (
                    &self.time_work,
                    vec![Int(n)],
                    value(Int(n)),
                    &[Kind::Time, Kind::Cancelled],
                )
            }
        };
        stats.set_doing(slot, t.label);
        t.call(stats, rng, &args, &want, also);
        stats.set_doing(slot, "between calls");
    }

    /// Calls every function with the largest inputs the storm uses, so that the plugins'
    /// memory is at its high-water mark before it is measured.
    fn largest_inputs(&self, stats: &Stats, rng: &mut Rng) {
        use Object::Int;
        let max = MAX_TEXT as usize;
        // The most bytes, many words, many distinct words.
        let longest = [
            "😀".repeat(max),
            "x ".repeat(max / 2),
            "a b c x y z A Q 0 7 - é ß Ж 😀 ab ac ad".to_string(),
        ];
        for _ in 0..50 {
            for long in &longest {
                assert!(
                    long.chars().count() <= max,
                    "{long:?} is longer than the storm's"
                );
                let s = || Object::from(long.as_str());
                let up = Want::Value(Object::from(long.to_ascii_uppercase()));
                let rev = Want::Value(Object::from(long.chars().rev().collect::<String>()));
                let both = Want::Value(Object::from(format!("{long}{long}")));
                for (u, r, c) in [
                    (&self.upper, &self.reverse, &self.concat),
                    (&self.c_upper, &self.c_reverse, &self.c_concat),
                ] {
                    u.call(stats, rng, &[s()], &up, STRICT);
                    r.call(stats, rng, &[s()], &rev, STRICT);
                    c.call(stats, rng, &[s(), s()], &both, STRICT);
                }
                let split = Want::Value(strings(words(long)));
                self.split.call(stats, rng, &[s()], &split, STRICT);
                let counts = Want::Value(word_counts(long));
                self.word_counts.call(stats, rng, &[s()], &counts, STRICT);
            }
            let xs: Object = (0..16).map(|i| Object::Float(f64::from(i) / 8.0)).collect();
            self.sum
                .call(stats, rng, &[xs], &Want::Value(Object::Float(15.0)), STRICT);
            let n = MAX_FIB_RANGE;
            let fibs = Want::Value(ints((0..=n).map(fib)));
            self.fib_range.call(stats, rng, &[Int(n)], &fibs, STRICT);
            self.t_range
                .call(stats, rng, &[Int(64)], &Want::Value(ints(0..64)), STRICT);
        }
    }

    /// Known answers from every shared plugin, limits and traps included; ends with a
    /// successful call on each, so that each has a live instance to measure.
    fn known_answers(&self, stats: &Stats, rng: &mut Rng) {
        use Object::{Bool, Float, Int};
        let v = Want::Value;
        let s = Object::from;
        let cases: Vec<(&Target, Vec<Object>, Want)> = vec![
            (&self.fast, vec![Int(90)], v(Int(2880067194370816120))),
            (&self.matrix, vec![Int(92)], v(Int(7540113804746346429))),
            (&self.is_fib, vec![Int(12586269025)], v(Bool(true))),
            (&self.is_fib, vec![Int(4)], v(Bool(false))),
            (
                &self.fib_range,
                vec![Int(6)],
                v(ints([0, 1, 1, 2, 3, 5, 8].into_iter())),
            ),
            (&self.upper, vec![s("")], Want::Error(&[Kind::Guest])),
            (&self.upper, vec![s("hello, wörld")], v(s("HELLO, WöRLD"))),
            (&self.reverse, vec![s("a😀b")], v(s("b😀a"))),
            (&self.concat, vec![s("ab"), s("cd")], v(s("abcd"))),
            (
                &self.split,
                vec![s(" a b\tc ")],
                v(strings(["a", "b", "c"].into_iter())),
            ),
            (
                &self.sum,
                vec![vec![Float(0.5), Float(0.25)].into()],
                v(Float(0.75)),
            ),
            (&self.word_counts, vec![s("a b a")], v(word_counts("a a b"))),
            (&self.length, vec![s("é😀")], v(Int(2))),
            (&self.c_upper, vec![s("")], Want::Error(&[Kind::Guest])),
            (&self.c_upper, vec![s("hello, wörld")], v(s("HELLO, WöRLD"))),
            (&self.c_reverse, vec![s("a😀b")], v(s("b😀a"))),
            (&self.c_concat, vec![s("ab"), s("cd")], v(s("abcd"))),
            (&self.c_length, vec![s("é😀")], v(Int(2))),
            (&self.div, vec![Int(1), Int(0)], Want::Error(&[Kind::Trap])),
            (&self.div, vec![Int(7), Int(2)], v(Int(3))),
            (&self.t_range, vec![Int(3)], v(ints(0..3))),
            (&self.add, vec![Int(2), Int(3)], v(Int(5))),
            (
                &self.fuel_work,
                vec![Int(100_000_000)],
                Want::Error(&[Kind::Fuel]),
            ),
            (&self.fuel_work, vec![Int(1000)], v(Int(1000))),
            // Nothing cancels now: spin must reach its deadline.
            (&self.spin, vec![], Want::Error(&[Kind::Time])),
            (&self.time_work, vec![Int(1000)], v(Int(1000))),
        ];
        for (t, args, want) in &cases {
            t.call(stats, rng, args, want, STRICT);
        }
    }
}

// ------------------------------------------------------------------ the churn

/// The loader the churning threads share, with its own registry.
struct Churn {
    registry: Arc<Registry>,
    loader: Loader,
    textkit_c: PathBuf,
    /// `import` spec of `plugins/textkit.wasm` by path.
    textkit_spec: String,
}

/// The names the churn registers.
const CHURN_NAMES: &[&str] = &["fib", "testplugin", "fib-closer"];

impl Churn {
    fn new() -> Self {
        let registry = Arc::new(Registry::new());
        let loader = Loader::with_registry(registry.clone());
        loader.set_paths([plugins_dir()]);
        Churn {
            registry,
            loader,
            textkit_c: plugins_dir().join("textkit_c.wasm"),
            textkit_spec: plugins_dir().join("textkit.wasm").display().to_string(),
        }
    }

    fn load(&self, stats: &Stats, name: &str) -> Option<Arc<dyn Plugin>> {
        self.counted(stats, format!("load({name})"), self.loader.load(name))
    }

    fn load_path(&self, stats: &Stats) -> Option<Arc<dyn Plugin>> {
        self.counted(
            stats,
            String::from("load_path(textkit_c)"),
            self.loader
                .load_path(&self.textkit_c)
                .map(|p| p as Arc<dyn Plugin>),
        )
    }

    /// `import(spec)`'s builtin `function`.
    fn import(&self, stats: &Stats, spec: &str, function: &str) -> Option<Builtin> {
        let module = self.counted(stats, format!("import({spec})"), self.loader.import(spec))?;
        match module
            .as_module()
            .and_then(|m| m.get(function))
            .and_then(Object::as_builtin)
        {
            Some(b) => Some(b.clone()),
            None => {
                stats.unexpected(format!(
                    "import({spec}) has no builtin {function}: {module:?}"
                ));
                None
            }
        }
    }

    fn counted<T>(
        &self,
        stats: &Stats,
        what: String,
        r: Result<T, xxlang_plugin::Error>,
    ) -> Option<T> {
        match r {
            Ok(v) => {
                stats.loads.fetch_add(1, Relaxed);
                Some(v)
            }
            Err(e) => {
                stats.unexpected(format!("loader.{what} failed: {e}"));
                None
            }
        }
    }

    fn builtin(stats: &Stats, plugin: &dyn Plugin, function: &str) -> Option<Builtin> {
        builtin_of(plugin, function)
            .map_err(|e| stats.unexpected(e))
            .ok()
    }

    fn close(stats: &Stats, plugin: &dyn Plugin) {
        match plugin.close() {
            Ok(()) => {
                stats.closes.fetch_add(1, Relaxed);
            }
            Err(e) => stats.unexpected(format!("closing {}: {e}", plugin.name())),
        }
        if !plugin.is_closed() {
            stats.unexpected(format!("{} is not closed after close()", plugin.name()));
        }
    }

    /// A builtin whose plugin this thread closed must answer "closed".
    fn after_close(stats: &Stats, builtin: &Builtin, args: &[Object]) {
        if stats.call(builtin, args, &Want::Error(&[Kind::Closed]), STRICT)
            == Answer::Error(Kind::Closed)
        {
            stats.closed_checks.fetch_add(1, Relaxed);
        }
    }

    /// The closer: loads `fib` by name and by import, calls it, closes it, calls the builtins
    /// it took before the close, loads it again; the same for `textkit_c` by path.
    fn closer_step(&self, stats: &Stats, slot: usize, rng: &mut Rng) -> Option<()> {
        let n = rng.int(0, 92);
        let args = [Object::Int(n)];
        let want = Want::Value(Object::Int(fib(n)));
        stats.set_doing(slot, "closer: load fib");
        let p = self.load(stats, "fib")?;
        let fast = Self::builtin(stats, &*p, "fast")?;
        stats.set_doing(slot, "closer: import plugin/fib");
        let imported = self.import(stats, "plugin/fib", "fast")?;
        // The registrar closes fib now and then: "closed" is a fair answer until we close it.
        stats.set_doing(slot, "closer: fib.fast");
        stats.call(&fast, &args, &want, &[Kind::Closed]);
        stats.call(&imported, &args, &want, &[Kind::Closed]);
        stats.set_doing(slot, "closer: close fib");
        Self::close(stats, &*p);
        stats.set_doing(slot, "closer: fib.fast after close");
        Self::after_close(stats, &fast, &args);
        // `imported` may be another instance (the registrar can close and reload in between).
        stats.call(&imported, &args, &want, &[Kind::Closed]);
        // The name loads afresh, never as the closed plugin.
        stats.set_doing(slot, "closer: load fib again");
        let q = self.load(stats, "fib")?;
        if Arc::ptr_eq(&p, &q) {
            stats.unexpected(String::from(
                "loader.load(fib) returned the plugin just closed",
            ));
        }
        // An alias only this thread uses.
        stats.set_doing(slot, "closer: alias");
        self.registry.register_as("fib-closer", q.clone());
        if !self
            .registry
            .get("fib-closer")
            .is_some_and(|x| Arc::ptr_eq(&x, &q))
        {
            stats.unexpected(String::from(
                "registry.get(fib-closer) is not what was registered",
            ));
        }
        if !self
            .registry
            .unregister("fib-closer")
            .is_some_and(|x| Arc::ptr_eq(&x, &q))
        {
            stats.unexpected(String::from(
                "registry.unregister(fib-closer) is not what was registered",
            ));
        }
        // textkit_c by path: only this thread closes it.
        stats.set_doing(slot, "closer: load_path textkit_c");
        let c = self.load_path(stats)?;
        let upper = Self::builtin(stats, &*c, "upper")?;
        let s = rng.word_text(MAX_TEXT);
        let up = [Object::from(s.as_str())];
        stats.set_doing(slot, "closer: textkit_c.upper");
        stats.call(
            &upper,
            &up,
            &Want::Value(Object::from(s.to_ascii_uppercase())),
            STRICT,
        );
        stats.set_doing(slot, "closer: close textkit_c");
        Self::close(stats, &*c);
        Self::after_close(stats, &upper, &up);
        let c2 = self.load_path(stats)?;
        if Arc::ptr_eq(&c, &c2) {
            stats.unexpected(String::from(
                "loader.load_path returned the plugin just closed",
            ));
        }
        Some(())
    }

    /// The registrar: loads and sometimes closes `testplugin` (only it does: strict answers),
    /// takes `fib` out of the registry under the closer's feet and sometimes puts it back,
    /// closes `fib` now and then, uses the path-loaded `textkit_c` the closer closes, and
    /// imports `textkit` by path.
    fn registrar_step(&self, stats: &Stats, slot: usize, rng: &mut Rng) -> Option<()> {
        use Object::Int;
        let (a, b) = (
            rng.int(-1_000_000, 1_000_000),
            rng.int(-1_000_000, 1_000_000),
        );
        let add_args = [Int(a), Int(b)];
        let sum = Want::Value(Int(a + b));
        stats.set_doing(slot, "registrar: load testplugin");
        let t = self.load(stats, "testplugin")?;
        let add = Self::builtin(stats, &*t, "add")?;
        stats.set_doing(slot, "registrar: testplugin.add");
        stats.call(&add, &add_args, &sum, STRICT);
        if rng.below(4) == 0 {
            stats.set_doing(slot, "registrar: close testplugin");
            Self::close(stats, &*t);
            Self::after_close(stats, &add, &add_args);
            let t2 = self.load(stats, "testplugin")?;
            if Arc::ptr_eq(&t, &t2) {
                stats.unexpected(String::from(
                    "loader.load(testplugin) returned the plugin just closed",
                ));
            }
            stats.call(&Self::builtin(stats, &*t2, "add")?, &add_args, &sum, STRICT);
        }

        stats.set_doing(slot, "registrar: unregister fib");
        if let Some(p) = self.registry.unregister("fib")
            && rng.below(2) == 0
        {
            self.registry.register(p);
        }
        let n = rng.int(0, 92);
        let args = [Int(n)];
        stats.set_doing(slot, "registrar: load fib");
        let f = self.load(stats, "fib")?;
        let fast = Self::builtin(stats, &*f, "fast")?;
        stats.set_doing(slot, "registrar: fib.fast");
        stats.call(&fast, &args, &Want::Value(Int(fib(n))), &[Kind::Closed]);
        if rng.below(8) == 0 {
            stats.set_doing(slot, "registrar: close fib");
            Self::close(stats, &*f);
            Self::after_close(stats, &fast, &args);
        }
        for name in self.registry.list() {
            if !CHURN_NAMES.contains(&name.as_str()) {
                stats.unexpected(format!(
                    "the registry lists {name:?}, which nobody registered"
                ));
            }
        }

        let s = rng.text(MAX_TEXT);
        let text = [Object::from(s.as_str())];
        stats.set_doing(slot, "registrar: load_path textkit_c");
        let c = self.load_path(stats)?;
        let reverse = Self::builtin(stats, &*c, "reverse")?;
        stats.set_doing(slot, "registrar: textkit_c.reverse");
        let reversed = Want::Value(Object::from(s.chars().rev().collect::<String>()));
        stats.call(&reverse, &text, &reversed, &[Kind::Closed]);
        stats.set_doing(slot, "registrar: import textkit by path");
        let length = self.import(stats, &self.textkit_spec, "length")?;
        stats.set_doing(slot, "registrar: textkit.length");
        stats.call(
            &length,
            &text,
            &Want::Value(Int(s.chars().count() as i64)),
            STRICT,
        );
        Some(())
    }
}

// ------------------------------------------------------------------- the storm

/// How wide and how long a storm is.
pub struct Settings {
    /// Threads making calls on the shared plugins.
    pub workers: usize,
    /// How long they call.
    pub duration: Duration,
    /// How often `progress` is called.
    pub tick: Duration,
}

/// A shared plugin's linear memory after the warm-up and after the storm.
pub struct MemoryRow {
    /// The plugin.
    pub plugin: &'static str,
    /// Bytes after the warm-up.
    pub warm: Option<usize>,
    /// Bytes after the storm.
    pub end: Option<usize>,
}

/// How a storm went.
pub struct Report {
    /// How long the calls ran.
    pub storm: Duration,
    /// The shared plugins' memory.
    pub memory: Vec<MemoryRow>,
    /// Everything that went wrong; empty for a good run.
    pub problems: Vec<String>,
}

/// Runs a storm: loads the shared plugins, warms them up, runs the workers and the churn for
/// `settings.duration`, checks the plugins afterwards. `progress` is called right after the
/// warm-up, then every `settings.tick` with the time since. `stats` must have room for
/// `settings.workers` workers.
pub fn storm(
    settings: &Settings,
    stats: &Stats,
    progress: &mut dyn FnMut(&Stats, Duration),
) -> Report {
    let mut report = Report {
        storm: Duration::ZERO,
        memory: Vec::new(),
        problems: Vec::new(),
    };
    let shared = match Shared::load() {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(e);
            return report;
        }
    };
    let targets = match Targets::new(&shared) {
        Ok(t) => t,
        Err(e) => {
            report.problems.push(e);
            return report;
        }
    };

    // Warm-up, one thread: the largest inputs, a few thousand random calls, known answers.
    let warm = Stats::new(1);
    let mut rng = Rng::new(u64::MAX);
    warm.guard("warm-up", || {
        targets.largest_inputs(&warm, &mut rng);
        let mut last_spin = Instant::now();
        for _ in 0..5000 {
            targets.worker_op(&warm, 0, &mut rng, &mut last_spin);
        }
        targets.known_answers(&warm, &mut rng);
    });
    stats.absorb(&warm, "warm-up");
    let warm_memory: Vec<Option<usize>> =
        shared.all().iter().map(|(_, p)| p.memory_bytes()).collect();

    let churn = Churn::new();
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    std::thread::scope(|s| {
        let (targets, churn, stop) = (&targets, &churn, &stop);
        for w in 0..settings.workers {
            spawn_in(s, stats, format!("worker-{w}"), w, move || {
                let mut rng = Rng::new(w as u64 + 1);
                let mut last_spin = Instant::now();
                while !stop.load(Relaxed) {
                    stats.guard("a worker", || {
                        targets.worker_op(stats, w, &mut rng, &mut last_spin)
                    });
                }
            });
        }
        let closer = settings.workers;
        spawn_in(s, stats, String::from("closer"), closer, move || {
            let mut rng = Rng::new(1001);
            while !stop.load(Relaxed) {
                stats.guard("the closer", || {
                    churn.closer_step(stats, closer, &mut rng);
                });
            }
        });
        spawn_in(s, stats, String::from("registrar"), closer + 1, move || {
            let mut rng = Rng::new(1002);
            while !stop.load(Relaxed) {
                stats.guard("the registrar", || {
                    churn.registrar_step(stats, closer + 1, &mut rng);
                });
            }
        });
        let cancel = shared.timed.cancel_handle();
        spawn_in(s, stats, String::from("canceller"), closer + 2, move || {
            let Some(cancel) = cancel else {
                stats.unexpected(String::from("limits_time has no cancel handle"));
                return;
            };
            let mut rng = Rng::new(1003);
            while !stop.load(Relaxed) {
                stats.set_doing(closer + 2, "canceller: sleeping");
                let ms = rng.int(1, CANCEL_MAX_MS as i64) as u64;
                std::thread::sleep(Duration::from_millis(ms));
                stats.set_doing(closer + 2, "canceller: cancel");
                cancel.cancel();
                stats.cancels.fetch_add(1, Relaxed);
            }
        });

        progress(stats, Duration::ZERO);
        let mut next_tick = settings.tick;
        loop {
            let elapsed = started.elapsed();
            if elapsed >= settings.duration {
                break;
            }
            if elapsed >= next_tick {
                progress(stats, elapsed);
                next_tick += settings.tick;
            }
            std::thread::sleep((settings.duration - elapsed).min(Duration::from_millis(50)));
        }
        stop.store(true, Relaxed);
    });
    report.storm = started.elapsed();

    // After the storm: the same known answers, one thread, nothing cancelling.
    let after = Stats::new(1);
    after.guard("after the storm", || {
        targets.known_answers(&after, &mut rng)
    });
    stats.absorb(&after, "after the storm");
    for ((plugin, p), warm) in shared.all().into_iter().zip(warm_memory) {
        let end = p.memory_bytes();
        report.memory.push(MemoryRow { plugin, warm, end });
        match (warm, end) {
            (Some(w), Some(e)) if e <= w + MEMORY_SLACK => {}
            _ => report.problems.push(format!(
                "{plugin}'s memory: {warm:?} bytes after the warm-up, {end:?} after the storm \
                 (at most {MEMORY_SLACK} more allowed)"
            )),
        }
    }

    // Totals: nothing wrong, and every path was taken.
    for (count, what) in [
        (&stats.wrong, "wrong results"),
        (&stats.unexpected, "unexpected errors"),
        (&stats.panics, "panics"),
    ] {
        let n = count.load(Relaxed);
        if n > 0 {
            report.problems.push(format!("{n} {what}"));
        }
    }
    for kind in Kind::ALL {
        if stats.errors(kind) == 0 {
            report.problems.push(format!(
                "no call answered a {} error: the storm missed that path",
                kind.name()
            ));
        }
    }
    for (count, what) in [
        (&stats.loads, "loads"),
        (&stats.closes, "closes"),
        (&stats.cancels, "cancels"),
        (&stats.closed_checks, "calls after close"),
    ] {
        if count.load(Relaxed) == 0 {
            report
                .problems
                .push(format!("no {what}: the storm missed that path"));
        }
    }
    report.problems.extend(stats.failures());
    report
}

/// Spawns thread `name` in the storm's scope; it marks its slot "finished" when done.
fn spawn_in<'scope>(
    s: &'scope std::thread::Scope<'scope, '_>,
    stats: &'scope Stats,
    name: String,
    slot: usize,
    body: impl FnOnce() + Send + 'scope,
) {
    let spawned = std::thread::Builder::new()
        .name(name.clone())
        .spawn_scoped(s, move || {
            body();
            stats.set_doing(slot, "finished");
        });
    if let Err(e) = spawned {
        stats.unexpected(format!("cannot spawn {name}: {e}"));
    }
}

/// The watchdog's limit: a storm still running after this is stuck.
#[cfg(test)]
const WATCHDOG: Duration = Duration::from_secs(60);

#[test]
fn storm_of_mixed_calls_loads_closes_and_cancels() {
    use std::sync::mpsc::{RecvTimeoutError, channel};

    const WORKERS: usize = 8;
    let stats = Arc::new(Stats::new(WORKERS));
    let (done, finished) = channel();
    let started = Instant::now();
    let storm_stats = stats.clone();
    std::thread::Builder::new()
        .name(String::from("storm"))
        .spawn(move || {
            let settings = Settings {
                workers: WORKERS,
                duration: Duration::from_secs(8),
                tick: Duration::from_secs(2),
            };
            let report = storm(&settings, &storm_stats, &mut |s, t| {
                eprintln!("stress [{:>4.1} s] {}", t.as_secs_f64(), s.summary());
            });
            // The receiver is gone only if the watchdog already failed the test.
            let _ = done.send(report);
        })
        .expect("spawn the storm thread");

    let report = match finished.recv_timeout(WATCHDOG) {
        Ok(report) => report,
        Err(RecvTimeoutError::Timeout) => panic!(
            "WATCHDOG: the storm has not finished after {WATCHDOG:?}: a deadlock?\n\
             threads:\n  {}\ncounts: {}",
            stats.doing().join("\n  "),
            stats.summary()
        ),
        Err(RecvTimeoutError::Disconnected) => panic!(
            "the storm thread died without a report (it panicked); counts: {}",
            stats.summary()
        ),
    };
    eprintln!(
        "stress: done in {:.1} s ({:.1} s of storm): {}",
        started.elapsed().as_secs_f64(),
        report.storm.as_secs_f64(),
        stats.summary()
    );
    for m in &report.memory {
        eprintln!(
            "stress: memory of {:<12} after warm-up {:?}, after storm {:?}",
            m.plugin, m.warm, m.end
        );
    }
    assert!(
        report.problems.is_empty(),
        "{} problems:\n  {}",
        report.problems.len(),
        report.problems.join("\n  ")
    );
}
