//! The MessagePack subset of docs/ABI.md §5, and [`Value`], the Rust side of `any`.
//!
//! The decoder treats its input as hostile: every read is bounds-checked, lengths are checked
//! against the bytes still present before anything is allocated, nesting is limited to
//! [`MAX_DEPTH`], and ext types, `0xc1`, invalid UTF-8, uint64 above `i64::MAX` and trailing
//! bytes are errors.

use core::fmt;

/// How deep values may nest: a value at depth 0 is the top level; the elements of an array or
/// map at depth `d` are at depth `d + 1`; a value deeper than this is an error (as in the host).
pub const MAX_DEPTH: usize = 64;

/// An xxlang value of type `any`.
///
/// Maps keep their entries in order, as a list of pairs; the host sends keys that are ints,
/// strings or bools, never repeated, and accepts only such keys back.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum Value {
    #[default]
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Bytes(Vec<u8>),
    Array(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// The value's MessagePack encoding.
    pub fn to_msgpack(&self) -> Vec<u8> {
        let mut out = Vec::new();
        encode_value(self, &mut out);
        out
    }

    /// Decodes one MessagePack value that spans all of `bytes`.
    pub fn from_msgpack(bytes: &[u8]) -> Result<Value, DecodeError> {
        from_msgpack(bytes)
    }

    /// The xxlang name of the value's type: `null`, `bool`, `int`, `float`, `string`, `bytes`,
    /// `array` or `map`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Bytes(_) => "bytes",
            Value::Array(_) => "array",
            Value::Map(_) => "map",
        }
    }

    /// The entry of a map value whose key equals `key`.
    pub fn get(&self, key: &Value) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::Float(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Str(v.to_owned())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Str(v)
    }
}
impl From<Vec<u8>> for Value {
    fn from(v: Vec<u8>) -> Self {
        Value::Bytes(v)
    }
}
impl From<Vec<Value>> for Value {
    fn from(v: Vec<Value>) -> Self {
        Value::Array(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Why MessagePack could not be decoded (or an argument not read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The data ends in the middle of a value.
    Truncated,
    /// A length (of a string, bytes, array or map) is larger than the data left.
    LengthTooLarge,
    /// A format outside the subset: ext types and the never-used `0xc1` (the byte is given).
    Unsupported(u8),
    /// A string that is not UTF-8.
    InvalidUtf8,
    /// A uint64 above `i64::MAX`.
    IntOutOfRange,
    /// Values nested deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Bytes after the value.
    TrailingBytes,
    /// A map key that appears twice (for map types that cannot hold that).
    DuplicateKey,
    /// A value of another type than the Rust type asks for.
    Expected {
        expected: &'static str,
        found: &'static str,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("MessagePack data ends early"),
            DecodeError::LengthTooLarge => {
                f.write_str("a MessagePack length is larger than the data")
            }
            DecodeError::Unsupported(b) => write!(f, "unsupported MessagePack format 0x{b:02x}"),
            DecodeError::InvalidUtf8 => f.write_str("a string is not valid UTF-8"),
            DecodeError::IntOutOfRange => f.write_str("an integer does not fit in 64 bits"),
            DecodeError::TooDeep => {
                write!(f, "MessagePack value nested deeper than {MAX_DEPTH} levels")
            }
            DecodeError::TrailingBytes => f.write_str("bytes after the MessagePack value"),
            DecodeError::DuplicateKey => f.write_str("a map key repeats"),
            DecodeError::Expected { expected, found } => {
                write!(f, "expected {expected}, found {found}")
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// The xxlang type of the value a MessagePack format byte starts.
fn kind_of(b: u8) -> &'static str {
    match b {
        0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => "int",
        0x80..=0x8f | 0xde | 0xdf => "map",
        0x90..=0x9f | 0xdc | 0xdd => "array",
        0xa0..=0xbf | 0xd9..=0xdb => "string",
        0xc0 => "null",
        0xc2 | 0xc3 => "bool",
        0xc4..=0xc6 => "bytes",
        0xca | 0xcb => "float",
        _ => "an unsupported MessagePack format",
    }
}

/// A cursor over MessagePack data, for [`Decode`] implementations.
#[derive(Debug)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    /// The depth of the next value read.
    depth: usize,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `data`, at depth 0.
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            depth: 0,
        }
    }

    /// How many bytes are left.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Fails unless every byte was read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        if self.remaining() == 0 {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    /// The next format byte, without consuming it.
    pub fn peek(&self) -> Result<u8, DecodeError> {
        self.data
            .get(self.pos)
            .copied()
            .ok_or(DecodeError::Truncated)
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated);
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len_prefixed(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::LengthTooLarge);
        }
        self.take(n)
    }

