//! WASI preview 1 through `wasmi_wasi`, behind a deny-by-default [`WasiPolicy`]: a plugin
//! gets clocks, random numbers and an empty stdin; its stdout and stderr go to `tracing`;
//! directories, environment variables and arguments only when granted.

mod budget;
mod charged;
mod guarded;
mod output;
mod sched;

use alloc::string::{String, ToString};
use alloc::sync::Arc;
use alloc::vec::Vec;
use std::boxed::Box;
use std::path::PathBuf;

use wasmi::{Linker, Module};
use wasmi_wasi::wasi_common::sync::{clocks_ctx, random_ctx};
use wasmi_wasi::wasi_common::table::Table;
use wasmi_wasi::{WasiCtx, ambient_authority};

use output::Stream;
pub use output::{OutputBuffer, WasiOutput};

/// What a plugin may still open and write through WASI (see `budget`): one per plugin, shared
/// by its instances, so a fresh instance after a trap does not get a fresh write quota.
pub(crate) type WasiBudget = Arc<budget::Budget>;

use super::Watch;
use super::store::Host;

/// The import module name of WASI preview 1.
pub(crate) const MODULE: &str = "wasi_snapshot_preview1";

/// Every function `wasmi_wasi` defines.
pub(crate) const FUNCTIONS: &[&str] = &[
    "args_get",
    "args_sizes_get",
    "clock_res_get",
    "clock_time_get",
    "environ_get",
    "environ_sizes_get",
    "fd_advise",
    "fd_allocate",
    "fd_close",
    "fd_datasync",
    "fd_fdstat_get",
    "fd_fdstat_set_flags",
    "fd_fdstat_set_rights",
    "fd_filestat_get",
    "fd_filestat_set_size",
    "fd_filestat_set_times",
    "fd_pread",
    "fd_prestat_dir_name",
    "fd_prestat_get",
    "fd_pwrite",
    "fd_read",
    "fd_readdir",
    "fd_renumber",
    "fd_seek",
    "fd_sync",
    "fd_tell",
    "fd_write",
    "path_create_directory",
    "path_filestat_get",
    "path_filestat_set_times",
    "path_link",
    "path_open",
    "path_readlink",
    "path_remove_directory",
    "path_rename",
    "path_symlink",
    "path_unlink_file",
    "poll_oneoff",
    "proc_exit",
    "proc_raise",
    "random_get",
    "sched_yield",
    "sock_accept",
    "sock_recv",
    "sock_send",
    "sock_shutdown",
];

/// Whether the module imports anything from WASI.
pub(crate) fn imports_wasi(module: &Module) -> bool {
    module.imports().any(|i| i.module() == MODULE)
}

/// What a plugin may do through WASI (preview 1). Deny by default: no directories, no
/// environment, no arguments, an empty stdin; stdout and stderr go to `tracing`. Clocks and
/// random numbers are always available (language runtimes such as Go's need them to start).
///
/// Paths cannot leave a preopened directory: `..`, absolute paths and symlinks that point
/// outside are refused by `cap-std`, whatever the guest tries. Each instance may hold at most
/// [`max_open_files`](WasiPolicy::max_open_files) files and directories open (64 by default)
/// and, given a [`write_quota`](WasiPolicy::write_quota), write only so much.
///
/// ```no_run
/// use xxlang_plugin::{Config, DirAccess, OutputBuffer, WasiOutput, WasiPolicy, WasmPlugin};
///
/// let out = OutputBuffer::new();
/// let policy = WasiPolicy::new()
///     .dir("/srv/plugin-data", "/data", DirAccess::ReadOnly)
///     .dir("/tmp/scratch", "/tmp", DirAccess::ReadWrite)
///     .env("MODE", "fast")
///     .inherit_env("LANG")
///     .args(["report", "--verbose"])
///     .stdout(WasiOutput::Capture(out.clone()))
///     .stderr(WasiOutput::Discard);
/// let plugin = WasmPlugin::from_file_with("plugins/report.wasm", &Config::new().wasi(policy))?;
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct WasiPolicy {
    dirs: Vec<Preopen>,
    env: Vec<(String, EnvValue)>,
    args: Vec<String>,
    stdout: WasiOutput,
    stderr: WasiOutput,
    max_open_files: usize,
    write_quota: Option<u64>,
}

impl Default for WasiPolicy {
    fn default() -> Self {
        Self {
            dirs: Vec::new(),
            env: Vec::new(),
            args: Vec::new(),
            stdout: WasiOutput::default(),
            stderr: WasiOutput::default(),
            max_open_files: Self::DEFAULT_MAX_OPEN_FILES,
            write_quota: None,
        }
    }
}

