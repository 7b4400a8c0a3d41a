//! One load of a plugin: the module compiled, its imports linked, its first instance started,
//! its manifest and metadata read, its exports planned and its name settled. The first load,
//! every reload and `describe` go through here.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::sync::Arc;
#[cfg(feature = "std")]
use alloc::vec::Vec;

use wasmi::{Instance, Store};

use super::abi::exchange::{Expect, Refused, Sent};
use super::abi::manifest::{self, MANIFEST_EXPORT, Manifest, ManifestError};
use super::call::Live;
use super::exports::Planned;
use super::instance::{Origin, Spawner, Started};
use super::legacy::metadata::Metadata;
use super::limits::Startup;
use super::plan::{self, SkippedExport};
use super::runtime::Loaded;
use super::store::Host;
use super::twin::TwinFunc;
use super::{engine, exports};
use crate::{Config, Error, ErrorKind, Object};

/// What a load found out about a plugin, besides its functions.
pub(super) struct About {
    pub(super) name: Arc<str>,
    pub(super) version: Option<Arc<str>>,
    pub(super) abi: Option<u32>,
    pub(super) skipped: Arc<[SkippedExport]>,
    pub(super) imports: Arc<[String]>,
}

impl Origin {
    pub(super) fn compile(
        &self,
        bytes: &[u8],
        config: &Config,
    ) -> Result<Arc<engine::Compiled>, Error> {
        if bytes.len() > config.max_module_bytes {
            return Err(self.error(ErrorKind::InvalidModule {
                reason: format!(
                    "the module is larger than {} bytes (Config::max_module_bytes)",
                    config.max_module_bytes
                ),
            }));
        }
        engine::compile(bytes, engine::Settings::of(config)).map_err(|e| {
            self.error(ErrorKind::InvalidModule { reason: e.reason })
                .with_source_opt(e.source)
        })
    }

    /// The error of a declaration the module does not honour.
    pub(super) fn declaration_error(&self, (line, reason): exports::DeclarationError) -> Error {
        self.error(ErrorKind::Manifest {
            line: Some(line),
            reason,
        })
    }

    pub(super) fn manifest_error(&self, e: manifest::ManifestError) -> Error {
        match e {
            manifest::ManifestError::Malformed { line, reason } => {
                self.error(ErrorKind::Manifest { line, reason })
            }
            manifest::ManifestError::Unsupported { version } => {
                self.error(ErrorKind::UnsupportedAbi {
                    version,
                    supported: manifest::ABI_VERSION,
                })
            }
        }
    }
}

