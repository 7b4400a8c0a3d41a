//! What passes between the host and a plugin in one typed-ABI call (docs/ABI.md §3): the
//! memory-type arguments `xxplugin.arg` hands out, the result `xxplugin.result` must send, and
//! what the plugin sent back. Buffers are reused from call to call.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;

use super::values;
use crate::{Object, Type};

/// What `xxplugin.result` must send in the call under way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Nothing: the function's result is a number, a bool or null.
    Nothing,
    /// UTF-8 text, decoded as it arrives.
    String,
    /// Bytes, copied as they arrive.
    Bytes,
    /// MessagePack, copied as it arrives and decoded after the call against the declared type.
    Encoded,
}

impl Expect {
    pub(crate) fn of(ty: &Type) -> Self {
        match ty {
            _ if !super::types::in_memory(ty) => Expect::Nothing,
            Type::String => Expect::String,
            Type::Bytes => Expect::Bytes,
            _ => Expect::Encoded,
        }
    }
}

/// A memory-type argument of the call under way, for `xxplugin.arg`.
enum Arg {
    /// Not a memory-type parameter.
    None,
    Str(Arc<str>),
    Bytes(Arc<[u8]>),
    /// Bytes in `CallState::encoded`: MessagePack, or a typed handle's string or bytes.
    Encoded(Range<usize>),
}

/// What the plugin sent with `xxplugin.result`.
#[derive(Debug, Default, PartialEq)]
pub(crate) enum Sent {
    #[default]
    Nothing,
    Value(Object),
    /// MessagePack in `CallState::result_bytes`.
    Encoded,
}

/// Why a call sent no result: the plugin reported an error, or broke the ABI.
pub(crate) enum Refused {
    Error(String),
    Violation(String),
}

/// The state of one typed-ABI call: its arguments for `xxplugin.arg`, and what the plugin sent
/// back. Buffers are reused from call to call.
#[derive(Default)]
pub(crate) struct CallState {
    active: bool,
    args: Vec<Arg>,
    encoded: Vec<u8>,
    expect: Option<Expect>,
    max_result: usize,
    pub(crate) sent: Sent,
    pub(crate) result_bytes: Vec<u8>,
    pub(crate) error: Option<String>,
    violation: Option<String>,
}

impl CallState {
    /// Starts a call whose result must be `expect`, of at most `max_result` bytes.
    pub(crate) fn begin(&mut self, expect: Expect, max_result: usize) {
        self.active = true;
        self.args.clear();
        self.encoded.clear();
        self.expect = Some(expect);
        self.max_result = max_result;
        self.sent = Sent::Nothing;
        self.error = None;
        self.violation = None;
    }

    /// The next parameter is a number or a bool.
    pub(crate) fn push_number(&mut self) {
        self.args.push(Arg::None);
    }

    /// The next parameter has memory type `ty`: keeps its bytes for `xxplugin.arg` and returns
    /// their length, the wasm argument.
    pub(crate) fn push_memory(&mut self, value: &Object, ty: &Type) -> Result<i32, ()> {
        let (arg, len) = match (ty, value) {
            (Type::String, Object::String(s)) => (Arg::Str(s.clone()), s.len()),
            (Type::Bytes, Object::Bytes(b)) => (Arg::Bytes(b.clone()), b.len()),
            _ => {
                let start = self.encoded.len();
                if values::lower(value, ty, &mut self.encoded).is_err() {
                    self.encoded.truncate(start);
                    return Err(());
                }
                let range = start..self.encoded.len();
                let len = range.len();
                (Arg::Encoded(range), len)
            }
        };
        let len = i32::try_from(len).map_err(|_| ())?;
        self.args.push(arg);
        Ok(len)
    }

    /// The next parameter is a string or bytes given as such (a typed handle's `&str` or
    /// `&[u8]`): keeps a copy for `xxplugin.arg` and returns the length, the wasm argument.
    pub(crate) fn push_raw(&mut self, bytes: &[u8]) -> Result<i32, ()> {
        let len = i32::try_from(bytes.len()).map_err(|_| ())?;
        let start = self.encoded.len();
        self.encoded.extend_from_slice(bytes);
        self.args.push(Arg::Encoded(start..self.encoded.len()));
        Ok(len)
    }

    /// What the plugin sent, once the call is over; first whether it reported an error
    /// (`xxplugin.error`) or broke the ABI.
    pub(crate) fn take_sent(&mut self) -> Result<Sent, Refused> {
        if let Some(message) = self.error.take() {
            return Err(Refused::Error(message));
        }
        if let Some(violation) = self.violation.take() {
            return Err(Refused::Violation(violation));
        }
        Ok(core::mem::take(&mut self.sent))
    }

    /// The error the plugin reported (`xxplugin.error`) in the running call, taken: for a call
    /// that then trapped (a Rust guest's panic hook reports the panic so, then aborts).
    pub(crate) fn take_error(&mut self) -> Option<String> {
        if self.active { self.error.take() } else { None }
    }

    /// Ends the call: drops the arguments (and the references they hold).
    pub(crate) fn end(&mut self) {
        self.active = false;
        self.args.clear();
        self.expect = None;
    }

    /// Whether a call of a declared function is under way (the imports work only then).
    pub(crate) fn is_active(&self) -> bool {
        self.active
    }

    /// The bytes of memory-type argument `index` (what `xxplugin.arg` copies), or `None` when
    /// parameter `index` is not of a memory type.
    pub(crate) fn arg_bytes(&self, index: usize) -> Option<&[u8]> {
        match self.args.get(index)? {
            Arg::Str(s) => Some(s.as_bytes()),
            Arg::Bytes(b) => Some(b),
            Arg::Encoded(range) => Some(self.encoded.get(range.clone()).unwrap_or_default()),
            Arg::None => None,
        }
    }

    /// What `xxplugin.result` must send in this call.
    pub(crate) fn expect(&self) -> Expect {
        self.expect.unwrap_or(Expect::Nothing)
    }

    /// The most bytes `xxplugin.result` may send in this call.
    pub(crate) fn max_result(&self) -> usize {
        self.max_result
    }

    /// Records that the plugin broke the ABI (the first time counts).
    pub(crate) fn violate(&mut self, what: String) {
        self.violation.get_or_insert(what);
    }
}
