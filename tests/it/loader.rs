//! Finding, loading and registering plugins by name and by path.

use crate::common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock, Weak, mpsc};
use std::time::Duration;

use common::{TempDir, fixture_bytes, kind, plugin_file};
use std::error::Error as _;

use xxlang_plugin::{ErrorKind, HostFunction, Loader, Object, Plugin, Registry, Signature, Type};

fn isolated(paths: &[&std::path::Path]) -> Loader {
    let loader = Loader::with_registry(Arc::new(Registry::new()));
    loader.set_paths(paths);
    loader
}

fn fib_bytes() -> Vec<u8> {
    std::fs::read(plugin_file("fib")).expect("read fib")
}

#[test]
fn default_paths_then_environment() {
    let loader = Loader::new();
    let paths = loader.paths();
    assert_eq!(paths[0], std::path::Path::new("./plugins"));
    assert_eq!(paths[1], std::path::Path::new("./plugin"));
    // Paths returns a copy.
    let mut copy = loader.paths();
    copy.clear();
    assert_eq!(loader.paths().len(), paths.len());
}

#[test]
fn names_must_be_plain() {
    let loader = isolated(&[std::path::Path::new("plugins")]);
    for bad in ["", "../fib", "/fib", "plugins/fib", "fib.wasm", "..", "a b"] {
        match loader.load(bad) {
            Err(e) if matches!(e.kind(), ErrorKind::InvalidName { .. }) => {
                assert_eq!(e.plugin(), Some(bad))
            }
            other => panic!("{bad:?}: {:?}", other.map(|p| p.name().to_string())),
        }
    }
}

#[test]
fn not_found_lists_every_path_searched() {
    let a = TempDir::new("nf-a");
    let b = TempDir::new("nf-b");
    let loader = isolated(&[a.path(), b.path()]);
    let err = loader.load("ghost").expect_err("not found");
    assert!(matches!(err.kind(), ErrorKind::NotFound { searched } if searched.len() == 2));
    assert_eq!(err.plugin(), Some("ghost"));
    let msg = err.to_string();
    assert!(
        msg.starts_with("plugin not found: ghost (searched: "),
        "{msg}"
    );
    assert!(
        msg.contains(&a.path().display().to_string())
            && msg.contains(&b.path().display().to_string()),
        "{msg}"
    );
}

#[test]
fn searched_in_order_and_registered_under_the_load_name() {
    let first = TempDir::new("order-1");
    let second = TempDir::new("order-2");
    // Both files declare the name "fib"; the first path wins, registered as "fastfib".
    first.write("fastfib.wasm", &fib_bytes());
    second.write("fastfib.wasm", b"not a valid wasm file");
    let loader = isolated(&[first.path(), second.path()]);
    let p = loader.load("fastfib").expect("load");
    assert_eq!(p.name(), "fib");
    assert_eq!(loader.registry().list(), ["fastfib"]);
    assert!(
        Arc::ptr_eq(&p, &loader.load("fastfib").expect("again")),
        "second load comes from the registry"
    );
}

#[test]
fn a_broken_file_does_not_stop_the_search() {
    let first = TempDir::new("broken-1");
    let second = TempDir::new("broken-2");
    first.write("fib.wasm", b"not a valid wasm file");
    second.write("fib.wasm", &fib_bytes());
    let loader = isolated(&[first.path(), second.path()]);
    let p = loader
        .load("fib")
        .expect("the good file on the second path loads");
    assert_eq!(
        common::call(&*p, "fast", &[Object::Int(10)]),
        Object::Int(55)
    );

    // With no good file, the error names the broken one.
    let only_broken = isolated(&[first.path()]);
    match only_broken.load("fib") {
        Err(e) if matches!(e.kind(), ErrorKind::InvalidModule { .. }) => {
            assert!(e.to_string().contains("fib.wasm"), "{e}")
        }
        other => panic!("{:?}", other.map(|p| p.name().to_string())),
    }
}

#[test]
fn concurrent_loads_of_one_name_load_once() {
    let dir = TempDir::new("concurrent");
    dir.write("fib.wasm", &fib_bytes());
    let loader = isolated(&[dir.path()]);
    let barrier = Barrier::new(8);
    let loaded: Vec<Arc<dyn Plugin>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let (loader, barrier) = (&loader, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    loader.load("fib").expect("load")
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("thread"))
            .collect()
    });
    for p in &loaded {
        assert!(
            Arc::ptr_eq(p, &loaded[0]),
            "every thread got the same plugin"
        );
    }
}

