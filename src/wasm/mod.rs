//! [`WasmPlugin`]: a WebAssembly module loaded on the wasmi interpreter, its exports turned into
//! builtins.

mod abi;
mod builtins;
mod call;
mod describe;
mod engine;
mod exports;
mod fx;
mod imports;
mod instance;
mod legacy;
mod limits;
mod load;
mod plan;
mod runtime;
mod scan;
mod short;
mod snapshot;
mod store;
mod twin;
mod typed;
#[cfg(feature = "wasi")]
mod wasi;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::{CancelHandle, Config, Error, ErrorKind, Object, Plugin, Signature};
use instance::Origin;
use load::About;
#[cfg(feature = "std")]
use load::read_module_file;
use runtime::Runtime;

pub use abi::manifest::ABI_VERSION;
#[cfg(feature = "wasi")]
pub(crate) use limits::Watch;
pub use plan::{Convention, SkippedExport};
pub use typed::{TypedFunction, TypedParams, TypedResults};
#[cfg(feature = "wasi")]
pub use wasi::{DirAccess, OutputBuffer, WasiOutput, WasiPolicy};

/// The largest module accepted by default, from a file or from bytes: 32 MiB (see
/// [`Config::max_module_bytes`]). Validation work grows linearly with a module's size; the
/// worst module we could build for it takes about 0.25 s per MiB on the reference machine
/// (so about 8 s at this size), an ordinary one about a tenth of that.
pub const MAX_MODULE_BYTES: u64 = 32 << 20;

/// A WebAssembly plugin: a wasm module on the wasmi interpreter whose exported functions are
/// builtins.
///
/// Each export's conversion is planned once, at load, from its manifest declaration or its
/// wasm signature and the legacy xxlang naming rules (`call_X` is exposed as `X`; an
/// `is_*`/`isX` i32 result is a bool; `range_` returns an array through a result slot). Calls
/// may come from any thread: they take turns on the plugin's instance, or run in parallel on
/// several instances of a plugin that declares itself `stateless` (see
/// [`Config::instances`]). A reload ([`WasmPlugin::reload_bytes`]) swaps the code under every
/// builtin already handed out.
///
/// ```
/// use xxlang_plugin::{Object, Plugin, WasmPlugin};
///
/// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
/// assert_eq!(fib.name(), "fib");
/// assert_eq!(fib.call("fast", &[Object::Int(50)])?, Object::Int(12586269025));
///
/// // Scripts get builtins; errors are values.
/// let fast = fib.exports()["fast"].clone();
/// let fast = fast.as_builtin().unwrap();
/// assert_eq!(fast.call(&[Object::Int(10)]), Object::Int(55));
/// assert_eq!(
///     fast.call(&[Object::Int(1), Object::Int(2)]).error_message(),
///     Some("fib.fast: expected 1 argument (int), got 2 (fast(int) -> int)")
/// );
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
pub struct WasmPlugin {
    name: Arc<str>,
    version: Option<Arc<str>>,
    abi: Option<u32>,
    file: Option<FilePath>,
    runtime: Arc<Runtime>,
    exports: BTreeMap<String, Object>,
    /// Each function's id and by-name call, by name.
    index: Names,
    skipped: Arc<[SkippedExport]>,
    imports: Arc<[String]>,
}

/// The file a plugin was loaded from (with `std`; without, plugins come from bytes only).
#[cfg(feature = "std")]
type FilePath = std::path::PathBuf;
#[cfg(not(feature = "std"))]
type FilePath = NoFile;

/// No file: without `std`, plugins come from bytes.
#[cfg(not(feature = "std"))]
#[derive(Clone, Debug)]
enum NoFile {}

/// A file as errors and traces name it.
fn shown(file: Option<&FilePath>) -> Option<String> {
    #[cfg(feature = "std")]
    {
        file.map(|path| path.display().to_string())
    }
    #[cfg(not(feature = "std"))]
    {
        file.map(|never| match *never {})
    }
}

