//! The legacy metadata exports `plugin_name` and
//! `plugin_version` (through a result slot or as a packed `i64`), and the `alloc` export that
//! provides the result slot.
//!
//! Everything read here is hostile: a metadata export that traps, points out of bounds,
//! returns bytes that are not UTF-8, or a name that is not a plain identifier fails the load
//! with an error naming the export. An export with an unexpected signature is not metadata and
//! is ignored (with a warning), as the original system did.

use alloc::format;
use alloc::string::{String, ToString};

use wasmi::{Func, Instance, Memory, Store};

use crate::wasm::abi::memory;
use crate::wasm::limits::Startup;
use crate::wasm::store::Host;
use crate::wasm::twin::TwinFunc;

/// What the plugin declares, and the result slot calls may use.
#[derive(Debug, Default)]
pub(crate) struct Metadata {
    pub(crate) name: Option<String>,
    pub(crate) version: Option<String>,
    /// 8 bytes of guest memory from `alloc(8)`, allocated once per instance.
    pub(crate) slot: Option<u32>,
}

/// A metadata export that misbehaved.
#[derive(Debug)]
pub(crate) struct MetadataError {
    pub(crate) export: &'static str,
    pub(crate) reason: String,
}

/// Longest name and version accepted, in bytes.
const NAME_LIMIT: u32 = crate::plugin::NAME_LIMIT as u32;
const VERSION_LIMIT: u32 = 256;

enum Getter {
    Absent,
    /// `(result_ptr: i32)`: writes `(ptr: u32, len: u32)` at `result_ptr`.
    Slot(TwinFunc<i32, ()>),
    /// `() -> i64`: returns `ptr << 32 | len`.
    Packed(TwinFunc<(), i64>),
    /// Some other signature: not metadata.
    Other,
}

fn getter(store: &Store<Host>, func: Option<Func>) -> Getter {
    let Some(func) = func else {
        return Getter::Absent;
    };
    if let Ok(f) = TwinFunc::new(func, store) {
        Getter::Slot(f)
    } else if let Ok(f) = TwinFunc::new(func, store) {
        Getter::Packed(f)
    } else {
        Getter::Other
    }
}

/// Reads the metadata of a fresh instance. `calls_need_slot` says whether some function
/// (a legacy `range_`) needs the result slot even if the metadata does not.
pub(crate) fn read(
    store: &mut Store<Host>,
    instance: &Instance,
    calls_need_slot: bool,
    startup: &mut Startup<'_>,
) -> Result<Metadata, MetadataError> {
    let memory = instance.get_memory(&*store, "memory");
    let name_getter = getter(store, instance.get_func(&*store, "plugin_name"));
    let version_getter = getter(store, instance.get_func(&*store, "plugin_version"));
    let alloc = match instance.get_func(&*store, "alloc") {
        Some(f) => match TwinFunc::<i32, i32>::new(f, &*store) {
            Ok(f) => Some(f),
            Err(_) => {
                tracing::warn!("export `alloc` is not `(i32) -> i32`; ignoring it");
                None
            }
        },
        None => None,
    };

    let needs_slot = calls_need_slot
        || matches!(name_getter, Getter::Slot(_))
        || matches!(version_getter, Getter::Slot(_));
    let slot = match (needs_slot, alloc) {
        (true, Some(alloc)) => Some(allocate_slot(store, memory, alloc, startup)?),
        _ => None,
    };
    let mut meta = Metadata {
        slot,
        ..Metadata::default()
    };
    let mut read = |store: &mut Store<Host>, getter, export, limit| {
        read_string(store, memory, slot, getter, export, limit, startup)
    };
    meta.name = read(store, name_getter, "plugin_name", NAME_LIMIT)?;
    if let Some(name) = &meta.name {
        crate::plugin::check_name(name).map_err(|reason| MetadataError {
            export: "plugin_name",
            reason: format!("returned {name:?}, which is not a valid plugin name: {reason}"),
        })?;
    }
    meta.version = read(store, version_getter, "plugin_version", VERSION_LIMIT)?;
    if let Some(version) = &meta.version
        && (version.is_empty() || version.chars().any(char::is_control))
    {
        return Err(MetadataError {
            export: "plugin_version",
            reason: format!("returned {version:?}; a version must be non-empty printable text"),
        });
    }
    Ok(meta)
}

fn allocate_slot(
    store: &mut Store<Host>,
    memory: Option<Memory>,
    alloc: TwinFunc<i32, i32>,
    startup: &mut Startup<'_>,
) -> Result<u32, MetadataError> {
    let fail = |reason: String| MetadataError {
        export: "alloc",
        reason,
    };
    let ptr = match startup.run(store, &alloc, 8) {
        Ok(ptr) => ptr as u32,
        Err(stop) => return Err(fail(stop.at_start(store, "alloc(8)"))),
    };
    if ptr == 0 {
        return Err(fail(String::from("alloc(8) returned 0 (null)")));
    }
    let memory = memory.ok_or_else(|| fail(String::from("the plugin exports no `memory`")))?;
    memory::bytes(memory.data(&*store), ptr, 8)
        .map_err(|e| fail(format!("alloc(8) returned {ptr:#x}: {e}")))?;
    Ok(ptr)
}

fn read_string(
    store: &mut Store<Host>,
    memory: Option<Memory>,
    slot: Option<u32>,
    getter: Getter,
    export: &'static str,
    limit: u32,
    startup: &mut Startup<'_>,
) -> Result<Option<String>, MetadataError> {
    let fail = |reason: String| MetadataError { export, reason };
    let (ptr, len) = match getter {
        Getter::Absent => return Ok(None),
        Getter::Other => {
            tracing::warn!(
                export,
                "metadata export has neither `(i32) -> ()` nor `() -> i64`; ignoring it"
            );
            return Ok(None);
        }
        Getter::Slot(f) => {
            let slot = slot.ok_or_else(|| {
                fail(String::from(
                    "it writes through a result slot, but the plugin exports no \
                     `alloc(i32) -> i32` to allocate one",
                ))
            })?;
            if let Err(stop) = startup.run(store, &f, slot as i32) {
                return Err(fail(stop.at_start(store, "")));
            }
            let memory =
                memory.ok_or_else(|| fail(String::from("the plugin exports no `memory`")))?;
            memory::u32_pair(memory.data(&*store), slot).map_err(fail)?
        }
        Getter::Packed(f) => {
            let packed = match startup.run(store, &f, ()) {
                Ok(packed) => packed as u64,
                Err(stop) => return Err(fail(stop.at_start(store, ""))),
            };
            ((packed >> 32) as u32, packed as u32)
        }
    };
    let memory = memory.ok_or_else(|| fail(String::from("the plugin exports no `memory`")))?;
    memory::str(memory.data(&*store), ptr, len, limit)
        .map(|s| Some(s.to_string()))
        .map_err(fail)
}
