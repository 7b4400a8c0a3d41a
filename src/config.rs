//! [`Config`]: how a plugin runs: its limits, what happens after a trap, its WASI capabilities,
//! and the host functions it may call.

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::time::Duration;

use crate::HostFunction;

/// How a plugin runs. Build one with [`Config::new`] and the builder methods, then load with
/// [`WasmPlugin::from_bytes_with`](crate::WasmPlugin::from_bytes_with),
/// [`WasmPlugin::from_file_with`] or a [`Loader`] (`set_config`, `configure`).
///
/// The defaults are safe for plugins you do not trust: nothing a plugin does can crash or
/// wedge the host. Its code runs in slices of fuel (some percent of compute, and a few
/// nanoseconds per call of a function that could outlast a slice: one with a loop, a call into
/// the host or an indirect call; a small function that cannot is called plainly, as fast as an
/// unmetered one), so every call can be cancelled and start-up code is bounded; a call
/// without a [`deadline`] or [`fuel`](Config::fuel) limit still runs until
/// it returns or is cancelled.
///
/// | setting | default |
/// |---|---|
/// | [`max_memory`](Config::max_memory) | 256 MiB of linear memory, all memories together |
/// | [`max_table_elements`](Config::max_table_elements) | 100,000, all tables together |
/// | [`max_call_depth`](Config::max_call_depth) | 10,000 nested wasm calls |
/// | [`max_result_bytes`](Config::max_result_bytes) | 16 MiB per result as wasm bytes, 64 MiB as host values |
/// | [`max_module_bytes`](Config::max_module_bytes) | [`MAX_MODULE_BYTES`](crate::MAX_MODULE_BYTES) |
/// | [`fuel`](Config::fuel), [`deadline`] | none: a call runs until it returns or is cancelled |
/// | [`interruptible`](Config::interruptible) | on: [`cancel_handle`](crate::WasmPlugin::cancel_handle) works |
/// | [`startup_fuel`](Config::startup_fuel) | the call fuel, at least 10^9 |
/// | [`on_trap`](Config::on_trap) | [`Recovery::Reinstantiate`] |
/// | [`snapshots`](Config::snapshots) | on: fresh instances start from a copy of the load's instance |
/// | [`trusted`](Config::trusted) | off |
/// | WASI | deny everything; guest output goes to `tracing` |
///
/// ```
/// use std::time::Duration;
/// use xxlang_plugin::{Config, Object, WasmPlugin};
///
/// // "This plugin gets 10 ms and 16 MiB."
/// let config = Config::new()
///     .deadline(Duration::from_millis(10))
///     .max_memory(16 << 20);
/// let fib = WasmPlugin::from_file_with("plugins/fib.wasm", &config)?;
/// assert_eq!(fib.call("fast", &[Object::Int(20)])?, Object::Int(6765));
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
#[cfg_attr(
    feature = "std",
    doc = "[`WasmPlugin::from_file_with`]: crate::WasmPlugin::from_file_with"
)]
#[cfg_attr(
    not(feature = "std"),
    doc = "[`WasmPlugin::from_file_with`]: crate#features"
)]
#[cfg_attr(feature = "std", doc = "[`Loader`]: crate::Loader")]
#[cfg_attr(not(feature = "std"), doc = "[`Loader`]: crate#features")]
#[cfg_attr(feature = "std", doc = "[`deadline`]: Config::deadline")]
#[cfg_attr(not(feature = "std"), doc = "[`deadline`]: crate#features")]
#[derive(Clone)]
pub struct Config {
    pub(crate) fuel: Option<u64>,
    pub(crate) startup_fuel: Option<u64>,
    pub(crate) deadline: Option<Duration>,
    pub(crate) interruptible: bool,
    pub(crate) max_memory: usize,
    pub(crate) max_table_elements: usize,
    pub(crate) max_call_depth: usize,
    pub(crate) max_result_bytes: usize,
    pub(crate) on_trap: Recovery,
    pub(crate) snapshots: bool,
    pub(crate) trusted: bool,
    pub(crate) max_module_bytes: usize,
    #[cfg(feature = "wasi")]
    pub(crate) wasi: crate::WasiPolicy,
    pub(crate) host_functions: Vec<HostFunction>,
    pub(crate) instances: usize,
    pub(crate) pool_stateful: bool,
}