/// Function names to ids and by-name calls. The name found last is tried first (a caller
/// calling one function in a loop finds it with one comparison); else a plugin with a few
/// functions is searched in a list (comparing lengths first: cheaper than hashing the name),
/// one with more through a hash map; neither walks an ordered map.
#[derive(Default)]
struct Names {
    /// Names shared with the runtime's (no copy per load).
    list: Vec<(Arc<str>, Entry)>,
    /// Positions in `list` by name, once the list is longer than [`Names::SCAN`].
    map: Option<hashbrown::HashMap<Arc<str>, usize, fx::Build>>,
    /// The position in `list` of the name found last (a hint: checked before it is used).
    last: core::sync::atomic::AtomicUsize,
}

struct Entry {
    id: usize,
    call: builtins::ByName,
}

impl Names {
    /// The longest list searched by scanning.
    const SCAN: usize = 16;

    fn insert(&mut self, name: Arc<str>, entry: Entry) {
        if let Some(map) = &mut self.map {
            map.insert(name.clone(), self.list.len());
        }
        self.list.push((name, entry));
        if self.map.is_none() && self.list.len() > Self::SCAN {
            let mut map = hashbrown::HashMap::with_capacity_and_hasher(self.list.len(), fx::Build);
            for (i, (name, _)) in self.list.iter().enumerate() {
                map.insert(name.clone(), i);
            }
            self.map = Some(map);
        }
    }

    #[inline]
    fn get(&self, name: &str) -> Option<&Entry> {
        use core::sync::atomic::Ordering::Relaxed;
        if let Some((n, entry)) = self.list.get(self.last.load(Relaxed))
            && same(n, name)
        {
            return Some(entry);
        }
        let at = match &self.map {
            None => self.list.iter().position(|(n, _)| same(n, name))?,
            Some(map) => *map.get(name)?,
        };
        self.last.store(at, Relaxed);
        self.list.get(at).map(|(_, entry)| entry)
    }

    fn len(&self) -> usize {
        self.list.len()
    }
}

/// Whether two names are equal: lengths first, then the bytes, short names without a call
/// to `memcmp` (function names are mostly short).
#[inline(always)]
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len()
        && match a.len() {
            0..=16 => a.iter().zip(b).all(|(x, y)| x == y),
            _ => a == b,
        }
}

/// What a plugin declares about itself; see [`WasmPlugin::describe`] and
/// [`WasmPlugin::describe_static`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Description {
    /// The declared name, if any.
    pub name: Option<String>,
    /// The declared version, if any.
    pub version: Option<String>,
    /// The typed-ABI version of its manifest; `None` for a legacy plugin.
    pub abi: Option<u32>,
    /// The functions scripts can call, ordered by name.
    pub functions: Vec<FunctionInfo>,
    /// Exports scripts cannot call, and why.
    pub skipped: Vec<SkippedExport>,
    /// Whether describing it meant instantiating it (no manifest section).
    pub instantiated: bool,
    /// What the module imports, as `module.name`.
    pub imports: Vec<String>,
    /// The metadata exports that were not run, so what they declare is missing here:
    /// `xxplugin_manifest` (the functions' declarations), `plugin_name`, `plugin_version`.
    /// Empty when the plugin was instantiated to describe it.
    pub not_run: Vec<&'static str>,
}

/// One function a plugin exposes, for `inspect` and tooling.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FunctionInfo {
    /// The name scripts use.
    pub name: String,
    /// The export's name in the wasm module.
    pub wasm_name: String,
    /// Parameters and result as scripts see them.
    pub signature: Signature,
    /// Which rule planned it.
    pub convention: Convention,
}

impl FunctionInfo {
    fn of(plan: &plan::Plan) -> Self {
        FunctionInfo {
            name: plan.name.clone(),
            wasm_name: plan.wasm_name.clone(),
            signature: Signature::clone(&plan.signature),
            convention: plan.convention,
        }
    }
}

