//! Conversions between [`Object`]s and Rust values: `From` into an `Object`, and `TryFrom`
//! back (from an `Object`, or borrowing from an `&Object`), failing with a
//! [`ConversionError`] that says what was expected and what was found.
//!
//! ```
//! use std::collections::BTreeMap;
//! use xxlang_plugin::{ConversionError, Object};
//!
//! let scores = Object::from(BTreeMap::from([("ada", 36_i64), ("alan", 41)]));
//! let ada = scores.get("ada").expect("a key");
//! assert_eq!(i64::try_from(ada), Ok(36));
//!
//! let list = Object::from(vec![1_i64, 2, 3]);
//! assert_eq!(Vec::<i64>::try_from(&list), Ok(vec![1, 2, 3]));
//!
//! let err = String::try_from(Object::Int(7)).unwrap_err();
//! assert_eq!(err.to_string(), "expected a string, found an int (7)");
//! ```

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use crate::{Builtin, Map, MapKey, Module, Object};

/// Why an [`Object`] did not convert to a Rust value: the type expected, what was found, and
/// where in a nested value (an array index or a map key), if not at the top.
///
/// ```
/// use xxlang_plugin::Object;
///
/// let mixed = Object::from(vec![Object::Int(1), Object::from("two")]);
/// let err = Vec::<i64>::try_from(&mixed).unwrap_err();
/// assert_eq!(err.expected(), "an int");
/// assert_eq!(err.found(), "a string");
/// assert_eq!(err.to_string(), r#"at [1]: expected an int, found a string ("two")"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConversionError {
    expected: &'static str,
    found: &'static str,
    /// The value found, when it is short enough to show.
    shown: Option<String>,
    /// Where, outermost first: `[1]`, `["key"]`.
    path: Vec<String>,
}

impl ConversionError {
    fn new(expected: &'static str, found: &Object) -> Self {
        Self {
            expected,
            found: article(found.type_name()),
            shown: short(found),
            path: Vec::new(),
        }
    }

    /// What the conversion needed: `"an int"`, `"a string"`, ...
    #[must_use]
    pub fn expected(&self) -> &'static str {
        self.expected
    }

    /// The type found instead: `"a float"`, `"null"`, ...
    #[must_use]
    pub fn found(&self) -> &'static str {
        self.found
    }

    fn at(mut self, step: String) -> Self {
        self.path.insert(0, step);
        self
    }
}

impl fmt::Display for ConversionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.path.is_empty() {
            f.write_str("at ")?;
            for step in &self.path {
                f.write_str(step)?;
            }
            f.write_str(": ")?;
        }
        write!(f, "expected {}, found {}", self.expected, self.found)?;
        match &self.shown {
            Some(shown) => write!(f, " ({shown})"),
            None => Ok(()),
        }
    }
}

impl core::error::Error for ConversionError {}

/// A type name with its article, as messages say it.
fn article(type_name: &'static str) -> &'static str {
    match type_name {
        "int" => "an int",
        "float" => "a float",
        "bool" => "a bool",
        "string" => "a string",
        "bytes" => "bytes",
        "array" => "an array",
        "map" => "a map",
        "builtin" => "a builtin",
        "error" => "an error",
        "module" => "a module",
        "null" => "null",
        _ => "a value of another type",
    }
}

/// The value, printed, when it is short.
fn short(v: &Object) -> Option<String> {
    match v {
        Object::Bool(_) | Object::Int(_) | Object::Float(_) => Some(alloc::format!("{v}")),
        Object::String(s) if s.len() <= 24 => Some(alloc::format!("{:?}", &**s)),
        Object::Error(s) if s.len() <= 40 => Some(alloc::format!("{:?}", &**s)),
        _ => None,
    }
}

// ---- into an Object ----

impl From<u32> for Object {
    fn from(v: u32) -> Self {
        Object::Int(i64::from(v))
    }
}

/// Ints that fit an `i64` as they are (not `u8`: a `Vec<u8>` is bytes, not an array).
macro_rules! small_int_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Object {
            fn from(v: $t) -> Self {
                Object::Int(i64::from(v))
            }
        }
    )*};
}