/// What happens to a plugin's instance when a call traps or hits a limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Recovery {
    /// Start a fresh instance for the next call (its memory and globals are reset: a stateful
    /// plugin loses what it kept, and the failed call's error says so, see
    /// [`Error::instance_reset`](crate::Error::instance_reset)). A trap can interrupt a
    /// plugin's runtime mid-operation (a C `malloc`, a Go or AssemblyScript runtime step), so
    /// this is the default: the next call never sees that state.
    Reinstantiate,
    /// Keep the instance: its state survives, including whatever the trap left half-done.
    KeepInstance,
}

/// The most instances [`Config::instances`] gives a plugin.
const MAX_INSTANCES: usize = 1024;

impl Default for Config {
    fn default() -> Self {
        Self {
            fuel: None,
            startup_fuel: None,
            deadline: None,
            interruptible: false,
            max_memory: 256 << 20,
            max_table_elements: 100_000,
            max_call_depth: 10_000,
            max_result_bytes: 16 << 20,
            on_trap: Recovery::Reinstantiate,
            snapshots: true,
            trusted: false,
            max_module_bytes: crate::MAX_MODULE_BYTES as usize,
            #[cfg(feature = "wasi")]
            wasi: crate::WasiPolicy::default(),
            host_functions: Vec::new(),
            instances: 1,
            pool_stateful: false,
        }
    }
}

impl Config {
    /// The defaults (see [`Config`]).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// At most `units` of fuel per call (about one unit per wasm instruction; a bulk memory
    /// operation, or a host import moving bytes, one unit per 64 to 512 bytes; a WASI sleep one
    /// unit per nanosecond). A call that runs out returns an Error value naming the limit.
    /// Start-up code
    /// (the start function, `_initialize`, metadata exports) gets `units` too, but at least
    /// 10^9, unless [`startup_fuel`](Config::startup_fuel) says otherwise.
    ///
    /// ```
    /// use xxlang_plugin::{Config, ErrorKind, Limit, Object, WasmPlugin};
    /// let config = Config::new().fuel(10_000);
    /// let test = WasmPlugin::from_file_with("plugins/testplugin.wasm", &config)?;
    /// assert_eq!(test.call("add", &[Object::Int(1), Object::Int(2)])?, Object::Int(3));
    /// let err = test.call("count_primes", &[Object::Int(10_000_000)]).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Limit(Limit::Fuel(10_000)), "{err}");
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn fuel(mut self, units: u64) -> Self {
        self.fuel = Some(units);
        self
    }

    /// At most `units` of fuel for the start-up code of each instance: the start function,
    /// `_initialize` and the metadata exports (`xxplugin_manifest`, `plugin_name`,
    /// `plugin_version`, `alloc`), run at load and again when a fresh instance replaces one that
    /// trapped. A start that runs out fails the load (or the call that needed the fresh
    /// instance) with an error saying so. A [`deadline`] bounds start-up code
    /// too.
    ///
    /// Without it, plugins get the per-call [`fuel`](Config::fuel) but at least 10^9 units
    /// (seconds of interpretation: enough for a language runtime to start), so a start that
    /// never ends fails the load after some seconds. Set a smaller budget to turn such modules
    /// away sooner.
    ///
    /// ```
    /// use xxlang_plugin::{Config, WasmPlugin};
    ///
    /// let wasm = wat::parse_str(r#"(module
    ///     (func $start (loop $l (br $l)))
    ///     (start $start))"#).unwrap();
    /// let config = Config::new().fuel(1_000_000).startup_fuel(1_000_000);
    /// let err = WasmPlugin::from_bytes_with("stuck", &wasm, &config).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "plugin stuck: cannot instantiate: it ran out of fuel at start (limit: 1000000 units)"
    /// );
    /// ```
    #[cfg_attr(feature = "std", doc = "[`deadline`]: Config::deadline")]
    #[cfg_attr(not(feature = "std"), doc = "[`deadline`]: crate#features")]
    #[must_use]
    pub fn startup_fuel(mut self, units: u64) -> Self {
        self.startup_fuel = Some(units);
        self
    }

