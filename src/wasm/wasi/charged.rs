//! WASI imports that move bytes, charged to the running call: each costs fuel by the byte (as
//! a bulk memory operation would) and first checks the cancel flag and the deadline. Without
//! this, a plugin could make the host fill 16 MiB of random bytes or write megabytes of output
//! for one unit of fuel each, and run far past its deadline between two budget checks.
//!
//! `random_get` is ours (filled in 1 MiB pieces, checked between them); the file reads and
//! writes, directory listings and path operations (a path is copied out of guest memory, and
//! may be megabytes long) are `wasmi_wasi`'s, wrapped.
//!
//! The imports that change what a copy of the instance's memory cannot bring back (its file
//! descriptors, the files in its directories) also mark the instance as unrepeatable, so that
//! no snapshot is taken of it when start-up calls them (see `snapshot`). Every WASI import but
//! the plain reads of the arguments, environment, clocks, randomness and descriptor flags
//! marks the instance as having reached outside it, so that a start-up that called one is not
//! run again where a snapshot can stand for it (see `instance::Fresh`).

use alloc::format;

use wasmi::{Caller, Linker};
use wasmi_wasi::WasiCtx;
use wasmi_wasi::sync::snapshots::preview_1::wrapped;

use super::{MODULE, deny_all};
use crate::wasm::Watch;
use crate::wasm::limits::charge;
use crate::wasm::store::Host;

/// Random bytes filled between two checks of the watch.
const PIECE: usize = 1 << 20;

/// At most this many iovecs are counted (the POSIX `IOV_MAX` of Linux); a plugin passing more
/// is charged for these.
const MAX_IOVECS: u32 = 1024;

/// WASI's `EFAULT`: an address outside the plugin's memory.
const EFAULT: i32 = 21;

/// The context of a call that reaches outside the instance (see [`Host::reached_out`]).
fn ctx(host: &mut Host) -> &mut WasiCtx {
    host.reach_out();
    host.wasi.get_or_insert_with(deny_all)
}

/// The context of a plain read (see [`quiet!`]).
fn quiet_ctx(host: &mut Host) -> &mut WasiCtx {
    host.wasi.get_or_insert_with(deny_all)
}

/// Charges `bytes` to the call, then fails if it was cancelled or is past its deadline.
fn guard(caller: &mut Caller<'_, Host>, bytes: usize) -> Result<(), wasmi::Error> {
    charge(caller, bytes);
    check(caller.data().watch.as_deref())
}

/// Fails if the running call was cancelled or is past its deadline (the watch remembers the
/// limit, and the call reports it).
fn check(watch: Option<&Watch>) -> Result<(), wasmi::Error> {
    match watch {
        Some(watch) => watch
            .check()
            .map_err(|limit| wasmi::Error::new(format!("the plugin {limit}"))),
        None => Ok(()),
    }
}

/// The bytes the `count` iovecs at `iovs` describe (0 where they are unreadable: the import
/// itself then fails with `EFAULT`).
fn iovec_bytes(caller: &Caller<'_, Host>, iovs: i32, count: i32) -> usize {
    let Some(memory) = caller.data().memory else {
        return 0;
    };
    let mem = memory.data(caller);
    let at = |offset: usize| -> Option<u32> {
        let bytes = mem.get(offset..offset.checked_add(4)?)?;
        Some(u32::from_le_bytes(bytes.try_into().ok()?))
    };
    (0..(count as u32).min(MAX_IOVECS))
        .map(|i| {
            let entry = (iovs as u32 as usize).saturating_add(8 * i as usize);
            at(entry.saturating_add(4)).unwrap_or(0) as usize
        })
        .fold(0usize, usize::saturating_add)
}