small_int_from!(i8, i16, u16);

impl From<f32> for Object {
    fn from(v: f32) -> Self {
        Object::Float(f64::from(v))
    }
}

impl From<&String> for Object {
    fn from(v: &String) -> Self {
        Object::String(v.as_str().into())
    }
}

impl From<Arc<str>> for Object {
    fn from(v: Arc<str>) -> Self {
        Object::String(v)
    }
}

impl From<Box<str>> for Object {
    fn from(v: Box<str>) -> Self {
        Object::String(v.into())
    }
}

impl From<Arc<[u8]>> for Object {
    fn from(v: Arc<[u8]>) -> Self {
        Object::Bytes(v)
    }
}

impl From<()> for Object {
    /// `null`.
    fn from((): ()) -> Self {
        Object::Null
    }
}

impl<T: Into<Object>> From<Option<T>> for Object {
    /// The value, or `null` for `None`.
    fn from(v: Option<T>) -> Self {
        v.map_or(Object::Null, Into::into)
    }
}

impl<T: Into<Object>> From<Vec<T>> for Object {
    /// An [`Object::Array`] of the values, each converted (`Vec<Vec<i64>>`,
    /// `Vec<Option<String>>`, `Vec<Object>` ...); a `Vec<u8>` is [`Object::Bytes`].
    fn from(v: Vec<T>) -> Self {
        v.into_iter().map(Into::into).collect()
    }
}

impl<T: Clone + Into<Object>> From<&[T]> for Object {
    /// An [`Object::Array`] of the values, each converted; a `&[u8]` is [`Object::Bytes`].
    fn from(v: &[T]) -> Self {
        v.iter().cloned().map(Into::into).collect()
    }
}

/// Maps of Rust values, by key type (a [`Map`] is an [`Object::Map`] as it is).
macro_rules! map_from {
    ($($k:ty),*) => {$(
        impl<V: Into<Object>> From<BTreeMap<$k, V>> for Object {
            /// An [`Object::Map`] of the entries.
            fn from(v: BTreeMap<$k, V>) -> Self {
                map_of(v)
            }
        }

        #[cfg(feature = "std")]
        impl<V: Into<Object>, S> From<std::collections::HashMap<$k, V, S>> for Object {
            /// An [`Object::Map`] of the entries (in key order, as every map).
            fn from(v: std::collections::HashMap<$k, V, S>) -> Self {
                map_of(v)
            }
        }
    )*};
}

map_from!(String, &str, i64, bool);

#[cfg(feature = "std")]
impl<S> From<std::collections::HashMap<MapKey, Object, S>> for Object {
    /// An [`Object::Map`] of the entries (in key order, as every map).
    fn from(v: std::collections::HashMap<MapKey, Object, S>) -> Self {
        Object::Map(Arc::new(v.into_iter().collect()))
    }
}

fn map_of<K: Into<MapKey>, V: Into<Object>>(entries: impl IntoIterator<Item = (K, V)>) -> Object {
    let map: Map = entries
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    Object::Map(Arc::new(map))
}

impl From<String> for MapKey {
    fn from(v: String) -> Self {
        MapKey::String(v.into())
    }
}

impl From<&String> for MapKey {
    fn from(v: &String) -> Self {
        MapKey::String(v.as_str().into())
    }
}

impl From<Arc<str>> for MapKey {
    fn from(v: Arc<str>) -> Self {
        MapKey::String(v)
    }
}

impl From<i32> for MapKey {
    fn from(v: i32) -> Self {
        MapKey::Int(i64::from(v))
    }
}

// ---- out of an Object ----