    /// At most `time` of wall-clock time per call, and for the start-up code of each instance.
    /// The call runs in slices of fuel and checks the clock between them (every ~100,000 wasm
    /// instructions, some tens of microseconds), so it ends shortly after its deadline with an
    /// Error value. Host work a plugin asks for counts too: imports that move bytes are charged
    /// fuel by the byte, and WASI sleeps end at the deadline. The clock starts after the call's
    /// first slice, so that the many calls shorter than that never read it. A fresh instance
    /// started inside a call (after a trap) starts within that call's deadline.
    ///
    /// `wasm32-unknown-unknown` has no clock: there, a plugin loaded with a deadline fails to
    /// load, saying so (bound its calls with [`fuel`](Config::fuel)). Without a deadline nothing
    /// in this crate reads the clock on that target.
    #[cfg(feature = "std")]
    #[must_use]
    pub fn deadline(mut self, time: Duration) -> Self {
        self.deadline = Some(time);
        self
    }

    /// Whether calls can be cancelled from another thread with
    /// [`WasmPlugin::cancel_handle`](crate::WasmPlugin::cancel_handle). On unless the plugin is
    /// [`trusted`](Config::trusted); `interruptible(true)` keeps a trusted plugin metered.
    #[must_use]
    pub fn interruptible(mut self, yes: bool) -> Self {
        self.interruptible = yes;
        self
    }

    /// Runs the plugin without fuel metering: **only for plugins you trust as you trust your
    /// own code.** Its compute gets some percent faster and each call of a function with a
    /// loop (or calls into the host) a few nanoseconds cheaper, but:
    /// - calls cannot be cancelled, and start-up code is not bounded: a plugin that never
    ///   returns holds its calling thread for ever;
    /// - a plugin that loops on `memory.grow` or `table.grow` overflows the calling thread's
    ///   native stack and aborts the process (a wasmi 2.0 limitation that fuel slices bound;
    ///   the `portable-dispatch` feature removes it at about half the interpreter's speed).
    ///
    /// Ignored when [`fuel`](Config::fuel), [`deadline`],
    /// [`startup_fuel`](Config::startup_fuel) or [`interruptible(true)`](Config::interruptible)
    /// asks for metering.
    ///
    /// ```
    /// use xxlang_plugin::{Config, Object, WasmPlugin};
    /// let fib = WasmPlugin::from_file_with("plugins/fib.wasm", &Config::new().trusted(true))?;
    /// assert_eq!(fib.call("fast", &[Object::Int(20)])?, Object::Int(6765));
    /// assert!(fib.cancel_handle().is_none());
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[cfg_attr(feature = "std", doc = "[`deadline`]: Config::deadline")]
    #[cfg_attr(not(feature = "std"), doc = "[`deadline`]: crate#features")]
    #[must_use]
    pub fn trusted(mut self, yes: bool) -> Self {
        self.trusted = yes;
        self
    }

