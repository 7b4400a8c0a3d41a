//! What the host provides to plugins: the per-instance state and the imports we define: the
//! typed ABI's `xxplugin.arg` / `xxplugin.result` / `xxplugin.error` (docs/ABI.md §3),
//! `env.abort` for AssemblyScript, and WASI preview 1 behind the `wasi` feature.

use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ops::Range;

use wasmi::{Caller, Extern, ExternType, Linker, Memory, Module};

use super::limits::{Limiter, Watch, charge};
use super::manifest::SECTION as XXPLUGIN;
use super::msgpack;
use crate::lock::LockId;
use crate::{Config, Limit, Object, Type};

/// The data of every plugin store.
pub(crate) struct Host {
    /// The plugin's name, for logs and host functions.
    pub(crate) plugin: Arc<str>,
    #[cfg(feature = "wasi")]
    pub(crate) wasi: Option<wasmi_wasi::WasiCtx>,
    /// The plugin's exported `memory`, once instantiated.
    pub(crate) memory: Option<Memory>,
    /// Memory and table limits.
    pub(crate) limiter: Limiter,
    /// Cancellation and the deadline, for host work that cannot wait on the store's fuel.
    pub(crate) watch: Option<Arc<Watch>>,
    /// The typed-ABI call under way.
    pub(crate) call: CallState,
    /// The last memory-type result of a host function, for `xxplugin.fetch`.
    pub(crate) pending: Vec<u8>,
    /// The most host memory a decoded value from the plugin may take (`max_result_bytes`).
    pub(crate) max_host_bytes: usize,
    /// The lock calls into this instance hold, marked while host functions run (with `std`:
    /// without it there are no thread-locals to mark).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    pub(crate) lock: LockId,
    /// Why this instance's state is more than its memory and globals, if it is: it changed
    /// host state that a copy of them cannot bring back (WASI file descriptors, files), or
    /// called the embedder, whose effects are outside the instance. No snapshot is taken of
    /// such an instance (see `snapshot`).
    pub(crate) unrepeatable: Option<&'static str>,
}

impl Host {
    /// The state for a new instance of `module` under `config`.
    pub(crate) fn new(
        _module: &Module,
        config: &Config,
        plugin: Arc<str>,
        lock: LockId,
        watch: Option<Arc<Watch>>,
        #[cfg(feature = "wasi")] wasi_budget: &super::wasi::WasiBudget,
    ) -> Result<Self, String> {
        Ok(Self {
            #[cfg(feature = "wasi")]
            wasi: if super::wasi::imports_wasi(_module) {
                Some(config.wasi.context(&plugin, watch.clone(), wasi_budget)?)
            } else {
                None
            },
            plugin,
            memory: None,
            limiter: Limiter::new(config),
            watch,
            call: CallState::default(),
            pending: Vec::new(),
            max_host_bytes: config.max_host_bytes(),
            lock,
            unrepeatable: None,
        })
    }
}

impl Host {
    /// The limit the plugin ran into since the last call of this: in the store (memory,
    /// tables) or in host work (a WASI sleep past the deadline, a cancel).
    pub(crate) fn take_hit(&mut self) -> Option<Limit> {
        let watched = self.watch.as_ref().and_then(|w| w.take_hit());
        self.limiter.take_hit().or(watched)
    }

    /// Records that the instance did something a snapshot of it cannot reproduce (see
    /// [`Host::unrepeatable`]); the first reason is kept.
    pub(crate) fn mark_unrepeatable(&mut self, why: &'static str) {
        self.unrepeatable.get_or_insert(why);
    }

    /// Gives the instance the plugin's final name, known only after start-up code ran (a
    /// legacy `plugin_name` export): for logs, host functions and WASI output.
    pub(crate) fn rename(&mut self, name: &Arc<str>, _config: &Config) {
        if *self.plugin == **name {
            return;
        }
        self.plugin = name.clone();
        #[cfg(feature = "wasi")]
        if let Some(wasi) = &self.wasi {
            _config.wasi.attach_output(wasi, name);
        }
    }
}

