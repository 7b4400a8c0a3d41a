//! Only regular files are read as modules: a FIFO opened for reading blocks until a writer
//! comes, and a device may never end. Each read that must fail runs on a thread under a time
//! bound, so a regression fails the test instead of hanging it.
#![cfg(all(unix, feature = "std"))]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use xxlang_plugin::{Loader, Registry, WasmPlugin};

use crate::common;

/// Runs `read` on a thread; its result, or a failure if it has not returned within 20 s.
fn within_bound<T: Send + 'static>(read: impl FnOnce() -> T + Send + 'static) -> T {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(read());
    });
    match receive.recv_timeout(Duration::from_secs(20)) {
        Ok(v) => v,
        Err(_) => panic!("reading a non-regular file did not return within 20 s"),
    }
}

fn mkfifo(path: &Path) {
    let made = std::process::Command::new("mkfifo").arg(path).status();
    assert!(made.is_ok_and(|s| s.success()), "mkfifo {}", path.display());
}

#[test]
fn fifos_directories_and_devices_are_refused_at_once_with_what_they_are() {
    let dir = common::TempDir::new("file-kinds");
    let fifo = dir.path().join("fifo.wasm");
    mkfifo(&fifo);
    let folder = dir.path().join("folder.wasm");
    std::fs::create_dir(&folder).expect("create dir");
    let cases: [(PathBuf, &str); 3] = [
        (fifo, "not a regular file (it is a FIFO)"),
        (folder, "not a regular file (it is a directory)"),
        (
            PathBuf::from("/dev/zero"),
            "not a regular file (it is a character device)",
        ),
    ];
    for (path, want) in cases {
        let shown = path.display().to_string();
        let (loaded, described) = within_bound(move || {
            (
                WasmPlugin::from_file(&path).err().map(|e| e.to_string()),
                WasmPlugin::describe_static_file(&path)
                    .err()
                    .map(|e| e.to_string()),
            )
        });
        for err in [loaded, described] {
            let err = err.unwrap_or_default();
            assert!(err.contains(&format!("{shown}: {want}")), "{err}");
        }
    }
}

#[test]
fn the_loader_names_a_fifo_on_its_search_path_and_still_finds_a_later_file() {
    let dir = common::TempDir::new("file-kinds-loader");
    let fifo = dir.write("fifo/fib.wasm", b"");
    std::fs::remove_file(&fifo).expect("make room for the FIFO");
    mkfifo(&fifo);
    let fifo_dir = dir.path().join("fifo");
    let (by_name, by_path, later) = within_bound(move || {
        let loader = Loader::with_registry(Arc::new(Registry::new()));
        loader.set_paths([fifo_dir.clone()]);
        let by_name = loader.load("fib").err().map(|e| e.to_string());
        let by_path = loader.load_path(&fifo).err().map(|e| e.to_string());
        loader.set_paths([fifo_dir, common::root().join("plugins")]);
        (by_name, by_path, loader.load("fib").is_ok())
    });
    for err in [by_name, by_path] {
        let err = err.unwrap_or_default();
        assert!(
            err.contains("fib.wasm: not a regular file (it is a FIFO)"),
            "{err}"
        );
    }
    assert!(later, "a regular file later on the search path still loads");
}
