//! The imports of the module `xxplugin` (docs/ABI.md §3): `arg`, `result`, `error`, `log` and
//! `fetch`, and AssemblyScript's `env.abort`.

use alloc::format;
use alloc::string::String;

use wasmi::errors::LinkerError;
use wasmi::{Caller, Extern, Linker};

use crate::Type;
use crate::wasm::abi::exchange::{Expect, Sent};
use crate::wasm::abi::manifest::SECTION as XXPLUGIN;
use crate::wasm::abi::memory;
use crate::wasm::abi::values::{self, LiftError};
use crate::wasm::limits::{charge, charge_exchange};
use crate::wasm::store::Host;

/// Longest error message kept from `xxplugin.error`, in bytes.
const ERROR_LIMIT: usize = 4096;

/// The plugin's memory and the host state, for an import.
fn memory_and_host<'a>(
    caller: &'a mut Caller<'_, Host>,
    import: &str,
) -> Result<(&'a mut [u8], &'a mut Host), wasmi::Error> {
    let memory = caller.data().memory.ok_or_else(|| {
        wasmi::Error::new(format!("xxplugin.{import}: the plugin exports no `memory`"))
    })?;
    let (mem, host) = memory.data_and_store_mut(caller);
    if !host.call.is_active() {
        return Err(wasmi::Error::new(format!(
            "xxplugin.{import} was called outside a call of a declared function"
        )));
    }
    Ok((mem, host))
}

/// `xxplugin.arg(index, dst)`: copies memory-type argument `index` to `dst`.
fn arg(mut caller: Caller<'_, Host>, index: i32, dst: i32) -> Result<(), wasmi::Error> {
    let (mem, host) = memory_and_host(&mut caller, "arg")?;
    let call = &host.call;
    let Some(bytes) = call.arg_bytes(index as u32 as usize) else {
        return Err(wasmi::Error::new(format!(
            "xxplugin.arg: parameter {index} is not a string, bytes, array, map or any \
             parameter of this function"
        )));
    };
    let moved = bytes.len();
    copy_into(mem, dst, bytes, "arg")?;
    charge_exchange(&mut caller, moved);
    Ok(())
}

/// Copies `bytes` into guest memory at `dst` for the import `xxplugin.IMPORT`, or fails naming
/// it when they do not fit. Nothing is looked at when `bytes` is empty.
fn copy_into(mem: &mut [u8], dst: i32, bytes: &[u8], import: &str) -> Result<(), wasmi::Error> {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    let target = memory::bytes_mut(mem, dst as u32, len)
        .map_err(|e| wasmi::Error::new(format!("xxplugin.{import}: {e}")))?;
    target.copy_from_slice(bytes);
    Ok(())
}

/// `xxplugin.result(ptr, len)`: takes the call's result at once.
fn result(mut caller: Caller<'_, Host>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let (_, host) = memory_and_host(&mut caller, "result")?;
    let call = &mut host.call;
    let expect = call.expect();
    if call.sent != Sent::Nothing {
        call.violate(String::from("it called xxplugin.result twice"));
        return Ok(());
    }
    if expect == Expect::Nothing {
        call.violate(String::from(
            "it called xxplugin.result, but its declared result is not a string, bytes, array, \
             map or any",
        ));
        return Ok(());
    }
    let len = len as u32;
    charge_exchange(&mut caller, len as usize);
    let (mem, host) = memory_and_host(&mut caller, "result")?;
    let call = &mut host.call;
    if len as usize > call.max_result() {
        call.violate(format!(
            "its result is {len} bytes; the limit is {}",
            call.max_result()
        ));
        return Ok(());
    }
    let bytes = match memory::bytes(mem, ptr as u32, len) {
        Ok(bytes) => bytes,
        Err(e) => {
            call.violate(format!("its result: {e}"));
            return Ok(());
        }
    };
    let text_or_bytes = match expect {
        Expect::String => Some(Type::String),
        Expect::Bytes => Some(Type::Bytes),
        _ => None,
    };
    call.sent = match text_or_bytes {
        Some(ty) => match values::lift(bytes, &ty, 0) {
            Ok(value) => Sent::Value(value),
            Err(LiftError::Utf8(e)) => {
                call.violate(format!("its string result is not valid UTF-8 ({e})"));
                return Ok(());
            }
            Err(LiftError::Decode(e)) => {
                call.violate(format!("its result: {e}"));
                return Ok(());
            }
        },
        None => {
            call.result_bytes.clear();
            call.result_bytes.extend_from_slice(bytes);
            Sent::Encoded
        }
    };
    Ok(())
}

