//! The [`Plugin`] trait and [`to_module`].

use alloc::collections::BTreeMap;
use alloc::string::String;

use crate::{Error, Module, Object};

/// Anything that can be imported as `plugin/NAME`: a name and a set of exported values.
///
/// Object-safe, `Send + Sync`: plugins are shared as `Arc<dyn Plugin>` across threads.
///
/// ```
/// use std::collections::BTreeMap;
/// use xxlang_plugin::{to_module, Builtin, Object, Plugin};
///
/// struct Hello;
/// impl Plugin for Hello {
///     fn name(&self) -> &str { "hello" }
///     fn exports(&self) -> BTreeMap<String, Object> {
///         let greet = Builtin::new("hello.greet", |_| Object::from("hi"));
///         BTreeMap::from([("greet".to_string(), Object::from(greet))])
///     }
/// }
///
/// let module = to_module(&Hello);
/// assert_eq!(module.to_string(), "[module hello]");
/// ```
pub trait Plugin: Send + Sync {
    /// The plugin's name, as it declares it.
    fn name(&self) -> &str;

    /// The values scripts can use, by name. Implementations build these once and hand out
    /// clones (cheap: builtins are reference-counted).
    fn exports(&self) -> BTreeMap<String, Object>;

    /// Releases the plugin's resources. Afterwards its builtins return an Error value.
    /// Closing one plugin affects no other.
    fn close(&self) -> Result<(), Error> {
        Ok(())
    }

    /// Whether [`Plugin::close`] has been called.
    fn is_closed(&self) -> bool {
        false
    }
}

/// `Plugin(name)`, so that `Arc<dyn Plugin>` and results holding one can be printed.
impl core::fmt::Debug for dyn Plugin {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Plugin({})", self.name())
    }
}

/// The script module for a plugin: `[module NAME]` with the plugin's exports.
///
/// ```
/// # use std::collections::BTreeMap;
/// # use xxlang_plugin::{to_module, Object, Plugin};
/// # struct Empty;
/// # impl Plugin for Empty {
/// #     fn name(&self) -> &str { "empty" }
/// #     fn exports(&self) -> BTreeMap<String, Object> { BTreeMap::new() }
/// # }
/// let m = to_module(&Empty);
/// assert_eq!(m.as_module().map(|m| m.exports().len()), Some(0));
/// ```
pub fn to_module(plugin: &dyn Plugin) -> Object {
    Object::from(Module::new(plugin.name(), plugin.exports()))
}

/// The longest plugin name, in bytes (a declared one, from a manifest or `plugin_name`, too).
pub(crate) const NAME_LIMIT: usize = 128;

/// Checks that `name` is a plain plugin name: 1 to 128 ASCII letters, digits, `_` or `-`, not
/// starting with `-`. Names like `../x`, `/x`, `x/y` or `x.wasm` are rejected.
pub(crate) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(String::from("it is empty"));
    }
    if name.len() > NAME_LIMIT {
        return Err(alloc::format!("it is longer than {NAME_LIMIT} bytes"));
    }
    if name.starts_with('-') {
        return Err(String::from("it starts with `-`"));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(alloc::format!(
            "{c:?} is not allowed (use letters, digits, `_` and `-`)"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::check_name;

    #[test]
    fn plain_names_only() {
        for ok in ["fib", "test_plugin", "my-plugin", "x1", "_"] {
            assert_eq!(check_name(ok), Ok(()), "{ok}");
        }
        for bad in [
            "", "../x", "/x", "x/y", "x.wasm", "-x", "a b", "é", "x\\y", "..",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
        assert!(check_name(&"a".repeat(129)).is_err());
    }
}