    fn mismatch<T>(&self, expected: &'static str) -> Result<T, DecodeError> {
        let found = match self.peek() {
            Ok(b) => kind_of(b),
            Err(e) => return Err(e),
        };
        if found == "an unsupported MessagePack format" {
            return Err(DecodeError::Unsupported(self.data[self.pos]));
        }
        Err(DecodeError::Expected { expected, found })
    }

    /// Reads nil.
    pub fn read_nil(&mut self) -> Result<(), DecodeError> {
        match self.peek()? {
            0xc0 => {
                self.pos += 1;
                Ok(())
            }
            _ => self.mismatch("null"),
        }
    }

    /// Reads a bool.
    pub fn read_bool(&mut self) -> Result<bool, DecodeError> {
        match self.peek()? {
            b @ (0xc2 | 0xc3) => {
                self.pos += 1;
                Ok(b == 0xc3)
            }
            _ => self.mismatch("bool"),
        }
    }

    /// Reads an int in any format (uint64 above `i64::MAX` is an error).
    pub fn read_int(&mut self) -> Result<i64, DecodeError> {
        let b = self.peek()?;
        let v = match b {
            0x00..=0x7f => {
                self.pos += 1;
                i64::from(b)
            }
            0xe0..=0xff => {
                self.pos += 1;
                i64::from(b as i8)
            }
            0xcc..=0xd3 => {
                self.pos += 1;
                match b {
                    0xcc => i64::from(self.be::<1>()?[0]),
                    0xcd => i64::from(u16::from_be_bytes(self.be()?)),
                    0xce => i64::from(u32::from_be_bytes(self.be()?)),
                    0xcf => i64::try_from(u64::from_be_bytes(self.be()?))
                        .map_err(|_| DecodeError::IntOutOfRange)?,
                    0xd0 => i64::from(self.be::<1>()?[0] as i8),
                    0xd1 => i64::from(i16::from_be_bytes(self.be()?)),
                    0xd2 => i64::from(i32::from_be_bytes(self.be()?)),
                    _ => i64::from_be_bytes(self.be()?),
                }
            }
            _ => return self.mismatch("int"),
        };
        Ok(v)
    }

    /// Reads a float (float64 or float32); an int is accepted too and converted.
    pub fn read_float(&mut self) -> Result<f64, DecodeError> {
        match self.peek()? {
            0xcb => {
                self.pos += 1;
                Ok(f64::from_be_bytes(self.be()?))
            }
            0xca => {
                self.pos += 1;
                Ok(f64::from(f32::from_be_bytes(self.be()?)))
            }
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => Ok(self.read_int()? as f64),
            _ => self.mismatch("float"),
        }
    }

