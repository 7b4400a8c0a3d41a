//! Values of memory types (string, bytes, array, map, any) as they cross between host and
//! plugin, in both directions: the one conversion that typed-ABI calls and host functions share.
//! A string crosses as its UTF-8 bytes, bytes as themselves, anything else as MessagePack
//! (docs/ABI.md §5).

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::{Object, Type, msgpack};

/// Why bytes from the plugin are not a value of the type they had to be.
pub(crate) enum LiftError {
    /// A string that is not UTF-8.
    Utf8(core::str::Utf8Error),
    /// MessagePack that does not decode to the type (or would take more host memory than
    /// allowed).
    Decode(String),
}

/// The value of memory type `ty` in `bytes` (sent by the plugin); a decoded value may take at
/// most `max_host` bytes of host memory.
pub(crate) fn lift(bytes: &[u8], ty: &Type, max_host: usize) -> Result<Object, LiftError> {
    match ty {
        Type::String => core::str::from_utf8(bytes)
            .map(|s| Object::String(Arc::from(s)))
            .map_err(LiftError::Utf8),
        Type::Bytes => Ok(Object::Bytes(Arc::from(bytes))),
        _ => msgpack::decode(bytes, ty, max_host).map_err(LiftError::Decode),
    }
}

/// Appends `value` as the plugin receives a value of memory type `ty` to `out`; `Err` (with
/// `out` as it was, or with a partial value appended) when `value` is not of that type.
pub(crate) fn lower(value: &Object, ty: &Type, out: &mut Vec<u8>) -> Result<(), ()> {
    match (ty, value) {
        (Type::String, Object::String(s)) => out.extend_from_slice(s.as_bytes()),
        (Type::Bytes, Object::Bytes(b)) => out.extend_from_slice(b),
        (Type::String | Type::Bytes, _) => return Err(()),
        _ => msgpack::encode(value, ty, out).map_err(|_| ())?,
    }
    Ok(())
}