/// `TryFrom<Object>` and `TryFrom<&Object>` for a value type copied or cloned out.
macro_rules! value_from {
    ($t:ty, $expected:literal, |$v:ident| $pick:expr) => {
        impl TryFrom<&Object> for $t {
            type Error = ConversionError;

            fn try_from($v: &Object) -> Result<Self, ConversionError> {
                $pick.ok_or_else(|| ConversionError::new($expected, $v))
            }
        }

        impl TryFrom<Object> for $t {
            type Error = ConversionError;

            fn try_from(v: Object) -> Result<Self, ConversionError> {
                <$t>::try_from(&v)
            }
        }
    };
}

value_from!(i64, "an int", |v| v.as_int());
value_from!(bool, "a bool", |v| v.as_bool());
value_from!(
    f64,
    "a float (or an int that converts exactly)",
    |v| match v {
        Object::Float(f) => Some(*f),
        // Ints up to 2^53 are exactly floats; xxlang passes an int where a float is asked.
        Object::Int(i) if i.unsigned_abs() <= 1 << 53 => Some(*i as f64),
        _ => None,
    }
);
value_from!(Builtin, "a builtin", |v| v.as_builtin().cloned());
value_from!(f32, "a float that converts to f32 exactly", |v| match v {
    Object::Float(f) if f64::from(*f as f32) == *f || f.is_nan() => Some(*f as f32),
    Object::Int(i) if i.unsigned_abs() <= 1 << 24 => Some(*i as f32),
    _ => None,
});

/// Narrower ints: the value when it is an int in the type's range (not `u8`: a `Vec<u8>` is
/// bytes).
macro_rules! narrow_int {
    ($($t:ty => $expected:literal),*) => {$(
        value_from!($t, $expected, |v| v.as_int().and_then(|i| <$t>::try_from(i).ok()));
    )*};
}

narrow_int!(
    i32 => "an int in i32 range",
    u32 => "an int in u32 range",
    u64 => "a non-negative int",
    usize => "a non-negative int that fits usize",
    i16 => "an int in i16 range",
    u16 => "an int in u16 range",
    i8 => "an int in i8 range"
);
value_from!(Map, "a map", |v| v.as_map().cloned());
value_from!(Vec<u8>, "bytes", |v| v.as_bytes().map(<[u8]>::to_vec));
value_from!(Vec<Object>, "an array", |v| v
    .as_array()
    .map(<[Object]>::to_vec));
value_from!(Arc<[u8]>, "bytes", |v| match v {
    Object::Bytes(b) => Some(b.clone()),
    _ => None,
});

impl TryFrom<Object> for String {
    type Error = ConversionError;

    fn try_from(v: Object) -> Result<Self, ConversionError> {
        String::try_from(&v)
    }
}

impl TryFrom<&Object> for String {
    type Error = ConversionError;

    fn try_from(v: &Object) -> Result<Self, ConversionError> {
        v.as_str()
            .map(str::to_owned)
            .ok_or_else(|| ConversionError::new("a string", v))
    }
}

impl TryFrom<Object> for Arc<str> {
    type Error = ConversionError;

    fn try_from(v: Object) -> Result<Self, ConversionError> {
        match v {
            Object::String(s) => Ok(s),
            other => Err(ConversionError::new("a string", &other)),
        }
    }
}

impl TryFrom<Object> for () {
    type Error = ConversionError;

    fn try_from(v: Object) -> Result<Self, ConversionError> {
        match v {
            Object::Null => Ok(()),
            other => Err(ConversionError::new("null", &other)),
        }
    }
}

/// Borrows out of an `&Object`.
macro_rules! borrow_from {
    ($t:ty, $expected:literal, $pick:path) => {
        impl<'a> TryFrom<&'a Object> for $t {
            type Error = ConversionError;

            fn try_from(v: &'a Object) -> Result<Self, ConversionError> {
                $pick(v).ok_or_else(|| ConversionError::new($expected, v))
            }
        }
    };
}