    /// The largest module accepted, in bytes (default
    /// [`MAX_MODULE_BYTES`](crate::MAX_MODULE_BYTES)), from files and from bytes alike. Loading
    /// time grows with a module's size: see the README's Security model for the bound.
    ///
    /// ```
    /// use xxlang_plugin::{Config, WasmPlugin};
    /// let wasm = wat::parse_str(r#"(module (func (export "f")))"#).unwrap();
    /// let err = WasmPlugin::from_bytes_with("small", &wasm, &Config::new().max_module_bytes(8))
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("larger than 8 bytes"), "{err}");
    /// ```
    #[must_use]
    pub fn max_module_bytes(mut self, bytes: usize) -> Self {
        self.max_module_bytes = bytes;
        self
    }

    /// At most `bytes` of linear memory (rounded down to 64 KiB pages). A `memory.grow` past it
    /// fails (returns -1 to the plugin); a module that needs more at start fails to load: its
    /// initial memory (the error names it), or what its start-up code grows.
    ///
    /// ```
    /// use xxlang_plugin::{Config, WasmPlugin};
    ///
    /// let wasm = wat::parse_str("(module (memory (export \"memory\") 32))").unwrap(); // 2 MiB
    /// let config = Config::new().max_memory(1 << 20);
    /// let err = WasmPlugin::from_bytes_with("big", &wasm, &config).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "plugin big: cannot instantiate: its initial memory is 2 MiB, more than its memory \
    ///      limit of 1 MiB (Config::max_memory)"
    /// );
    /// ```
    #[must_use]
    pub fn max_memory(mut self, bytes: usize) -> Self {
        self.max_memory = bytes;
        self
    }

    /// At most `elements` in all of a plugin's tables together.
    #[must_use]
    pub fn max_table_elements(mut self, elements: usize) -> Self {
        self.max_table_elements = elements;
        self
    }

    /// At most `depth` nested wasm calls (deep recursion ends the call with an Error value).
    #[must_use]
    pub fn max_call_depth(mut self, depth: usize) -> Self {
        self.max_call_depth = depth.max(1);
        self
    }

    /// At most `bytes` in one typed-ABI result (`xxplugin.result`) or one memory-type argument
    /// of a host function, as the plugin sends it; and at most four times that in host memory
    /// once decoded (an array, map or `any` value; a legacy `range_` result), since MessagePack
    /// is compact: an empty map is one byte on the wire and some 64 as a host value. Past
    /// either, the call fails with an error naming the plugin, the function and the limit.
    ///
    /// ```
    /// use xxlang_plugin::{Config, Object, WasmPlugin};
    /// let config = Config::new().max_result_bytes(1000);
    /// let fib = WasmPlugin::from_file_with("plugins/fib.wasm", &config)?;
    /// assert!(fib.call("range_", &[Object::Int(50)]).is_ok());
    /// let err = fib.call("range_", &[Object::Int(1000)]).unwrap_err();
    /// assert!(err.to_string().contains("max_result_bytes"), "{err}");
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn max_result_bytes(mut self, bytes: usize) -> Self {
        self.max_result_bytes = bytes;
        self
    }

    /// What happens to the instance after a trap or a limit (default
    /// [`Recovery::Reinstantiate`]).
    #[must_use]
    pub fn on_trap(mut self, recovery: Recovery) -> Self {
        self.on_trap = recovery;
        self
    }

    /// Up to `n` instances of each plugin (default 1; 0 counts as 1, and more than 1024 as
    /// 1024), so that calls from several threads run in parallel instead of one after
    /// another. Each instance has its own
    /// store and its own interpreter engine (instances sharing one wasmi engine contend on its
    /// stack pool on every call), is started only when calls collide (a thread finds every
    /// instance busy), and stays until the plugin is closed. Limits ([`max_memory`],
    /// [`fuel`], ...) apply to each instance; a [`CancelHandle`](crate::CancelHandle) cancels
    /// the calls of all of them.
    ///
    /// **Only for plugins that keep no state between calls**: a plugin says so with the line
    /// `stateless` in its manifest (docs/ABI.md). Any other plugin keeps one instance, since
    /// what one call leaves in an instance (a counter, a cache, a handle it gave out) is not in
    /// the others: a script would see its state change with whichever instance its call
    /// landed on. [`pool_stateful`](Config::pool_stateful) pools those too, for embedders who
    /// know better.
    ///
    /// [`max_memory`]: Config::max_memory
    /// [`fuel`]: Config::fuel
    ///
    /// ```
    /// use xxlang_plugin::{Config, Object, WasmPlugin};
    ///
    /// let wasm = wat::parse_str(r#"(module
    ///     (@custom "xxplugin" "abi 1\nstateless\nfn add(a: int, b: int) -> int\n")
    ///     (func (export "add") (param i64 i64) (result i64)
    ///         local.get 0 local.get 1 i64.add))"#).unwrap();
    /// let p = WasmPlugin::from_bytes_with("math", &wasm, &Config::new().instances(4))?;
    /// std::thread::scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|| {
    ///             let sum = p.call("add", &[Object::Int(1), Object::Int(2)]).unwrap();
    ///             assert_eq!(sum, Object::Int(3));
    ///         });
    ///     }
    /// });
    /// assert!(p.pool().instances <= 4);
    /// assert_eq!(p.pool().capacity, 4);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn instances(mut self, n: usize) -> Self {
        self.instances = n.clamp(1, MAX_INSTANCES);
        self
    }

    /// Whether [`instances`](Config::instances) applies to plugins that do not declare
    /// themselves `stateless` too (default `false`: they keep one instance). Turn it on for
    /// plugins you know keep nothing between calls that a script could notice.
    #[must_use]
    pub fn pool_stateful(mut self, yes: bool) -> Self {
        self.pool_stateful = yes;
        self
    }

    /// Whether a fresh instance (after a trap or a limit, see [`on_trap`](Config::on_trap))
    /// starts from a snapshot of the load's instance instead of running start-up again
    /// (default: on). The snapshot copies the memory and mutable globals the instance had
    /// after its start-up (`_initialize`, the start function) and metadata exports, once (at
    /// load; or from the first fresh instance, when start-up reached nothing outside the
    /// instance and so gives the same instance every time); a fresh instance then costs an
    /// instantiation and a copy of the memory in use, not the start-up of a language runtime
    /// (milliseconds for Go).
    ///
    /// It is used only where it gives the same instance start-up would: not when the
    /// plugin's code changes tables or drops segments, nor when start-up opened or closed
    /// files through WASI or called a host function (docs/ABI.md, "Traps and fresh
    /// instances"). The one difference: what start-up read from outside, the time and random
    /// bytes, is what it read at load, so **all fresh instances share the random seeds the
    /// load's start-up drew**. Turn snapshots off when each instance needs seeds of its own,
    /// or to save the memory the copy takes.
    ///
    /// ```
    /// use xxlang_plugin::{Config, Object, WasmPlugin};
    ///
    /// // A start-up that counts its runs in memory.
    /// let wasm = wat::parse_str(r#"(module
    ///     (memory (export "memory") 1)
    ///     (func (export "_initialize")
    ///         (i64.store (i32.const 0) (i64.add (i64.load (i32.const 0)) (i64.const 1))))
    ///     (func (export "starts") (result i64) (i64.load (i32.const 0)))
    ///     (func (export "trap") unreachable))"#).unwrap();
    /// let p = WasmPlugin::from_bytes_with("counter", &wasm, &Config::new().snapshots(true))?;
    /// assert!(p.call("trap", &[]).is_err());
    /// // The fresh instance after the trap has the memory start-up left, restored.
    /// assert_eq!(p.call("starts", &[])?, Object::Int(1));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn snapshots(mut self, yes: bool) -> Self {
        self.snapshots = yes;
        self
    }

    /// The plugin's WASI capabilities (default: none; output to `tracing`).
    #[cfg(feature = "wasi")]
    #[must_use]
    pub fn wasi(mut self, policy: crate::WasiPolicy) -> Self {
        self.wasi = policy;
        self
    }

    /// Lets the plugin call `function` (it imports it from the module `xxhost`).
    #[must_use]
    pub fn host_function(mut self, function: HostFunction) -> Self {
        self.host_functions.retain(|f| f.name() != function.name());
        self.host_functions.push(function);
        self
    }

    /// Adds `function` unless one of that name is there.
    #[cfg(feature = "std")]
    pub(crate) fn add_host_function_if_absent(&mut self, function: &HostFunction) {
        if !self
            .host_functions
            .iter()
            .any(|f| f.name() == function.name())
        {
            self.host_functions.push(function.clone());
        }
    }

    /// Whether calls run with fuel metering.
    /// The most host memory a decoded result or host-function argument may take.
    pub(crate) fn max_host_bytes(&self) -> usize {
        self.max_result_bytes.saturating_mul(4)
    }

    pub(crate) fn metered(&self) -> bool {
        !self.trusted
            || self.fuel.is_some()
            || self.startup_fuel.is_some()
            || self.deadline.is_some()
            || self.interruptible
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Config");
        d.field("fuel", &self.fuel)
            .field("startup_fuel", &self.startup_fuel)
            .field("deadline", &self.deadline)
            .field("interruptible", &self.interruptible)
            .field("max_memory", &self.max_memory)
            .field("max_table_elements", &self.max_table_elements)
            .field("max_call_depth", &self.max_call_depth)
            .field("max_result_bytes", &self.max_result_bytes)
            .field("on_trap", &self.on_trap)
            .field("snapshots", &self.snapshots)
            .field("trusted", &self.trusted)
            .field("max_module_bytes", &self.max_module_bytes)
            .field("instances", &self.instances)
            .field("pool_stateful", &self.pool_stateful);
        #[cfg(feature = "wasi")]
        d.field("wasi", &self.wasi);
        let names: Vec<&str> = self.host_functions.iter().map(|h| h.name()).collect();
        d.field("host_functions", &names).finish()
    }
}

