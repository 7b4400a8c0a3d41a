//! `serde` support for [`Object`] and [`MapKey`] (feature `serde`): xxlang values to and from
//! any serde format.
//!
//! | Object | serde data model |
//! |---|---|
//! | `Null` | unit (`null` in JSON); `None` reads as `Null` too |
//! | `Bool`, `Int`, `Float`, `String` | bool, i64, f64, str |
//! | `Bytes` | bytes (formats without bytes, like JSON, write an array of numbers) |
//! | `Array` | a sequence |
//! | `Map` | a map with bool, int or string keys |
//!
//! Reading, unsigned integers above `i64::MAX` are an error (xxlang ints are 64-bit signed).
//! Builtins, modules and error values are not data: writing one is an error that says so.
//!
//! ```
//! use xxlang_plugin::Object;
//!
//! let v: Object = serde_json::from_str(r#"{"n": 1, "tags": ["a", "b"], "ok": true}"#).unwrap();
//! assert_eq!(v.get("n"), Some(&Object::Int(1)));
//! assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"n":1,"ok":true,"tags":["a","b"]}"#);
//! ```

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::{Map, MapKey, Object};

impl Serialize for Object {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Object::Null => serializer.serialize_unit(),
            Object::Bool(b) => serializer.serialize_bool(*b),
            Object::Int(i) => serializer.serialize_i64(*i),
            Object::Float(f) => serializer.serialize_f64(*f),
            Object::String(s) => serializer.serialize_str(s),
            Object::Bytes(b) => serializer.serialize_bytes(b),
            Object::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items.iter() {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Object::Map(map) => {
                let mut out = serializer.serialize_map(Some(map.len()))?;
                for (k, v) in map.iter() {
                    out.serialize_entry(k, v)?;
                }
                out.end()
            }
            other => Err(ser::Error::custom(format_args!(
                "{} is not data: only null, bools, ints, floats, strings, bytes, arrays and \
                 maps serialize",
                other.type_name()
            ))),
        }
    }
}

impl Serialize for MapKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MapKey::Bool(b) => serializer.serialize_bool(*b),
            MapKey::Int(i) => serializer.serialize_i64(*i),
            MapKey::String(s) => serializer.serialize_str(s),
        }
    }
}

struct ObjectVisitor;

fn int<E: de::Error>(v: u64) -> Result<i64, E> {
    i64::try_from(v).map_err(|_| E::custom(format_args!("{v} is out of range for an int (i64)")))
}

impl<'de> Visitor<'de> for ObjectVisitor {
    type Value = Object;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an xxlang value (null, bool, int, float, string, bytes, array or map)")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Object, E> {
        Ok(Object::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Object, E> {
        Ok(Object::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Object, D::Error> {
        Object::deserialize(d)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Object, E> {
        Ok(Object::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Object, E> {
        Ok(Object::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Object, E> {
        int(v).map(Object::Int)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Object, E> {
        Ok(Object::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Object, E> {
        Ok(Object::from(v))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Object, E> {
        Ok(Object::from(v))
    }

    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Object, E> {
        Ok(Object::from(v))
    }

    fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Object, E> {
        Ok(Object::from(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Object, A::Error> {
        // The size hint is the input's word: bounded, so a hostile one cannot reserve much.
        let mut items: Vec<Object> = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Object::from(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Object, A::Error> {
        let mut map = Map::new();
        while let Some((k, v)) = access.next_entry::<MapKey, Object>()? {
            map.insert(k, v);
        }
        Ok(Object::Map(Arc::new(map)))
    }
}

impl<'de> Deserialize<'de> for Object {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ObjectVisitor)
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = MapKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map key (bool, int or string)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<MapKey, E> {
        Ok(MapKey::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<MapKey, E> {
        Ok(MapKey::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<MapKey, E> {
        int(v).map(MapKey::Int)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<MapKey, E> {
        Ok(MapKey::from(v))
    }
}

impl<'de> Deserialize<'de> for MapKey {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeMap;
    use alloc::string::ToString;
    use alloc::vec;

    #[test]
    fn json_round_trips_data() {
        let v = Object::from(BTreeMap::from([
            (
                "a",
                Object::from(vec![Object::Int(-1), Object::Float(0.5), Object::Null]),
            ),
            ("b", Object::from("text")),
        ]));
        let text = serde_json::to_string(&v).expect("serializes");
        assert_eq!(text, r#"{"a":[-1,0.5,null],"b":"text"}"#);
        assert_eq!(serde_json::from_str::<Object>(&text).expect("reads"), v);
    }

    #[test]
    fn what_is_not_data_or_out_of_range_is_an_error() {
        let err = serde_json::to_string(&Object::error("x")).unwrap_err();
        assert!(err.to_string().contains("error is not data"), "{err}");
        let err = serde_json::from_str::<Object>("18446744073709551615").unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
        assert_eq!(
            serde_json::from_str::<Object>("[]").ok(),
            Some(Object::from(vec![] as Vec<Object>))
        );
        let bytes = serde_json::to_string(&Object::from(vec![1_u8, 2])).expect("bytes");
        assert_eq!(bytes, "[1,2]");
    }
}
