//! What the host provides to plugins: the per-instance state and the imports we define
//! (`env.abort` for AssemblyScript, WASI preview 1 behind the `wasi` feature).

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use wasmi::{Caller, Extern, ExternType, Linker, Module};

/// The data of every plugin store.
#[derive(Default)]
pub(crate) struct Host {
    #[cfg(feature = "wasi")]
    pub(crate) wasi: Option<wasmi_wasi::WasiCtx>,
}

impl Host {
    /// The state for a new instance of `module`.
    pub(crate) fn for_module(_module: &Module) -> Self {
        Self {
            #[cfg(feature = "wasi")]
            wasi: super::wasi::imports_wasi(_module).then(super::wasi::deny_all),
        }
    }
}

/// Most bytes of an `abort` message the host reads.
const ABORT_TEXT_LIMIT: u32 = 1024;

/// Defines in `linker` every import of `module` that we provide, or lists (as `module.name`)
/// every import we do not.
pub(crate) fn link(linker: &mut Linker<Host>, module: &Module) -> Result<(), Vec<String>> {
    let mut missing = Vec::new();
    let mut wants_abort = false;
    #[cfg(feature = "wasi")]
    let mut wants_wasi = false;
    for import in module.imports() {
        let is_func = matches!(import.ty(), ExternType::Func(_));
        match (import.module(), import.name()) {
            ("env", "abort") if is_func => wants_abort = true,
            #[cfg(feature = "wasi")]
            (super::wasi::MODULE, name) if is_func && super::wasi::FUNCTIONS.contains(&name) => {
                wants_wasi = true
            }
            (m, n) => missing.push(format!("{m}.{n}")),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(missing);
    }
    if wants_abort {
        linker
            .func_wrap("env", "abort", abort)
            .map_err(|e| alloc::vec![format!("env.abort ({e})")])?;
    }
    #[cfg(feature = "wasi")]
    if wants_wasi {
        super::wasi::link(linker)
            .map_err(|e| alloc::vec![format!("{} ({e})", super::wasi::MODULE)])?;
    }
    Ok(())
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
    let Ok(len_bytes) = super::abi::bytes(mem, ptr - 4, 4) else {
        return String::from("?");
    };
    let mut len = [0u8; 4];
    len.copy_from_slice(len_bytes);
    let len = u32::from_le_bytes(len).min(ABORT_TEXT_LIMIT) & !1;
    let Ok(units) = super::abi::bytes(mem, ptr, len) else {
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