/// `xxplugin.error(ptr, len)`: the call failed with this message. Returns normally.
fn error(mut caller: Caller<'_, Host>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let (mem, host) = memory_and_host(&mut caller, "error")?;
    if host.call.error.is_some() {
        return Ok(());
    }
    let len = (len as u32).min(ERROR_LIMIT as u32);
    let message = match memory::bytes(mem, ptr as u32, len) {
        Ok(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        Err(e) => format!("(the plugin's error message is unreadable: {e})"),
    };
    host.call.error = Some(message);
    Ok(())
}

/// `xxplugin.log(level, ptr, len)`: a log line from the plugin, as a `tracing` event of the
/// target `xxlang_plugin::guest` with the plugin's name. Levels: 0 error, 1 warn, 2 info,
/// 3 debug, 4 (and above) trace.
fn log(mut caller: Caller<'_, Host>, level: i32, ptr: i32, len: i32) {
    caller.data_mut().reach_out();
    let Some(memory) = caller.data().memory else {
        return;
    };
    let len = (len as u32).min(ERROR_LIMIT as u32);
    charge(&mut caller, len as usize);
    let text = match memory::bytes(memory.data(&caller), ptr as u32, len) {
        Ok(bytes) => String::from_utf8_lossy(bytes),
        Err(_) => return,
    };
    let plugin = &*caller.data().plugin;
    match level {
        i32::MIN..=0 => tracing::error!(target: "xxlang_plugin::guest", plugin, "{text}"),
        1 => tracing::warn!(target: "xxlang_plugin::guest", plugin, "{text}"),
        2 => tracing::info!(target: "xxlang_plugin::guest", plugin, "{text}"),
        3 => tracing::debug!(target: "xxlang_plugin::guest", plugin, "{text}"),
        _ => tracing::trace!(target: "xxlang_plugin::guest", plugin, "{text}"),
    }
}

/// `xxplugin.fetch(dst)`: copies the last memory-type result of a host function to `dst`.
fn fetch(mut caller: Caller<'_, Host>, dst: i32) -> Result<(), wasmi::Error> {
    let memory = caller
        .data()
        .memory
        .ok_or_else(|| wasmi::Error::new("xxplugin.fetch: the plugin exports no `memory`"))?;
    let (mem, host) = memory.data_and_store_mut(&mut caller);
    copy_into(mem, dst, &host.pending, "fetch")?;
    let moved = caller.data().pending.len();
    charge(&mut caller, moved);
    Ok(())
}

/// The functions of the `xxplugin` import module.
pub(super) const IMPORTS: &[&str] = &["arg", "result", "error", "log", "fetch"];

/// Most bytes of an `abort` message the host reads.
const ABORT_TEXT_LIMIT: u32 = 1024;

/// Defines the import `xxplugin.NAME` (one of [`IMPORTS`]) in `linker`.
pub(super) fn define(linker: &mut Linker<Host>, name: &str) -> Result<(), LinkerError> {
    match name {
        "arg" => linker.func_wrap(XXPLUGIN, "arg", arg),
        "result" => linker.func_wrap(XXPLUGIN, "result", result),
        "error" => linker.func_wrap(XXPLUGIN, "error", error),
        "log" => linker.func_wrap(XXPLUGIN, "log", log),
        _ => linker.func_wrap(XXPLUGIN, "fetch", fetch),
    }
    .map(|_| ())
}

/// Defines AssemblyScript's `env.abort` in `linker`.
pub(super) fn define_abort(linker: &mut Linker<Host>) -> Result<(), LinkerError> {
    linker.func_wrap("env", "abort", abort).map(|_| ())
}

/// AssemblyScript's `env.abort(message, file, line, column)`: ends the call with a trap whose
/// message carries the guest's text.
fn abort(
    caller: Caller<'_, Host>,
    message: i32,
    file: i32,
    line: i32,
    column: i32,
) -> Result<(), wasmi::Error> {
    let text = |ptr: i32| match caller.get_export("memory") {
        Some(Extern::Memory(mem)) => as_string(mem.data(&caller), ptr as u32),
        _ => String::from("?"),
    };
    Err(wasmi::Error::new(format!(
        "abort: {} ({}:{line}:{column})",
        text(message),
        text(file)
    )))
}

/// An AssemblyScript string: UTF-16LE code units at `ptr`, their byte length in the `u32` just
/// before it. Read leniently (it is only for a message) and bounded.
fn as_string(mem: &[u8], ptr: u32) -> String {
    if ptr < 4 {
        return String::new();
    }
    let Ok(len_bytes) = memory::bytes(mem, ptr - 4, 4) else {
        return String::from("?");
    };
    let mut len = [0u8; 4];
    len.copy_from_slice(len_bytes);
    let len = u32::from_le_bytes(len).min(ABORT_TEXT_LIMIT) & !1;
    let Ok(units) = memory::bytes(mem, ptr, len) else {
        return String::from("?");
    };
    let units = units
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::as_string;
    use alloc::vec::Vec;

    #[test]
    fn assemblyscript_strings() {
        let mut mem = Vec::new();
        let text: Vec<u16> = "héllo".encode_utf16().collect();
        mem.extend_from_slice(&[0; 4]);
        mem.extend_from_slice(&((text.len() * 2) as u32).to_le_bytes());
        for u in &text {
            mem.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(as_string(&mem, 8), "héllo");
        assert_eq!(as_string(&mem, 0), "");
        assert_eq!(as_string(&mem, 1000), "?");
        // A length that runs past the end of memory is not trusted.
        mem[4..8].copy_from_slice(&1000u32.to_le_bytes());
        assert_eq!(as_string(&mem, 8), "?");
    }
}
