//! [`Error`]: everything that can go wrong loading or calling a plugin.
//!
//! One pointer wide: what went wrong ([`ErrorKind`]), where (the plugin, and the file or the
//! function) and the error underneath live in one heap allocation, so a `Result` carrying an
//! [`Error`] stays as small as its `Ok` value allows, and moving it is cheap.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

#[cfg(feature = "std")]
use std::path::PathBuf;

use crate::Object;

/// The error underneath an [`Error`]: the wasmi error, the I/O error, ...
type Source = Box<dyn core::error::Error + Send + Sync + 'static>;

/// Everything that can go wrong loading or calling a plugin.
///
/// An error has a [kind](Error::kind) (what went wrong, with its details), a site (the
/// [plugin](Error::plugin), and the [file](Error::file) it was loaded from or the
/// [function](Error::function) called) and, when another error caused it, a
/// [source](core::error::Error::source): the [`wasmi::Error`] of an invalid module, a failed
/// instantiation or a trap, the `std::io::Error` of a file that cannot be read.
///
/// Its message names the plugin and, where there is one, the function and the file. Call
/// errors read like `fib.fast: expected 1 argument, got 2 (fast(int) -> int)`; load errors
/// like `plugin fib (plugins/fib.wasm): invalid module: ...`. The message includes the
/// source's, so printing the message alone loses nothing.
///
/// An `Error` is one pointer wide (the rest is boxed), so returning one is cheap.
///
/// ```
/// use xxlang_plugin::{Error, ErrorKind, WasmPlugin};
///
/// let err = WasmPlugin::from_bytes("junk", b"not a valid wasm file").err().unwrap();
/// assert!(matches!(err.kind(), ErrorKind::InvalidModule { .. }));
/// assert_eq!(err.plugin(), Some("junk"));
/// assert!(err.to_string().starts_with("plugin junk: invalid module"));
/// assert!(core::mem::size_of::<Error>() <= 16);
/// ```
pub struct Error(Box<Inner>);

struct Inner {
    kind: ErrorKind,
    plugin: Option<String>,
    /// Set for errors of a call.
    function: Option<String>,
    /// Set for errors loading a file.
    file: Option<String>,
    source: Option<Source>,
    /// The failure cost the plugin its instance (see [`Error::instance_reset`]).
    reset: bool,
}

