//! The MessagePack subset of the typed ABI (docs/ABI.md §5): how `array`, `map` and `any`
//! values cross the boundary.
//!
//! Decoding reads hostile bytes: every length is checked against the bytes actually present
//! before anything is allocated, nesting is limited, and every failure is a message, never a
//! panic.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::{Map, MapKey, Object, Type};

/// How deep arrays and maps may nest.
pub(crate) const MAX_DEPTH: usize = 64;

/// Why a value cannot be encoded as a given type: where, and what was found.
#[derive(Debug, PartialEq)]
pub(crate) struct Mismatch {
    /// Where in the value: `""` for the value itself, `[2]`, `["k"]`, `[0][1]`, ...
    pub(crate) path: String,
    /// What the value there is.
    pub(crate) found: &'static str,
}

/// Encodes `value`, which must conform to `ty`, appending to `out`. Ints in an `array<float>`
/// are written as floats.
pub(crate) fn encode(value: &Object, ty: &Type, out: &mut Vec<u8>) -> Result<(), Mismatch> {
    encode_at(value, ty, out, &mut String::new(), 0)
}

fn encode_at(
    value: &Object,
    ty: &Type,
    out: &mut Vec<u8>,
    path: &mut String,
    depth: usize,
) -> Result<(), Mismatch> {
    let mismatch = |path: &String, v: &Object| Mismatch {
        path: path.clone(),
        found: v.type_name(),
    };
    if depth > MAX_DEPTH {
        return Err(Mismatch {
            path: path.clone(),
            found: "a value nested too deeply",
        });
    }
    match (ty, value) {
        (Type::Any, Object::Builtin(_) | Object::Error(_) | Object::Module(_)) => {
            Err(mismatch(path, value))
        }
        (Type::Any, Object::Null) | (Type::Null, Object::Null) => {
            out.push(0xc0);
            Ok(())
        }
        (Type::Any | Type::Bool, Object::Bool(b)) => {
            out.push(if *b { 0xc3 } else { 0xc2 });
            Ok(())
        }
        (Type::Any | Type::Int, Object::Int(v)) => {
            write_int(out, *v);
            Ok(())
        }
        (Type::Any | Type::Float, Object::Float(v)) => {
            write_float(out, *v);
            Ok(())
        }
        (Type::Float, Object::Int(v)) => {
            write_float(out, *v as f64);
            Ok(())
        }
        (Type::Any | Type::String, Object::String(s)) => {
            write_len(out, s.len(), [0xa0, 0xd9, 0xda, 0xdb], 32);
            out.extend_from_slice(s.as_bytes());
            Ok(())
        }
        (Type::Any | Type::Bytes, Object::Bytes(b)) => {
            write_len(out, b.len(), [0, 0xc4, 0xc5, 0xc6], 0);
            out.extend_from_slice(b);
            Ok(())
        }
        (Type::Any | Type::Array(_), Object::Array(items)) => {
            let elem = match ty {
                Type::Array(elem) => elem,
                _ => &Type::Any,
            };
            write_len(out, items.len(), [0x90, 0, 0xdc, 0xdd], 16);
            let base = path.len();
            for (i, item) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                encode_at(item, elem, out, path, depth + 1)?;
                path.truncate(base);
            }
            Ok(())
        }
        (Type::Any | Type::Map, Object::Map(map)) => {
            write_len(out, map.len(), [0x80, 0, 0xde, 0xdf], 16);
            let base = path.len();
            for (k, v) in map.iter() {
                match k {
                    MapKey::Bool(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
                    MapKey::Int(i) => write_int(out, *i),
                    MapKey::String(s) => {
                        write_len(out, s.len(), [0xa0, 0xd9, 0xda, 0xdb], 32);
                        out.extend_from_slice(s.as_bytes());
                    }
                }
                path.push_str(&format!("[{k}]"));
                encode_at(v, &Type::Any, out, path, depth + 1)?;
                path.truncate(base);
            }
            Ok(())
        }
        _ => Err(mismatch(path, value)),
    }
}

