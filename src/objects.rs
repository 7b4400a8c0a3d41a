//! xxlang values: [`Object`], map keys and modules.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::Builtin;

/// An xxlang value.
///
/// Every variant is cheap to clone: the ones that own data hold it behind an [`Arc`].
/// Errors are values: a failed builtin call returns [`Object::Error`], never panics.
///
/// ```
/// use xxlang_plugin::Object;
///
/// let v = Object::from(vec![Object::from(1), Object::from("two"), Object::Null]);
/// assert_eq!(v.to_string(), r#"[1, "two", null]"#);
/// assert_eq!(Object::from("plain").to_string(), "plain");
/// assert_eq!(Object::error("boom").to_string(), "ERROR: boom");
/// assert_eq!(v.as_array().map(|a| a.len()), Some(3));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub enum Object {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A 64-bit signed integer.
    Int(i64),
    /// A 64-bit float.
    Float(f64),
    /// A UTF-8 string.
    String(Arc<str>),
    /// Raw bytes.
    Bytes(Arc<[u8]>),
    /// An ordered list of values.
    Array(Arc<[Object]>),
    /// A map from hashable keys (int, string, bool) to values, ordered by key.
    Map(Arc<Map>),
    /// A native function.
    Builtin(Builtin),
    /// An error value with its message.
    Error(Arc<str>),
    /// A loaded module: a name and its exports.
    Module(Arc<Module>),
}

/// Why a value could not be encoded to or decoded from MessagePack.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MsgpackError(String);

impl fmt::Display for MsgpackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for MsgpackError {}

/// The contents of an [`Object::Map`]: keys in a deterministic order.
pub type Map = BTreeMap<MapKey, Object>;

/// A key of an [`Object::Map`]: xxlang hashes ints, strings and bools.
///
/// ```
/// use xxlang_plugin::{MapKey, Object};
///
/// assert_eq!(MapKey::try_from(Object::from("a")), Ok(MapKey::from("a")));
/// assert!(MapKey::try_from(Object::Float(1.5)).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MapKey {
    /// A bool key.
    Bool(bool),
    /// An int key.
    Int(i64),
    /// A string key.
    String(Arc<str>),
}

/// A module value: what `import "plugin/NAME"` binds.
///
/// ```
/// use std::collections::BTreeMap;
/// use xxlang_plugin::{Module, Object};
///
/// let mut exports = BTreeMap::new();
/// exports.insert("answer".to_string(), Object::Int(42));
/// let m = Module::new("demo", exports);
/// assert_eq!(m.get("answer"), Some(&Object::Int(42)));
/// assert_eq!(Object::from(m).to_string(), "[module demo]");
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Module {
    name: String,
    exports: BTreeMap<String, Object>,
}

impl Module {
    /// A module named `name` with these exports.
    pub fn new(name: impl Into<String>, exports: BTreeMap<String, Object>) -> Self {
        Self {
            name: name.into(),
            exports,
        }
    }

    /// The module's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// All exports, ordered by name.
    #[must_use]
    pub fn exports(&self) -> &BTreeMap<String, Object> {
        &self.exports
    }

    /// One export by name.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&Object> {
        self.exports.get(name)
    }
}

impl Object {
    /// An [`Object::Error`] with this message.
    pub fn error(message: impl Into<Arc<str>>) -> Self {
        Object::Error(message.into())
    }

