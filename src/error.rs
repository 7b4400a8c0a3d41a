//! [`Error`]: everything that can go wrong loading or calling a plugin.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

#[cfg(feature = "std")]
use std::path::PathBuf;

use crate::Object;

/// Everything that can go wrong loading or calling a plugin.
///
/// Each message names the plugin and, where there is one, the function and the file.
/// Call errors read like `fib.fast: expected 1 argument, got 2 (fast(int) -> int)`; load errors
/// like `plugin fib (plugins/fib.wasm): invalid module: ...`.
///
/// ```
/// use xxlang_plugin::{Error, WasmPlugin};
///
/// let err = WasmPlugin::from_bytes("junk", b"not a valid wasm file").err().unwrap();
/// assert!(matches!(err, Error::InvalidModule { .. }));
/// assert!(err.to_string().starts_with("plugin junk: invalid module"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No `NAME.wasm` on any search path.
    #[cfg(feature = "std")]
    #[error("plugin not found: {name} (searched: {})", list_paths(searched))]
    NotFound {
        /// The name asked for.
        name: String,
        /// Every directory searched, in order.
        searched: Vec<PathBuf>,
    },

    /// A plugin name that is not a plain identifier (`../x`, `x/y`, empty, ...).
    #[error("invalid plugin name {name:?}: {reason}")]
    InvalidName {
        /// The name as given.
        name: String,
        /// Why it was rejected.
        reason: String,
    },

    /// A path that cannot name a plugin file: empty, or not ending in `.wasm` where one must.
    #[error("invalid plugin path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The file could not be read.
    #[cfg(feature = "std")]
    #[error("plugin {plugin}: cannot read {}: {source}", path.display())]
    Io {
        /// The plugin being loaded.
        plugin: String,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },

    /// The bytes are not a valid WebAssembly module (or use a feature we do not enable).
    #[error("plugin {plugin}{}: invalid module: {reason}", at(file))]
    InvalidModule {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// What is wrong.
        reason: String,
    },

    /// The module imports things the host does not provide.
    #[error(
        "plugin {plugin}{}: cannot instantiate: missing imports: {}",
        at(file),
        missing.join(", ")
    )]
    MissingImports {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// Every missing import, as `module.name`.
        missing: Vec<String>,
    },

    /// The module imports WASI, and this build of the library has no WASI support.
    #[error(
        "plugin {plugin}{}: it imports WASI ({}), and this build of xxlang-plugin has no WASI \
         support (enable the `wasi` feature)",
        at(file),
        imports.join(", ")
    )]
    NoWasi {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// The WASI functions it imports, as `module.name`.
        imports: Vec<String>,
    },

    /// Instantiation failed: an import has the wrong type, or the start function or
    /// `_initialize` trapped.
    #[error("plugin {plugin}{}: cannot instantiate: {reason}", at(file))]
    Instantiation {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// What went wrong.
        reason: String,
    },

    /// A metadata export (`plugin_name`, `plugin_version`, `alloc`, ...) exists but misbehaves:
    /// it traps, points out of bounds, or returns something that is not valid.
    #[error("plugin {plugin}{}: export `{export}`: {reason}", at(file))]
    Metadata {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// The export that misbehaved.
        export: String,
        /// How.
        reason: String,
    },

    /// The plugin's manifest (its typed-ABI declaration) is malformed, or does not match the
    /// module's exports.
    #[error("plugin {plugin}{}: manifest{}: {reason}", at(file), line.map(|l| alloc::format!(" line {l}")).unwrap_or_default())]
    Manifest {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// The manifest line (from 1), when the problem is on one.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },

    /// The plugin is built for a newer ABI than this host supports.
    #[error(
        "plugin {plugin}{}: built for plugin ABI {version}; this host supports ABI 1 to {supported} (upgrade xxlang-plugin)",
        at(file)
    )]
    UnsupportedAbi {
        /// The plugin being loaded.
        plugin: String,
        /// The file, when loaded from one.
        file: Option<String>,
        /// The ABI version the plugin declares.
        version: u32,
        /// The newest ABI version this host supports.
        supported: u32,
    },

    /// Loading this plugin requires loading itself.
    #[error("circular plugin load: {name}")]
    Circular {
        /// The plugin whose load is already under way.
        name: String,
    },

    /// The plugin has no function of that name.
    #[error("{plugin}: no function named {function:?}")]
    NoSuchFunction {
        /// The plugin.
        plugin: String,
        /// The name asked for.
        function: String,
    },

    /// Wrong number of arguments.
    #[error("{plugin}.{function}: expected {expected}, got {got} ({function}{signature})")]
    Arity {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// What it takes: `1 argument (int)`.
        expected: String,
        /// How many were given.
        got: usize,
        /// The function's signature: `(int) -> int`.
        signature: String,
    },

    /// An argument of the wrong type or out of range.
    #[error("{plugin}.{function}: argument {position} must be {expected}, got {got}")]
    Type {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The argument's position, from 1.
        position: usize,
        /// What it must be: `int`, `int in i32 range`, ...
        expected: String,
        /// What was given: its type, and its value when short.
        got: String,
    },

    /// The call trapped (`unreachable`, out-of-bounds access, division by zero, a host
    /// function's error, ...).
    #[error("{plugin}.{function}: trap: {message}")]
    Trap {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The trap's message.
        message: String,
    },

    /// The call ran into one of the plugin's limits (fuel, time, memory, table, call depth) or
    /// was cancelled.
    #[error("{plugin}.{function}: {limit}")]
    Limit {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The limit.
        limit: crate::Limit,
    },

    /// The plugin was called (or closed) while one of its calls was inside a host function:
    /// from that host function, or from another thread. Plugins are not re-entrant, and
    /// waiting could deadlock (the host function may be waiting for this very call), so such a
    /// call fails at once. A call that finds the plugin running wasm waits its turn instead.
    #[error(
        "{plugin}.{function}: {plugin} is inside a host function and this call would wait on \
         it; a plugin cannot be re-entered while it runs a host function (from that thread or \
         another)"
    )]
    Reentrant {
        /// The plugin.
        plugin: String,
        /// The function (or `close`).
        function: String,
    },

    /// The plugin reported that the call failed (typed ABI: `xxplugin.error`).
    #[error("{plugin}.{function}: {message}")]
    Guest {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// The plugin's message.
        message: String,
    },

    /// The plugin broke the ABI: a result points out of bounds, a string is not UTF-8, ...
    #[error("{plugin}.{function}: ABI violation: {reason}")]
    Abi {
        /// The plugin.
        plugin: String,
        /// The function.
        function: String,
        /// What the plugin did wrong.
        reason: String,
    },

    /// The plugin was closed.
    #[error("{plugin}.{function}: plugin {plugin} is closed")]
    Closed {
        /// The plugin.
        plugin: String,
        /// The function called after close.
        function: String,
    },
}

