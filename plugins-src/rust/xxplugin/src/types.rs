//! How Rust types map to the ABI's types (docs/ABI.md §1): their names in the manifest, their
//! wasm representation, and how the generated wrappers read arguments and send results.
//!
//! | Rust parameter | ABI type | Rust result |
//! |---|---|---|
//! | `i64` | `int` | `i64` |
//! | `f64` | `float` | `f64` |
//! | `bool` | `bool` | `bool` |
//! | `String`, `&str` | `string` | `String`, `&str` |
//! | `Vec<u8>`, `&[u8]` | `bytes` | `Vec<u8>`, `&[u8]` |
//! | `Vec<T>` | `array<T>` | `Vec<T>`, `&[T]` |
//! | `BTreeMap<K, V>`, `HashMap<K, V>`, [`Map`] | `map` | the same |
//! | [`Value`] | `any` | [`Value`] |
//! | | `null` (no `->` in the manifest) | `()` |
//! | | the type of `T` | `Result<T, E: Display>`: `Err` reports through `xxplugin.error` |

use core::fmt::Display;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

use crate::msgpack::{Decode, DecodeError, Encode, Map, MapKey, from_msgpack};
use crate::{Value, abi};

/// A type of the ABI, as written in the manifest: a base type (`int`, `float`, `bool`,
/// `string`, `bytes`, `map`, `any`) inside `arrays` levels of `array<...>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbiType {
    base: &'static str,
    arrays: u8,
}

impl AbiType {
    pub const INT: AbiType = AbiType::base("int");
    pub const FLOAT: AbiType = AbiType::base("float");
    pub const BOOL: AbiType = AbiType::base("bool");
    pub const STRING: AbiType = AbiType::base("string");
    pub const BYTES: AbiType = AbiType::base("bytes");
    pub const MAP: AbiType = AbiType::base("map");
    pub const ANY: AbiType = AbiType::base("any");

    const fn base(base: &'static str) -> AbiType {
        AbiType { base, arrays: 0 }
    }

    /// `array<elem>`.
    pub const fn array_of(elem: AbiType) -> AbiType {
        AbiType {
            base: elem.base,
            arrays: elem.arrays.saturating_add(1),
        }
    }

    /// The innermost type: `int` for `array<array<int>>`.
    pub const fn base_name(&self) -> &'static str {
        self.base
    }

    /// How many `array<...>` wrap the base type.
    pub const fn array_depth(&self) -> u8 {
        self.arrays
    }
}

impl core::fmt::Display for AbiType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for _ in 0..self.arrays {
            f.write_str("array<")?;
        }
        f.write_str(self.base)?;
        for _ in 0..self.arrays {
            f.write_str(">")?;
        }
        Ok(())
    }
}

/// A Rust type with an ABI type: what the manifest calls it.
pub trait AbiTyped {
    const TYPE: AbiType;
}

impl<T: AbiTyped + ?Sized> AbiTyped for &T {
    const TYPE: AbiType = T::TYPE;
}
impl AbiTyped for i64 {
    const TYPE: AbiType = AbiType::INT;
}
impl AbiTyped for f64 {
    const TYPE: AbiType = AbiType::FLOAT;
}
impl AbiTyped for bool {
    const TYPE: AbiType = AbiType::BOOL;
}
impl AbiTyped for str {
    const TYPE: AbiType = AbiType::STRING;
}
impl AbiTyped for String {
    const TYPE: AbiType = AbiType::STRING;
}
impl AbiTyped for [u8] {
    const TYPE: AbiType = AbiType::BYTES;
}
impl AbiTyped for Vec<u8> {
    const TYPE: AbiType = AbiType::BYTES;
}
// `u8` is not `AbiTyped`, so these do not overlap with the `bytes` ones above.
impl<T: AbiTyped> AbiTyped for [T] {
    const TYPE: AbiType = AbiType::array_of(T::TYPE);
}
impl<T: AbiTyped> AbiTyped for Vec<T> {
    const TYPE: AbiType = AbiType::array_of(T::TYPE);
}
impl AbiTyped for Value {
    const TYPE: AbiType = AbiType::ANY;
}
impl<K, V> AbiTyped for BTreeMap<K, V> {
    const TYPE: AbiType = AbiType::MAP;
}
impl<K, V, S> AbiTyped for HashMap<K, V, S> {
    const TYPE: AbiType = AbiType::MAP;
}