impl WasmPlugin {
    /// Loads a plugin from wasm bytes. `name` is used when the plugin does not declare one.
    ///
    /// ```
    /// use xxlang_plugin::{Object, WasmPlugin};
    ///
    /// let wasm = wat::parse_str(r#"(module
    ///     (func (export "call_add") (param i64 i64) (result i64)
    ///         local.get 0 local.get 1 i64.add))"#).unwrap();
    /// let p = WasmPlugin::from_bytes("math", &wasm)?;
    /// assert_eq!(p.call("add", &[Object::Int(2), Object::Int(3)])?, Object::Int(5));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<WasmPlugin, Error> {
        Self::from_bytes_with(name, bytes, &Config::default())
    }

    /// Loads a plugin from wasm bytes under `config` (limits, WASI policy, host functions).
    ///
    /// ```
    /// use xxlang_plugin::{Config, ErrorKind, Limit, Object, WasmPlugin};
    ///
    /// let wasm = wat::parse_str(r#"(module
    ///     (func (export "spin") (loop $l (br $l))))"#).unwrap();
    /// let p = WasmPlugin::from_bytes_with("spinner", &wasm, &Config::new().fuel(1_000_000))?;
    /// let err = p.call("spin", &[]).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Limit(Limit::Fuel(_))));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "spinner.spin: ran out of fuel (limit: 1000000 units per call) (plugin restarted, \
    ///      state reset)"
    /// );
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn from_bytes_with(name: &str, bytes: &[u8], config: &Config) -> Result<WasmPlugin, Error> {
        Self::load(name, None, bytes, config)
    }

    /// Loads a plugin from a `.wasm` file. Its file stem is the name when the plugin does not
    /// declare one. Files larger than [`Config::max_module_bytes`] are refused, and so is anything but
    /// a regular file (a FIFO, a device, a directory), before it is opened.
    ///
    /// ```
    /// let p = xxlang_plugin::WasmPlugin::from_file("plugins/testplugin.wasm")?;
    /// assert_eq!(p.version(), Some("1.0.0-rust"));
    /// let err = xxlang_plugin::WasmPlugin::from_file("plugins").unwrap_err();
    /// assert!(err.to_string().ends_with("not a regular file (it is a directory)"), "{err}");
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[cfg(feature = "std")]
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<WasmPlugin, Error> {
        Self::from_file_with(path, &Config::default())
    }

    /// Loads a plugin from a `.wasm` file under `config`.
    #[cfg(feature = "std")]
    pub fn from_file_with(
        path: impl AsRef<std::path::Path>,
        config: &Config,
    ) -> Result<WasmPlugin, Error> {
        let path = path.as_ref();
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let bytes = read_module_file(&stem, path, config.max_module_bytes)?;
        Self::load(&stem, Some(path.to_path_buf()), &bytes, config)
    }

    fn load(
        fallback_name: &str,
        file: Option<FilePath>,
        bytes: &[u8],
        config: &Config,
    ) -> Result<WasmPlugin, Error> {
        let shown = shown(file.as_ref());
        let span = tracing::info_span!(
            "load",
            plugin = fallback_name,
            file = shown.as_deref(),
            bytes = bytes.len(),
            elapsed_us = tracing::field::Empty,
        );
        let _entered = span.enter();
        // Only when something listens, and where there is a clock (not wasm32-unknown-unknown).
        #[cfg(feature = "std")]
        let started = if span.is_disabled() {
            None
        } else {
            limits::now()
        };

        let plugin = Self::load_inner(fallback_name, file, shown, bytes, config);

        #[cfg(feature = "std")]
        if let Some(started) = started {
            span.record("elapsed_us", started.elapsed().as_micros() as u64);
        }
        match &plugin {
            Ok(p) => tracing::debug!(name = &*p.name, functions = p.index.len(), "loaded plugin"),
            Err(e) => tracing::debug!(error = %e, "plugin failed to load"),
        }
        plugin
    }

    /// [`load`](WasmPlugin::load) without its trace; `shown` is `file` as errors name it.
    fn load_inner(
        fallback_name: &str,
        file: Option<FilePath>,
        shown: Option<String>,
        bytes: &[u8],
        config: &Config,
    ) -> Result<WasmPlugin, Error> {
        let (loaded, about) = load::build(fallback_name, shown, bytes, config, None)?;
        Ok(Self::assemble(about, Arc::new(Runtime::new(loaded)), file))
    }

    /// The plugin of `runtime`, whose installed version `about` describes: a builtin per
    /// function, calling it by id.
    fn assemble(about: About, runtime: Arc<Runtime>, file: Option<FilePath>) -> WasmPlugin {
        let version = runtime.current();
        let ids = runtime.ids();
        // Collected first: a sorted list makes the map in one pass (the ids come in plan
        // order, which is by name), where inserting one by one searches the map each time.
        let mut exports = Vec::with_capacity(ids.len() + 1);
        let mut index = Names::default();
        for (function, id) in ids {
            let Some((_, plan)) = version.plan(id) else {
                continue;
            };
            // `plugin.function`, put together by hand: `format!` took an eighth of the
            // instructions of a cached load of testplugin (30 functions).
            let mut name = String::with_capacity(about.name.len() + 1 + function.len());
            name.push_str(&about.name);
            name.push('.');
            name.push_str(&function);
            let (builtin, call) =
                builtins::make(name, plan.signature.clone(), runtime.clone(), id, plan);
            exports.push((String::from(&*function), Object::Builtin(builtin)));
            index.insert(function, Entry { id, call });
        }
        if let Some(v) = &about.version {
            exports.push((
                String::from(exports::VERSION_EXPORT),
                Object::String(v.clone()),
            ));
        }
        let exports = BTreeMap::from_iter(exports);
        WasmPlugin {
            name: about.name,
            version: about.version,
            abi: about.abi,
            file,
            runtime,
            exports,
            index,
            skipped: about.skipped,
            imports: about.imports,
        }
    }

    /// Replaces the plugin's code with the module in `bytes`, loaded under `config`, and
    /// returns the plugin as it is now (its functions, version and metadata are the new
    /// module's). The new module is compiled, linked, started and planned first; if any of that
    /// fails, the error says why and the plugin keeps running its old code.
    ///
    /// Then, at once for every caller: builtins and modules already handed out (and this
    /// `WasmPlugin`) call the new code from their next call, by function name; a function the
    /// new module does not have fails with [`ErrorKind::NoSuchFunction`](crate::ErrorKind::NoSuchFunction); calls under way finish
    /// on the old code. The old module's instances and engine are freed when their last call
    /// returns. The cancel handle and the plugin's name stay; the new module must declare the
    /// same name, if it declares one.
    ///
    /// ```
    /// use xxlang_plugin::{Config, Object, Plugin, WasmPlugin};
    ///
    /// let v1 = wat::parse_str(r#"(module (func (export "call_answer") (result i64) i64.const 1))"#).unwrap();
    /// let v2 = wat::parse_str(r#"(module (func (export "call_answer") (result i64) i64.const 2))"#).unwrap();
    /// let p = WasmPlugin::from_bytes("answers", &v1)?;
    /// let answer = p.exports()["answer"].as_builtin().unwrap().clone();
    /// assert_eq!(answer.call(&[]), Object::Int(1));
    ///
    /// let now = p.reload_bytes(&v2, &Config::new())?;
    /// assert_eq!(answer.call(&[]), Object::Int(2)); // the builtin handed out before
    /// assert_eq!(now.call("answer", &[])?, Object::Int(2));
    ///
    /// assert!(p.reload_bytes(b"not wasm", &Config::new()).is_err());
    /// assert_eq!(answer.call(&[]), Object::Int(2)); // a failed reload changes nothing
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn reload_bytes(&self, bytes: &[u8], config: &Config) -> Result<WasmPlugin, Error> {
        self.reload_as(self.file.clone(), bytes, config)
    }

    /// [`reload_bytes`](WasmPlugin::reload_bytes) with the contents of `path`, which becomes
    /// the plugin's [`file`](WasmPlugin::file).
    #[cfg(feature = "std")]
    pub fn reload_file(
        &self,
        path: impl AsRef<std::path::Path>,
        config: &Config,
    ) -> Result<WasmPlugin, Error> {
        let path = path.as_ref();
        let bytes = read_module_file(&self.name, path, config.max_module_bytes)?;
        self.reload_as(Some(path.to_path_buf()), &bytes, config)
    }

    fn reload_as(
        &self,
        file: Option<FilePath>,
        bytes: &[u8],
        config: &Config,
    ) -> Result<WasmPlugin, Error> {
        let shown = shown(file.as_ref());
        let span = tracing::info_span!("reload", plugin = &*self.name, file = shown.as_deref());
        let _entered = span.enter();
        let cancel = self.runtime.cancel_flag();
        let (loaded, about) = load::build(&self.name, shown.clone(), bytes, config, cancel)?;
        if about.name != self.name {
            let reason = format!(
                "it declares the name {:?}, and the plugin it would replace is {:?}",
                &*about.name, &*self.name
            );
            return Err(Error::load(
                ErrorKind::InvalidModule { reason },
                &*self.name,
                shown,
            ));
        }
        self.runtime.install(loaded)?;
        tracing::debug!(functions = self.runtime.ids().len(), "reloaded plugin");
        Ok(Self::assemble(about, self.runtime.clone(), file))
    }

    /// What a plugin declares: its name, version, ABI version and functions with their
    /// signatures and docs. A plugin with a manifest section is described without being
    /// instantiated (nothing runs); any other is loaded to ask it.
    ///
    /// ```
    /// let bytes = std::fs::read("plugins/textkit.wasm").unwrap();
    /// let d = xxlang_plugin::WasmPlugin::describe(&bytes)?;
    /// assert_eq!(d.name.as_deref(), Some("textkit"));
    /// let upper = d.functions.iter().find(|f| f.name == "upper").unwrap();
    /// assert_eq!(upper.signature.to_string(), "(s: string) -> string");
    /// assert!(upper.signature.doc.is_some());
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn describe(bytes: &[u8]) -> Result<Description, Error> {
        Self::describe_with(bytes, &Config::default())
    }

    /// [`describe`](WasmPlugin::describe) under `config`: a plugin without a manifest section
    /// is loaded under its limits to ask it. Use it for modules you do not trust: under the
    /// defaults their start-up code runs to the end, however long that is.
    ///
    /// ```
    /// use xxlang_plugin::{Config, WasmPlugin};
    ///
    /// let wasm = wat::parse_str(r#"(module
    ///     (func $start (loop $l (br $l)))
    ///     (start $start))"#).unwrap();
    /// let config = Config::new().startup_fuel(1_000_000);
    /// let err = WasmPlugin::describe_with(&wasm, &config).unwrap_err();
    /// assert!(err.to_string().contains("ran out of fuel at start"), "{err}");
    /// ```
    pub fn describe_with(bytes: &[u8], config: &Config) -> Result<Description, Error> {
        let at = Origin {
            plugin: String::from("plugin"),
            file: None,
        };
        let compiled = at.compile(bytes, config)?;
        if compiled.manifest.is_some() {
            return describe::statically(&at, &compiled);
        }
        let p = WasmPlugin::from_bytes_with("plugin", bytes, config)?;
        Ok(Description {
            name: Some(p.name.to_string()),
            version: p.version().map(String::from),
            abi: p.abi,
            functions: p.functions(),
            skipped: p.skipped.to_vec(),
            instantiated: true,
            imports: p.imports.to_vec(),
            not_run: Vec::new(),
        })
    }

    /// The typed-ABI version the plugin declares in its manifest; `None` for a legacy plugin.
    #[must_use]
    pub fn abi(&self) -> Option<u32> {
        self.abi
    }

    /// The version the plugin declares (`plugin_version`), if any.
    #[must_use]
    pub fn version(&self) -> Option<&str> {
        self.version.as_deref()
    }

    /// The file the plugin was loaded from (or last reloaded from), if any.
    ///
    /// ```
    /// use std::path::Path;
    /// let fib = xxlang_plugin::WasmPlugin::from_file("plugins/fib.wasm")?;
    /// assert_eq!(fib.file(), Some(Path::new("plugins/fib.wasm")));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[cfg(feature = "std")]
    #[must_use]
    pub fn file(&self) -> Option<&std::path::Path> {
        self.file.as_deref()
    }

    /// Calls the function scripts know as `function`, for Rust callers: errors come back as
    /// [`Error`], not as Error values.
    ///
    /// ```
    /// use xxlang_plugin::{ErrorKind, Object, WasmPlugin};
    ///
    /// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
    /// assert_eq!(
    ///     fib.call("range_", &[Object::Int(5)])?.to_string(),
    ///     "[0, 1, 1, 2, 3, 5]"
    /// );
    /// let err = fib.call("fast", &[Object::from("x")]).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Type { position: 1, .. }));
    /// let err = fib.call("nope", &[]).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::NoSuchFunction);
    /// assert_eq!(err.function(), Some("nope"));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn call(&self, function: &str, args: &[Object]) -> Result<Object, Error> {
        match self.index.get(function) {
            Some(entry) => (entry.call)(args),
            None => Err(Error::call(
                ErrorKind::NoSuchFunction,
                &*self.name,
                function,
            )),
        }
    }

    /// A handle that calls `function` with Rust types: `P` the parameters (a type or a tuple
    /// of `i64`, `f64`, `bool`, `&str`, `&[u8]`, ...; see [`TypedParams`]), `R` the result
    /// (see [`TypedResults`]). The types are checked against the function here, once; a call
    /// then converts nothing.
    ///
    /// ```
    /// use xxlang_plugin::{ErrorKind, WasmPlugin};
    ///
    /// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
    /// let fast = fib.typed::<i64, i64>("fast")?;
    /// assert_eq!(fast.call(50)?, 12586269025);
    ///
    /// let err = fib.typed::<(i64, i64), i64>("fast").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Signature { .. }));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "fib.fast: a typed handle of (i64, i64) -> i64 does not fit fast(int) -> int \
    ///      (it takes 1 arguments, the handle 2)"
    /// );
    /// assert_eq!(fib.typed::<i64, i64>("nope").unwrap_err().kind(), &ErrorKind::NoSuchFunction);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn typed<P: TypedParams, R: TypedResults>(
        &self,
        function: &str,
    ) -> Result<TypedFunction<P, R>, Error> {
        let no_such = || Error::call(ErrorKind::NoSuchFunction, &*self.name, function);
        let id = self.index.get(function).ok_or_else(no_such)?.id;
        let version = self.runtime.current();
        let (_, plan) = version.plan(id).ok_or_else(no_such)?;
        TypedFunction::new(self.runtime.clone(), id, plan)
    }

    /// The functions scripts can call, ordered by name.
    ///
    /// ```
    /// let fib = xxlang_plugin::WasmPlugin::from_file("plugins/fib.wasm")?;
    /// let names: Vec<_> = fib.functions().into_iter().map(|f| f.name).collect();
    /// assert_eq!(names, ["fast", "isFib", "matrix", "range_"]);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn functions(&self) -> Vec<FunctionInfo> {
        let version = self.runtime.current();
        let mut all: Vec<FunctionInfo> = version.plans().iter().map(FunctionInfo::of).collect();
        all.sort_by(|a, b| a.name.cmp(&b.name));
        all
    }

    /// Exported functions scripts cannot call, with the reason (reserved, internal, shadowed by
    /// another export, unsupported types), ordered by wasm name.
    #[must_use]
    pub fn skipped(&self) -> &[SkippedExport] {
        &self.skipped
    }

    /// What the module imports, as `module.name`.
    #[must_use]
    pub fn imports(&self) -> &[String] {
        &self.imports
    }

    /// The size of the plugin's linear memory in bytes. `None` when it exports no `memory`, is
    /// closed, or has no instance: its last call trapped and the next has not started one, or
    /// it was never called and its load started none (a module whose start-up calls none of
    /// its imports, and that imports no WASI, loaded again while an earlier load of the same
    /// bytes is alive, starts its instance at its first call: see the README's Performance
    /// section). Steady after warm-up for a plugin that does not leak. Waits for a call under
    /// way.
    ///
    /// ```
    /// use xxlang_plugin::{Object, Plugin, WasmPlugin};
    /// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
    /// fib.call("fast", &[Object::Int(1)])?;
    /// let before = fib.memory_bytes();
    /// assert!(before.is_some());
    /// for n in 0..1000 {
    ///     fib.call("range_", &[Object::Int(n % 50)])?;
    /// }
    /// assert_eq!(fib.memory_bytes(), before);
    /// fib.close()?;
    /// assert_eq!(fib.memory_bytes(), None);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn memory_bytes(&self) -> Option<usize> {
        self.runtime.memory_bytes()
    }

    /// A handle that cancels the calls running in this plugin (and a start-up under way), from
    /// any thread; `None` only for a [`Config::trusted`] plugin, whose code is not metered.
    ///
    /// ```
    /// use std::time::Duration;
    /// use xxlang_plugin::{ErrorKind, Limit, Object, WasmPlugin};
    ///
    /// let wasm = wat::parse_str(r#"(module (func (export "spin") (loop $l (br $l))))"#).unwrap();
    /// let p = WasmPlugin::from_bytes("spinner", &wasm)?;
    /// let cancel = p.cancel_handle().unwrap();
    /// let canceller = std::thread::spawn(move || {
    ///     std::thread::sleep(Duration::from_millis(20));
    ///     cancel.cancel();
    /// });
    /// let err = p.call("spin", &[]).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Limit(Limit::Cancelled), "{err}");
    /// canceller.join().unwrap();
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn cancel_handle(&self) -> Option<CancelHandle> {
        self.runtime.cancel_handle()
    }

    /// How many instances the plugin may have and how many run now (see
    /// [`Config::instances`]).
    ///
    /// ```
    /// let fib = xxlang_plugin::WasmPlugin::from_file("plugins/fib.wasm")?;
    /// let pool = fib.pool();
    /// assert_eq!((pool.capacity, pool.instances), (1, 1));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn pool(&self) -> PoolInfo {
        self.runtime.pool()
    }
}