    /// Reads a string (checked to be UTF-8), borrowing it from the data.
    pub fn read_str(&mut self) -> Result<&'a str, DecodeError> {
        let b = self.peek()?;
        let n = match b {
            0xa0..=0xbf => {
                self.pos += 1;
                usize::from(b & 0x1f)
            }
            0xd9 => {
                self.pos += 1;
                usize::from(self.be::<1>()?[0])
            }
            0xda => {
                self.pos += 1;
                usize::from(u16::from_be_bytes(self.be()?))
            }
            0xdb => {
                self.pos += 1;
                u32::from_be_bytes(self.be()?) as usize
            }
            _ => return self.mismatch("string"),
        };
        core::str::from_utf8(self.len_prefixed(n)?).map_err(|_| DecodeError::InvalidUtf8)
    }

    /// Reads bytes (bin8/16/32), borrowing them from the data.
    pub fn read_bin(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = match self.peek()? {
            0xc4 => {
                self.pos += 1;
                usize::from(self.be::<1>()?[0])
            }
            0xc5 => {
                self.pos += 1;
                usize::from(u16::from_be_bytes(self.be()?))
            }
            0xc6 => {
                self.pos += 1;
                u32::from_be_bytes(self.be()?) as usize
            }
            _ => return self.mismatch("bytes"),
        };
        self.len_prefixed(n)
    }

    /// Reads an array header: the number of elements, which is checked against the data left
    /// (every element takes at least one byte), so it is safe to reserve that many.
    pub fn read_array_len(&mut self) -> Result<usize, DecodeError> {
        let b = self.peek()?;
        let n = match b {
            0x90..=0x9f => {
                self.pos += 1;
                usize::from(b & 0x0f)
            }
            0xdc => {
                self.pos += 1;
                usize::from(u16::from_be_bytes(self.be()?))
            }
            0xdd => {
                self.pos += 1;
                u32::from_be_bytes(self.be()?) as usize
            }
            _ => return self.mismatch("array"),
        };
        self.check_items(n, 1)
    }

    /// Reads a map header: the number of entries, checked against the data left (every entry
    /// takes at least two bytes).
    pub fn read_map_len(&mut self) -> Result<usize, DecodeError> {
        let b = self.peek()?;
        let n = match b {
            0x80..=0x8f => {
                self.pos += 1;
                usize::from(b & 0x0f)
            }
            0xde => {
                self.pos += 1;
                usize::from(u16::from_be_bytes(self.be()?))
            }
            0xdf => {
                self.pos += 1;
                u32::from_be_bytes(self.be()?) as usize
            }
            _ => return self.mismatch("map"),
        };
        self.check_items(n, 2)
    }

    fn check_items(&self, n: usize, bytes_each: usize) -> Result<usize, DecodeError> {
        if n.checked_mul(bytes_each)
            .is_none_or(|need| need > self.remaining())
        {
            return Err(DecodeError::LengthTooLarge);
        }
        // The elements of a container at depth d are at depth d + 1.
        if n > 0 && self.depth >= MAX_DEPTH {
            return Err(DecodeError::TooDeep);
        }
        Ok(n)
    }

    /// Reads the `n` elements of a container whose header was just read, one level deeper.
    pub fn nested<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<T, DecodeError> {
        self.depth += 1;
        let r = f(self);
        self.depth -= 1;
        r
    }

    /// Reads any value.
    pub fn read_value(&mut self) -> Result<Value, DecodeError> {
        let b = self.peek()?;
        Ok(match b {
            0xc0 => {
                self.pos += 1;
                Value::Null
            }
            0xc2 | 0xc3 => Value::Bool(self.read_bool()?),
            0x00..=0x7f | 0xe0..=0xff | 0xcc..=0xd3 => Value::Int(self.read_int()?),
            0xca | 0xcb => Value::Float(self.read_float()?),
            0xa0..=0xbf | 0xd9..=0xdb => Value::Str(self.read_str()?.to_owned()),
            0xc4..=0xc6 => Value::Bytes(self.read_bin()?.to_vec()),
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = self.read_array_len()?;
                let mut items = Vec::with_capacity(n);
                self.nested(|r| {
                    for _ in 0..n {
                        items.push(r.read_value()?);
                    }
                    Ok(())
                })?;
                Value::Array(items)
            }
            0x80..=0x8f | 0xde | 0xdf => {
                let n = self.read_map_len()?;
                let mut entries = Vec::with_capacity(n);
                self.nested(|r| {
                    for _ in 0..n {
                        let k = r.read_value()?;
                        let v = r.read_value()?;
                        entries.push((k, v));
                    }
                    Ok(())
                })?;
                Value::Map(entries)
            }
            other => return Err(DecodeError::Unsupported(other)),
        })
    }
}

// ------------------------------------------------------------------------------ encoding

/// Appends nil.
pub fn write_nil(out: &mut Vec<u8>) {
    out.push(0xc0);
}

/// Appends a bool.
pub fn write_bool(out: &mut Vec<u8>, v: bool) {
    out.push(if v { 0xc3 } else { 0xc2 });
}

