//! [`Host`]: the data of every plugin store: the plugin's name, its memory, its limits, the
//! typed-ABI call under way, WASI's context, and the lock mark host functions set.

use alloc::sync::Arc;
use alloc::vec::Vec;

use wasmi::Memory;

use super::abi::exchange::CallState;
use super::limits::{Limited, Limiter, Watch};
use crate::lock::LockId;
use crate::{Config, Limit};

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
    /// A host function call's arguments, kept between calls so that a call allocates none
    /// (empty between calls).
    pub(crate) host_args: Vec<crate::Object>,
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
    /// Whether the instance called an import that reaches outside it (a WASI call that is not
    /// a plain read of the clock, randomness, arguments, environment or descriptor flags, or
    /// `xxplugin.log`; a host function makes it [`unrepeatable`](Host::unrepeatable)): running
    /// its start-up again would do that again, so its snapshot is taken at load rather than
    /// from the first fresh instance (see `instance::Fresh`).
    pub(crate) reached_out: bool,
}

impl Host {
    /// The state for a new instance of plugin `plugin` under `config`, with its WASI context
    /// if it imports WASI.
    pub(crate) fn new(
        config: &Config,
        plugin: Arc<str>,
        lock: LockId,
        watch: Option<Arc<Watch>>,
        #[cfg(feature = "wasi")] wasi: Option<wasmi_wasi::WasiCtx>,
    ) -> Self {
        Self {
            #[cfg(feature = "wasi")]
            wasi,
            plugin,
            memory: None,
            limiter: Limiter::new(config),
            watch,
            call: CallState::default(),
            pending: Vec::new(),
            host_args: Vec::new(),
            max_host_bytes: config.max_host_bytes(),
            lock,
            unrepeatable: None,
            reached_out: false,
        }
    }
}

impl Limited for Host {
    fn limiter(&mut self) -> &mut Limiter {
        &mut self.limiter
    }

    fn take_hit(&mut self) -> Option<Limit> {
        Host::take_hit(self)
    }
}

impl Host {
    /// The limit the plugin ran into since the last call of this: in the store (memory,
    /// tables) or in host work (a WASI sleep past the deadline, a cancel).
    #[inline]
    pub(crate) fn take_hit(&mut self) -> Option<Limit> {
        let watched = self.watch.as_ref().and_then(|w| w.take_hit());
        self.limiter.take_hit().or(watched)
    }

    /// Records that the instance did something a snapshot of it cannot reproduce (see
    /// [`Host::unrepeatable`]); the first reason is kept.
    pub(crate) fn mark_unrepeatable(&mut self, why: &'static str) {
        self.unrepeatable.get_or_insert(why);
    }

    /// Records that the instance called an import that reaches outside it (see
    /// [`Host::reached_out`]).
    pub(crate) fn reach_out(&mut self) {
        self.reached_out = true;
    }

    /// Gives the instance the plugin's final name, known only after start-up code ran (a
    /// legacy `plugin_name` export): for logs and host functions. Whether it changed.
    pub(crate) fn rename(&mut self, name: &Arc<str>) -> bool {
        if *self.plugin == **name {
            return false;
        }
        self.plugin = name.clone();
        true
    }
}
