//! [`Watcher`]: reloads a [`Loader`]'s plugins when their files change (cargo feature `watch`).

use alloc::string::{String, ToString};
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::mpsc;
use std::time::Duration;

use notify::Watcher as _;

use crate::{Error, ErrorKind, Loader, WasmPlugin};

/// How long a file must stay unchanged before it is reloaded: compilers and editors write a
/// file in several steps, and a reload in the middle would only fail.
const QUIET: Duration = Duration::from_millis(100);

/// What the watcher tells the embedder after each reload it tried: the plugin's name, and the
/// plugin as it is now, or why the new file was refused (the old plugin then runs on).
pub type OnReload = dyn Fn(&str, &Result<Arc<WasmPlugin>, Error>) + Send + Sync;

/// Watches the search paths of a [`Loader`] and reloads (with [`Loader::reload`]) each plugin
/// the loader loaded by name when its file changes. Stops when dropped.
///
/// ```no_run
/// use std::sync::Arc;
/// use xxlang_plugin::{Loader, Watcher};
///
/// let loader = Arc::new(Loader::new());
/// let fib = loader.load_wasm("fib")?;
/// let _watcher = Watcher::new(&loader, |name, outcome| match outcome {
///     Ok(_) => eprintln!("reloaded {name}"),
///     Err(e) => eprintln!("kept the old {name}: {e}"),
/// })?;
/// // ... rebuild plugins/fib.wasm: scripts call the new code from their next call.
/// # Ok::<(), xxlang_plugin::Error>(())
/// ```
pub struct Watcher {
    /// Dropping it ends the event stream, and with it the reloading thread.
    inner: Option<notify::RecommendedWatcher>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watcher {
    /// Starts watching the directories on `loader`'s search paths that exist now. Every
    /// reload it tries is also logged (`tracing`, info or warn).
    pub fn new(
        loader: &Arc<Loader>,
        on_reload: impl Fn(&str, &Result<Arc<WasmPlugin>, Error>) + Send + Sync + 'static,
    ) -> Result<Self, Error> {
        let (tx, rx) = mpsc::channel::<PathBuf>();
        let mut inner = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && (event.kind.is_create() || event.kind.is_modify())
            {
                for path in event.paths {
                    let _ = tx.send(path);
                }
            }
        })
        .map_err(|e| watch_error(PathBuf::new(), e))?;
        for dir in loader.paths().into_iter().filter(|d| d.is_dir()) {
            inner
                .watch(&dir, notify::RecursiveMode::NonRecursive)
                .map_err(|e| watch_error(dir.clone(), e))?;
        }
        let loader = Arc::downgrade(loader);
        let thread = std::thread::Builder::new()
            .name(String::from("xxplugin-watch"))
            .spawn(move || reload_on_change(&loader, &rx, &on_reload))
            .map_err(|e| Error::load(ErrorKind::Io, "watch", None).with_source(e))?;
        Ok(Self {
            inner: Some(inner),
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        drop(self.inner.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl core::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Watcher").finish_non_exhaustive()
    }
}

fn watch_error(path: PathBuf, e: notify::Error) -> Error {
    let file = (!path.as_os_str().is_empty()).then(|| path.display().to_string());
    Error::load(ErrorKind::Io, "watch", file).with_source(std::io::Error::other(e))
}

/// Collects changed files until they have been quiet for [`QUIET`], then reloads the plugins
/// loaded from them; ends when the watcher (the sender) or the loader is gone.
fn reload_on_change(loader: &Weak<Loader>, rx: &mpsc::Receiver<PathBuf>, on_reload: &OnReload) {
    while let Ok(first) = rx.recv() {
        let mut changed = BTreeSet::from([first]);
        loop {
            match rx.recv_timeout(QUIET) {
                Ok(path) => {
                    changed.insert(path);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            }
        }
        let Some(loader) = loader.upgrade() else {
            return;
        };
        let changed: Vec<PathBuf> = changed
            .into_iter()
            .filter_map(|p| std::fs::canonicalize(p).ok())
            .collect();
        for name in loader.loaded_from(&changed) {
            let outcome = loader.reload(&name);
            match &outcome {
                Ok(_) => tracing::info!(plugin = %name, "reloaded after its file changed"),
                Err(e) => {
                    tracing::warn!(plugin = %name, error = %e, "reload failed; the old plugin runs on")
                }
            }
            on_reload(&name, &outcome);
        }
    }
}