/// Appends an int in the shortest format (as the host does).
pub fn write_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        if v <= 0x7f {
            out.push(v as u8);
        } else if v <= 0xff {
            out.extend_from_slice(&[0xcc, v as u8]);
        } else if v <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        } else if v <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        } else {
            out.push(0xd3);
            out.extend_from_slice(&v.to_be_bytes());
        }
    } else if v >= -32 {
        out.push(v as u8);
    } else if v >= i64::from(i8::MIN) {
        out.extend_from_slice(&[0xd0, v as u8]);
    } else if v >= i64::from(i16::MIN) {
        out.push(0xd1);
        out.extend_from_slice(&(v as i16).to_be_bytes());
    } else if v >= i64::from(i32::MIN) {
        out.push(0xd2);
        out.extend_from_slice(&(v as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Appends a float64.
pub fn write_float(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

fn write_len(
    out: &mut Vec<u8>,
    n: usize,
    fix: Option<(u8, usize)>,
    b8: Option<u8>,
    b16: u8,
    b32: u8,
) {
    match fix {
        Some((base, max)) if n <= max => out.push(base | n as u8),
        _ => match b8 {
            Some(b8) if n <= 0xff => out.extend_from_slice(&[b8, n as u8]),
            _ if n <= 0xffff => {
                out.push(b16);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            _ => {
                let n = u32::try_from(n).expect("MessagePack lengths are at most 2^32 - 1");
                out.push(b32);
                out.extend_from_slice(&n.to_be_bytes());
            }
        },
    }
}

/// Appends a string.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    write_len(out, s.len(), Some((0xa0, 31)), Some(0xd9), 0xda, 0xdb);
    out.extend_from_slice(s.as_bytes());
}

/// Appends bytes (bin8/16/32).
pub fn write_bin(out: &mut Vec<u8>, b: &[u8]) {
    write_len(out, b.len(), None, Some(0xc4), 0xc5, 0xc6);
    out.extend_from_slice(b);
}

/// Appends an array header for `n` elements (write the elements next).
pub fn write_array_len(out: &mut Vec<u8>, n: usize) {
    write_len(out, n, Some((0x90, 15)), None, 0xdc, 0xdd);
}

/// Appends a map header for `n` entries (write key, value, key, value, ... next).
pub fn write_map_len(out: &mut Vec<u8>, n: usize) {
    write_len(out, n, Some((0x80, 15)), None, 0xde, 0xdf);
}

fn encode_value(v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::Null => write_nil(out),
        Value::Bool(b) => write_bool(out, *b),
        Value::Int(i) => write_int(out, *i),
        Value::Float(f) => write_float(out, *f),
        Value::Str(s) => write_str(out, s),
        Value::Bytes(b) => write_bin(out, b),
        Value::Array(items) => {
            write_array_len(out, items.len());
            for item in items {
                encode_value(item, out);
            }
        }
        Value::Map(entries) => {
            write_map_len(out, entries.len());
            for (k, v) in entries {
                encode_value(k, out);
                encode_value(v, out);
            }
        }
    }
}

// -------------------------------------------------------------------- typed conversions

use crate::types::{AbiType, AbiTyped};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasher, Hash};

/// A Rust type that can be written as MessagePack (an element of an `array<T>` result, a map
/// key or value, ...).
pub trait Encode: AbiTyped {
    /// Appends the MessagePack of `self`.
    fn encode(&self, out: &mut Vec<u8>);
}

/// A Rust type that can be read from MessagePack.
pub trait Decode: AbiTyped + Sized {
    /// Reads one value (and only that) from `r`.
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError>;
}

/// Types that may be map keys: the host's map keys are ints, strings and bools.
pub trait MapKey {}
impl MapKey for i64 {}
impl MapKey for bool {}
impl MapKey for String {}
impl MapKey for str {}
impl<T: MapKey + ?Sized> MapKey for &T {}

/// The MessagePack encoding of `v`.
pub fn to_msgpack<T: Encode + ?Sized>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(&mut out);
    out
}

/// Decodes one value of type `T` that spans all of `bytes`.
pub fn from_msgpack<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    let mut r = Reader::new(bytes);
    let v = T::decode(&mut r)?;
    r.finish()?;
    Ok(v)
}