/// A limit a call ran into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Limit {
    /// It used up its fuel (units per call).
    Fuel(u64),
    /// It ran past its deadline.
    Time(Duration),
    /// It tried to grow its memory past this many bytes.
    Memory(usize),
    /// It tried to grow a table past this many elements.
    Table(usize),
    /// It nested calls deeper than this.
    CallDepth(usize),
    /// It was cancelled from another thread.
    Cancelled,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Limit::Fuel(units) => write!(f, "ran out of fuel (limit: {units} units per call)"),
            Limit::Time(d) => write!(f, "ran past its deadline ({})", show_duration(*d)),
            Limit::Memory(bytes) => write!(f, "hit its memory limit ({})", show_bytes(*bytes)),
            Limit::Table(n) => write!(f, "hit its table limit ({n} elements)"),
            Limit::CallDepth(n) => write!(f, "hit its call depth limit ({n} nested calls)"),
            Limit::Cancelled => f.write_str("was cancelled"),
        }
    }
}

fn show_duration(d: Duration) -> alloc::string::String {
    if d.as_secs() >= 1 {
        alloc::format!("{:.3} s", d.as_secs_f64())
    } else if d.as_millis() >= 1 {
        alloc::format!("{} ms", d.as_millis())
    } else {
        alloc::format!("{} µs", d.as_micros())
    }
}

