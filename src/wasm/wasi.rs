//! WASI preview 1 through `wasmi_wasi`, deny-by-default: no preopened directories, no
//! environment, no arguments, no stdin; stdout and stderr are inherited; clocks and random are
//! available (language runtimes such as Go's need them to start).

use wasmi::{Linker, Module};
use wasmi_wasi::{WasiCtx, WasiCtxBuilder};

use super::host::Host;

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

/// What a plugin may do through WASI. Deny by default: no preopened directories, no
/// environment, no arguments, no stdin.
///
/// ```
/// let policy = xxlang_plugin::WasiPolicy::new();
/// let config = xxlang_plugin::Config::new().wasi(policy);
/// # let _ = config;
/// ```
#[derive(Clone, Debug, Default)]
pub struct WasiPolicy {}

impl WasiPolicy {
    /// Nothing granted.
    pub fn new() -> Self {
        Self::default()
    }

    /// The WASI context of one instance of `plugin` under this policy.
    pub(crate) fn context(&self, _plugin: &str) -> Result<WasiCtx, alloc::string::String> {
        Ok(deny_all())
    }
}

/// The context every plugin gets today: nothing granted but stdout, stderr, clocks, random.
pub(crate) fn deny_all() -> WasiCtx {
    WasiCtxBuilder::new()
        .inherit_stdout()
        .inherit_stderr()
        .build()
}

/// Adds all of WASI to the linker.
pub(crate) fn link(linker: &mut Linker<Host>) -> Result<(), wasmi_wasi::Error> {
    wasmi_wasi::add_to_linker(linker, |host: &mut Host| {
        host.wasi.get_or_insert_with(deny_all)
    })
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