impl<T: Encode + ?Sized> Encode for &T {
    fn encode(&self, out: &mut Vec<u8>) {
        (**self).encode(out)
    }
}

impl Encode for i64 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_int(out, *self)
    }
}
impl Decode for i64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_int()
    }
}

impl Encode for f64 {
    fn encode(&self, out: &mut Vec<u8>) {
        write_float(out, *self)
    }
}
impl Decode for f64 {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_float()
    }
}

impl Encode for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bool(out, *self)
    }
}
impl Decode for bool {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_bool()
    }
}

impl Encode for str {
    fn encode(&self, out: &mut Vec<u8>) {
        write_str(out, self)
    }
}
impl Encode for String {
    fn encode(&self, out: &mut Vec<u8>) {
        write_str(out, self)
    }
}
impl Decode for String {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_str().map(str::to_owned)
    }
}

impl Encode for [u8] {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bin(out, self)
    }
}
impl Encode for Vec<u8> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_bin(out, self)
    }
}
impl Decode for Vec<u8> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_bin().map(<[u8]>::to_vec)
    }
}

impl Encode for Value {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_value(self, out)
    }
}
impl Decode for Value {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        r.read_value()
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, out: &mut Vec<u8>) {
        write_array_len(out, self.len());
        for item in self {
            item.encode(out);
        }
    }
}
impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        self.as_slice().encode(out)
    }
}
impl<T: Decode> Decode for Vec<T> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_array_len()?;
        // `n` is at most the number of bytes left, so this reservation is bounded by the input.
        let mut items = Vec::with_capacity(n);
        r.nested(|r| {
            for _ in 0..n {
                items.push(T::decode(r)?);
            }
            Ok(())
        })?;
        Ok(items)
    }
}

/// A `map` that keeps its entries in order and takes any key the host sends (int, string or
/// bool), unlike `BTreeMap`/`HashMap`, which need one Rust key type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Map(pub Vec<(Value, Value)>);

impl Encode for Map {
    fn encode(&self, out: &mut Vec<u8>) {
        write_map_len(out, self.0.len());
        for (k, v) in &self.0 {
            k.encode(out);
            v.encode(out);
        }
    }
}
impl Decode for Map {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_map_len()?;
        let mut entries = Vec::with_capacity(n);
        r.nested(|r| {
            for _ in 0..n {
                let k = r.read_value()?;
                let v = r.read_value()?;
                entries.push((k, v));
            }
            Ok(())
        })?;
        Ok(Map(entries))
    }
}

impl<K: Encode + MapKey, V: Encode> Encode for BTreeMap<K, V> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_map_len(out, self.len());
        for (k, v) in self {
            k.encode(out);
            v.encode(out);
        }
    }
}
impl<K: Decode + MapKey + Ord, V: Decode> Decode for BTreeMap<K, V> {
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_map_len()?;
        let mut map = BTreeMap::new();
        r.nested(|r| {
            for _ in 0..n {
                let k = K::decode(r)?;
                let v = V::decode(r)?;
                if map.insert(k, v).is_some() {
                    return Err(DecodeError::DuplicateKey);
                }
            }
            Ok(())
        })?;
        Ok(map)
    }
}

impl<K: Encode + MapKey, V: Encode, S> Encode for HashMap<K, V, S> {
    fn encode(&self, out: &mut Vec<u8>) {
        write_map_len(out, self.len());
        for (k, v) in self {
            k.encode(out);
            v.encode(out);
        }
    }
}
impl<K: Decode + MapKey + Eq + Hash, V: Decode, S: BuildHasher + Default> Decode
    for HashMap<K, V, S>
{
    fn decode(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let n = r.read_map_len()?;
        let mut map = HashMap::with_capacity_and_hasher(n, S::default());
        r.nested(|r| {
            for _ in 0..n {
                let k = K::decode(r)?;
                let v = V::decode(r)?;
                if map.insert(k, v).is_some() {
                    return Err(DecodeError::DuplicateKey);
                }
            }
            Ok(())
        })?;
        Ok(map)
    }
}

// The ABI type names of everything above live with the other type mappings.
impl AbiTyped for Map {
    const TYPE: AbiType = AbiType::MAP;
}