/// Compiles, links and starts a plugin's first instance, and plans its functions.
/// `cancel` is the cancel flag of the plugin a reload replaces.
pub(super) fn build(
    fallback_name: &str,
    file: Option<String>,
    bytes: &[u8],
    config: &Config,
    cancel: Option<Arc<core::sync::atomic::AtomicUsize>>,
) -> Result<(Loaded, About), Error> {
    let at = Origin {
        plugin: fallback_name.to_string(),
        file: file.clone(),
    };
    let compiled = at.compile(bytes, config)?;
    // A manifest section, and the plans it makes, are checked before anything runs.
    let section = match &compiled.manifest {
        Some(Err(e)) => return Err(at.manifest_error(e.clone())),
        Some(Ok(manifest)) => Some(manifest),
        None => None,
    };
    if let Some(Err(e)) = &compiled.plans {
        return Err(at.declaration_error(e.clone()));
    }
    let (mut spawner, factory) = Spawner::new(
        compiled.clone(),
        Arc::new(config.clone()),
        at.clone(),
        cancel,
    )?;
    let lock = crate::lock::LockId::new();
    #[cfg(feature = "std")]
    if let Some(prelude) = compiled.prelude.get().filter(|p| p.admits(config)) {
        // Start-up would give what it gave the load that recorded the prelude: the instance
        // is left to the first call.
        let meta = Metadata {
            name: prelude.name.clone(),
            version: prelude.version.clone(),
            slot: None,
        };
        let (sent, planned) = match (&prelude.sent, &compiled.plans) {
            (Some((sent, planned)), _) => (sent.as_ref(), planned.clone()),
            (None, Some(Ok(planned))) => (None, planned.clone()),
            _ => (None, Default::default()),
        };
        let settled = settle(sent.or(section), meta, planned, fallback_name, config)?;
        spawner.start_lazily(settled.capacity);
        return Ok(settled.finish(spawner, factory, lock, None, &compiled));
    }
    // The name the start-up code runs under: the manifest's if there is a section.
    let provisional: Arc<str> = Arc::from(
        section
            .and_then(|m| m.name.as_deref())
            .unwrap_or(fallback_name),
    );
    let started = spawner.start(
        &factory,
        &lock,
        &provisional,
        false,
        |store, instance, startup| ask(&at, &compiled, store, instance, startup),
    )?;
    let Started {
        mut store,
        instance,
        meter,
        meta,
        found,
    } = started;
    // The plans the module alone decides were made when it was compiled, once for every load
    // of it: copied only now, after start-up, so the plugin's memory is the last large
    // allocation when its start-up grows it (the allocator can then extend it in place).
    let (sent, planned) = match (found, &compiled.plans) {
        (Some(declared), _) => {
            #[cfg(feature = "std")]
            Prelude::record(&compiled, &store, &meta, config, Some(&declared));
            declared
        }
        (None, Some(Ok(planned))) => {
            #[cfg(feature = "std")]
            Prelude::record(&compiled, &store, &meta, config, None);
            (None, planned.clone())
        }
        (None, Some(Err(e))) => return Err(at.declaration_error(e.clone())),
        // `ask` plans the module when it has no plans of its own.
        (None, None) => (None, Default::default()),
    };
    let slot = meta.slot;
    let settled = settle(
        sent.as_ref().or(section),
        meta,
        planned,
        fallback_name,
        config,
    )?;
    if store.data_mut().rename(&settled.name) {
        #[cfg(feature = "wasi")]
        if let Some(wasi) = &store.data().wasi {
            config.wasi.attach_output(wasi, &settled.name);
        }
    }
    spawner.keep_snapshot(&store, &instance, slot, settled.capacity);
    let live = Live::new(store, &instance, &settled.planned.plans, slot, meter);
    Ok(settled.finish(spawner, factory, lock, Some(live), &compiled))
}

/// What a load settles once it knows the manifest and the metadata: the plugin's name,
/// version, functions and capacity.
struct Settled {
    name: Arc<str>,
    version: Option<String>,
    abi: Option<u32>,
    planned: Planned,
    capacity: usize,
}

fn settle(
    manifest: Option<&Manifest>,
    meta: Metadata,
    mut planned: Planned,
    fallback_name: &str,
    config: &Config,
) -> Result<Settled, Error> {
    let declared_name = manifest.and_then(|m| m.name.clone());
    let version = manifest.and_then(|m| m.version.clone()).or(meta.version);
    if version.is_some() {
        exports::reserve_version(&mut planned);
    }
    Ok(Settled {
        name: settle_name(declared_name.or(meta.name), fallback_name)?,
        version,
        abi: manifest.map(|m| m.abi),
        planned,
        capacity: capacity(manifest, config),
    })
}

impl Settled {
    fn finish(
        self,
        spawner: Spawner,
        factory: super::instance::Factory,
        lock: crate::lock::LockId,
        live: Option<Live>,
        compiled: &engine::Compiled,
    ) -> (Loaded, About) {
        let about = About {
            name: self.name.clone(),
            version: self.version.map(Arc::from),
            abi: self.abi,
            skipped: self.planned.skipped,
            imports: compiled.imports.clone(),
        };
        let loaded = Loaded {
            plugin: self.name,
            plans: self.planned.plans,
            spawner,
            factory,
            lock,
            live,
            capacity: self.capacity,
        };
        (loaded, about)
    }
}