// ----------------------------------------------------------------------------- parameters

/// A Rust type usable as a parameter of an exported function.
pub trait Param: AbiTyped {
    /// The wasm parameter type: `i64`, `f64`, or `i32` (a bool, or a memory type's length).
    type Wasm: Copy;
    /// Where the wrapper keeps the argument during the call (a borrowed parameter such as
    /// `&str` borrows from it).
    type Holder;
    /// Reads parameter number `index` (counting all parameters), which arrived as `wasm`.
    fn fetch(index: u32, wasm: Self::Wasm) -> Result<Self::Holder, DecodeError>;
}

/// Produces the parameter from its holder (for the call of the user's function).
pub trait FromArg<'a>: Param + Sized {
    fn get(holder: &'a mut Self::Holder) -> Self;
}

/// The bytes of memory-type argument `index`, `len` of them.
fn fetch_bytes(index: u32, len: i32) -> Vec<u8> {
    // SAFETY: `len` is the length the host passed for this parameter (the wrappers forward the
    // wasm parameter untouched), so the host writes exactly that many bytes.
    unsafe { abi::arg_vec(index, len as u32) }
}

macro_rules! number_param {
    ($($t:ty => $w:ty, |$v:ident| $conv:expr;)*) => {$(
        impl Param for $t {
            type Wasm = $w;
            type Holder = $t;
            #[inline]
            fn fetch(_index: u32, $v: $w) -> Result<$t, DecodeError> {
                Ok($conv)
            }
        }
        impl FromArg<'_> for $t {
            #[inline]
            fn get(holder: &mut $t) -> $t {
                *holder
            }
        }
    )*};
}
number_param! {
    i64 => i64, |v| v;
    f64 => f64, |v| v;
    bool => i32, |v| v != 0;
}

impl Param for String {
    type Wasm = i32;
    type Holder = String;
    fn fetch(index: u32, len: i32) -> Result<String, DecodeError> {
        String::from_utf8(fetch_bytes(index, len)).map_err(|_| DecodeError::InvalidUtf8)
    }
}
impl FromArg<'_> for String {
    fn get(holder: &mut String) -> String {
        core::mem::take(holder)
    }
}

impl Param for &str {
    type Wasm = i32;
    type Holder = String;
    fn fetch(index: u32, len: i32) -> Result<String, DecodeError> {
        String::fetch(index, len)
    }
}
impl<'a> FromArg<'a> for &'a str {
    fn get(holder: &'a mut String) -> &'a str {
        holder.as_str()
    }
}

impl Param for Vec<u8> {
    type Wasm = i32;
    type Holder = Vec<u8>;
    fn fetch(index: u32, len: i32) -> Result<Vec<u8>, DecodeError> {
        Ok(fetch_bytes(index, len))
    }
}
impl FromArg<'_> for Vec<u8> {
    fn get(holder: &mut Vec<u8>) -> Vec<u8> {
        core::mem::take(holder)
    }
}

impl Param for &[u8] {
    type Wasm = i32;
    type Holder = Vec<u8>;
    fn fetch(index: u32, len: i32) -> Result<Vec<u8>, DecodeError> {
        Ok(fetch_bytes(index, len))
    }
}
impl<'a> FromArg<'a> for &'a [u8] {
    fn get(holder: &'a mut Vec<u8>) -> &'a [u8] {
        holder.as_slice()
    }
}

