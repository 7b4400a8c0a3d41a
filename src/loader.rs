//! [`Loader`]: finds `NAME.wasm` on search paths, loads it once, registers it.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use crate::{
    Config, Error, ErrorKind, HostFunction, Object, Plugin, Registry, WasmPlugin, to_module,
};

/// The environment variable with extra search paths, split with the platform's separator
/// (`:` on Unix, `;` on Windows).
pub const PATH_ENV: &str = "XXLANG_PLUGIN_PATH";

/// Finds, loads and registers plugins.
///
/// Search paths default to `./plugins`, `./plugin`, then the entries of `XXLANG_PLUGIN_PATH`.
/// A plugin is registered under the name it was loaded as. All methods take `&self`; a loader
/// can be shared between threads. Concurrent loads of one name (or one file) load it once, the
/// others waiting for that load and getting its plugin; loads of different names and files
/// never wait for each other, however slow one is to start.
///
/// ```
/// use std::sync::Arc;
/// use xxlang_plugin::{Loader, Object, Plugin, Registry};
///
/// let registry = Arc::new(Registry::new());
/// let loader = Loader::with_registry(registry.clone());
/// loader.set_paths(["plugins"]);
/// let fib = loader.load("fib")?;
/// assert!(Arc::ptr_eq(&fib, &loader.load("fib")?)); // loaded once
/// assert_eq!(registry.list(), ["fib"]);
///
/// let missing = loader.load("nope").unwrap_err();
/// assert_eq!(missing.to_string(), "plugin not found: nope (searched: plugins)");
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
pub struct Loader {
    id: u64,
    paths: RwLock<Vec<PathBuf>>,
    registry: Arc<Registry>,
    /// Loads by name take turns per name, so concurrent loads of a name load it once.
    loading: Gates<String>,
    /// Loads by path take turns per file (its canonical path), likewise.
    loading_paths: Gates<PathBuf>,
    /// Plugins loaded by path, with the file's size and modification time when loaded. Only
    /// held to look up or insert, never across a load.
    by_path: Mutex<HashMap<PathBuf, PathEntry>>,
    /// How plugins run: a default, and per name.
    configs: RwLock<Configs>,
    /// The plugins this loader loaded by name (as registered), for [`Loader::load_wasm`] and
    /// [`Loader::reload`]; held weakly: the registry holds them.
    by_name: Mutex<HashMap<String, Weak<WasmPlugin>>>,
}

#[derive(Default)]
struct Configs {
    default: Config,
    by_name: HashMap<String, Config>,
    /// Offered to every plugin, whatever its config.
    host_functions: Vec<HostFunction>,
}

struct PathEntry {
    plugin: Arc<WasmPlugin>,
    stamp: Stamp,
}

/// What identifies a file's version cheaply: its size and modification time.
type Stamp = (u64, Option<SystemTime>);

/// What a load is of: a name, or a file (by its canonical path).
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Name(String),
    Path(PathBuf),
}

std::thread_local! {
    /// The (loader, target) loads under way on this thread, to detect a load that needs itself
    /// (it would wait for its own turn for ever).
    static LOADING: RefCell<Vec<(u64, Target)>> = const { RefCell::new(Vec::new()) };
}

/// Records on this thread that `loader` is loading `target`, until the guard drops.
fn mark_loading(loader: u64, target: Target) -> LoadingGuard {
    LOADING.with(|l| l.borrow_mut().push((loader, target)));
    LoadingGuard(loader)
}

/// Whether this thread is inside a load of `target` by `loader`.
fn loading_here(loader: u64, target: &Target) -> bool {
    LOADING.with(|l| {
        l.borrow()
            .iter()
            .any(|(id, t)| *id == loader && t == target)
    })
}

/// Turns per key: [`Gates::run`] with one key runs one closure at a time, with different keys
/// never waits. A key's gate exists only while some thread is using or waiting for it.
struct Gates<K>(Mutex<HashMap<K, Arc<Mutex<()>>>>);

impl<K: Eq + core::hash::Hash + Clone> Gates<K> {
    fn new() -> Self {
        Self(Mutex::new(HashMap::new()))
    }

    fn map(&self) -> std::sync::MutexGuard<'_, HashMap<K, Arc<Mutex<()>>>> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` when no other thread runs a closure for `key` (waiting for its turn).
    fn run<T>(&self, key: &K, f: impl FnOnce() -> T) -> T {
        let ticket = Ticket {
            gates: self,
            key,
            gate: self.map().entry(key.clone()).or_default().clone(),
        };
        let _turn = ticket.gate.lock().unwrap_or_else(PoisonError::into_inner);
        f()
    }
}

