//! [`Builtin`]: a native function scripts can call.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

use crate::{Error, ErrorKind, Object, Signature};

/// The shared part of a builtin: its name and signature, then the function itself, unsized, so
/// that a builtin is one allocation and one indirect call.
struct Inner<F: ?Sized> {
    name: Box<str>,
    signature: Option<Arc<Signature>>,
    /// The same function, its error as an [`Error`] (a plugin's functions have one).
    fallible: Option<Fallible>,
    func: F,
}

type DynFn = dyn Fn(&[Object]) -> Object + Send + Sync;

/// A function whose error is an [`Error`], not a value.
pub(crate) type Fallible = Arc<dyn Fn(&[Object]) -> Result<Object, Error> + Send + Sync>;

/// A native function that takes and returns [`Object`]s.
///
/// Cloning is cheap (one reference count). A builtin never panics on bad input: it returns an
/// [`Object::Error`] whose message names the function and what was wrong.
///
/// ```
/// use xxlang_plugin::{Builtin, Object};
///
/// let double = Builtin::new("double", |args| match args {
///     [Object::Int(n)] => Object::Int(n.wrapping_mul(2)),
///     _ => Object::error("double: expected 1 int"),
/// });
/// assert_eq!(double.call(&[Object::Int(21)]), Object::Int(42));
/// assert!(double.call(&[]).is_error());
/// assert_eq!(double.name(), "double");
/// ```
#[derive(Clone)]
pub struct Builtin(Arc<Inner<DynFn>>);

impl Builtin {
    /// A builtin named `name` that runs `func`.
    pub fn new(
        name: impl Into<String>,
        func: impl Fn(&[Object]) -> Object + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Inner {
            name: name.into().into_boxed_str(),
            signature: None,
            fallible: None,
            func,
        }))
    }

    /// A builtin with a [`Signature`], so that `help()` and `inspect` can show it.
    ///
    /// The signature describes the function; checking arguments against it is up to `func`.
    ///
    /// ```
    /// use xxlang_plugin::{Builtin, Object, Param, Signature, Type};
    ///
    /// let sig = Signature::new(vec![Param::named("x", Type::Int)], Type::Int);
    /// let id = Builtin::with_signature("id", sig, |args| args.first().cloned().unwrap_or(Object::Null));
    /// assert_eq!(id.signature().map(|s| s.to_string()).as_deref(), Some("(x: int) -> int"));
    /// ```
    pub fn with_signature(
        name: impl Into<String>,
        signature: Signature,
        func: impl Fn(&[Object]) -> Object + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(Inner {
            name: name.into().into_boxed_str(),
            signature: Some(Arc::new(signature)),
            fallible: None,
            func,
        }))
    }

    /// A plugin function's builtin: `func` for [`call`](Builtin::call), `fallible` (the same
    /// call, its error an [`Error`]) for [`try_call`](Builtin::try_call).
    pub(crate) fn of_plugin(
        name: String,
        signature: Arc<Signature>,
        func: impl Fn(&[Object]) -> Object + Send + Sync + 'static,
        fallible: Fallible,
    ) -> Self {
        Self(Arc::new(Inner {
            name: name.into_boxed_str(),
            signature: Some(signature),
            fallible: Some(fallible),
            func,
        }))
    }

    /// Calls the function. Errors come back as [`Object::Error`] values.
    #[inline]
    #[must_use]
    pub fn call(&self, args: &[Object]) -> Object {
        (self.0.func)(args)
    }

    /// Calls the function, its error as an [`Error`]: a plugin function's own (with its
    /// [`ErrorKind`](crate::ErrorKind): a trap, a limit, a wrong argument, ...), or for
    /// another builtin the Error value it returned, as [`ErrorKind::Builtin`](crate::ErrorKind::Builtin).
    ///
    /// ```
    /// use xxlang_plugin::{ErrorKind, Limit, Object, Plugin, WasmPlugin};
    ///
    /// let fib = WasmPlugin::from_file("plugins/fib.wasm")?;
    /// let fast = fib.exports()["fast"].as_builtin().cloned().expect("fib exports fast");
    /// assert_eq!(fast.try_call(&[Object::Int(10)])?, Object::Int(55));
    /// let err = fast.try_call(&[Object::from("ten")]).unwrap_err();
    /// assert!(matches!(err.kind(), ErrorKind::Type { position: 1, .. }));
    /// assert_eq!(err.function(), Some("fast"));
    /// # Ok::<(), xxlang_plugin::Error>(())
    /// ```
    pub fn try_call(&self, args: &[Object]) -> Result<Object, Error> {
        if let Some(fallible) = &self.0.fallible {
            return fallible(args);
        }
        match self.call(args) {
            Object::Error(message) => Err(Error::new(ErrorKind::Builtin {
                builtin: String::from(self.name()),
                message: String::from(&*message),
            })),
            value => Ok(value),
        }
    }

    /// The builtin's name; for plugin functions, `plugin.function` (e.g. `fib.fast`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.0.name
    }

    /// The declared or planned signature, if known.
    #[must_use]
    pub fn signature(&self) -> Option<&Signature> {
        self.0.signature.as_deref()
    }

    /// The one-line doc, if the plugin declares one.
    #[must_use]
    pub fn doc(&self) -> Option<&str> {
        self.0.signature.as_deref().and_then(|s| s.doc.as_deref())
    }
}

/// Builtins are equal when they are the same function (clones of one another).
impl PartialEq for Builtin {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl fmt::Debug for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signature() {
            Some(sig) => write!(f, "Builtin({}{sig})", self.name()),
            None => write!(f, "Builtin({})", self.name()),
        }
    }
}

/// `name(params) -> result`, or just the name when no signature is known.
impl fmt::Display for Builtin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.signature() {
            Some(sig) => write!(f, "{}{sig}", self.name()),
            None => f.write_str(self.name()),
        }
    }
}