#[test]
fn load_path_errors_are_distinct() {
    let loader = isolated(&[]);
    assert!(matches!(
        kind(&loader.load_path("")),
        Some(ErrorKind::InvalidPath { .. })
    ));
    match loader.load_path("no/such/dir/x.wasm") {
        Err(e) if *e.kind() == ErrorKind::Io => {
            assert!(e.to_string().contains("no/such/dir/x.wasm"), "{e}");
            assert_eq!(e.file(), Some("no/such/dir/x.wasm"));
            let io = e.source().and_then(|s| s.downcast_ref::<std::io::Error>());
            assert_eq!(
                io.map(std::io::Error::kind),
                Some(std::io::ErrorKind::NotFound)
            );
        }
        other => panic!("{:?}", other.map(|p| p.name().to_string())),
    }
    let dir = TempDir::new("paths");
    let junk = dir.write("junk.wasm", b"\0asm\x01\0\0\0\x01");
    assert!(matches!(
        kind(&loader.load_path(&junk)),
        Some(ErrorKind::InvalidModule { .. })
    ));
    let unreadable = dir.write("dir.wasm/inner", b"");
    assert_eq!(
        kind(&loader.load_path(unreadable.parent().expect("parent"))),
        Some(&ErrorKind::Io)
    );
}

#[test]
fn load_path_returns_the_same_plugin_until_closed_or_changed() {
    let dir = TempDir::new("same");
    let file = dir.write("fib.wasm", &fib_bytes());
    let loader = isolated(&[]);
    let a = loader.load_path(&file).expect("load");
    let b = loader.load_path(&file).expect("again");
    assert!(Arc::ptr_eq(&a, &b));
    a.close().expect("close");
    let c = loader.load_path(&file).expect("after close");
    assert!(!Arc::ptr_eq(&a, &c), "a closed plugin is loaded anew");
    assert_eq!(
        common::call(&*c, "fast", &[Object::Int(7)]),
        Object::Int(13)
    );

    // A changed file is loaded anew.
    std::fs::write(&file, fixture_bytes("lifecycle")).expect("rewrite");
    let d = loader.load_path(&file).expect("changed");
    assert!(d.exports().contains_key("inits"));
    assert!(
        loader.registry().list().is_empty(),
        "load_path does not register"
    );
}

#[test]
fn import_specs() {
    let loader = isolated(&[std::path::Path::new("plugins")]);
    let by_name = loader.import("plugin/fib").expect("by name");
    assert_eq!(by_name.to_string(), "[module fib]");
    let module = by_name.as_module().expect("module");
    assert!(module.get("fast").and_then(Object::as_builtin).is_some());
    let by_path = loader.import("plugins/testplugin.wasm").expect("by path");
    assert_eq!(by_path.to_string(), "[module testplugin]");
    assert!(matches!(
        kind(&loader.import("fib")),
        Some(ErrorKind::InvalidPath { .. })
    ));
    assert!(matches!(
        kind(&loader.import("plugin/../fib")),
        Some(ErrorKind::InvalidName { .. })
    ));
}

#[test]
fn script_dir_is_the_scripts_folder() {
    let app = TempDir::new("script");
    app.write("plugins/fib.wasm", &fib_bytes());
    let loader = isolated(&[]);
    loader.add_script_dir(app.path().join("main.xx"));
    assert_eq!(loader.paths(), [app.path().join("plugins")]);
    assert!(loader.load("fib").is_ok());
}

#[test]
fn a_closed_registered_plugin_is_reloaded() {
    let loader = isolated(&[std::path::Path::new("plugins")]);
    let first = loader.load("fib").expect("load");
    first.close().expect("close");
    let second = loader.load("fib").expect("reload");
    assert!(!Arc::ptr_eq(&first, &second));
    assert!(!second.is_closed());
    assert!(Arc::ptr_eq(
        &second,
        &loader.registry().get("fib").expect("registered")
    ));
}

/// Runs `f` on another thread and fails the test if it does not finish in 10 s (a deadlock),
/// instead of hanging.
fn within_10s<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|_| panic!("{what} did not finish in 10 s"))
}

/// A plugin whose start function calls the host function `xxhost.NAME` (no arguments).
fn calls_at_start(name: &str) -> Vec<u8> {
    wat::parse_str(format!(
        r#"(module
             (import "xxhost" "{name}" (func $host))
             (func $start (call $host))
             (start $start)
             (func (export "answer") (result i64) (i64.const 42)))"#
    ))
    .expect("valid WAT")
}

fn host_fn(
    name: &str,
    f: impl Fn() -> Result<Object, String> + Send + Sync + 'static,
) -> HostFunction {
    HostFunction::new(name, Signature::new(vec![], Type::Null), move |_, _| f())
}

