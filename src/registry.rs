//! [`Registry`]: loaded plugins by name, safe to share between threads.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::sync::OnceLock;

use dashmap::DashMap;

use crate::Plugin;

/// Loaded plugins by name. Concurrent reads and writes need no outside lock.
///
/// A name maps to one plugin; registering under a taken name replaces the old entry (which
/// stays usable by whoever holds it) and returns it.
///
/// ```
/// use std::collections::BTreeMap;
/// use std::sync::Arc;
/// use xxlang_plugin::{Object, Plugin, Registry};
///
/// struct Named(&'static str);
/// impl Plugin for Named {
///     fn name(&self) -> &str { self.0 }
///     fn exports(&self) -> BTreeMap<String, Object> { BTreeMap::new() }
/// }
///
/// let registry = Registry::new();
/// assert!(registry.list().is_empty());
/// registry.register(Arc::new(Named("b")));
/// registry.register_as("a", Arc::new(Named("b")));
/// assert_eq!(registry.list(), ["a", "b"]);
/// assert!(registry.has("a"));
/// assert_eq!(registry.get("a").map(|p| p.name().to_string()).as_deref(), Some("b"));
/// assert!(registry.unregister("a").is_some());
/// assert!(!registry.has("a"));
/// ```
#[derive(Default)]
pub struct Registry {
    plugins: DashMap<String, Arc<dyn Plugin>>,
}

impl Registry {
    /// An empty registry.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry that [`Loader::new`](crate::Loader::new) uses.
    ///
    /// ```
    /// use std::sync::Arc;
    /// assert!(Arc::ptr_eq(&xxlang_plugin::Registry::global(), &xxlang_plugin::Registry::global()));
    /// ```
    pub fn global() -> Arc<Registry> {
        static GLOBAL: OnceLock<Arc<Registry>> = OnceLock::new();
        GLOBAL.get_or_init(|| Arc::new(Registry::new())).clone()
    }

    /// Registers `plugin` under its own name; returns the plugin it replaced, if any.
    pub fn register(&self, plugin: Arc<dyn Plugin>) -> Option<Arc<dyn Plugin>> {
        let name = String::from(plugin.name());
        self.plugins.insert(name, plugin)
    }

    /// Registers `plugin` under `name` (the name it was loaded as, say); returns the plugin it
    /// replaced, if any.
    pub fn register_as(
        &self,
        name: impl Into<String>,
        plugin: Arc<dyn Plugin>,
    ) -> Option<Arc<dyn Plugin>> {
        self.plugins.insert(name.into(), plugin)
    }

    /// The plugin registered under `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<Arc<dyn Plugin>> {
        self.plugins.get(name).map(|entry| entry.value().clone())
    }

    /// Whether a plugin is registered under `name`.
    #[must_use]
    pub fn has(&self, name: &str) -> bool {
        self.plugins.contains_key(name)
    }

    /// The registered names, sorted; empty when nothing is registered.
    #[must_use]
    pub fn list(&self) -> Vec<String> {
        let mut names: Vec<String> = self.plugins.iter().map(|e| e.key().clone()).collect();
        names.sort();
        names
    }

    /// Removes the plugin registered under `name` and returns it. The plugin is not closed:
    /// whoever still holds it can use it.
    pub fn unregister(&self, name: &str) -> Option<Arc<dyn Plugin>> {
        self.plugins.remove(name).map(|(_, plugin)| plugin)
    }

    /// How many plugins are registered.
    #[must_use]
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// Whether no plugin is registered.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}

impl core::fmt::Debug for Registry {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Registry")
            .field("plugins", &self.list())
            .finish()
    }
}
