//! The host imports of the typed ABI (docs/ABI.md §3), module `xxplugin`, with safe
//! wrappers: `arg`, `result` and `error` for calls, [`log`], and [`fetch`] for the results of
//! the embedder's host functions (§3a).
//!
//! On `wasm32` these are the real imports. Everywhere else (so that `cargo test` runs on the
//! host machine) they talk to a per-thread test double, see [`crate::testing`].

/// Copies the memory-type argument number `index` (0-based, counting all parameters) to `dst`.
///
/// # Safety
///
/// `dst` must be valid for writes of exactly the byte length the plugin received as that
/// parameter: the host writes that many bytes, whatever `dst` points at.
#[inline]
pub unsafe fn arg(index: u32, dst: *mut u8) {
    // SAFETY: forwarded to the caller.
    unsafe { imp::arg(index as i32, dst) }
}

/// Reads the memory-type argument number `index`, of `len` bytes, into a new vector.
///
/// # Safety
///
/// `len` must be the byte length the plugin received as that parameter (the host copies that
/// many bytes, so a smaller `len` would let it write past the vector).
pub unsafe fn arg_vec(index: u32, len: u32) -> Vec<u8> {
    let len = len as usize;
    let mut v = Vec::<u8>::with_capacity(len);
    if len > 0 {
        // SAFETY: `v` has room for `len` bytes, the host writes exactly `len` (the caller
        // promises), and all of them are initialised afterwards.
        unsafe {
            arg(index, v.as_mut_ptr());
            v.set_len(len);
        }
    }
    v
}

/// Sends the result of the running call (a string's UTF-8, the bytes of `bytes`, or the
/// MessagePack of an array, map or `any`). Call it exactly once, and only from a function
/// whose declared result is a memory type; the macro-generated wrappers do this for you.
#[inline]
pub fn result(bytes: &[u8]) {
    // SAFETY: the host only reads `[ptr, ptr + len)`, which is the slice.
    unsafe { imp::result(bytes.as_ptr(), bytes.len() as i32) }
}

/// Reports that the running call failed with `message`. Returns normally: return from the
/// exported function afterwards (its value is ignored). The script sees
/// `PLUGIN.FUNCTION: message`.
#[inline]
pub fn error(message: &str) {
    // SAFETY: the host only reads `[ptr, ptr + len)`, which is the string.
    unsafe { imp::error(message.as_ptr(), message.len() as i32) }
}

/// How important a [`log`] line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Error = 0,
    Warn = 1,
    Info = 2,
    Debug = 3,
    Trace = 4,
}

/// Logs `message` through the host: a `tracing` event at `level` with the plugin's name.
///
/// ```
/// use xxplugin::abi::{Level, log};
/// # xxplugin::plugin!(name = "demo");
/// # fn main() {
/// # let out = xxplugin::testing::call(&[b""; 0], || {
/// log(Level::Info, "starting");
/// # });
/// # assert_eq!(out.logs, [(Level::Info, String::from("starting"))]);
/// # }
/// ```
#[inline]
pub fn log(level: Level, message: &str) {
    // SAFETY: the host only reads `[ptr, ptr + len)`, which is the string.
    unsafe { imp::log(level as i32, message.as_ptr(), message.len() as i32) }
}

/// Copies the memory-type result of the host function called last (its length is what that
/// import returned) to `dst`. See docs/ABI.md §3a and [`fetch_vec`].
///
/// # Safety
///
/// `dst` must be valid for writes of that many bytes.
#[inline]
pub unsafe fn fetch(dst: *mut u8) {
    // SAFETY: forwarded to the caller.
    unsafe { imp::fetch(dst) }
}

/// The memory-type result of the host function called last, of `len` bytes (what its import
/// returned), in a new vector: a string's UTF-8, bytes, or the MessagePack of an array, map
/// or `any` ([`crate::from_msgpack`] decodes it).
///
/// ```ignore
/// // lookup(key: string) -> string, registered by the embedder as a HostFunction
/// #[link(wasm_import_module = "xxhost")]
/// unsafe extern "C" {
///     #[link_name = "lookup"]
///     fn host_lookup(ptr: *const u8, len: i32) -> i32;
/// }
///
/// fn lookup(key: &str) -> String {
///     let len = unsafe { host_lookup(key.as_ptr(), key.len() as i32) };
///     String::from_utf8(xxplugin::abi::fetch_vec(len)).unwrap_or_default()
/// }
/// ```
pub fn fetch_vec(len: i32) -> Vec<u8> {
    let len = usize::try_from(len).unwrap_or(0);
    let mut v = Vec::<u8>::with_capacity(len);
    if len > 0 {
        // SAFETY: `v` has room for `len` bytes, which is what the host writes (the length the
        // host function's import returned), and all of them are initialised afterwards.
        unsafe {
            fetch(v.as_mut_ptr());
            v.set_len(len);
        }
    }
    v
}

#[cfg(target_arch = "wasm32")]
mod imp {
    #[link(wasm_import_module = "xxplugin")]
    unsafe extern "C" {
        #[link_name = "arg"]
        pub(super) fn arg(index: i32, dst: *mut u8);
        #[link_name = "result"]
        pub(super) fn result(ptr: *const u8, len: i32);
        #[link_name = "error"]
        pub(super) fn error(ptr: *const u8, len: i32);
        #[link_name = "log"]
        pub(super) fn log(level: i32, ptr: *const u8, len: i32);
        #[link_name = "fetch"]
        pub(super) fn fetch(dst: *mut u8);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use crate::testing::with_host;

    pub(super) unsafe fn arg(index: i32, dst: *mut u8) {
        with_host(|h| {
            let Some(bytes) = usize::try_from(index).ok().and_then(|i| h.args.get(i)) else {
                panic!("xxplugin.arg: no memory-type argument {index} (a trap on wasm)");
            };
            // SAFETY: the caller promises room for this argument's length.
            unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), dst, bytes.len()) }
        })
    }

    pub(super) unsafe fn result(ptr: *const u8, len: i32) {
        // SAFETY: `abi::result` passes a live slice.
        let bytes = unsafe { core::slice::from_raw_parts(ptr, len as usize) }.to_vec();
        with_host(|h| h.results.push(bytes));
    }

    pub(super) unsafe fn error(ptr: *const u8, len: i32) {
        // SAFETY: `abi::error` passes a live string.
        let bytes = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
        let message = String::from_utf8_lossy(bytes).into_owned();
        with_host(|h| h.errors.push(message));
    }

    pub(super) unsafe fn log(level: i32, ptr: *const u8, len: i32) {
        use super::Level;
        // SAFETY: `abi::log` passes a live string.
        let bytes = unsafe { core::slice::from_raw_parts(ptr, len as usize) };
        let message = String::from_utf8_lossy(bytes).into_owned();
        let level = match level {
            i32::MIN..=0 => Level::Error,
            1 => Level::Warn,
            2 => Level::Info,
            3 => Level::Debug,
            _ => Level::Trace,
        };
        with_host(|h| h.logs.push((level, message)));
    }

    pub(super) unsafe fn fetch(_dst: *mut u8) {
        panic!("xxplugin.fetch: host functions are not available in xxplugin::testing");
    }
}