/// The instances of a plugin: see [`WasmPlugin::pool`] and [`Config::instances`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PoolInfo {
    /// The most instances it may have: `Config::instances` for a plugin that declares itself
    /// `stateless` (or with `Config::pool_stateful`), else 1.
    pub capacity: usize,
    /// How many are running now (started, and not dropped after a trap or by `close`).
    pub instances: usize,
}

impl Plugin for WasmPlugin {
    fn name(&self) -> &str {
        &self.name
    }

    fn exports(&self) -> BTreeMap<String, Object> {
        self.exports.clone()
    }

    /// Drops the instance and its memory. Later calls of its builtins return an Error value;
    /// other plugins, including other loads of the same file, are unaffected. Waits for a
    /// call under way to finish; fails with [`ErrorKind::Reentrant`] instead when the plugin is
    /// inside a host function (the caller might be that host function, or a thread it waits
    /// for). Cancel a long call first with [`WasmPlugin::cancel_handle`] to close promptly.
    fn close(&self) -> Result<(), Error> {
        self.runtime.close()
    }

    fn is_closed(&self) -> bool {
        self.runtime.is_closed()
    }
}

impl fmt::Debug for WasmPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmPlugin")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("file", &self.file)
            .field("functions", &self.exports.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Names {
        let mut names = Names::default();
        for id in 0..n {
            let call: builtins::ByName = Arc::new(move |_| Ok(Object::Int(id as i64)));
            names.insert(format!("f{id}").into(), Entry { id, call });
        }
        names
    }

    #[test]
    fn names_are_found_by_content_whatever_was_found_last() {
        for n in [3, Names::SCAN + 5] {
            let names = names(n);
            for round in 0..3 {
                for id in [0, n - 1, 1, 1, 0] {
                    let name = format!("f{id}");
                    let found = names.get(&name).map(|e| e.id);
                    assert_eq!(found, Some(id), "{n} names, round {round}");
                }
                // Same length as a name found last, other bytes; a prefix; longer.
                assert!(names.get("f9").is_none() || n > 9);
                assert!(names.get("f").is_none());
                assert!(names.get("f00").is_none());
                assert!(names.get("").is_none());
            }
            let long = "a_function_name_longer_than_sixteen_bytes";
            assert!(names.get(long).is_none());
        }
    }

    #[test]
    fn same_compares_whole_names() {
        assert!(same("add", "add"));
        assert!(!same("add", "adx"));
        assert!(!same("add", "ad"));
        let long = "a_function_name_longer_than_sixteen_bytes";
        assert!(same(long, &String::from(long)));
        assert!(!same(long, "a_function_name_longer_than_sixteen_bytez"));
    }
}
