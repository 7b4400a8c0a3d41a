//! [`Loader`]: finds `NAME.wasm` on search paths, loads it once, registers it.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use crate::{Config, Error, HostFunction, Object, Plugin, Registry, WasmPlugin, to_module};

/// The environment variable with extra search paths, split with the platform's separator
/// (`:` on Unix, `;` on Windows).
pub const PATH_ENV: &str = "XXLANG_PLUGIN_PATH";

/// Finds, loads and registers plugins.
///
/// Search paths default to `./plugins`, `./plugin`, then the entries of `XXLANG_PLUGIN_PATH`.
/// A plugin is registered under the name it was loaded as. All methods take `&self`; a loader
/// can be shared between threads, and concurrent loads of one name load it once.
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
    /// One lock per name being loaded, so concurrent loads of a name load it once.
    loading: Mutex<HashMap<String, Arc<Mutex<()>>>>,
    /// Plugins loaded by path, with the file's size and modification time when loaded.
    by_path: Mutex<HashMap<PathBuf, PathEntry>>,
    /// How plugins run: a default, and per name.
    configs: RwLock<Configs>,
}

#[derive(Default)]
struct Configs {
    default: Config,
    by_name: HashMap<String, Config>,
    /// Offered to every plugin, whatever its config.
    host_functions: Vec<HostFunction>,
}

struct PathEntry {
    plugin: Arc<dyn Plugin>,
    stamp: Stamp,
}

/// What identifies a file's version cheaply: its size and modification time.
type Stamp = (u64, Option<SystemTime>);

std::thread_local! {
    /// The (loader, name) loads under way on this thread, to detect a load that needs itself.
    static LOADING: RefCell<Vec<(u64, String)>> = const { RefCell::new(Vec::new()) };
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
            loading: Mutex::new(HashMap::new()),
            by_path: Mutex::new(HashMap::new()),
            configs: RwLock::new(Configs::default()),
        }
    }

    /// How the plugins this loader loads from now on run: limits, WASI policy, host functions
    /// (see [`Config`]). A name given its own config with [`Loader::configure`] keeps it.
    ///
    /// ```
    /// use std::time::Duration;
    /// use xxlang_plugin::{Config, Loader};
    ///
    /// let loader = Loader::new();
    /// loader.set_config(Config::new().deadline(Duration::from_millis(50)));
    /// loader.configure("fib", Config::new().max_memory(16 << 20));
    /// ```
    pub fn set_config(&self, config: Config) {
        self.configs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .default = config;
    }

    /// How the plugin loaded as `name` runs, instead of the loader's config (for
    /// [`Loader::load`], and for [`Loader::load_path`] of a file whose stem is `name`).
    pub fn configure(&self, name: &str, config: Config) {
        self.configs
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .by_name
            .insert(name.to_string(), config);
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
            None => Err(Error::NotFound {
                name: name.to_string(),
                searched,
            }),
        }
    }

    /// Loads the plugin `name`: the registry first, then `DIR/NAME.wasm` on each search path
    /// in order. The plugin is registered under `name`.
    ///
    /// A file that exists but fails to load does not stop the search: a later path may have a
    /// good one (a warning is logged). If none loads, the error is that of the first file that
    /// failed, or [`Error::NotFound`] listing every path searched.
    pub fn load(&self, name: &str) -> Result<Arc<dyn Plugin>, Error> {
        check_name(name)?;
        if let Some(plugin) = self.registered(name) {
            return Ok(plugin);
        }
        let circular =
            LOADING.with(|l| l.borrow().iter().any(|(id, n)| *id == self.id && n == name));
        if circular {
            return Err(Error::Circular {
                name: name.to_string(),
            });
        }
        let gate = self
            .loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(name.to_string())
            .or_default()
            .clone();
        let result = {
            let _one_at_a_time = gate.lock().unwrap_or_else(PoisonError::into_inner);
            match self.registered(name) {
                Some(plugin) => Ok(plugin),
                None => {
                    LOADING.with(|l| l.borrow_mut().push((self.id, name.to_string())));
                    let _guard = LoadingGuard(self.id);
                    self.load_from_paths(name).inspect(|plugin| {
                        self.registry.register_as(name, plugin.clone());
                    })
                }
            }
        };
        self.loading
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        result
    }

    fn registered(&self, name: &str) -> Option<Arc<dyn Plugin>> {
        self.registry.get(name).filter(|p| !p.is_closed())
    }

    fn load_from_paths(&self, name: &str) -> Result<Arc<dyn Plugin>, Error> {
        let searched = self.paths();
        let config = self.config_for(name);
        let mut first_failure = None;
        for file in candidates(&searched, name) {
            match WasmPlugin::from_file_with(&file, &config) {
                Ok(plugin) => return Ok(Arc::new(plugin)),
                Err(e) => {
                    tracing::warn!(file = %file.display(), error = %e, "plugin file failed to load; searching on");
                    first_failure.get_or_insert(e);
                }
            }
        }
        Err(first_failure.unwrap_or(Error::NotFound {
            name: name.to_string(),
            searched,
        }))
    }

    /// Loads one `.wasm` file. Loading the same file again through this loader returns the
    /// same plugin, unless it was closed or the file changed since (size or modification time),
    /// in which case it is loaded anew. Not registered: the registry is for names.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use xxlang_plugin::{Error, Loader};
    ///
    /// let loader = Loader::new();
    /// let a = loader.load_path("plugins/fib.wasm")?;
    /// assert!(Arc::ptr_eq(&a, &loader.load_path("./plugins/fib.wasm")?));
    /// assert!(matches!(loader.load_path(""), Err(Error::InvalidPath { .. })));
    /// assert!(matches!(loader.load_path("missing.wasm"), Err(Error::Io { .. })));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn load_path(&self, path: impl AsRef<Path>) -> Result<Arc<dyn Plugin>, Error> {
        let path = path.as_ref();
        if path.as_os_str().is_empty() {
            return Err(Error::InvalidPath {
                path: String::new(),
                reason: String::from("the path is empty"),
            });
        }
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let io = |source| Error::Io {
            plugin: stem.clone(),
            path: path.to_path_buf(),
            source,
        };
        let key = std::fs::canonicalize(path).map_err(io)?;
        let stamp = stamp(&key).map_err(io)?;
        let mut by_path = self.by_path.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(entry) = by_path.get(&key)
            && entry.stamp == stamp
            && !entry.plugin.is_closed()
        {
            return Ok(entry.plugin.clone());
        }
        let plugin: Arc<dyn Plugin> =
            Arc::new(WasmPlugin::from_file_with(path, &self.config_for(&stem))?);
        by_path.insert(
            key,
            PathEntry {
                plugin: plugin.clone(),
                stamp,
            },
        );
        Ok(plugin)
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
            return Err(Error::InvalidPath {
                path: spec.to_string(),
                reason: String::from("expected `plugin/NAME` or a path ending in `.wasm`"),
            });
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
    crate::plugin::check_name(name).map_err(|reason| Error::InvalidName {
        name: name.to_string(),
        reason,
    })
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
        LOADING.with(|l| l.borrow_mut().push((loader.id, String::from("fib"))));
        let _guard = LoadingGuard(loader.id);
        match loader.load("fib") {
            Err(Error::Circular { name }) => assert_eq!(name, "fib"),
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
            LOADING.with(|l| l.borrow_mut().push((loader.id, String::from("x"))));
            let _guard = LoadingGuard(loader.id);
        }
        assert!(LOADING.with(|l| l.borrow().is_empty()));
    }
}