/// What a plugin may do in a preopened directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DirAccess {
    /// List, stat and read; creating, writing, renaming, deleting and changing times fail with
    /// `EPERM`.
    ReadOnly,
    /// Everything inside the directory.
    ReadWrite,
}

#[derive(Clone, Debug)]
struct Preopen {
    host: PathBuf,
    guest: String,
    access: DirAccess,
}

#[derive(Clone, Debug)]
enum EnvValue {
    Value(String),
    Inherit,
}

impl WasiPolicy {
    /// How many files and directories an instance may hold open at once unless
    /// [`max_open_files`](WasiPolicy::max_open_files) says otherwise.
    ///
    /// ```
    /// assert_eq!(xxlang_plugin::WasiPolicy::DEFAULT_MAX_OPEN_FILES, 64);
    /// ```
    pub const DEFAULT_MAX_OPEN_FILES: usize = 64;

    /// Nothing granted; output to `tracing`.
    ///
    /// ```
    /// let policy = xxlang_plugin::WasiPolicy::new();
    /// # let _ = policy;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many files and directories the plugin may hold open at once through WASI
    /// (default [`DEFAULT_MAX_OPEN_FILES`](WasiPolicy::DEFAULT_MAX_OPEN_FILES), 64): every one
    /// the plugin opens inside a preopened directory, read-only or read-write, counts until it
    /// is closed (or the instance goes); the preopened directories themselves and stdio do not.
    /// Past the limit, opening fails in the plugin with `EMFILE` ("too many open files"), and
    /// the host's own files are untouched: a plugin cannot use up the process's descriptors.
    ///
    /// ```
    /// use xxlang_plugin::{Config, DirAccess, WasiPolicy};
    ///
    /// let policy = WasiPolicy::new()
    ///     .dir("/srv/plugin-data", "/data", DirAccess::ReadOnly)
    ///     .max_open_files(8);
    /// let config = Config::new().wasi(policy);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn max_open_files(mut self, limit: usize) -> Self {
        self.max_open_files = limit;
        self
    }

    /// Caps what the plugin may write into its read-write directories, in bytes (default:
    /// no cap). Past it, the write (or other change) fails in the plugin with `EDQUOT` ("disk
    /// quota exceeded") and does nothing: a file is never extended past the quota.
    ///
    /// What counts, for the plugin's whole life (a fresh instance after a trap shares it; a
    /// new load of the plugin starts afresh):
    /// - a write (`fd_write`, `fd_pwrite`): the larger of the bytes written and the bytes it
    ///   grows the file by; so overwriting counts in full, and writing past the end also
    ///   counts the gap it leaves;
    /// - growing a file with `fd_filestat_set_size` (`ftruncate`): the growth (`fd_allocate`
    ///   is not supported by WASI here at all);
    /// - creating a file, directory, hard link or symbolic link: 4 KiB each (about a
    ///   filesystem block), plus the target's length for a symbolic link.
    ///
    /// Nothing is refunded: deleting, truncating and renaming cost nothing and give nothing
    /// back, so the quota bounds the bytes an instance can ever put on disk, not its current
    /// usage. A write that does not fit writes nothing (no partial write). stdout and stderr
    /// are not files and do not count (see [`WasiOutput`]). Each instance has its own quota,
    /// so a fresh instance after a trap starts with a full one; a hard bound across instances
    /// and plugins needs a filesystem quota or a size-limited mount.
    ///
    /// ```
    /// use xxlang_plugin::{Config, DirAccess, WasiPolicy};
    ///
    /// let policy = WasiPolicy::new()
    ///     .dir("/tmp/scratch", "/tmp", DirAccess::ReadWrite)
    ///     .write_quota(16 << 20);
    /// let config = Config::new().wasi(policy);
    /// # let _ = config;
    /// ```
    #[must_use]
    pub fn write_quota(mut self, bytes: u64) -> Self {
        self.write_quota = Some(bytes);
        self
    }

    /// Preopens the host directory `host` as `guest` (e.g. `"/data"` or `"."`). The directory
    /// is opened when an instance starts; if it cannot be, the load fails with an error naming it.
    #[must_use]
    pub fn dir(mut self, host: impl Into<PathBuf>, guest: &str, access: DirAccess) -> Self {
        self.dirs.push(Preopen {
            host: host.into(),
            guest: guest.to_string(),
            access,
        });
        self
    }

    /// Sets the environment variable `name` to `value` for the plugin.
    #[must_use]
    pub fn env(mut self, name: &str, value: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env
            .push((name.to_string(), EnvValue::Value(value.to_string())));
        self
    }

    /// Passes the host's variable `name` through (its value when an instance starts; nothing
    /// if it is not set). Only the variables named here or in [`env`](WasiPolicy::env) are
    /// visible.
    #[must_use]
    pub fn inherit_env(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self.env.push((name.to_string(), EnvValue::Inherit));
        self
    }

    /// Appends one argument (the guest's `argv`; nothing is added for you, not even a
    /// program name).
    #[must_use]
    pub fn arg(mut self, arg: &str) -> Self {
        self.args.push(arg.to_string());
        self
    }

    /// Appends arguments.
    #[must_use]
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_string()));
        self
    }

    /// Where the plugin's stdout goes (default [`WasiOutput::Tracing`]).
    #[must_use]
    pub fn stdout(mut self, output: WasiOutput) -> Self {
        self.stdout = output;
        self
    }

    /// Where the plugin's stderr goes (default [`WasiOutput::Tracing`]).
    #[must_use]
    pub fn stderr(mut self, output: WasiOutput) -> Self {
        self.stderr = output;
        self
    }

    /// The WASI context of one instance of `plugin` under this policy; its sleeps end at the
    /// deadline and on cancel that `watch` tells of.
    pub(crate) fn context(
        &self,
        plugin: &Arc<str>,
        watch: Option<Arc<Watch>>,
        budget: &WasiBudget,
    ) -> Result<WasiCtx, String> {
        let mut ctx = context(watch);
        for arg in &self.args {
            ctx.push_arg(arg)
                .map_err(|e| alloc::format!("WASI argument {arg:?}: {e}"))?;
        }
        for (name, value) in &self.env {
            let value = match value {
                EnvValue::Value(v) => v.clone(),
                EnvValue::Inherit => match std::env::var(name) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
            };
            ctx.push_env(name, &value)
                .map_err(|e| alloc::format!("WASI environment variable {name:?}: {e}"))?;
        }
        self.attach_output(&ctx, plugin);
        // The open-file cap and write quota this instance's directories share.
        for d in &self.dirs {
            let dir =
                wasmi_wasi::Dir::open_ambient_dir(&d.host, ambient_authority()).map_err(|e| {
                    alloc::format!("cannot open the WASI directory {}: {e}", d.host.display())
                })?;
            let dir = Box::new(wasmi_wasi::dir::Dir::from_cap_std(dir));
            let dir = Box::new(guarded::GuardedDir::preopen(dir, d.access, budget.clone()));
            ctx.push_preopened_dir(dir, &d.guest).map_err(|e| {
                alloc::format!("cannot preopen {} as {}: {e}", d.host.display(), d.guest)
            })?;
        }
        Ok(ctx)
    }
}