    /// The xxlang name of this value's type: `"int"`, `"string"`, `"error"`, ...
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::Int(1).type_name(), "int");
    /// ```
    #[must_use]
    pub fn type_name(&self) -> &'static str {
        match self {
            Object::Null => "null",
            Object::Bool(_) => "bool",
            Object::Int(_) => "int",
            Object::Float(_) => "float",
            Object::String(_) => "string",
            Object::Bytes(_) => "bytes",
            Object::Array(_) => "array",
            Object::Map(_) => "map",
            Object::Builtin(_) => "builtin",
            Object::Error(_) => "error",
            Object::Module(_) => "module",
        }
    }

    /// The int, if this is an [`Object::Int`].
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::Int(7).as_int(), Some(7));
    /// assert_eq!(xxlang_plugin::Object::Null.as_int(), None);
    /// ```
    #[must_use]
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Object::Int(v) => Some(*v),
            _ => None,
        }
    }

    /// The float, if this is an [`Object::Float`].
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::Float(1.5).as_float(), Some(1.5));
    /// ```
    #[must_use]
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Object::Float(v) => Some(*v),
            _ => None,
        }
    }

    /// The bool, if this is an [`Object::Bool`].
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::Bool(true).as_bool(), Some(true));
    /// ```
    #[must_use]
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Object::Bool(v) => Some(*v),
            _ => None,
        }
    }

    /// The string, if this is an [`Object::String`].
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::from("hi").as_str(), Some("hi"));
    /// ```
    #[must_use]
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Object::String(v) => Some(v),
            _ => None,
        }
    }

    /// The bytes, if this is an [`Object::Bytes`].
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::from(vec![1u8, 2]).as_bytes(), Some(&[1u8, 2][..]));
    /// ```
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Object::Bytes(v) => Some(v),
            _ => None,
        }
    }

    /// The elements, if this is an [`Object::Array`].
    ///
    /// ```
    /// let a = xxlang_plugin::Object::from(vec![xxlang_plugin::Object::Int(1)]);
    /// assert_eq!(a.as_array(), Some(&[xxlang_plugin::Object::Int(1)][..]));
    /// ```
    #[must_use]
    pub fn as_array(&self) -> Option<&[Object]> {
        match self {
            Object::Array(v) => Some(v),
            _ => None,
        }
    }

    /// The entries, if this is an [`Object::Map`].
    ///
    /// ```
    /// use xxlang_plugin::{Map, MapKey, Object};
    /// let mut m = Map::new();
    /// m.insert(MapKey::from("k"), Object::Int(1));
    /// assert_eq!(Object::from(m).as_map().map(|m| m.len()), Some(1));
    /// ```
    #[must_use]
    pub fn as_map(&self) -> Option<&Map> {
        match self {
            Object::Map(v) => Some(v),
            _ => None,
        }
    }

    /// The builtin, if this is an [`Object::Builtin`].
    ///
    /// ```
    /// use xxlang_plugin::{Builtin, Object};
    /// let b = Object::Builtin(Builtin::new("one", |_| Object::Int(1)));
    /// assert_eq!(b.as_builtin().map(|b| b.call(&[])), Some(Object::Int(1)));
    /// ```
    #[must_use]
    pub fn as_builtin(&self) -> Option<&Builtin> {
        match self {
            Object::Builtin(v) => Some(v),
            _ => None,
        }
    }

    /// The module, if this is an [`Object::Module`].
    ///
    /// ```
    /// use xxlang_plugin::{Module, Object};
    /// let m = Object::from(Module::new("m", Default::default()));
    /// assert_eq!(m.as_module().map(|m| m.name()), Some("m"));
    /// ```
    #[must_use]
    pub fn as_module(&self) -> Option<&Module> {
        match self {
            Object::Module(v) => Some(v),
            _ => None,
        }
    }

    /// Whether this is an [`Object::Error`].
    ///
    /// ```
    /// assert!(xxlang_plugin::Object::error("x").is_error());
    /// ```
    #[must_use]
    pub fn is_error(&self) -> bool {
        matches!(self, Object::Error(_))
    }

    /// The MessagePack encoding of this value: the encoding of nested values in the plugin ABI
    /// (docs/ABI.md §5). Builtins, errors and modules have none.
    ///
    /// ```
    /// use xxlang_plugin::Object;
    /// let v = Object::from(vec![Object::Int(1), Object::from("a")]);
    /// let bytes = v.to_msgpack().unwrap();
    /// assert_eq!(bytes, [0x92, 0x01, 0xa1, b'a']);
    /// assert_eq!(Object::from_msgpack(&bytes), Ok(v));
    /// ```
    pub fn to_msgpack(&self) -> Result<Vec<u8>, MsgpackError> {
        let mut out = Vec::new();
        crate::msgpack::encode(self, &crate::Type::Any, &mut out).map_err(|m| {
            MsgpackError(if m.path.is_empty() {
                alloc::format!("a {} has no MessagePack encoding", m.found)
            } else {
                alloc::format!("the {} at {} has no MessagePack encoding", m.found, m.path)
            })
        })?;
        Ok(out)
    }

    /// Decodes one MessagePack value, with the limits of the plugin ABI: nesting depth, lengths
    /// checked against the bytes present, UTF-8 strings, int/string/bool map keys without
    /// repeats, nothing after the value.
    ///
    /// ```
    /// use xxlang_plugin::Object;
    /// assert_eq!(Object::from_msgpack(&[0xc3]), Ok(Object::Bool(true)));
    /// assert!(Object::from_msgpack(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
    /// ```
    pub fn from_msgpack(bytes: &[u8]) -> Result<Object, MsgpackError> {
        crate::msgpack::decode(bytes, &crate::Type::Any, usize::MAX).map_err(MsgpackError)
    }

    /// The message, if this is an [`Object::Error`].
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::Object::error("bad").error_message(), Some("bad"));
    /// ```
    #[must_use]
    pub fn error_message(&self) -> Option<&str> {
        match self {
            Object::Error(v) => Some(v),
            _ => None,
        }
    }
}