fn at(file: &Option<String>) -> String {
    match file {
        Some(f) => alloc::format!(" ({f})"),
        None => String::new(),
    }
}

#[cfg(feature = "std")]
fn list_paths(paths: &[PathBuf]) -> String {
    if paths.is_empty() {
        return String::from("no search paths");
    }
    let parts: Vec<String> = paths
        .iter()
        .map(|p| alloc::format!("{}", p.display()))
        .collect();
    parts.join(", ")
}

/// The Error value a script sees: `ERROR: <message>`.
impl From<Error> for Object {
    fn from(err: Error) -> Self {
        Object::Error(Arc::from(alloc::format!("{err}")))
    }
}

/// A short, printable description of an argument for messages: its type, and its value
/// when that is short.
pub(crate) fn describe_value(v: &Object) -> String {
    match v {
        Object::Null | Object::Bool(_) | Object::Int(_) | Object::Float(_) => {
            alloc::format!("{} {v}", v.type_name())
        }
        Object::String(s) if s.len() <= 24 => alloc::format!("string {:?}", &**s),
        other => String::from(other.type_name()),
    }
}

impl Error {
    /// The plugin this error is about, when it names one.
    ///
    /// ```
    /// let err = xxlang_plugin::WasmPlugin::from_bytes("x", b"").err().unwrap();
    /// assert_eq!(err.plugin(), Some("x"));
    /// ```
    pub fn plugin(&self) -> Option<&str> {
        match self {
            Error::InvalidModule { plugin, .. }
            | Error::MissingImports { plugin, .. }
            | Error::NoWasi { plugin, .. }
            | Error::Instantiation { plugin, .. }
            | Error::Metadata { plugin, .. }
            | Error::Manifest { plugin, .. }
            | Error::UnsupportedAbi { plugin, .. }
            | Error::Guest { plugin, .. }
            | Error::Limit { plugin, .. }
            | Error::NoSuchFunction { plugin, .. }
            | Error::Arity { plugin, .. }
            | Error::Type { plugin, .. }
            | Error::Trap { plugin, .. }
            | Error::Abi { plugin, .. }
            | Error::Closed { plugin, .. }
            | Error::Reentrant { plugin, .. } => Some(plugin),
            #[cfg(feature = "std")]
            Error::Io { plugin, .. } => Some(plugin),
            #[cfg(feature = "std")]
            Error::NotFound { name, .. } => Some(name),
            Error::Circular { name } | Error::InvalidName { name, .. } => Some(name),
            Error::InvalidPath { .. } => None,
        }
    }
}