/// What went wrong, with its details; see [`Error::kind`].
///
/// The plugin, the file and the function are not here but on the [`Error`]
/// ([`Error::plugin`], [`Error::file`], [`Error::function`]).
///
/// ```
/// use xxlang_plugin::{Config, ErrorKind, Limit, Object, WasmPlugin};
///
/// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
/// let err = fib.call("fast", &[Object::from("x")]).unwrap_err();
/// match err.kind() {
///     ErrorKind::Type { position, expected, .. } => {
///         assert_eq!((*position, expected.as_str()), (1, "int"));
///     }
///     other => panic!("{other:?}"),
/// }
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No `NAME.wasm` on any search path ([`Error::plugin`] is `NAME`).
    #[cfg(feature = "std")]
    NotFound {
        /// Every directory searched, in order.
        searched: Vec<PathBuf>,
    },

    /// A plugin name that is not a plain identifier (`../x`, `x/y`, empty, ...);
    /// [`Error::plugin`] is the name as given.
    InvalidName {
        /// Why it was rejected.
        reason: String,
    },

    /// A path that cannot name a plugin file: empty, or not ending in `.wasm` where one must.
    InvalidPath {
        /// The path as given.
        path: String,
        /// Why it was rejected.
        reason: String,
    },

    /// The file ([`Error::file`]) could not be read; the [`std::io::Error`] is the source.
    #[cfg(feature = "std")]
    Io,

    /// The bytes are not a valid WebAssembly module (or use a feature we do not enable).
    InvalidModule {
        /// What is wrong.
        reason: String,
    },

    /// The module imports things the host does not provide.
    MissingImports {
        /// Every missing import, as `module.name`.
        missing: Vec<String>,
    },

    /// The module imports WASI, and this build of the library has no WASI support.
    NoWasi {
        /// The WASI functions it imports, as `module.name`.
        imports: Vec<String>,
    },

    /// Instantiation failed: an import has the wrong type, or the start function or
    /// `_initialize` trapped.
    Instantiation {
        /// What went wrong.
        reason: String,
    },

    /// A metadata export (`plugin_name`, `plugin_version`, `alloc`, ...) exists but misbehaves:
    /// it traps, points out of bounds, or returns something that is not valid.
    Metadata {
        /// The export that misbehaved.
        export: String,
        /// How.
        reason: String,
    },

    /// The plugin's manifest (its typed-ABI declaration) is malformed, or does not match the
    /// module's exports.
    Manifest {
        /// The manifest line (from 1), when the problem is on one.
        line: Option<usize>,
        /// What is wrong.
        reason: String,
    },

    /// The plugin is built for a newer ABI than this host supports.
    UnsupportedAbi {
        /// The ABI version the plugin declares.
        version: u32,
        /// The newest ABI version this host supports.
        supported: u32,
    },

    /// Loading this plugin requires loading itself ([`Error::plugin`] is its name, or the
    /// path of the file).
    Circular,

    /// The plugin has no function of that name ([`Error::function`]).
    NoSuchFunction,

    /// Wrong number of arguments.
    Arity {
        /// What it takes: `1 argument (int)`.
        expected: String,
        /// How many were given.
        got: usize,
        /// The function's signature: `(int) -> int`.
        signature: String,
    },

    /// A typed handle ([`WasmPlugin::typed`](crate::WasmPlugin::typed)) whose Rust types do
    /// not fit the function.
    Signature {
        /// What the handle's types are, in wasm and xxlang terms: `(i64, i64) -> i64`.
        requested: String,
        /// The function's signature: `(a: int, b: int) -> int`, and why they differ.
        found: String,
    },
    /// An argument of the wrong type or out of range.
    Type {
        /// The argument's position, from 1.
        position: usize,
        /// What it must be: `int`, `int in i32 range`, ...
        expected: String,
        /// What was given: its type, and its value when short.
        got: String,
    },

    /// The call trapped (`unreachable`, out-of-bounds access, division by zero, a host
    /// function's error, ...).
    Trap {
        /// The trap's message.
        message: String,
    },

    /// The call ran into one of the plugin's limits (fuel, time, memory, table, call depth) or
    /// was cancelled.
    Limit(crate::Limit),

    /// The plugin was called (or closed) while one of its calls was inside a host function:
    /// from that host function, or from another thread. Plugins are not re-entrant, and
    /// waiting could deadlock (the host function may be waiting for this very call), so such a
    /// call fails at once. A call that finds the plugin running wasm waits its turn instead.
    /// [`Error::function`] is the function called, or `close`.
    Reentrant,

    /// The plugin reported that the call failed (typed ABI: `xxplugin.error`), also when the
    /// call then trapped (a Rust guest's panic does that: its message is the plugin's, and
    /// [`source()`](core::error::Error::source) is the trap).
    Guest {
        /// The plugin's message.
        message: String,
    },

    /// A builtin that is not a plugin's function returned an Error value, and
    /// [`Builtin::try_call`](crate::Builtin::try_call) made it an error. The message is the
    /// builtin's (prefixed with its name, unless it starts with it).
    ///
    /// ```
    /// use xxlang_plugin::{Builtin, ErrorKind, Object};
    ///
    /// let half = Builtin::new("half", |args| match args {
    ///     [Object::Int(n)] if n % 2 == 0 => Object::Int(n / 2),
    ///     _ => Object::error("not an even int"),
    /// });
    /// let err = half.try_call(&[Object::Int(3)]).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Builtin { .. }));
    /// assert_eq!(err.to_string(), "half: not an even int");
    /// ```
    Builtin {
        /// The builtin's name.
        builtin: String,
        /// The message of the Error value it returned.
        message: String,
    },

    /// A host function the plugin called (see [`HostFunction`](crate::HostFunction)) returned
    /// an `Err` (or panicked), which ended the call: the message is the host function's own.
    /// The plugin's instance is replaced as after a trap (the call stopped midway).
    ///
    /// ```
    /// use xxlang_plugin::{ErrorKind, Object};
    /// # let err = xxlang_plugin::Error::new(ErrorKind::Host {
    /// #     function: "lookup".into(),
    /// #     message: "no key \"x\"".into(),
    /// # });
    /// // err: what `plugin.call(..)` returned
    /// if let ErrorKind::Host { function, message } = err.kind() {
    ///     assert_eq!((function.as_str(), message.as_str()), ("lookup", "no key \"x\""));
    /// }
    /// assert_eq!(err.to_string(), "host function lookup failed: no key \"x\"");
    /// ```
    Host {
        /// The host function's name.
        function: String,
        /// Its error message.
        message: String,
    },

    /// The plugin broke the ABI: a result points out of bounds, a string is not UTF-8, ...
    Abi {
        /// What the plugin did wrong.
        reason: String,
    },

    /// The plugin was closed.
    Closed,
}