/// A thread's use of a key's gate: forgets the gate when nobody else uses or waits for it.
struct Ticket<'a, K: Eq + core::hash::Hash> {
    gates: &'a Gates<K>,
    key: &'a K,
    gate: Arc<Mutex<()>>,
}

impl<K: Eq + core::hash::Hash> Drop for Ticket<'_, K> {
    fn drop(&mut self) {
        let mut map = self.gates.0.lock().unwrap_or_else(PoisonError::into_inner);
        // Tickets clone a gate only under the map's lock, which we hold: if the map and this
        // ticket are its only holders, no thread waits for it.
        if Arc::strong_count(&self.gate) == 2
            && map
                .get(self.key)
                .is_some_and(|g| Arc::ptr_eq(g, &self.gate))
        {
            map.remove(self.key);
        }
    }
}

/// Removes this thread's record of a load when the load ends, however it ends.
struct LoadingGuard(u64);

impl Drop for LoadingGuard {
    fn drop(&mut self) {
        LOADING.with(|l| {
            let mut l = l.borrow_mut();
            if let Some(i) = l.iter().rposition(|(id, _)| *id == self.0) {
                l.remove(i);
            }
        });
    }
}

/// When a config given to [`Loader::configure`] takes effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use = "a plugin loaded already keeps its config until it is reloaded"]
#[non_exhaustive]
pub enum Applies {
    /// No plugin of that name is loaded: when it is.
    AtLoad,
    /// A plugin of that name is loaded, and runs under its old config until its next reload
    /// ([`Loader::reload`], or a `Watcher` with the `watch` feature).
    AtReload,
}

impl Default for Loader {
    fn default() -> Self {
        Self::new()
    }
}