borrow_from!(&'a str, "a string", Object::as_str);
borrow_from!(&'a [u8], "bytes", Object::as_bytes);
borrow_from!(&'a [Object], "an array", Object::as_array);
borrow_from!(&'a Map, "a map", Object::as_map);
borrow_from!(&'a Builtin, "a builtin", Object::as_builtin);
borrow_from!(&'a Module, "a module", Object::as_module);

impl<T> TryFrom<&Object> for Vec<T>
where
    T: for<'a> TryFrom<&'a Object, Error = ConversionError>,
{
    type Error = ConversionError;

    /// An array whose elements all convert (the error names the first that does not, and
    /// where: `at [2][0]`); `Vec<u8>` takes [`Object::Bytes`] instead.
    fn try_from(v: &Object) -> Result<Self, ConversionError> {
        let items = v
            .as_array()
            .ok_or_else(|| ConversionError::new("an array", v))?;
        items
            .iter()
            .enumerate()
            .map(|(i, item)| T::try_from(item).map_err(|e| e.at(alloc::format!("[{i}]"))))
            .collect()
    }
}

impl<T> TryFrom<Object> for Vec<T>
where
    T: for<'a> TryFrom<&'a Object, Error = ConversionError>,
{
    type Error = ConversionError;

    fn try_from(v: Object) -> Result<Self, ConversionError> {
        Vec::<T>::try_from(&v)
    }
}

impl TryFrom<&Object> for BTreeMap<String, Object> {
    type Error = ConversionError;

    /// A map whose keys are all strings (the error names the first that is not).
    fn try_from(v: &Object) -> Result<Self, ConversionError> {
        let map = v.as_map().ok_or_else(|| ConversionError::new("a map", v))?;
        map.iter()
            .map(|(k, value)| match k {
                MapKey::String(s) => Ok((String::from(&**s), value.clone())),
                other => Err(
                    ConversionError::new("a string key", &Object::from(other.clone()))
                        .at(alloc::format!("[{other}]")),
                ),
            })
            .collect()
    }
}

impl TryFrom<Object> for BTreeMap<String, Object> {
    type Error = ConversionError;

    fn try_from(v: Object) -> Result<Self, ConversionError> {
        BTreeMap::<String, Object>::try_from(&v)
    }
}

#[cfg(feature = "std")]
impl<S: core::hash::BuildHasher + Default> TryFrom<&Object>
    for std::collections::HashMap<String, Object, S>
{
    type Error = ConversionError;

    /// A map whose keys are all strings (the error names the first that is not).
    fn try_from(v: &Object) -> Result<Self, ConversionError> {
        BTreeMap::<String, Object>::try_from(v).map(|m| m.into_iter().collect())
    }
}

#[cfg(feature = "std")]
impl<S: core::hash::BuildHasher + Default> TryFrom<Object>
    for std::collections::HashMap<String, Object, S>
{
    type Error = ConversionError;

    fn try_from(v: Object) -> Result<Self, ConversionError> {
        Self::try_from(&v)
    }
}

impl Object {
    /// The value under `key`: a map's entry, a module's export (string keys), or an array's
    /// element (int keys from 0). `None` for a missing key and for other values.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use xxlang_plugin::{Module, Object};
    ///
    /// let m = Object::from(Module::new("demo", BTreeMap::from([("x".to_string(), Object::Int(1))])));
    /// assert_eq!(m.get("x"), Some(&Object::Int(1)));
    /// let list = Object::from(vec!["a", "b"]);
    /// assert_eq!(list.get(1), Some(&Object::from("b")));
    /// assert_eq!(list.get(2), None);
    /// ```
    #[must_use]
    pub fn get(&self, key: impl Into<MapKey>) -> Option<&Object> {
        let key = key.into();
        match (self, &key) {
            (Object::Map(map), _) => map.get(&key),
            (Object::Module(module), MapKey::String(name)) => module.get(name),
            (Object::Array(items), MapKey::Int(i)) => items.get(usize::try_from(*i).ok()?),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn rust_values_become_objects() {
        assert_eq!(Object::from(7_u32), Object::Int(7));
        assert_eq!(Object::from(1.5_f32), Object::Float(1.5));
        assert_eq!(Object::from(&String::from("s")), Object::from("s"));
        assert_eq!(Object::from(()), Object::Null);
        assert_eq!(Object::from(None::<i64>), Object::Null);
        assert_eq!(Object::from(Some("x")), Object::from("x"));
        assert_eq!(
            Object::from(vec![1_i64, 2]),
            Object::from(vec![Object::Int(1), Object::Int(2)])
        );
        assert_eq!(
            Object::from(&["a", "b"][..]),
            Object::from(vec![Object::from("a"), Object::from("b")])
        );
        assert_eq!(Object::from(vec![true]).to_string(), "[true]");
        assert_eq!(Object::from(vec![0.5_f64]).to_string(), "[0.5]");
        let map = Object::from(BTreeMap::from([(String::from("k"), vec![1_i64])]));
        assert_eq!(map.to_string(), r#"{"k": [1]}"#);
        let by_int = Object::from(BTreeMap::from([(2_i64, "two"), (1, "one")]));
        assert_eq!(by_int.to_string(), r#"{1: "one", 2: "two"}"#);
        let hashed = Object::from(std::collections::HashMap::from([("b", 2_i64), ("a", 1)]));
        assert_eq!(hashed.to_string(), r#"{"a": 1, "b": 2}"#, "in key order");
    }

    #[test]
    fn objects_become_rust_values_owned_and_borrowed() {
        let s = Object::from("hi");
        assert_eq!(String::try_from(&s).as_deref(), Ok("hi"));
        assert_eq!(<&str>::try_from(&s), Ok("hi"));
        assert_eq!(Arc::<str>::try_from(s.clone()).as_deref(), Ok("hi"));
        assert_eq!(String::try_from(s), Ok(String::from("hi")));
        assert_eq!(i64::try_from(Object::Int(-3)), Ok(-3));
        assert_eq!(bool::try_from(&Object::Bool(true)), Ok(true));
        assert_eq!(f64::try_from(Object::Float(0.25)), Ok(0.25));
        assert_eq!(f64::try_from(Object::Int(3)), Ok(3.0), "an exact int");
        assert!(f64::try_from(Object::Int(i64::MAX)).is_err(), "not exact");
        let bytes = Object::from(vec![1_u8, 2]);
        assert_eq!(<&[u8]>::try_from(&bytes), Ok(&[1_u8, 2][..]));
        assert_eq!(Vec::<u8>::try_from(bytes), Ok(vec![1, 2]));
        assert_eq!(<()>::try_from(Object::Null), Ok(()));
        let list = Object::from(vec!["a", "b"]);
        assert_eq!(
            Vec::<String>::try_from(&list),
            Ok(vec![String::from("a"), String::from("b")])
        );
        assert_eq!(<&[Object]>::try_from(&list).map(<[Object]>::len), Ok(2));
        let map = Object::from(BTreeMap::from([("k", 1_i64)]));
        let back = BTreeMap::<String, Object>::try_from(&map).expect("string keys");
        assert_eq!(back.get("k"), Some(&Object::Int(1)));
        assert_eq!(<&Map>::try_from(&map).map(BTreeMap::len), Ok(1));
        let b = Builtin::new("f", |_| Object::Null);
        assert_eq!(<&Builtin>::try_from(&Object::from(b.clone())), Ok(&b));
    }

    #[test]
    fn narrower_numbers_in_range_only() {
        assert_eq!(i32::try_from(&Object::Int(-5)), Ok(-5));
        let err = i32::try_from(&Object::Int(1 << 40)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "expected an int in i32 range, found an int (1099511627776)"
        );
        assert_eq!(u64::try_from(Object::Int(7)), Ok(7));
        assert!(u64::try_from(Object::Int(-1)).is_err());
        assert!(usize::try_from(Object::Int(-1)).is_err());
        assert_eq!(
            Vec::<u32>::try_from(Object::from(vec![1_i64, 2])),
            Ok(vec![1, 2])
        );
        assert_eq!(f32::try_from(Object::Float(0.5)), Ok(0.5));
        assert!(
            f32::try_from(Object::Float(0.1)).is_err(),
            "0.1 is not an f32 exactly"
        );
        assert_eq!(Object::from(-3_i8), Object::Int(-3));
        assert_eq!(Object::from(7_u16), Object::Int(7));
        let map = Object::from(BTreeMap::from([("k", 1_i64)]));
        let hashed = std::collections::HashMap::<String, Object>::try_from(&map).expect("map");
        assert_eq!(hashed.get("k"), Some(&Object::Int(1)));
    }

    #[test]
    fn nested_vectors_convert_both_ways() {
        let grid = Object::from(vec![vec![1_i64, 2], vec![3]]);
        assert_eq!(grid.to_string(), "[[1, 2], [3]]");
        assert_eq!(
            Vec::<Vec<i64>>::try_from(&grid),
            Ok(vec![vec![1, 2], vec![3]])
        );
        let maybe = Object::from(vec![Some("a"), None]);
        assert_eq!(maybe.to_string(), r#"["a", null]"#);
        let bad = Object::from(vec![vec![Object::Int(1)], vec![Object::from("x")]]);
        assert_eq!(
            Vec::<Vec<i64>>::try_from(bad).unwrap_err().to_string(),
            r#"at [1][0]: expected an int, found a string ("x")"#
        );
        let bytes_inside = Object::from(vec![vec![1_u8, 2]]);
        assert_eq!(bytes_inside.to_string(), "[Bytes(len=2)]");
        assert_eq!(
            Vec::<Vec<u8>>::try_from(&bytes_inside),
            Ok(vec![vec![1_u8, 2]])
        );
    }

    #[test]
    fn errors_say_what_was_expected_found_and_where() {
        let err = i64::try_from(Object::from("seven")).unwrap_err();
        assert_eq!(err.expected(), "an int");
        assert_eq!(err.found(), "a string");
        assert_eq!(
            err.to_string(),
            r#"expected an int, found a string ("seven")"#
        );
        assert_eq!(
            <&str>::try_from(&Object::Null).unwrap_err().to_string(),
            "expected a string, found null"
        );
        let nested = Object::from(vec![Object::Int(1), Object::Float(2.5)]);
        assert_eq!(
            Vec::<i64>::try_from(nested).unwrap_err().to_string(),
            "at [1]: expected an int, found a float (2.5)"
        );
        let keys = Object::from(BTreeMap::from([(1_i64, "x")]));
        assert_eq!(
            BTreeMap::<String, Object>::try_from(keys)
                .unwrap_err()
                .to_string(),
            "at [1]: expected a string key, found an int (1)"
        );
        let long = Object::from("a string far too long to show in a message");
        assert_eq!(
            bool::try_from(long).unwrap_err().to_string(),
            "expected a bool, found a string"
        );
    }

    #[test]
    fn get_reaches_into_maps_modules_and_arrays() {
        let map = Object::from(BTreeMap::from([("a", 1_i64)]));
        assert_eq!(map.get("a"), Some(&Object::Int(1)));
        assert_eq!(map.get("b"), None);
        assert_eq!(map.get(0), None);
        let module = Object::from(Module::new(
            "m",
            BTreeMap::from([(String::from("f"), Object::Int(2))]),
        ));
        assert_eq!(module.get("f"), Some(&Object::Int(2)));
        assert_eq!(module.get(1), None);
        let list = Object::from(vec![10_i64, 20]);
        assert_eq!(list.get(1), Some(&Object::Int(20)));
        assert_eq!(list.get(-1), None);
        assert_eq!(Object::Int(1).get("x"), None);
    }
}