impl Error {
    /// An error about no plugin in particular (such as [`ErrorKind::InvalidPath`]).
    ///
    /// ```
    /// use xxlang_plugin::{Error, ErrorKind};
    ///
    /// let err = Error::new(ErrorKind::InvalidPath {
    ///     path: "x".into(),
    ///     reason: "it is not a plugin".into(),
    /// });
    /// assert_eq!(err.to_string(), r#"invalid plugin path "x": it is not a plugin"#);
    /// assert_eq!(err.plugin(), None);
    /// ```
    #[must_use]
    pub fn new(kind: ErrorKind) -> Self {
        Self(Box::new(Inner {
            kind,
            plugin: None,
            function: None,
            file: None,
            source: None,
            reset: false,
        }))
    }

    /// An error loading `plugin`, from `file` when it was loaded from one.
    ///
    /// ```
    /// use xxlang_plugin::{Error, ErrorKind};
    ///
    /// let err = Error::load(
    ///     ErrorKind::InvalidModule { reason: "it is empty".into() },
    ///     "mine",
    ///     Some("plugins/mine.wasm".into()),
    /// );
    /// assert_eq!(err.to_string(), "plugin mine (plugins/mine.wasm): invalid module: it is empty");
    /// assert_eq!(err.file(), Some("plugins/mine.wasm"));
    /// ```
    #[must_use]
    pub fn load(kind: ErrorKind, plugin: impl Into<String>, file: Option<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            plugin: Some(plugin.into()),
            function: None,
            file,
            source: None,
            reset: false,
        }))
    }

    /// An error calling `function` of `plugin` (for [`Plugin`](crate::Plugin)s of your own;
    /// `function` may be `close`).
    ///
    /// ```
    /// use xxlang_plugin::{Error, ErrorKind};
    ///
    /// let err = Error::call(ErrorKind::Closed, "mine", "close");
    /// assert_eq!(err.to_string(), "mine.close: plugin mine is closed");
    /// assert_eq!(err.function(), Some("close"));
    /// ```
    #[must_use]
    pub fn call(kind: ErrorKind, plugin: impl Into<String>, function: impl Into<String>) -> Self {
        Self(Box::new(Inner {
            kind,
            plugin: Some(plugin.into()),
            function: Some(function.into()),
            file: None,
            source: None,
            reset: false,
        }))
    }

    /// This error, caused by `source` (what [`source()`](core::error::Error::source)
    /// returns). The message does not change: put what matters of the source into the kind's
    /// details.
    ///
    /// ```
    /// use core::error::Error as _;
    /// use xxlang_plugin::{Error, ErrorKind};
    ///
    /// let io = std::io::Error::other("disk on fire");
    /// let err = Error::load(ErrorKind::Io, "mine", Some("mine.wasm".into())).with_source(io);
    /// assert_eq!(err.to_string(), "plugin mine: cannot read mine.wasm: disk on fire");
    /// assert_eq!(err.source().unwrap().to_string(), "disk on fire");
    /// ```
    #[must_use]
    pub fn with_source(mut self, source: impl core::error::Error + Send + Sync + 'static) -> Self {
        self.0.source = Some(Box::new(source));
        self
    }

    /// This error with `source`, if there is one.
    pub(crate) fn with_source_opt(
        self,
        source: Option<impl core::error::Error + Send + Sync + 'static>,
    ) -> Self {
        match source {
            Some(source) => self.with_source(source),
            None => self,
        }
    }

    /// What went wrong, with its details.
    ///
    /// ```
    /// use xxlang_plugin::{Config, ErrorKind, Limit, Object, WasmPlugin};
    ///
    /// let config = Config::new().fuel(10_000);
    /// let p = WasmPlugin::from_file_with("plugins/testplugin.wasm", &config)?;
    /// let err = p.call("count_primes", &[Object::Int(1_000_000)]).unwrap_err();
    /// assert_eq!(err.kind(), &ErrorKind::Limit(Limit::Fuel(10_000)));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> &ErrorKind {
        &self.0.kind
    }

    /// The plugin this error is about, when it names one: the plugin loaded or called, or the
    /// name asked for.
    ///
    /// ```
    /// let err = xxlang_plugin::WasmPlugin::from_bytes("x", b"").err().unwrap();
    /// assert_eq!(err.plugin(), Some("x"));
    /// ```
    #[must_use]
    pub fn plugin(&self) -> Option<&str> {
        self.0.plugin.as_deref()
    }

    /// The function called, for an error of a call (`close` when closing failed).
    ///
    /// ```
    /// use xxlang_plugin::{Object, WasmPlugin};
    ///
    /// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
    /// let err = fib.call("fast", &[]).unwrap_err();
    /// assert_eq!((err.plugin(), err.function()), (Some("fib"), Some("fast")));
    /// assert_eq!(err.file(), None);
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn function(&self) -> Option<&str> {
        self.0.function.as_deref()
    }

    /// The file being loaded, for an error loading a plugin from a file.
    ///
    /// ```
    /// use xxlang_plugin::{ErrorKind, WasmPlugin};
    ///
    /// let err = WasmPlugin::from_file("plugins/missing.wasm").unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Io));
    /// assert_eq!(err.file(), Some("plugins/missing.wasm"));
    /// assert_eq!(err.function(), None);
    /// ```
    #[must_use]
    pub fn file(&self) -> Option<&str> {
        self.0.file.as_deref()
    }

    /// Whether the call's failure cost the plugin its instance: it trapped or ran into a limit,
    /// and under [`Recovery::Reinstantiate`](crate::Recovery::Reinstantiate) (the default) the
    /// next call runs on a fresh instance, so whatever the plugin kept between calls (a counter,
    /// a cache, a handle) is gone. The message says so: `... (plugin restarted, state reset)`.
    ///
    /// ```
    /// use xxlang_plugin::{Config, Object, Recovery, WasmPlugin};
    ///
    /// let test = WasmPlugin::from_file("plugins/testplugin.wasm")?;
    /// let err = test.call("div", &[Object::Int(1), Object::Int(0)]).unwrap_err();
    /// assert!(err.instance_reset());
    /// assert!(err.to_string().ends_with("(plugin restarted, state reset)"), "{err}");
    ///
    /// // A wrong argument is refused before the plugin runs: nothing is lost.
    /// let err = test.call("div", &[Object::from("x"), Object::Int(0)]).unwrap_err();
    /// assert!(!err.instance_reset());
    ///
    /// // Kept instances keep their state, whatever the trap left half-done.
    /// let config = Config::new().on_trap(Recovery::KeepInstance);
    /// let test = WasmPlugin::from_file_with("plugins/testplugin.wasm", &config)?;
    /// let err = test.call("div", &[Object::Int(1), Object::Int(0)]).unwrap_err();
    /// assert!(!err.instance_reset());
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    #[must_use]
    pub fn instance_reset(&self) -> bool {
        self.0.reset
    }

    /// This error, noting that the plugin's instance was dropped (see [`Error::instance_reset`]).
    pub(crate) fn with_instance_reset(mut self) -> Self {
        self.0.reset = true;
        self
    }

    /// Writes where the error is: `plugin.function: ` for a call, `plugin NAME (FILE): ` for
    /// a load.
    fn site(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &*self.0;
        match (&e.plugin, &e.function, &e.file) {
            (Some(p), Some(func), _) => write!(f, "{p}.{func}: "),
            (None, Some(func), _) => write!(f, "{func}: "),
            (Some(p), None, Some(file)) => write!(f, "plugin {p} ({file}): "),
            (Some(p), None, None) => write!(f, "plugin {p}: "),
            (None, None, Some(file)) => write!(f, "{file}: "),
            (None, None, None) => Ok(()),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &*self.0;
        let plugin = e.plugin.as_deref().unwrap_or("the plugin");
        let function = e.function.as_deref().unwrap_or_default();
        // Kinds whose message is not "<site>: <what>".
        match &e.kind {
            #[cfg(feature = "std")]
            ErrorKind::NotFound { searched } => {
                return write!(
                    f,
                    "plugin not found: {plugin} (searched: {})",
                    list_paths(searched)
                );
            }
            ErrorKind::InvalidName { reason } => {
                return write!(f, "invalid plugin name {plugin:?}: {reason}");
            }
            ErrorKind::InvalidPath { path, reason } => {
                return write!(f, "invalid plugin path {path:?}: {reason}");
            }
            #[cfg(feature = "std")]
            ErrorKind::Io => {
                write!(
                    f,
                    "plugin {plugin}: cannot read {}",
                    e.file.as_deref().unwrap_or("?")
                )?;
                return match &e.source {
                    Some(source) => write!(f, ": {source}"),
                    None => Ok(()),
                };
            }
            ErrorKind::Circular => return write!(f, "circular plugin load: {plugin}"),
            ErrorKind::NoSuchFunction => {
                return write!(f, "{plugin}: no function named {function:?}");
            }
            _ => {}
        }
        self.site(f)?;
        self.what(f)?;
        if e.reset {
            f.write_str(" (plugin restarted, state reset)")?;
        }
        Ok(())
    }
}