/// What the start-up of an instance of a module gives when nothing but the module decides it:
/// its start-up code (start function, `_initialize`, the manifest and legacy metadata
/// exports) called no import beyond sending the manifest (see
/// [`Limiter::called_host`](super::limits::Limiter::called_host)), so it saw nothing from
/// outside the instance and runs the same every time. A module that imports WASI
/// never has one: its WASI context is made with the instance, by the load's config, and a
/// policy the host cannot honour must fail that load. The
/// first load that runs it records the prelude on the compiled module; a later load of the
/// same bytes under the same engine settings whose limits admit what start-up used then
/// (memory, tables, start-up fuel) takes the name, version and manifest from it and starts no
/// instance: the plugin's first call does, running start-up as a fresh instance would (which
/// does not run the manifest export again). Such a load runs
/// none of the plugin's code, and a plugin nobody calls costs no linear memory.
///
/// Only what start-up *reports* is shared, never an instance or a snapshot: each plugin's
/// instances are its own.
#[cfg(feature = "std")]
pub(crate) struct Prelude {
    name: Option<String>,
    version: Option<String>,
    /// Bytes of memory and elements of tables start-up left granted.
    memory: usize,
    tables: usize,
    /// The start-up fuel it ran within, when metered.
    startup_fuel: Option<u64>,
    /// What its `xxplugin_manifest` export sent, and the plans by it, when it has one.
    sent: Option<Declared>,
}

#[cfg(feature = "std")]
impl Prelude {
    /// Records what the start-up that just ran in `store` gave, if nothing but the module
    /// decided it (see [`Prelude`]) and no load recorded it yet.
    fn record(
        compiled: &engine::Compiled,
        store: &Store<Host>,
        meta: &Metadata,
        config: &Config,
        sent: Option<&Declared>,
    ) {
        // `reached_out` and `unrepeatable` are implied (what sets them charges too); checked
        // all the same, so that an import that forgot to charge still counts.
        let host = store.data();
        let repeatable =
            !host.limiter.called_host && !host.reached_out && host.unrepeatable.is_none();
        #[cfg(feature = "wasi")]
        let repeatable = repeatable && !super::wasi::imports_wasi(&compiled.module);
        if !repeatable || compiled.prelude.get().is_some() {
            return;
        }
        let (memory, tables) = host.limiter.granted();
        let _ = compiled.prelude.set(Prelude {
            name: meta.name.clone(),
            version: meta.version.clone(),
            memory,
            tables,
            startup_fuel: config
                .metered()
                .then(|| super::limits::startup_fuel(config)),
            sent: sent.cloned(),
        });
    }

    /// Whether start-up under `config` would do what it did: its limits admit what start-up
    /// used (the engine settings, metering among them, are the same: they key the cache).
    fn admits(&self, config: &Config) -> bool {
        self.memory <= config.max_memory
            && self.tables <= config.max_table_elements
            && self
                .startup_fuel
                .is_none_or(|fuel| super::limits::startup_fuel(config) >= fuel)
    }
}

/// What the `xxplugin_manifest` export of a module declared (if it sent anything), and the
/// plans of its functions by it.
type Declared = (Option<Manifest>, Planned);

/// What a load asks its first instance (under its start-up budget), and whether calls need the
/// legacy result slot. When the module alone decides its plans (see `engine::Compiled::plans`),
/// nothing: `None`. Else the manifest its `xxplugin_manifest` export sends, and the plans of its
/// functions by it.
fn ask(
    at: &Origin,
    compiled: &engine::Compiled,
    store: &mut Store<Host>,
    instance: &Instance,
    startup: &mut Startup<'_>,
) -> Result<(Option<Declared>, bool), Error> {
    if let Some(planned) = &compiled.plans {
        let calls_need_slot = planned
            .as_ref()
            .is_ok_and(|planned| planned.plans.iter().any(plan::Plan::needs_slot));
        return Ok((None, calls_need_slot));
    }
    let manifest = manifest_from_export(store, instance, startup)
        .transpose()
        .map_err(|e| at.manifest_error(e))?;
    let declared = manifest.as_ref().map_or(&[][..], |m| &m.functions[..]);
    let planned =
        exports::plan_module(&compiled.module, declared).map_err(|e| at.declaration_error(e))?;
    let calls_need_slot = planned.plans.iter().any(plan::Plan::needs_slot);
    Ok((Some((manifest, planned)), calls_need_slot))
}