/// The printed form of a string inside an array or map: quoted, with escapes, so that
/// `["a, b"]` and `["a", "b"]` print differently.
fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

/// Floats always print as floats: `1.0`, not `1`, so they never read as ints; the shortest
/// form that reads back exactly; exponents for very large and very small magnitudes (`1e300`).
fn write_float(f: &mut fmt::Formatter<'_>, v: f64) -> fmt::Result {
    let magnitude = if v < 0.0 { -v } else { v };
    if v.is_nan() {
        f.write_str("nan")
    } else if v.is_infinite() {
        f.write_str(if v > 0.0 { "inf" } else { "-inf" })
    } else if magnitude >= 1e16 || (magnitude < 1e-5 && v != 0.0) {
        write!(f, "{v:e}")
    } else if (v as i64) as f64 == v {
        write!(f, "{v:.1}")
    } else {
        write!(f, "{v}")
    }
}

/// An element of an array or map: strings quoted, everything else as at top level.
struct Nested<'a>(&'a Object);

impl fmt::Display for Nested<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Object::String(s) => write_quoted(f, s),
            other => fmt::Display::fmt(other, f),
        }
    }
}

/// xxlang's printed form: `null`, `true`, `42`, `1.5`, strings as they are, `[1, 2]`,
/// `{"a": 1}`, `Bytes(len=N)`, `ERROR: msg`, `[module fib]`, `[builtin fib.fast]`.
impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Object::Null => f.write_str("null"),
            Object::Bool(v) => write!(f, "{v}"),
            Object::Int(v) => write!(f, "{v}"),
            Object::Float(v) => write_float(f, *v),
            Object::String(v) => f.write_str(v),
            Object::Bytes(v) => write!(f, "Bytes(len={})", v.len()),
            Object::Array(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Nested(item))?;
                }
                f.write_str("]")
            }
            Object::Map(map) => {
                f.write_str("{")?;
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {}", Nested(v))?;
                }
                f.write_str("}")
            }
            Object::Builtin(b) => write!(f, "[builtin {}]", b.name()),
            Object::Error(msg) => write!(f, "ERROR: {msg}"),
            Object::Module(m) => write!(f, "[module {}]", m.name()),
        }
    }
}

impl fmt::Display for MapKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MapKey::Bool(v) => write!(f, "{v}"),
            MapKey::Int(v) => write!(f, "{v}"),
            MapKey::String(v) => write_quoted(f, v),
        }
    }
}

impl From<bool> for Object {
    fn from(v: bool) -> Self {
        Object::Bool(v)
    }
}

impl From<i64> for Object {
    fn from(v: i64) -> Self {
        Object::Int(v)
    }
}

impl From<i32> for Object {
    fn from(v: i32) -> Self {
        Object::Int(i64::from(v))
    }
}

impl From<f64> for Object {
    fn from(v: f64) -> Self {
        Object::Float(v)
    }
}

impl From<&str> for Object {
    fn from(v: &str) -> Self {
        Object::String(v.into())
    }
}

impl From<String> for Object {
    fn from(v: String) -> Self {
        Object::String(v.into())
    }
}

impl From<&[u8]> for Object {
    fn from(v: &[u8]) -> Self {
        Object::Bytes(v.into())
    }
}

impl From<Vec<u8>> for Object {
    fn from(v: Vec<u8>) -> Self {
        Object::Bytes(v.into())
    }
}

impl From<Map> for Object {
    fn from(v: Map) -> Self {
        Object::Map(Arc::new(v))
    }
}

impl From<Builtin> for Object {
    fn from(v: Builtin) -> Self {
        Object::Builtin(v)
    }
}

impl From<Module> for Object {
    fn from(v: Module) -> Self {
        Object::Module(Arc::new(v))
    }
}

impl FromIterator<Object> for Object {
    /// Collects into an [`Object::Array`].
    fn from_iter<I: IntoIterator<Item = Object>>(iter: I) -> Self {
        Object::Array(iter.into_iter().collect())
    }
}

impl From<&str> for MapKey {
    fn from(v: &str) -> Self {
        MapKey::String(v.into())
    }
}