/// Defines `wasmi_wasi`'s `$name` in `$linker` behind a [`guard`] for the bytes it moves:
/// those of the iovecs `$iovs`/`$n` among its arguments, or the lengths `$len` (paths,
/// buffers) it takes. With `changes`, a call also marks the instance as unrepeatable (it
/// changes files or file descriptors: see [`FILES`] and [`DESCRIPTORS`]).
macro_rules! charged {
    ($linker:ident, $name:ident($($arg:ident: $ty:ty),*), iovecs($iovs:ident, $n:ident)) => {
        charged!(@define $linker, $name($($arg: $ty),*),
            |caller: &Caller<'_, Host>| iovec_bytes(caller, $iovs, $n), None)
    };
    ($linker:ident, $name:ident($($arg:ident: $ty:ty),*), lengths($($len:ident),+)) => {
        charged!(@define $linker, $name($($arg: $ty),*),
            |_: &Caller<'_, Host>| 0usize $(.saturating_add($len as u32 as usize))+, None)
    };
    ($linker:ident, $name:ident($($arg:ident: $ty:ty),*), lengths($($len:ident),+),
     changes($why:expr)) => {
        charged!(@define $linker, $name($($arg: $ty),*),
            |_: &Caller<'_, Host>| 0usize $(.saturating_add($len as u32 as usize))+, Some($why))
    };
    (@define $linker:ident, $name:ident($($arg:ident: $ty:ty),*), $bytes:expr,
     $why:expr) => {{
        let inner = wrapped::$name::<Host, WasiCtx>(ctx);
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, Host>, $($arg: $ty),*| {
                let bytes = ($bytes)(&caller);
                guard(&mut caller, bytes)?;
                if let Some(why) = $why {
                    caller.data_mut().mark_unrepeatable(why);
                }
                inner(caller, $($arg),*)
            },
        )?;
    }};
}

/// Defines `wasmi_wasi`'s `$name` in `$linker`, marking the instance as unrepeatable with
/// `$why` when called: for the imports that move no bytes but change file descriptors.
macro_rules! marked {
    ($linker:ident, $name:ident($($arg:ident: $ty:ty),*), $why:expr) => {{
        let inner = wrapped::$name::<Host, WasiCtx>(ctx);
        $linker.func_wrap(
            MODULE,
            stringify!($name),
            move |mut caller: Caller<'_, Host>, $($arg: $ty),*| {
                caller.data_mut().mark_unrepeatable($why);
                inner(caller, $($arg),*)
            },
        )?;
    }};
}

/// Defines `wasmi_wasi`'s `$name` in `$linker` without marking the instance as having reached
/// outside it: for the plain reads of what the config fixes (arguments, environment, the
/// descriptors it opens) and of the clock and randomness. A start-up that calls only these (and
/// `random_get`, ours) gives the same instance when it runs again, but for the time and random
/// bytes it reads, which a snapshot shares anyway (see `instance::Fresh`).
macro_rules! quiet {
    ($linker:ident, $($name:ident),+) => {{
        $($linker.func_wrap(MODULE, stringify!($name), wrapped::$name::<Host, WasiCtx>(quiet_ctx))?;)+
    }};
}

/// Why a plugin that changed files at start-up gets no snapshot.
const FILES: &str = "it changed files through WASI (the changes are outside the instance)";

/// Why a plugin that opened, closed or changed a file descriptor at start-up gets no
/// snapshot: descriptors live in the host, where a copy of the instance's memory cannot bring
/// them back.
const DESCRIPTORS: &str = "it opened, closed or changed a file descriptor through WASI";

/// Defines the charged imports in `linker`, over `wasmi_wasi`'s: every import whose host work
/// grows with a length the plugin chooses.
pub(crate) fn link(linker: &mut Linker<Host>) -> Result<(), wasmi::Error> {
    linker.allow_shadowing(true);
    linker.func_wrap(MODULE, "random_get", random_get)?;
    charged!(linker, fd_write(fd: i32, iovs: i32, n: i32, out: i32), iovecs(iovs, n));
    charged!(linker, fd_read(fd: i32, iovs: i32, n: i32, out: i32), iovecs(iovs, n));
    charged!(linker, fd_pwrite(fd: i32, iovs: i32, n: i32, at: i64, out: i32), iovecs(iovs, n));
    charged!(linker, fd_pread(fd: i32, iovs: i32, n: i32, at: i64, out: i32), iovecs(iovs, n));
    charged!(linker, fd_readdir(fd: i32, buf: i32, len: i32, cookie: i64, out: i32), lengths(len));
    charged!(linker, fd_prestat_dir_name(fd: i32, path: i32, len: i32), lengths(len));
    charged!(
        linker,
        path_create_directory(fd: i32, path: i32, len: i32),
        lengths(len),
        changes(FILES)
    );
    charged!(
        linker,
        path_remove_directory(fd: i32, path: i32, len: i32),
        lengths(len),
        changes(FILES)
    );
    charged!(
        linker,
        path_unlink_file(fd: i32, path: i32, len: i32),
        lengths(len),
        changes(FILES)
    );
    charged!(
        linker,
        path_filestat_get(fd: i32, flags: i32, path: i32, len: i32, out: i32),
        lengths(len)
    );
    charged!(
        linker,
        path_filestat_set_times(
            fd: i32, flags: i32, path: i32, len: i32, atim: i64, mtim: i64, fst: i32
        ),
        lengths(len),
        changes(FILES)
    );
    charged!(
        linker,
        path_link(ofd: i32, oflags: i32, old: i32, old_len: i32, nfd: i32, new: i32, new_len: i32),
        lengths(old_len, new_len),
        changes(FILES)
    );
    charged!(
        linker,
        path_open(
            fd: i32, dirflags: i32, path: i32, len: i32, oflags: i32, base: i64, fdflags: i64,
            inheriting: i32, out: i32
        ),
        lengths(len),
        changes(DESCRIPTORS)
    );
    charged!(
        linker,
        path_readlink(fd: i32, path: i32, len: i32, buf: i32, buf_len: i32, out: i32),
        lengths(len, buf_len)
    );
    charged!(
        linker,
        path_rename(fd: i32, old: i32, old_len: i32, nfd: i32, new: i32, new_len: i32),
        lengths(old_len, new_len),
        changes(FILES)
    );
    charged!(
        linker,
        path_symlink(old: i32, old_len: i32, fd: i32, new: i32, new_len: i32),
        lengths(old_len, new_len),
        changes(FILES)
    );
    marked!(linker, fd_close(fd: i32), DESCRIPTORS);
    marked!(linker, fd_renumber(fd: i32, to: i32), DESCRIPTORS);
    // Not marked: `fd_fdstat_set_rights` changes nothing in wasi-common, and
    // `fd_fdstat_set_flags` changes only files opened with `path_open` (marked): stdio, our
    // output pipes and directories refuse it. Go's runtime calls it at start-up.
    marked!(linker, fd_filestat_set_times(fd: i32, atim: i64, mtim: i64, fst: i32), FILES);
    marked!(linker, sock_accept(fd: i32, flags: i32, out: i32), DESCRIPTORS);
    marked!(linker, sock_shutdown(fd: i32, how: i32), DESCRIPTORS);
    // `fd_fdstat_set_flags`: see above, a no-op on every descriptor a plugin has without
    // `path_open`.
    quiet!(
        linker,
        args_get,
        args_sizes_get,
        environ_get,
        environ_sizes_get,
        clock_res_get,
        clock_time_get,
        sched_yield,
        fd_fdstat_get,
        fd_prestat_get,
        fd_fdstat_set_flags
    );
    linker.allow_shadowing(false);
    Ok(())
}

/// `random_get(buf, len)`: fills `len` bytes at `buf` from the context's random source, a piece
/// at a time, stopping at the deadline or a cancel.
fn random_get(mut caller: Caller<'_, Host>, buf: i32, len: i32) -> Result<i32, wasmi::Error> {
    let (start, len) = (buf as u32 as usize, len as u32 as usize);
    charge(&mut caller, len);
    let Some(memory) = caller.data().memory else {
        return Ok(EFAULT);
    };
    let (mem, host) = memory.data_and_store_mut(&mut caller);
    let Some(target) = start
        .checked_add(len)
        .and_then(|end| mem.get_mut(start..end))
    else {
        return Ok(EFAULT);
    };
    let watch = host.watch.as_deref();
    let wasi = host.wasi.get_or_insert_with(deny_all);
    for piece in target.chunks_mut(PIECE) {
        check(watch)?;
        let mut random = wasi
            .random
            .lock()
            .map_err(|_| wasmi::Error::new("WASI's random source is poisoned"))?;
        random.fill_bytes(piece);
    }
    Ok(0)
}