impl WasiPolicy {
    /// The open-file cap and write quota of one plugin, for all of its instances.
    pub(crate) fn budget(&self) -> WasiBudget {
        budget::Budget::new(self.max_open_files, self.write_quota)
    }

    /// Points stdout and stderr of `ctx` at this policy's outputs under the name `plugin`.
    pub(crate) fn attach_output(&self, ctx: &WasiCtx, plugin: &Arc<str>) {
        ctx.set_stdout(self.stdout.file(plugin, Stream::Stdout));
        ctx.set_stderr(self.stderr.file(plugin, Stream::Stderr));
    }
}

/// An empty context (empty stdin, output discarded) with our scheduler.
fn context(watch: Option<Arc<Watch>>) -> WasiCtx {
    WasiCtx::new(
        random_ctx(),
        clocks_ctx(),
        sched::Sched::boxed(watch),
        Table::new(),
    )
}

/// The context of a plugin whose config was not available: nothing granted.
pub(crate) fn deny_all() -> WasiCtx {
    context(None)
}

/// Adds all of WASI to the linker: `wasmi_wasi`'s functions, the ones that move bytes charged
/// to the running call (`charged`).
pub(crate) fn link(linker: &mut Linker<Host>) -> Result<(), String> {
    // Every WASI call not shadowed by `charged` goes through here: it reaches outside the
    // instance, as far as a snapshot knows (`charged` defines the plain reads quietly).
    wasmi_wasi::add_to_linker(linker, |host: &mut Host| {
        host.reach_out();
        host.wasi.get_or_insert_with(deny_all)
    })
    .map_err(|e| e.to_string())?;
    charged::link(linker).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_listed_function_is_defined_by_wasmi_wasi() {
        let engine = wasmi::Engine::default();
        let mut linker = wasmi::Linker::new(&engine);
        super::link(&mut linker).expect("link WASI");
        // Defining any listed name again must collide with wasmi_wasi's own definition.
        for name in super::FUNCTIONS {
            let again = linker.func_wrap(super::MODULE, name, || {});
            assert!(again.is_err(), "wasmi_wasi does not define {name}");
        }
    }
}