/// Parameters that cross as MessagePack and are decoded into an owned value.
macro_rules! msgpack_param {
    ($([$($gen:tt)*] $t:ty;)*) => {$(
        impl<$($gen)*> Param for $t {
            type Wasm = i32;
            type Holder = $t;
            fn fetch(index: u32, len: i32) -> Result<$t, DecodeError> {
                from_msgpack(&fetch_bytes(index, len))
            }
        }
        impl<$($gen)*> FromArg<'_> for $t {
            fn get(holder: &mut $t) -> $t {
                core::mem::take(holder)
            }
        }
    )*};
}
msgpack_param! {
    [] Value;
    [] Map;
    [T: Decode] Vec<T>;
    [K: Decode + MapKey + Ord, V: Decode] BTreeMap<K, V>;
    [K: Decode + MapKey + Eq + Hash, V: Decode, S: BuildHasher + Default] HashMap<K, V, S>;
}

// -------------------------------------------------------------------------------- results

/// A Rust type usable as the result of an exported function.
pub trait IntoResult {
    /// The wasm result type: `i64`, `f64`, `i32` (bool), or `()` (memory types and `null`).
    type Wasm: Default;
    /// The declared result type; `None` is `null` (no `->` in the manifest).
    const TYPE: Option<AbiType>;
    /// Delivers the result: returns a number, or sends a memory type with `xxplugin.result`.
    fn send(self) -> Self::Wasm;
}

impl IntoResult for () {
    type Wasm = ();
    const TYPE: Option<AbiType> = None;
    #[inline]
    fn send(self) {}
}
impl IntoResult for i64 {
    type Wasm = i64;
    const TYPE: Option<AbiType> = Some(AbiType::INT);
    #[inline]
    fn send(self) -> i64 {
        self
    }
}
impl IntoResult for f64 {
    type Wasm = f64;
    const TYPE: Option<AbiType> = Some(AbiType::FLOAT);
    #[inline]
    fn send(self) -> f64 {
        self
    }
}
impl IntoResult for bool {
    type Wasm = i32;
    const TYPE: Option<AbiType> = Some(AbiType::BOOL);
    #[inline]
    fn send(self) -> i32 {
        i32::from(self)
    }
}

/// Results sent as their raw bytes (`string`: UTF-8, which Rust guarantees; `bytes`).
macro_rules! raw_result {
    ($($t:ty => $ty:expr, |$v:ident| $bytes:expr;)*) => {$(
        impl IntoResult for $t {
            type Wasm = ();
            const TYPE: Option<AbiType> = Some($ty);
            fn send(self) {
                let $v = self;
                abi::result($bytes);
            }
        }
    )*};
}
raw_result! {
    String => AbiType::STRING, |s| s.as_bytes();
    &str => AbiType::STRING, |s| s.as_bytes();
    Vec<u8> => AbiType::BYTES, |b| &b;
    &[u8] => AbiType::BYTES, |b| b;
}

/// Results sent as MessagePack (encoded into a buffer that is freed right after).
macro_rules! msgpack_result {
    ($([$($gen:tt)*] $t:ty;)*) => {$(
        impl<$($gen)*> IntoResult for $t {
            type Wasm = ();
            const TYPE: Option<AbiType> = Some(<$t as AbiTyped>::TYPE);
            fn send(self) {
                let mut out = Vec::new();
                self.encode(&mut out);
                abi::result(&out);
            }
        }
    )*};
}
msgpack_result! {
    [] Value;
    [] Map;
    [T: Encode] Vec<T>;
    [T: Encode] &[T];
    [K: Encode + MapKey, V: Encode] BTreeMap<K, V>;
    [K: Encode + MapKey, V: Encode, S] HashMap<K, V, S>;
}

/// `Ok` is the result; `Err` fails the call with the error's `Display` text (the script gets
/// `PLUGIN.FUNCTION: TEXT`).
impl<T: IntoResult, E: Display> IntoResult for Result<T, E> {
    type Wasm = T::Wasm;
    const TYPE: Option<AbiType> = T::TYPE;
    fn send(self) -> T::Wasm {
        match self {
            Ok(v) => v.send(),
            Err(e) => {
                abi::error(&e.to_string());
                T::Wasm::default()
            }
        }
    }
}