impl Error {
    /// Writes what went wrong, for the kinds whose message is `<site>: <what>`.
    fn what(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &*self.0;
        let plugin = e.plugin.as_deref().unwrap_or("the plugin");
        let function = e.function.as_deref().unwrap_or_default();
        match &e.kind {
            ErrorKind::InvalidModule { reason } => write!(f, "invalid module: {reason}"),
            ErrorKind::MissingImports { missing } => write!(
                f,
                "cannot instantiate: missing imports: {}",
                missing.join(", ")
            ),
            ErrorKind::NoWasi { imports } => write!(
                f,
                "it imports WASI ({}), and this build of xxlang-plugin has no WASI support \
                 (enable the `wasi` feature)",
                imports.join(", ")
            ),
            ErrorKind::Instantiation { reason } => write!(f, "cannot instantiate: {reason}"),
            ErrorKind::Metadata { export, reason } => write!(f, "export `{export}`: {reason}"),
            ErrorKind::Manifest {
                line: Some(line),
                reason,
            } => write!(f, "manifest line {line}: {reason}"),
            ErrorKind::Manifest { line: None, reason } => write!(f, "manifest: {reason}"),
            ErrorKind::UnsupportedAbi { version, supported } => write!(
                f,
                "built for plugin ABI {version}; this host supports ABI 1 to {supported} \
                 (upgrade xxlang-plugin)"
            ),
            ErrorKind::Arity {
                expected,
                got,
                signature,
            } => write!(f, "expected {expected}, got {got} ({function}{signature})"),
            ErrorKind::Type {
                position,
                expected,
                got,
            } => write!(f, "argument {position} must be {expected}, got {got}"),
            ErrorKind::Signature { requested, found } => write!(
                f,
                "a typed handle of {requested} does not fit {function}{found}"
            ),
            ErrorKind::Trap { message } => write!(f, "trap: {message}"),
            ErrorKind::Limit(limit) => write!(f, "{limit}"),
            ErrorKind::Reentrant => write!(
                f,
                "{plugin} is inside a host function and this call would wait on it; a plugin \
                 cannot be re-entered while it runs a host function (from that thread or \
                 another)"
            ),
            ErrorKind::Guest { message } => f.write_str(message),
            ErrorKind::Builtin { builtin, message } => {
                let named = message
                    .strip_prefix(builtin.as_str())
                    .is_some_and(|rest| rest.starts_with([':', '.']));
                match named {
                    true => f.write_str(message),
                    false => write!(f, "{builtin}: {message}"),
                }
            }
            ErrorKind::Host { function, message } => {
                write!(f, "host function {function} failed: {message}")
            }
            ErrorKind::Abi { reason } => write!(f, "ABI violation: {reason}"),
            ErrorKind::Closed => match &e.plugin {
                Some(plugin) => write!(f, "plugin {plugin} is closed"),
                None => f.write_str("the plugin is closed"),
            },
            // Written above.
            #[cfg(feature = "std")]
            ErrorKind::NotFound { .. } | ErrorKind::Io => Ok(()),
            ErrorKind::InvalidName { .. }
            | ErrorKind::InvalidPath { .. }
            | ErrorKind::Circular
            | ErrorKind::NoSuchFunction => Ok(()),
        }
    }
}

