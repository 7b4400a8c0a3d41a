//! Finding, loading and registering plugins by name and by path.

mod common;

use std::sync::{Arc, Barrier};

use common::{TempDir, fixture_bytes, plugin_file};
use xxlang_plugin::{Error, Loader, Object, Plugin, Registry};

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
            Err(Error::InvalidName { name, .. }) => assert_eq!(name, bad),
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
    assert!(matches!(&err, Error::NotFound { searched, .. } if searched.len() == 2));
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
        Err(e @ Error::InvalidModule { .. }) => assert!(e.to_string().contains("fib.wasm"), "{e}"),
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
        loader.load_path(""),
        Err(Error::InvalidPath { .. })
    ));
    match loader.load_path("no/such/dir/x.wasm") {
        Err(e @ Error::Io { .. }) => assert!(e.to_string().contains("no/such/dir/x.wasm"), "{e}"),
        other => panic!("{:?}", other.map(|p| p.name().to_string())),
    }
    let dir = TempDir::new("paths");
    let junk = dir.write("junk.wasm", b"\0asm\x01\0\0\0\x01");
    assert!(matches!(
        loader.load_path(&junk),
        Err(Error::InvalidModule { .. })
    ));
    let unreadable = dir.write("dir.wasm/inner", b"");
    assert!(matches!(
        loader.load_path(unreadable.parent().expect("parent")),
        Err(Error::Io { .. })
    ));
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
        loader.import("fib"),
        Err(Error::InvalidPath { .. })
    ));
    assert!(matches!(
        loader.import("plugin/../fib"),
        Err(Error::InvalidName { .. })
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