impl Loader {
    /// A loader with the default search paths and the global registry.
    ///
    /// ```
    /// let loader = xxlang_plugin::Loader::new();
    /// let paths = loader.paths();
    /// assert_eq!(paths[0], std::path::Path::new("./plugins"));
    /// assert_eq!(paths[1], std::path::Path::new("./plugin"));
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::with_registry(Registry::global())
    }

    /// A loader with the default search paths that registers into `registry`.
    pub fn with_registry(registry: Arc<Registry>) -> Self {
        static NEXT_ID: AtomicU64 = AtomicU64::new(1);
        Self {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            paths: RwLock::new(default_paths()),
            registry,
            loading: Gates::new(),
            loading_paths: Gates::new(),
            by_path: Mutex::new(HashMap::new()),
            configs: RwLock::new(Configs::default()),
            by_name: Mutex::new(HashMap::new()),
        }
    }

    /// How the plugins this loader loads from now on run: limits, WASI policy, host functions
    /// (see [`Config`]). A name given its own config with [`Loader::configure`] keeps it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use xxlang_plugin::{Applies, Config, Loader};
    ///
    /// let loader = Loader::new();
    /// loader.set_config(&Config::new().deadline(Duration::from_millis(50)));
    /// let applies = loader.configure("fib", &Config::new().max_memory(16 << 20));
    /// assert_eq!(applies, Applies::AtLoad);
    /// ```
    ///
    /// Plugins loaded already keep the config they were loaded with until they are reloaded
    /// ([`Loader::reload`], or a `Watcher` with the `watch` feature).
    pub fn set_config(&self, config: &Config) {
        self.configs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .default = config.clone();
    }

    /// How the plugin loaded as `name` runs, instead of the loader's config (for
    /// [`Loader::load`], and for [`Loader::load_path`] of a file whose stem is `name`). Says
    /// when that takes effect: at the plugin's load, or, when a plugin of that name is loaded
    /// already, at its next [`reload`](Loader::reload): a running plugin's limits do not
    /// change under a call.
    ///
    /// ```
    /// use xxlang_plugin::{Applies, Config, Loader, Registry};
    /// # use std::sync::Arc;
    ///
    /// let loader = Loader::with_registry(Arc::new(Registry::new()));
    /// loader.set_paths(["plugins"]);
    /// let fib = loader.load_wasm("fib")?;
    /// let applies = loader.configure("fib", &Config::new().fuel(1_000));
    /// assert_eq!(applies, Applies::AtReload);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn configure(&self, name: &str, config: &Config) -> Applies {
        self.configs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .by_name
            .insert(name.to_string(), config.clone());
        match self.registered(name) {
            Some(_) => Applies::AtReload,
            None => Applies::AtLoad,
        }
    }

    /// Offers `function` to every plugin this loader loads from now on, whatever its config
    /// (a config's own host function of the same name takes precedence). A plugin that does not
    /// import it is unaffected.
    ///
    /// ```
    /// use xxlang_plugin::{HostFunction, Loader, Object, Signature, Type};
    ///
    /// let loader = Loader::new();
    /// loader.add_host_function(HostFunction::new(
    ///     "now_ms",
    ///     Signature::new(vec![], Type::Int),
    ///     |_call, _args| Ok(Object::Int(1_700_000_000_000)),
    /// ));
    /// let fib = loader.load("fib")?; // fib does not import it: nothing changes
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn add_host_function(&self, function: HostFunction) {
        let mut configs = self.configs.write().unwrap_or_else(PoisonError::into_inner);
        configs
            .host_functions
            .retain(|f| f.name() != function.name());
        configs.host_functions.push(function);
    }

    /// The config the plugin loaded as `name` gets.
    pub fn config_for(&self, name: &str) -> Config {
        let configs = self.configs.read().unwrap_or_else(PoisonError::into_inner);
        let mut config = configs
            .by_name
            .get(name)
            .unwrap_or(&configs.default)
            .clone();
        for f in &configs.host_functions {
            config.add_host_function_if_absent(f);
        }
        config
    }

    /// The registry this loader registers into.
    pub fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// Appends a search path.
    pub fn add_path(&self, path: impl AsRef<Path>) {
        self.paths
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(path.as_ref().to_path_buf());
    }

    /// Appends the `plugins` folder beside a script: for `app/main.xx`, `app/plugins`
    /// (the folder of the script's directory, not of its file path).
    ///
    /// ```
    /// let loader = xxlang_plugin::Loader::new();
    /// loader.set_paths(Vec::<&str>::new());
    /// loader.add_script_dir("app/main.xx");
    /// assert_eq!(loader.paths(), [std::path::Path::new("app/plugins")]);
    /// ```
    pub fn add_script_dir(&self, script: impl AsRef<Path>) {
        let dir = script.as_ref().parent().unwrap_or(Path::new(""));
        self.add_path(dir.join("plugins"));
    }

    /// Replaces all search paths.
    ///
    /// ```
    /// let loader = xxlang_plugin::Loader::new();
    /// loader.set_paths(["a", "b"]);
    /// loader.add_path("c");
    /// assert_eq!(loader.paths(), ["a", "b", "c"].map(std::path::PathBuf::from));
    /// ```
    pub fn set_paths(&self, paths: impl IntoIterator<Item = impl AsRef<Path>>) {
        let paths = paths
            .into_iter()
            .map(|p| p.as_ref().to_path_buf())
            .collect();
        *self.paths.write().unwrap_or_else(PoisonError::into_inner) = paths;
    }

    /// A copy of the search paths, in search order.
    pub fn paths(&self) -> Vec<PathBuf> {
        self.paths
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The file `load(name)` would read: the first `DIR/NAME.wasm` that exists.
    ///
    /// ```
    /// let loader = xxlang_plugin::Loader::new();
    /// assert_eq!(loader.resolve("fib")?, std::path::Path::new("./plugins/fib.wasm"));
    /// assert!(loader.resolve("../fib").is_err());
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn resolve(&self, name: &str) -> Result<PathBuf, Error> {
        check_name(name)?;
        let searched = self.paths();
        let found = candidates(&searched, name).next();
        match found {
            Some(file) => Ok(file),
            None => Err(not_found(name, searched)),
        }
    }

    /// Loads the plugin `name`: the registry first, then `DIR/NAME.wasm` on each search path
    /// in order. The plugin is registered under `name`.
    ///
    /// A file that exists but fails to load does not stop the search: a later path may have a
    /// good one (a warning is logged). If none loads, the error is that of the first file that
    /// failed, or an [`ErrorKind::NotFound`] listing every path searched.
    pub fn load(&self, name: &str) -> Result<Arc<dyn Plugin>, Error> {
        check_name(name)?;
        match self.registered(name) {
            Some(plugin) => Ok(plugin),
            None => Ok(self.load_new(name)?),
        }
    }

    /// [`load`](Loader::load), for a WebAssembly plugin: everything [`WasmPlugin`] has (its
    /// functions, cancel handle, memory and pool figures, reload). Fails when the registry
    /// holds a plugin of that name that this loader did not load from a file.
    ///
    /// ```
    /// let loader = xxlang_plugin::Loader::new();
    /// let fib = loader.load_wasm("fib")?;
    /// assert_eq!(fib.functions().len(), 4);
    /// assert!(fib.cancel_handle().is_some());
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn load_wasm(&self, name: &str) -> Result<Arc<WasmPlugin>, Error> {
        check_name(name)?;
        match self.registered(name) {
            Some(plugin) => self.ours(name, &plugin),
            None => self.load_new(name),
        }
    }

    /// The WebAssembly plugin this loader registered as `name`, if `plugin` is it.
    fn ours(&self, name: &str, plugin: &Arc<dyn Plugin>) -> Result<Arc<WasmPlugin>, Error> {
        let by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        match by_name.get(name).and_then(Weak::upgrade) {
            Some(wasm) if core::ptr::addr_eq(Arc::as_ptr(&wasm), Arc::as_ptr(plugin)) => Ok(wasm),
            _ => Err(Error::load(
                ErrorKind::InvalidName {
                    reason: String::from(
                        "the registry holds a plugin of that name that this loader did not \
                         load from a .wasm file",
                    ),
                },
                name,
                None,
            )),
        }
    }

    /// Loads `name` from the search paths (unless a load it waited for did) and registers it.
    fn load_new(&self, name: &str) -> Result<Arc<WasmPlugin>, Error> {
        let target = Target::Name(name.to_string());
        if loading_here(self.id, &target) {
            return Err(Error::load(ErrorKind::Circular, name, None));
        }
        self.loading.run(&name.to_string(), || {
            // The load this one waited for may have done the work.
            if let Some(plugin) = self.registered(name) {
                return self.ours(name, &plugin);
            }
            let _loading = mark_loading(self.id, target);
            let plugin = Arc::new(self.load_from_paths(name)?);
            self.install(name, &plugin);
            Ok(plugin)
        })
    }

    /// Registers `plugin` as `name`, and remembers it as this loader's.
    fn install(&self, name: &str, plugin: &Arc<WasmPlugin>) {
        self.by_name
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(name.to_string(), Arc::downgrade(plugin));
        self.registry.register_as(name, plugin.clone());
    }

    /// Loads the plugin `name` again from its file (the one it was loaded from; a plugin not
    /// loaded yet is loaded as by [`load_wasm`](Loader::load_wasm)), under the config
    /// [`config_for`](Loader::config_for) gives now, and returns it. See
    /// [`WasmPlugin::reload_bytes`] for what changes for callers: builtins and modules handed out
    /// before call the new code from their next call, calls under way finish on the old code.
    /// If the new file fails to load, the error says why and the old plugin stays, registered
    /// and running.
    ///
    /// ```
    /// use xxlang_plugin::{Loader, Object};
    ///
    /// let dir = std::env::temp_dir().join(format!("xxplugin-reload-doc-{}", std::process::id()));
    /// std::fs::create_dir_all(&dir).unwrap();
    /// let v1 = wat::parse_str(r#"(module (func (export "call_v") (result i64) i64.const 1))"#).unwrap();
    /// let v2 = wat::parse_str(r#"(module (func (export "call_v") (result i64) i64.const 2))"#).unwrap();
    /// std::fs::write(dir.join("ver.wasm"), &v1).unwrap();
    ///
    /// let loader = Loader::with_registry(Default::default());
    /// loader.set_paths([&dir]);
    /// let module = loader.import("plugin/ver")?; // what a script holds
    /// std::fs::write(dir.join("ver.wasm"), &v2).unwrap();
    /// loader.reload("ver")?;
    /// let Object::Module(m) = module else { unreachable!() };
    /// assert_eq!(m.get("v").unwrap().as_builtin().unwrap().call(&[]), Object::Int(2));
    ///
    /// std::fs::write(dir.join("ver.wasm"), b"broken").unwrap();
    /// assert!(loader.reload("ver").is_err());
    /// assert_eq!(loader.load_wasm("ver")?.call("v", &[])?, Object::Int(2));
    /// # std::fs::remove_dir_all(&dir).unwrap();
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn reload(&self, name: &str) -> Result<Arc<WasmPlugin>, Error> {
        check_name(name)?;
        let current = match self.registered(name) {
            Some(plugin) => self.ours(name, &plugin)?,
            None => return self.load_new(name),
        };
        self.loading.run(&name.to_string(), || {
            let file = current.file().map(PathBuf::from).ok_or_else(|| {
                Error::new(ErrorKind::InvalidPath {
                    path: String::new(),
                    reason: format!("plugin {name} was not loaded from a file"),
                })
            })?;
            let plugin = Arc::new(current.reload_file(&file, &self.config_for(name))?);
            self.install(name, &plugin);
            Ok(plugin)
        })
    }

    /// The names of the plugins this loader loaded by name from one of `files` (canonical
    /// paths) and whose file changed since.
    #[cfg(feature = "watch")]
    pub(crate) fn loaded_from(&self, files: &[PathBuf]) -> Vec<String> {
        let by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        by_name
            .iter()
            .filter_map(|(name, plugin)| Some((name, plugin.upgrade()?)))
            .filter(|(_, plugin)| {
                plugin
                    .file()
                    .and_then(|f| std::fs::canonicalize(f).ok())
                    .is_some_and(|f| files.contains(&f))
            })
            .map(|(name, _)| name.clone())
            .collect()
    }

    fn registered(&self, name: &str) -> Option<Arc<dyn Plugin>> {
        self.registry.get(name).filter(|p| !p.is_closed())
    }

    fn load_from_paths(&self, name: &str) -> Result<WasmPlugin, Error> {
        let searched = self.paths();
        let config = self.config_for(name);
        let mut first_failure = None;
        for file in candidates(&searched, name) {
            match WasmPlugin::from_file_with(&file, &config) {
                Ok(plugin) => return Ok(plugin),
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "plugin file failed to load; searching on");
                    first_failure.get_or_insert(e);
                }
            }
        }
        Err(first_failure.unwrap_or_else(|| not_found(name, searched)))
    }

    /// Loads one `.wasm` file. Loading the same file again through this loader returns the
    /// same plugin, unless it was closed or the file changed since (size or modification time),
    /// in which case it is loaded anew. Not registered: the registry is for names.
    ///
    /// Concurrent loads of one file load it once (the others wait and get the same plugin);
    /// loads of other files and names do not wait for it. Loading a file again from inside its
    /// own start-up (a host function called by its start code) fails with
    /// [`ErrorKind::Circular`] instead of waiting for itself.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use xxlang_plugin::{ErrorKind, Loader};
    ///
    /// let loader = Loader::new();
    /// let a = loader.load_path("plugins/fib.wasm")?;
    /// assert!(Arc::ptr_eq(&a, &loader.load_path("./plugins/fib.wasm")?));
    /// let err = loader.load_path("").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::InvalidPath { .. }));
    /// let err = loader.load_path("missing.wasm").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Io), "{err}");
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn load_path(&self, path: impl AsRef<Path>) -> Result<Arc<WasmPlugin>, Error> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::InvalidPath {
                path: String::new(),
                reason: String::from("the path is empty"),
            }));
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let io = |source: std::io::Error| {
            Error::load(ErrorKind::Io, &*stem, Some(path.display().to_string())).with_source(source)
        };
        let key = std::fs::canonicalize(path).map_err(io)?;
        let target = Target::Path(key.clone());
        if loading_here(self.id, &target) {
            return Err(Error::load(
                ErrorKind::Circular,
                path.display().to_string(),
                None,
            ));
        }
        // Loads of this file take turns; `by_path` is only held to look up and to insert, so
        // a slow load of one file never holds up loads of others.
        self.loading_paths.run(&key, || {
            let stamp = stamp(&key).map_err(io)?;
            if let Some(plugin) = self.loaded(&key, stamp) {
                return Ok(plugin);
            }
            let _loading = mark_loading(self.id, target);
            let plugin = Arc::new(WasmPlugin::from_file_with(path, &self.config_for(&stem))?);
            self.by_path
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(
                    key.clone(),
                    PathEntry {
                        plugin: plugin.clone(),
                        stamp,
                    },
                );
            Ok(plugin)
        })
    }

    /// The plugin loaded from `key`, if it is still open and the file still has `stamp`.
    fn loaded(&self, key: &Path, stamp: Stamp) -> Option<Arc<WasmPlugin>> {
        let by_path = self.by_path.lock().unwrap_or_else(PoisonError::into_inner);
        by_path
            .get(key)
            .filter(|entry| entry.stamp == stamp && !entry.plugin.is_closed())
            .map(|entry| entry.plugin.clone())
    }

    /// What a script's `import` binds: `plugin/NAME` loads by name, a path ending in `.wasm`
    /// loads that file. Returns the plugin as a module.
    ///
    /// ```
    /// let loader = xxlang_plugin::Loader::new();
    /// assert_eq!(loader.import("plugin/fib")?.to_string(), "[module fib]");
    /// assert_eq!(loader.import("./plugins/testplugin.wasm")?.to_string(), "[module testplugin]");
    /// assert!(loader.import("fib").is_err());
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn import(&self, spec: &str) -> Result<Object, Error> {
        let plugin = if let Some(name) = spec.strip_prefix("plugin/") {
            self.load(name)?
        } else if spec.ends_with(".wasm") {
            self.load_path(spec)?
        } else {
            return Err(Error::new(ErrorKind::InvalidPath {
                path: spec.to_string(),
                reason: String::from("expected `plugin/NAME` or a path ending in `.wasm`"),
            }));
        };
        Ok(to_module(&*plugin))
    }
}