/// Longest error message kept from `xxplugin.error`, in bytes.
const ERROR_LIMIT: usize = 4096;

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
            Type::String => Expect::String,
            Type::Bytes => Expect::Bytes,
            Type::Int | Type::Float | Type::Bool | Type::Null => Expect::Nothing,
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
    /// MessagePack in `CallState::encoded`.
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
    pub(crate) violation: Option<String>,
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
            (Type::String | Type::Bytes, _) => return Err(()),
            _ => {
                let start = self.encoded.len();
                msgpack::encode(value, ty, &mut self.encoded).map_err(|_| ())?;
                let range = start..self.encoded.len();
                let len = range.len();
                (Arg::Encoded(range), len)
            }
        };
        let len = i32::try_from(len).map_err(|_| ())?;
        self.args.push(arg);
        Ok(len)
    }

    /// Ends the call: drops the arguments (and the references they hold).
    pub(crate) fn end(&mut self) {
        self.active = false;
        self.args.clear();
        self.expect = None;
    }

    fn violate(&mut self, what: String) {
        self.violation.get_or_insert(what);
    }
}

/// The plugin's memory and the host state, for an import.
fn memory_and_host<'a>(
    caller: &'a mut Caller<'_, Host>,
    import: &str,
) -> Result<(&'a mut [u8], &'a mut Host), wasmi::Error> {
    let memory = caller.data().memory.ok_or_else(|| {
        wasmi::Error::new(format!("xxplugin.{import}: the plugin exports no `memory`"))
    })?;
    let (mem, host) = memory.data_and_store_mut(caller);
    if !host.call.active {
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
    let bytes: &[u8] = match call.args.get(index as u32 as usize) {
        Some(Arg::Str(s)) => s.as_bytes(),
        Some(Arg::Bytes(b)) => b,
        Some(Arg::Encoded(range)) => call.encoded.get(range.clone()).unwrap_or_default(),
        _ => {
            return Err(wasmi::Error::new(format!(
                "xxplugin.arg: parameter {index} is not a string, bytes, array, map or any \
                 parameter of this function"
            )));
        }
    };
    let moved = bytes.len();
    copy_into(mem, dst, bytes, "arg")?;
    charge(&mut caller, moved);
    Ok(())
}

/// Copies `bytes` into guest memory at `dst` for the import `xxplugin.IMPORT`, or fails naming
/// it when they do not fit. Nothing is looked at when `bytes` is empty.
fn copy_into(mem: &mut [u8], dst: i32, bytes: &[u8], import: &str) -> Result<(), wasmi::Error> {
    if bytes.is_empty() {
        return Ok(());
    }
    let start = dst as u32 as usize;
    let size = mem.len();
    let target = start
        .checked_add(bytes.len())
        .and_then(|end| mem.get_mut(start..end))
        .ok_or_else(|| {
            wasmi::Error::new(format!(
                "xxplugin.{import}: {} bytes at {start:#x} are outside the plugin's memory \
                 ({size} bytes)",
                bytes.len(),
            ))
        })?;
    target.copy_from_slice(bytes);
    Ok(())
}

/// `xxplugin.result(ptr, len)`: takes the call's result at once.
fn result(mut caller: Caller<'_, Host>, ptr: i32, len: i32) -> Result<(), wasmi::Error> {
    let (_, host) = memory_and_host(&mut caller, "result")?;
    let call = &mut host.call;
    let expect = call.expect.unwrap_or(Expect::Nothing);
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
    charge(&mut caller, len as usize);
    let (mem, host) = memory_and_host(&mut caller, "result")?;
    let call = &mut host.call;
    if len as usize > call.max_result {
        call.violate(format!(
            "its result is {len} bytes; the limit is {}",
            call.max_result
        ));
        return Ok(());
    }
    let bytes = match super::abi::bytes(mem, ptr as u32, len) {
        Ok(bytes) => bytes,
        Err(e) => {
            call.violate(format!("its result: {e}"));
            return Ok(());
        }
    };
    call.sent = match expect {
        Expect::String => match core::str::from_utf8(bytes) {
            Ok(s) => Sent::Value(Object::String(Arc::from(s))),
            Err(e) => {
                call.violate(format!("its string result is not valid UTF-8 ({e})"));
                return Ok(());
            }
        },
        Expect::Bytes => Sent::Value(Object::Bytes(Arc::from(bytes))),
        _ => {
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
    let message = match super::abi::bytes(mem, ptr as u32, len) {
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
    let Some(memory) = caller.data().memory else {
        return;
    };
    let len = (len as u32).min(ERROR_LIMIT as u32);
    charge(&mut caller, len as usize);
    let text = match super::abi::bytes(memory.data(&caller), ptr as u32, len) {
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
const IMPORTS: &[&str] = &["arg", "result", "error", "log", "fetch"];

/// Why a module's imports cannot be linked.
pub(crate) enum LinkError {
    /// Imports nobody provides, as `module.name`.
    Missing(Vec<String>),
    /// WASI imports, and the `wasi` feature is off.
    NoWasi(Vec<String>),
    /// An import the host provides with another type, and the like.
    Other(String),
}

/// Most bytes of an `abort` message the host reads.
const ABORT_TEXT_LIMIT: u32 = 1024;

/// Defines in `linker` every import of `module` that we provide (the `xxplugin` imports,
/// `env.abort`, WASI, the config's host functions), or lists every import we do not.
pub(crate) fn link(
    linker: &mut Linker<Host>,
    module: &Module,
    config: &Config,
) -> Result<(), LinkError> {
    let mut missing = Vec::new();
    let mut wants_abort = false;
    #[cfg(feature = "wasi")]
    let mut wants_wasi = false;
    let mut xxplugin: Vec<&str> = Vec::new();
    let mut host_functions = Vec::new();
    for import in module.imports() {
        let ty = match import.ty() {
            ExternType::Func(ty) => Some(ty),
            _ => None,
        };
        match (import.module(), import.name(), ty) {
            ("env", "abort", Some(_)) => wants_abort = true,
            (XXPLUGIN, name, Some(_)) if IMPORTS.contains(&name) => {
                if let Some(known) = IMPORTS.iter().find(|n| **n == name) {
                    xxplugin.push(known);
                }
            }
            #[cfg(feature = "wasi")]
            (super::wasi::MODULE, name, Some(_)) if super::wasi::FUNCTIONS.contains(&name) => {
                wants_wasi = true
            }
            (super::hostfns::MODULE, name, Some(ty)) => {
                match config.host_functions.iter().find(|f| f.name() == name) {
                    Some(f) => {
                        let wanted = super::hostfns::wasm_type(f);
                        if *ty != wanted {
                            return Err(LinkError::Other(format!(
                                "it imports {}.{name} with wasm type {}, but the host \
                                 function {name}{} has wasm type {}",
                                super::hostfns::MODULE,
                                super::manifest::show_wasm_type(ty),
                                f.signature(),
                                super::manifest::show_wasm_type(&wanted)
                            )));
                        }
                        host_functions.push(f.clone());
                    }
                    None => missing.push(format!("{}.{name}", super::hostfns::MODULE)),
                }
            }
            (m, n, _) => missing.push(format!("{m}.{n}")),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        let wasi: Vec<String> = missing
            .iter()
            .filter(|m| m.starts_with("wasi_snapshot_preview1."))
            .cloned()
            .collect();
        if !cfg!(feature = "wasi") && !wasi.is_empty() && wasi.len() == missing.len() {
            return Err(LinkError::NoWasi(wasi));
        }
        return Err(LinkError::Missing(missing));
    }
    let failed = |what: String| {
        move |e: wasmi::errors::LinkerError| LinkError::Other(format!("{what}: {e}"))
    };
    for name in xxplugin {
        let defined = match name {
            "arg" => linker.func_wrap(XXPLUGIN, "arg", arg),
            "result" => linker.func_wrap(XXPLUGIN, "result", result),
            "error" => linker.func_wrap(XXPLUGIN, "error", error),
            "log" => linker.func_wrap(XXPLUGIN, "log", log),
            _ => linker.func_wrap(XXPLUGIN, "fetch", fetch),
        };
        defined.map_err(failed(format!("{XXPLUGIN}.{name}")))?;
    }
    if wants_abort {
        linker
            .func_wrap("env", "abort", abort)
            .map_err(failed(String::from("env.abort")))?;
    }
    #[cfg(feature = "wasi")]
    if wants_wasi {
        super::wasi::link(linker)
            .map_err(|e| LinkError::Other(format!("{}: {e}", super::wasi::MODULE)))?;
    }
    for f in &host_functions {
        super::hostfns::define(linker, f).map_err(LinkError::Other)?;
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