/// A load stuck in a slow start-up (here: blocked in a host function until the test lets it
/// go) holds up no load of another file or name; a second load of the same file waits for it
/// and gets the same plugin.
#[test]
fn a_slow_load_holds_up_no_load_of_another_file_or_name() {
    let dir = TempDir::new("slowload");
    let slow = dir.write("slow.wasm", &calls_at_start("wait"));
    let fast = dir.write("fib.wasm", &fib_bytes());
    let loader = Arc::new(isolated(&[dir.path()]));
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let waits = Arc::new(AtomicUsize::new(0));
    let channels = Mutex::new((started_tx, release_rx));
    let w = waits.clone();
    loader.add_host_function(host_fn("wait", move || {
        if w.fetch_add(1, Ordering::SeqCst) == 0 {
            let channels = channels.lock().map_err(|e| e.to_string())?;
            let _ = channels.0.send(());
            // Until the test says so (or ends).
            let _ = channels.1.recv();
        }
        Ok(Object::Null)
    }));

    let (l, path) = (loader.clone(), slow.clone());
    let first = std::thread::spawn(move || l.load_path(&path).map_err(|e| e.to_string()));
    started_rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the slow load started");
    let (l, path) = (loader.clone(), slow.clone());
    let again = std::thread::spawn(move || l.load_path(&path).map_err(|e| e.to_string()));

    let l = loader.clone();
    let others = within_10s("loading another file while one is stuck", move || {
        let by_path = l.load_path(&fast).map(|p| p.name().to_string());
        let by_name = l.load("fib").map(|p| p.name().to_string());
        let imported = l.import("plugin/fib").map(|m| m.to_string());
        (by_path.ok(), by_name.ok(), imported.ok())
    });
    assert_eq!(
        others,
        (
            Some(String::from("fib")),
            Some(String::from("fib")),
            Some(String::from("[module fib]"))
        )
    );

    release_tx.send(()).expect("the slow load is waiting");
    let first = first
        .join()
        .expect("no panic")
        .expect("the slow load succeeds");
    let again = again
        .join()
        .expect("no panic")
        .expect("the second load succeeds");
    assert!(Arc::ptr_eq(&first, &again), "one load, the other reused it");
    assert_eq!(waits.load(Ordering::SeqCst), 1, "start-up ran once");
    assert_eq!(common::call(&*first, "answer", &[]), Object::Int(42));
}

/// A plugin whose start-up loads its own file again (through a host function) gets a
/// circular-load error instead of waiting for itself for ever; loading another file from
/// there works.
#[test]
fn a_load_that_needs_its_own_file_is_circular_not_a_deadlock() {
    let dir = TempDir::new("selfload");
    let me = dir.write("selfload.wasm", &calls_at_start("reload"));
    let fib = dir.write("fib.wasm", &fib_bytes());
    let loader = Arc::new(isolated(&[dir.path()]));
    let holder: Arc<OnceLock<Weak<Loader>>> = Arc::new(OnceLock::new());
    holder.set(Arc::downgrade(&loader)).ok();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (h, s, me2) = (holder.clone(), seen.clone(), me.clone());
    loader.add_host_function(host_fn("reload", move || {
        let loader = h.get().and_then(Weak::upgrade).ok_or("no loader")?;
        let again = loader.load_path(&me2).map(|p| p.name().to_string());
        let other = loader.load_path(&fib).map(|p| p.name().to_string());
        let mut s = s.lock().map_err(|e| e.to_string())?;
        s.push(again.map_err(|e| e.to_string()));
        s.push(other.map_err(|e| e.to_string()));
        Ok(Object::Null)
    }));
    let l = loader.clone();
    let loaded = within_10s("a load that loads itself", move || {
        l.load_path(&me).map(|p| p.name().to_string()).ok()
    });
    assert_eq!(loaded.as_deref(), Some("selfload"));
    let seen = seen.lock().expect("lock").clone();
    match seen.as_slice() {
        [Err(again), Ok(other)] => {
            assert!(
                again.starts_with("circular plugin load: ") && again.ends_with("selfload.wasm"),
                "{again}"
            );
            assert_eq!(other, "fib");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn configure_says_when_it_applies_and_a_reload_applies_it() {
    use xxlang_plugin::{Applies, Config, ErrorKind, Limit, Loader, Object, Registry};
    let loader = Loader::with_registry(std::sync::Arc::new(Registry::new()));
    loader.set_paths([concat!(env!("CARGO_MANIFEST_DIR"), "/plugins")]);
    assert_eq!(
        loader.configure("textkit", &Config::new()),
        Applies::AtLoad,
        "not loaded"
    );
    let fib = loader.load_wasm("fib").expect("loads");
    let n = [Object::Int(25)];
    assert!(fib.call("fast", &n).is_ok());
    let applies = loader.configure("fib", &Config::new().fuel(100));
    assert_eq!(applies, Applies::AtReload);
    assert!(
        fib.call("fast", &n).is_ok(),
        "the loaded plugin keeps its config"
    );
    let fib = loader.reload("fib").expect("reloads");
    let err = fib.call("fast", &n).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Limit(Limit::Fuel(100))),
        "{err}"
    );
}