/// The shortest form: fixints, then unsigned forms for non-negative values and signed forms
/// for negative ones (as common encoders do).
fn write_int(out: &mut Vec<u8>, v: i64) {
    if (0..=0x7f).contains(&v) {
        out.push(v as u8);
    } else if (-32..0).contains(&v) {
        out.push(v as i8 as u8);
    } else if v >= 0 {
        if let Ok(x) = u8::try_from(v) {
            out.extend_from_slice(&[0xcc, x]);
        } else if let Ok(x) = u16::try_from(v) {
            out.push(0xcd);
            out.extend_from_slice(&x.to_be_bytes());
        } else if let Ok(x) = u32::try_from(v) {
            out.push(0xce);
            out.extend_from_slice(&x.to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&v.to_be_bytes());
        }
    } else if let Ok(x) = i8::try_from(v) {
        out.extend_from_slice(&[0xd0, x as u8]);
    } else if let Ok(x) = i16::try_from(v) {
        out.push(0xd1);
        out.extend_from_slice(&x.to_be_bytes());
    } else if let Ok(x) = i32::try_from(v) {
        out.push(0xd2);
        out.extend_from_slice(&x.to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn write_float(out: &mut Vec<u8>, v: f64) {
    out.push(0xcb);
    out.extend_from_slice(&v.to_be_bytes());
}

/// A length header: `codes` are the fix form (0 if none), then the 8-, 16- and 32-bit forms
/// (0 if none); `fix_max` is how many the fix form holds.
fn write_len(out: &mut Vec<u8>, len: usize, codes: [u8; 4], fix_max: usize) {
    let [fix, c8, c16, c32] = codes;
    if fix_max > 0 && len < fix_max {
        out.push(fix | len as u8);
    } else if c8 != 0 && len <= 0xff {
        out.push(c8);
        out.push(len as u8);
    } else if len <= 0xffff {
        out.push(c16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(c32);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// Decodes exactly one value from `bytes`, checking it against `ty` as it goes (ints where a
/// float is declared become floats). The decoded value may take at most `max_host` bytes of
/// host memory, as counted by [`host_size`] while decoding: MessagePack is compact (an empty
/// map is one byte, its host value some 64), so the wire size alone does not bound it.
pub(crate) fn decode(bytes: &[u8], ty: &Type, max_host: usize) -> Result<Object, String> {
    let mut r = Reader {
        bytes,
        pos: 0,
        budget: max_host,
        max_host,
    };
    let value = r.value(ty, 0)?;
    if r.pos != bytes.len() {
        return Err(format!(
            "{} bytes after the MessagePack value",
            bytes.len() - r.pos
        ));
    }
    Ok(value)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Host bytes the value may still take.
    budget: usize,
    max_host: usize,
}

/// The host memory a decoded value takes, as [`decode`] counts it: a value slot per array
/// element and per map key and value, plus the allocation of each string, byte string and map
/// (its contents and a 16-byte header; a map 48 bytes more for its entries' tree nodes).
pub(crate) mod host_size {
    /// One value slot.
    pub(crate) const SLOT: usize = core::mem::size_of::<crate::Object>();
    /// The header of an `Arc` allocation.
    pub(crate) const ARC: usize = 16;
    /// A map's allocation, and what each entry adds besides its key and value slots.
    pub(crate) const MAP: usize = 48;
}

impl<'a> Reader<'a> {
    /// Counts `n` bytes of host memory against the budget.
    fn spend(&mut self, n: usize) -> Result<(), String> {
        match self.budget.checked_sub(n) {
            Some(left) => {
                self.budget = left;
                Ok(())
            }
            None => Err(format!(
                "decoding it would take more than {} bytes of host memory (at offset {})",
                self.max_host, self.pos
            )),
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "MessagePack value ends early: {n} more bytes needed at offset {}",
                    self.pos
                )
            })?;
        let s = self.bytes.get(self.pos..end).unwrap_or_default();
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?.first().copied().unwrap_or(0))
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], String> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn len(&mut self, width: usize) -> Result<usize, String> {
        Ok(match width {
            1 => usize::from(self.byte()?),
            2 => usize::from(u16::from_be_bytes(self.be()?)),
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    /// `count` elements of at least `min_size` bytes each must fit in what is left.
    fn check_count(&self, count: usize, min_size: usize) -> Result<(), String> {
        let left = self.bytes.len() - self.pos;
        if count.saturating_mul(min_size) > left {
            return Err(format!(
                "MessagePack claims {count} elements but only {left} bytes follow"
            ));
        }
        Ok(())
    }

    /// One value, which must be of type `ty`. Inlined into the array loop, so that an array of
    /// numbers decodes without a call per element.
    #[inline(always)]
    fn value(&mut self, ty: &Type, depth: usize) -> Result<Object, String> {
        let at = self.pos;
        let b = self.byte()?;
        let value = match b {
            0x00..=0x7f => Object::Int(i64::from(b)),
            0xe0..=0xff => Object::Int(i64::from(b as i8)),
            0xc0 => Object::Null,
            0xc2 => Object::Bool(false),
            0xc3 => Object::Bool(true),
            0xcc => Object::Int(i64::from(self.byte()?)),
            0xcd => Object::Int(i64::from(u16::from_be_bytes(self.be()?))),
            0xce => Object::Int(i64::from(u32::from_be_bytes(self.be()?))),
            0xd0 => Object::Int(i64::from(i8::from_be_bytes(self.be()?))),
            0xd1 => Object::Int(i64::from(i16::from_be_bytes(self.be()?))),
            0xd2 => Object::Int(i64::from(i32::from_be_bytes(self.be()?))),
            0xd3 => Object::Int(i64::from_be_bytes(self.be()?)),
            0xcb => Object::Float(f64::from_be_bytes(self.be()?)),
            _ => self.other(b, at, ty, depth)?,
        };
        match (ty, value) {
            (Type::Float, Object::Int(i)) => Ok(Object::Float(i as f64)),
            (Type::Any, v)
            | (Type::Array(_), v @ Object::Array(_))
            | (Type::Map, v @ Object::Map(_))
            | (Type::Int, v @ Object::Int(_))
            | (Type::Float, v @ Object::Float(_))
            | (Type::Bool, v @ Object::Bool(_))
            | (Type::String, v @ Object::String(_))
            | (Type::Bytes, v @ Object::Bytes(_))
            | (Type::Null, v @ Object::Null) => Ok(v),
            (_, v) => Err(format!(
                "expected {ty} at offset {at}, got {}",
                v.type_name()
            )),
        }
    }

    /// Every other format (marker `b` at offset `at`): uint64, float32, strings, bytes, arrays
    /// (which pass their element type on), maps, and what is not supported. At most
    /// [`MAX_DEPTH`] arrays and maps nest.
    #[inline(never)]
    fn other(&mut self, b: u8, at: usize, ty: &Type, depth: usize) -> Result<Object, String> {
        if matches!(b, 0x80..=0x9f | 0xdc..=0xdf) && depth >= MAX_DEPTH {
            return Err(format!(
                "MessagePack arrays and maps nest deeper than {MAX_DEPTH} levels"
            ));
        }
        let elem = match ty {
            Type::Array(elem) => elem,
            _ => &Type::Any,
        };
        Ok(match b {
            0xcf => {
                let v = u64::from_be_bytes(self.be()?);
                Object::Int(i64::try_from(v).map_err(|_| {
                    format!("MessagePack uint64 {v} at offset {at} does not fit an int")
                })?)
            }
            0xca => Object::Float(f64::from(f32::from_be_bytes(self.be()?))),
            0xa0..=0xbf => self.string(usize::from(b & 0x1f))?,
            0xd9 => {
                let n = self.len(1)?;
                self.string(n)?
            }
            0xda => {
                let n = self.len(2)?;
                self.string(n)?
            }
            0xdb => {
                let n = self.len(4)?;
                self.string(n)?
            }
            0xc4..=0xc6 => {
                let n = self.len(1 << (b - 0xc4))?;
                self.spend(n.saturating_add(host_size::ARC))?;
                Object::Bytes(Arc::from(self.take(n)?))
            }
            0x90..=0x9f => self.array(usize::from(b & 0x0f), elem, depth)?,
            0xdc => {
                let n = self.len(2)?;
                self.array(n, elem, depth)?
            }
            0xdd => {
                let n = self.len(4)?;
                self.array(n, elem, depth)?
            }
            0x80..=0x8f => self.map(usize::from(b & 0x0f), depth)?,
            0xde => {
                let n = self.len(2)?;
                self.map(n, depth)?
            }
            0xdf => {
                let n = self.len(4)?;
                self.map(n, depth)?
            }
            other => {
                return Err(format!(
                    "MessagePack type {other:#04x} at offset {at} is not supported"
                ));
            }
        })
    }

    fn string(&mut self, n: usize) -> Result<Object, String> {
        self.spend(n.saturating_add(host_size::ARC))?;
        let at = self.pos;
        let bytes = self.take(n)?;
        let s = core::str::from_utf8(bytes)
            .map_err(|e| format!("MessagePack string at offset {at} is not UTF-8 ({e})"))?;
        Ok(Object::String(Arc::from(s)))
    }

    fn array(&mut self, n: usize, elem: &Type, depth: usize) -> Result<Object, String> {
        self.check_count(n, 1)?;
        self.spend(
            n.saturating_mul(host_size::SLOT)
                .saturating_add(host_size::ARC),
        )?;
        // Collected straight into the array's one allocation (an iterator of known length);
        // the first error stops the decoding and is returned after.
        let mut failed = None;
        let items: Arc<[Object]> = (0..n)
            .map(|_| {
                if failed.is_some() {
                    return Object::Null;
                }
                self.value(elem, depth + 1).unwrap_or_else(|e| {
                    failed = Some(e);
                    Object::Null
                })
            })
            .collect();
        match failed {
            Some(e) => Err(e),
            None => Ok(Object::Array(items)),
        }
    }

    fn map(&mut self, n: usize, depth: usize) -> Result<Object, String> {
        self.check_count(n, 2)?;
        let entry = 2 * host_size::SLOT + host_size::MAP;
        self.spend(
            n.saturating_mul(entry)
                .saturating_add(host_size::MAP + host_size::ARC),
        )?;
        let mut map = Map::new();
        for _ in 0..n {
            let at = self.pos;
            let key = MapKey::try_from(self.value(&Type::Any, depth + 1)?).map_err(|k| {
                format!(
                    "MessagePack map key at offset {at} is {}; keys must be int, string or bool",
                    k.type_name()
                )
            })?;
            let value = self.value(&Type::Any, depth + 1)?;
            if map.insert(key.clone(), value).is_some() {
                return Err(format!("MessagePack map repeats the key {key}"));
            }
        }
        Ok(Object::Map(Arc::new(map)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec;

    fn enc(v: &Object) -> Vec<u8> {
        let mut out = Vec::new();
        encode(v, &Type::Any, &mut out).expect("encodes");
        out
    }

    fn sample() -> Object {
        let mut m = Map::new();
        m.insert(MapKey::from("k"), Object::Float(2.5));
        m.insert(MapKey::Int(-3), Object::Null);
        m.insert(MapKey::Bool(true), Object::from(vec![1u8, 2, 3]));
        Object::from(vec![
            Object::Int(1),
            Object::from("a"),
            Object::from(vec![Object::Bool(true), Object::Null]),
            Object::from(m),
        ])
    }

    #[test]
    fn round_trips() {
        let ints = [
            0,
            1,
            127,
            128,
            255,
            256,
            65535,
            65536,
            -1,
            -32,
            -33,
            -128,
            -129,
            -32768,
            -32769,
            i64::from(i32::MIN),
            i64::from(i32::MIN) - 1,
            i64::from(u32::MAX),
            i64::from(u32::MAX) + 1,
            i64::MIN,
            i64::MAX,
        ];
        let mut values: Vec<Object> = ints.iter().map(|i| Object::Int(*i)).collect();
        values.extend([
            Object::Null,
            Object::Bool(false),
            Object::Float(-0.5),
            Object::Float(f64::INFINITY),
            Object::from(""),
            Object::from("héllo 😀"),
            Object::from("x".repeat(31)),
            Object::from("x".repeat(32)),
            Object::from("x".repeat(256)),
            Object::from("x".repeat(70_000)),
            Object::from(vec![0u8; 300]),
            Object::from(Vec::<Object>::new()),
            Object::from((0..20).map(Object::Int).collect::<Vec<_>>()),
            Object::from((0..70_000).map(Object::Int).collect::<Vec<_>>()),
            sample(),
        ]);
        for v in values {
            let bytes = enc(&v);
            assert_eq!(decode(&bytes, &Type::Any, usize::MAX), Ok(v.clone()), "{v}");
        }
    }

    #[test]
    fn shortest_int_forms() {
        assert_eq!(enc(&Object::Int(5)), [5]);
        assert_eq!(enc(&Object::Int(-1)), [0xff]);
        assert_eq!(enc(&Object::Int(200)), [0xcc, 200]);
        assert_eq!(enc(&Object::Int(-100)), [0xd0, 0x9c]);
        assert_eq!(enc(&Object::Int(1000)), [0xcd, 0x03, 0xe8]);
        assert_eq!(enc(&Object::Int(-1000)), [0xd1, 0xfc, 0x18]);
        assert_eq!(enc(&Object::Int(i64::MAX))[0], 0xcf);
        assert_eq!(enc(&Object::Int(i64::MIN))[0], 0xd3);
        assert_eq!(enc(&Object::from("ab")), [0xa2, b'a', b'b']);
    }

    #[test]
    fn typed_encoding_checks_and_converts() {
        let mut out = Vec::new();
        let floats = Type::Array(Box::new(Type::Float));
        let mixed = Object::from(vec![Object::Int(1), Object::Float(0.5)]);
        encode(&mixed, &floats, &mut out).expect("ints become floats");
        assert_eq!(
            decode(&out, &Type::Any, usize::MAX),
            Ok(Object::from(vec![Object::Float(1.0), Object::Float(0.5)]))
        );
        let strings = Type::Array(Box::new(Type::String));
        let bad = Object::from(vec![Object::from("a"), Object::Int(2)]);
        assert_eq!(
            encode(&bad, &strings, &mut Vec::new()),
            Err(Mismatch {
                path: String::from("[1]"),
                found: "int"
            })
        );
        let builtin = Object::Builtin(crate::Builtin::new("b", |_| Object::Null));
        let nested = Object::from(vec![Object::from(vec![builtin])]);
        assert_eq!(
            encode(&nested, &Type::Any, &mut Vec::new()).map_err(|m| m.path),
            Err(String::from("[0][0]"))
        );
    }

    #[test]
    fn typed_decoding_checks_and_converts() {
        let ints = enc(&Object::from(vec![Object::Int(1), Object::Int(2)]));
        let float_ty = Type::Array(Box::new(Type::Float));
        assert_eq!(
            decode(&ints, &float_ty, usize::MAX),
            Ok(Object::from(vec![Object::Float(1.0), Object::Float(2.0)]))
        );
        let int_ty = Type::Array(Box::new(Type::Int));
        let floats = enc(&Object::from(vec![Object::Int(1), Object::Float(2.5)]));
        let err = decode(&floats, &int_ty, usize::MAX).unwrap_err();
        assert!(err.contains("expected int at offset 2, got float"), "{err}");
        assert!(decode(&enc(&Object::Int(1)), &Type::Map, usize::MAX).is_err());
    }

    #[test]
    fn host_memory_is_bounded_while_decoding() {
        // 100,000 empty maps: 100 KB on the wire, megabytes as host values.
        let mut bytes = vec![0xdd, 0x00, 0x01, 0x86, 0xa0];
        bytes.extend(core::iter::repeat_n(0x80u8, 100_000));
        let err = decode(&bytes, &Type::Any, 1 << 20).unwrap_err();
        assert!(
            err.contains("more than 1048576 bytes of host memory"),
            "{err}"
        );
        assert!(decode(&bytes, &Type::Any, 64 << 20).is_ok());
        // Empty strings in an array<string>.
        let mut strings = vec![0xdd, 0x00, 0x01, 0x86, 0xa0];
        strings.extend(core::iter::repeat_n(0xa0u8, 100_000));
        let ty = Type::Array(Box::new(Type::String));
        assert!(decode(&strings, &ty, 1 << 20).is_err());
    }

    #[test]
    fn hostile_bytes_are_errors() {
        let cases: &[(&[u8], &str)] = &[
            (&[], "ends early"),
            (
                &[0xdd, 0xff, 0xff, 0xff, 0xff],
                "claims 4294967295 elements",
            ),
            (&[0xdf, 0x7f, 0xff, 0xff, 0xff], "claims"),
            (&[0xdb, 0xff, 0xff, 0xff, 0xff, b'a'], "ends early"),
            (&[0xa2, 0xff, 0xfe], "not UTF-8"),
            (&[0xcf, 0xff, 0, 0, 0, 0, 0, 0, 0], "does not fit"),
            (&[0xc1], "not supported"),
            (&[0xd4, 1, 2], "not supported"),
            (&[0x81, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0], "keys must be"),
            (&[0x82, 1, 0xc0, 1, 0xc0], "repeats the key 1"),
            (&[0x01, 0x02], "1 bytes after"),
        ];
        for (bytes, fragment) in cases {
            let err = decode(bytes, &Type::Any, usize::MAX).unwrap_err();
            assert!(err.contains(fragment), "{bytes:x?}: {err}");
        }
        let mut deep = vec![0x91u8; MAX_DEPTH + 1];
        deep.push(0xc0);
        assert!(
            decode(&deep, &Type::Any, usize::MAX)
                .unwrap_err()
                .contains("nest deeper")
        );
        let mut ok = vec![0x91u8; MAX_DEPTH];
        ok.push(0xc0);
        assert!(decode(&ok, &Type::Any, usize::MAX).is_ok());
    }
}
