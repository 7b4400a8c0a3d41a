//! [`HostFunction`]: a function of the embedder's that plugins can call.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use crate::{Object, Signature};

type Func = dyn Fn(&HostCall<'_>, &[Object]) -> Result<Object, String> + Send + Sync;

/// A function of the embedder's that plugins can call, with a declared [`Signature`].
///
/// A plugin imports it from the module `xxhost` under its name, with the wasm type the typed
/// ABI gives its signature (docs/ABI.md, "Host functions"). The host checks the arguments
/// against the signature before calling it, and its result after; an `Err` (or a panic) ends
/// the plugin's call with that function's error, [`ErrorKind::Host`](crate::ErrorKind::Host):
/// `plugin.function: host function NAME failed: MESSAGE`.
///
/// ```
/// use xxlang_plugin::{Config, HostFunction, Object, Param, Signature, Type};
///
/// let lookup = HostFunction::new(
///     "lookup",
///     Signature::new(vec![Param::named("key", Type::String)], Type::String),
///     |call, args| match args {
///         [key] if key.as_str() == Some("greeting") => Ok(Object::from("hello")),
///         [key] => Err(format!("{}: no key {key}", call.plugin())),
///         _ => unreachable!("the host checks arguments against the signature"),
///     },
/// );
/// let config = Config::new().host_function(lookup);
/// # let _ = config;
/// ```
#[derive(Clone)]
pub struct HostFunction {
    name: Arc<str>,
    signature: Signature,
    func: Arc<Func>,
}

/// What a host function knows about the call it serves.
#[derive(Debug)]
pub struct HostCall<'a> {
    pub(crate) plugin: &'a str,
}

impl HostCall<'_> {
    /// The name of the plugin calling.
    #[must_use]
    pub fn plugin(&self) -> &str {
        self.plugin
    }
}

impl HostFunction {
    /// A host function named `name` (an identifier) with this signature.
    pub fn new(
        name: impl Into<String>,
        signature: Signature,
        func: impl Fn(&HostCall<'_>, &[Object]) -> Result<Object, String> + Send + Sync + 'static,
    ) -> Self {
        let name: String = name.into();
        Self {
            name: name.into(),
            signature,
            func: Arc::new(func),
        }
    }

    /// Its name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its signature.
    #[must_use]
    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    pub(crate) fn invoke(&self, call: &HostCall<'_>, args: &[Object]) -> Result<Object, String> {
        (self.func)(call, args)
    }
}

impl fmt::Debug for HostFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HostFunction({}{})", self.name, self.signature)
    }
}