impl core::fmt::Debug for Loader {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Loader")
            .field("paths", &self.paths())
            .field("registry", &self.registry)
            .finish_non_exhaustive()
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    crate::plugin::check_name(name)
        .map_err(|reason| Error::load(ErrorKind::InvalidName { reason }, name, None))
}

fn not_found(name: &str, searched: Vec<PathBuf>) -> Error {
    Error::load(ErrorKind::NotFound { searched }, name, None)
}

/// `./plugins`, `./plugin`, then `XXLANG_PLUGIN_PATH`'s entries (empty ones skipped).
fn default_paths() -> Vec<PathBuf> {
    let mut paths = alloc::vec![PathBuf::from("./plugins"), PathBuf::from("./plugin")];
    if let Some(extra) = std::env::var_os(PATH_ENV) {
        paths.extend(std::env::split_paths(&extra).filter(|p| !p.as_os_str().is_empty()));
    }
    paths
}

/// The files `DIR/NAME.wasm` that exist, in search order. Not only regular files: reading one
/// refuses anything else with an error naming the path and what it is, where skipping it
/// would leave only "not found" to say.
fn candidates<'a>(dirs: &'a [PathBuf], name: &'a str) -> impl Iterator<Item = PathBuf> + 'a {
    let file_name = format!("{name}.wasm");
    dirs.iter()
        .map(move |dir| dir.join(&file_name))
        .filter(|file| file.exists())
}