impl From<i64> for MapKey {
    fn from(v: i64) -> Self {
        MapKey::Int(v)
    }
}

impl From<bool> for MapKey {
    fn from(v: bool) -> Self {
        MapKey::Bool(v)
    }
}

impl From<MapKey> for Object {
    fn from(k: MapKey) -> Self {
        match k {
            MapKey::Bool(v) => Object::Bool(v),
            MapKey::Int(v) => Object::Int(v),
            MapKey::String(v) => Object::String(v),
        }
    }
}

impl TryFrom<Object> for MapKey {
    /// The value back, when its type cannot be a key.
    type Error = Object;

    fn try_from(v: Object) -> Result<Self, Object> {
        match v {
            Object::Bool(v) => Ok(MapKey::Bool(v)),
            Object::Int(v) => Ok(MapKey::Int(v)),
            Object::String(v) => Ok(MapKey::String(v)),
            other => Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn printed_forms() {
        assert_eq!(Object::Null.to_string(), "null");
        assert_eq!(Object::Bool(true).to_string(), "true");
        assert_eq!(Object::Int(-42).to_string(), "-42");
        assert_eq!(Object::Float(1.5).to_string(), "1.5");
        assert_eq!(Object::Float(2.0).to_string(), "2.0");
        assert_eq!(Object::Float(-0.25).to_string(), "-0.25");
        assert_eq!(Object::Float(1e300).to_string(), "1e300");
        assert_eq!(Object::Float(-1.5e20).to_string(), "-1.5e20");
        assert_eq!(Object::Float(1e-7).to_string(), "1e-7");
        assert_eq!(Object::Float(0.001).to_string(), "0.001");
        assert_eq!(Object::Float(0.0).to_string(), "0.0");
        assert_eq!(Object::Float(0.1 + 0.2).to_string(), "0.30000000000000004");
        assert_eq!(Object::Float(f64::NAN).to_string(), "nan");
        assert_eq!(Object::Float(f64::NEG_INFINITY).to_string(), "-inf");
        assert_eq!(Object::from("a\"b").to_string(), "a\"b");
        assert_eq!(Object::from(vec![1u8, 2, 3]).to_string(), "Bytes(len=3)");
        assert_eq!(
            Object::from(vec![Object::Int(1), Object::Int(2)]).to_string(),
            "[1, 2]"
        );
        assert_eq!(
            Object::from(vec![Object::from("a\n\"b\""), Object::Float(3.0)]).to_string(),
            r#"["a\n\"b\"", 3.0]"#
        );
        let mut m = Map::new();
        m.insert(MapKey::from("b"), Object::Int(2));
        m.insert(MapKey::from("a"), Object::from("x"));
        m.insert(MapKey::Int(1), Object::Bool(false));
        assert_eq!(
            Object::from(m).to_string(),
            r#"{1: false, "a": "x", "b": 2}"#
        );
        assert_eq!(Object::error("bad").to_string(), "ERROR: bad");
        assert_eq!(
            Object::from(Module::new("fib", BTreeMap::new())).to_string(),
            "[module fib]"
        );
        assert_eq!(Object::from(Vec::<Object>::new()).to_string(), "[]");
    }

    #[test]
    fn accessors_reject_other_types() {
        let s = Object::from("x");
        assert_eq!(s.as_int(), None);
        assert_eq!(s.as_float(), None);
        assert_eq!(s.as_bool(), None);
        assert_eq!(s.as_bytes(), None);
        assert_eq!(s.as_array(), None);
        assert!(s.as_builtin().is_none());
        assert!(!s.is_error());
        assert_eq!(s.error_message(), None);
        assert_eq!(Object::Int(1).as_str(), None);
    }

    #[test]
    fn equality_is_by_value_for_data_and_nan_is_unequal() {
        assert_eq!(Object::from("a"), Object::from(String::from("a")));
        assert_ne!(Object::Int(1), Object::Float(1.0));
        assert_ne!(Object::Float(f64::NAN), Object::Float(f64::NAN));
        let b = Builtin::new("x", |_| Object::Null);
        assert_eq!(Object::Builtin(b.clone()), Object::Builtin(b));
        assert_ne!(
            Object::Builtin(Builtin::new("x", |_| Object::Null)),
            Object::Builtin(Builtin::new("x", |_| Object::Null))
        );
    }

    #[test]
    fn objects_are_small_and_thread_safe() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Object>();
        assert!(core::mem::size_of::<Object>() <= 24);
    }
}