/// The plugin's name: the one it declares, else the one it was loaded as, which must then be a
/// valid name.
fn settle_name(declared: Option<String>, fallback_name: &str) -> Result<Arc<str>, Error> {
    if let Some(declared) = declared {
        return Ok(declared.into());
    }
    crate::plugin::check_name(fallback_name).map_err(|reason| {
        let reason = format!(
            "{reason}; the plugin declares no name, so its file name or the name it was given \
             must be a valid one"
        );
        Error::load(ErrorKind::InvalidName { reason }, fallback_name, None)
    })?;
    Ok(Arc::from(fallback_name))
}

/// How many instances the plugin may have: `Config::instances` if it declares itself
/// `stateless` (or the config pools stateful plugins too), else one.
fn capacity(manifest: Option<&Manifest>, config: &Config) -> usize {
    let stateless = manifest.is_some_and(|m| m.stateless);
    if stateless || config.pool_stateful {
        config.instances
    } else {
        1
    }
}

/// The manifest sent by the `xxplugin_manifest` export, if the module has one; called once at
/// load, after `_initialize`.
fn manifest_from_export(
    store: &mut Store<Host>,
    instance: &Instance,
    startup: &mut Startup<'_>,
) -> Option<Result<Manifest, ManifestError>> {
    let func = instance.get_func(&*store, MANIFEST_EXPORT)?;
    let fail = |reason: String| {
        Some(Err(ManifestError::Malformed {
            line: None,
            reason: format!("`{MANIFEST_EXPORT}` {reason}"),
        }))
    };
    let Ok(func) = TwinFunc::<(), ()>::new(func, &*store) else {
        return fail(String::from("must have type `() -> ()`"));
    };
    store
        .data_mut()
        .call
        .begin(Expect::String, manifest::MAX_BYTES);
    let ran = startup.run(store, &func, ());
    store.data_mut().call.end();
    if let Err(stop) = ran {
        return fail(stop.at_start(store, ""));
    }
    let sent = match store.data_mut().call.take_sent() {
        Ok(sent) => sent,
        Err(Refused::Error(message)) => return fail(format!("reported an error: {message}")),
        Err(Refused::Violation(violation)) => return fail(format!("broke the ABI: {violation}")),
    };
    match sent {
        Sent::Value(Object::String(text)) => Some(manifest::parse(&text)),
        _ => fail(String::from(
            "returned without sending the manifest (xxplugin.result)",
        )),
    }
}

/// Reads a module file, refusing files larger than `limit` before reading them.
#[cfg(feature = "std")]
pub(super) fn read_module_file(
    plugin: &str,
    path: &std::path::Path,
    limit: usize,
) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    let io = |source: std::io::Error| {
        Error::load(ErrorKind::Io, plugin, Some(path.display().to_string())).with_source(source)
    };
    // Only regular files: opening a FIFO blocks until a writer comes, and a device may never
    // end. Checked before opening, and again on what was opened, in case the path changed.
    let regular = |meta: std::fs::Metadata| match file_kind(&meta) {
        None => Ok(()),
        Some(kind) => Err(io(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("not a regular file (it is {kind})"),
        ))),
    };
    regular(std::fs::metadata(path).map_err(io)?)?;
    let file = std::fs::File::open(path).map_err(io)?;
    regular(file.metadata().map_err(io)?)?;
    let mut bytes = Vec::new();
    file.take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > limit {
        let reason = format!("the file is larger than {limit} bytes (Config::max_module_bytes)");
        return Err(Error::load(
            ErrorKind::InvalidModule { reason },
            plugin,
            Some(path.display().to_string()),
        ));
    }
    Ok(bytes)
}

/// What a file that is not a regular one is, for errors; `None` for a regular file.
#[cfg(feature = "std")]
fn file_kind(meta: &std::fs::Metadata) -> Option<&'static str> {
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;
    let ty = meta.file_type();
    if ty.is_file() {
        return None;
    }
    #[cfg(unix)]
    {
        if ty.is_fifo() {
            return Some("a FIFO");
        } else if ty.is_char_device() {
            return Some("a character device");
        } else if ty.is_block_device() {
            return Some("a block device");
        } else if ty.is_socket() {
            return Some("a socket");
        }
    }
    Some(if ty.is_dir() {
        "a directory"
    } else {
        "a special file"
    })
}