fn stamp(path: &Path) -> std::io::Result<Stamp> {
    let meta = std::fs::metadata(path)?;
    Ok((meta.len(), meta.modified().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A load that needs itself (a plugin whose start-up code loads it again, through a host
    /// function, say) is refused instead of deadlocking.
    #[test]
    fn reentrant_load_of_the_same_name_is_circular() {
        let loader = Loader::with_registry(Arc::new(Registry::new()));
        let _guard = mark_loading(loader.id, Target::Name(String::from("fib")));
        match loader.load("fib") {
            Err(e) if *e.kind() == ErrorKind::Circular => assert_eq!(e.plugin(), Some("fib")),
            other => panic!(
                "expected a circular-load error, got {other:?}",
                other = other.map(|p| p.name().to_string())
            ),
        }
        // Another loader, or another name, is not circular.
        let other = Loader::with_registry(Arc::new(Registry::new()));
        other.set_paths(["plugins"]);
        assert!(other.load("fib").is_ok());
    }

    #[test]
    fn the_guard_forgets_the_load() {
        let loader = Loader::with_registry(Arc::new(Registry::new()));
        {
            let _guard = mark_loading(loader.id, Target::Name(String::from("x")));
            let _path = mark_loading(loader.id, Target::Path(PathBuf::from("/x.wasm")));
        }
        assert!(LOADING.with(|l| l.borrow().is_empty()));
    }

    #[test]
    fn gates_of_different_keys_never_wait_and_are_forgotten() {
        let gates = Gates::new();
        // Holding one key's turn, another key's turn is free (a wait here would hang).
        assert_eq!(gates.run(&1, || gates.run(&2, || 3)), 3);
        assert!(gates.map().is_empty(), "nobody uses a gate: none is kept");
    }

    #[test]
    fn a_gate_lets_one_thread_at_a_time_through() {
        use std::sync::atomic::AtomicBool;
        let gates = Gates::new();
        let inside = AtomicBool::new(false);
        let runs = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..200 {
                        gates.run(&"key", || {
                            assert!(!inside.swap(true, Ordering::SeqCst), "two at once");
                            std::thread::yield_now();
                            inside.store(false, Ordering::SeqCst);
                            runs.fetch_add(1, Ordering::SeqCst);
                        });
                    }
                });
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 800);
        assert!(gates.map().is_empty());
    }
}