/// The message first, then the parts: `Error { message: "...", kind: ..., plugin: ..., ... }`
/// (parts that are not set are left out).
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let e = &*self.0;
        let mut d = f.debug_struct("Error");
        d.field("message", &alloc::format!("{self}"));
        d.field("kind", &e.kind);
        if let Some(plugin) = &e.plugin {
            d.field("plugin", plugin);
        }
        if let Some(function) = &e.function {
            d.field("function", function);
        }
        if let Some(file) = &e.file {
            d.field("file", file);
        }
        if let Some(source) = &e.source {
            d.field("source", source);
        }
        if e.reset {
            d.field("instance_reset", &true);
        }
        d.finish()
    }
}

/// [`source()`](core::error::Error::source) is the error underneath, when there is one: the
/// [`wasmi::Error`] of an invalid module, a failed instantiation or a trap; the
/// `std::io::Error` of a file that cannot be read.
///
/// ```
/// use core::error::Error as _;
/// use xxlang_plugin::WasmPlugin;
///
/// let err = WasmPlugin::from_file("plugins/missing.wasm").unwrap_err();
/// let io = err.source().and_then(|s| s.downcast_ref::<std::io::Error>()).unwrap();
/// assert_eq!(io.kind(), std::io::ErrorKind::NotFound);
/// ```
impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match &self.0.source {
            Some(source) => Some(&**source),
            None => None,
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `Result<_, Error>` is cheap to move, and errors cross threads.
    #[test]
    fn small_and_sendable() {
        const { assert!(core::mem::size_of::<Error>() <= 16) };
        assert_eq!(core::mem::size_of::<Error>(), core::mem::size_of::<usize>());
        assert_eq!(
            core::mem::size_of::<Option<Error>>(),
            core::mem::size_of::<Error>()
        );
        fn send_sync<T: Send + Sync + 'static>() {}
        send_sync::<Error>();
        send_sync::<wasmi::Error>();
    }

    /// An error that cost the plugin its instance says so, after whatever the kind says.
    #[test]
    fn a_reset_is_noted() {
        let trap = ErrorKind::Trap {
            message: String::from("boom"),
        };
        let err = Error::call(trap, "p", "f");
        assert!(!err.instance_reset());
        assert_eq!(alloc::format!("{err}"), "p.f: trap: boom");
        let err = err.with_instance_reset();
        assert!(err.instance_reset());
        assert_eq!(
            alloc::format!("{err}"),
            "p.f: trap: boom (plugin restarted, state reset)"
        );
        assert!(alloc::format!("{err:?}").contains("instance_reset: true"));
        let guest = ErrorKind::Guest {
            message: String::from("panicked at src/lib.rs:1:1: no"),
        };
        assert_eq!(
            alloc::format!("{}", Error::call(guest, "p", "f").with_instance_reset()),
            "p.f: panicked at src/lib.rs:1:1: no (plugin restarted, state reset)"
        );
    }

    #[test]
    fn odd_sites_still_read() {
        let kind = ErrorKind::Trap {
            message: String::from("boom"),
        };
        assert_eq!(alloc::format!("{}", Error::new(kind.clone())), "trap: boom");
        assert_eq!(
            alloc::format!("{}", Error::load(kind.clone(), "p", None)),
            "plugin p: trap: boom"
        );
        assert_eq!(
            alloc::format!("{}", Error::new(ErrorKind::Closed)),
            "the plugin is closed"
        );
    }
}