/// `16 MiB`, `256 KiB`, `100 bytes`.
pub(crate) fn show_bytes(b: usize) -> alloc::string::String {
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        alloc::format!("{} MiB", b >> 20)
    } else if b >= 1 << 10 && b.is_multiple_of(1 << 10) {
        alloc::format!("{} KiB", b >> 10)
    } else {
        alloc::format!("{b} bytes")
    }
}

/// Stops the calls running in a plugin, from any thread; see
/// [`WasmPlugin::cancel_handle`](crate::WasmPlugin::cancel_handle).
///
/// A call notices between two slices of fuel (tens of microseconds of ordinary code; up to a
/// few milliseconds in a loop of bulk memory copies) and returns an Error value; a WASI sleep
/// in it is woken within about 10 ms. Calls that start after
/// [`cancel`](CancelHandle::cancel) run normally.
#[derive(Clone)]
pub struct CancelHandle {
    pub(crate) cancel: Arc<core::sync::atomic::AtomicUsize>,
}

impl CancelHandle {
    /// Cancels the calls running now.
    pub fn cancel(&self) {
        self.cancel
            .fetch_add(1, core::sync::atomic::Ordering::SeqCst);
    }
}

impl fmt::Debug for CancelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CancelHandle").finish_non_exhaustive()
    }
}
