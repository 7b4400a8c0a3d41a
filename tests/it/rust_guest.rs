//! The Rust guest crate (`plugins-src/rust/xxplugin`) as only a built plugin shows it,
//! `plugins/rustguest.wasm`: a panic reaches the caller as the call's error, with its message
//! and location (not `unreachable`), and, like any trap, costs the plugin its instance and so
//! the state it kept.

use crate::common;

use xxlang_plugin::{Config, ErrorKind, Object, Recovery, WasmPlugin};

const RESET: &str = " (plugin restarted, state reset)";

#[test]
fn a_panic_is_the_calls_error() {
    let p = common::load("rustguest");
    let err = p
        .call("boom", &[Object::from("out of cheese")])
        .expect_err("it panics");
    let ErrorKind::Guest { message } = err.kind() else {
        panic!("not the guest's error: {err:?}");
    };
    assert!(
        message.starts_with("panicked at rustguest/src/lib.rs:")
            && message.ends_with(": out of cheese"),
        "{message}"
    );
    assert_eq!(err.to_string(), format!("rustguest.boom: {message}{RESET}"));
    assert!(err.instance_reset());
    let trap = std::error::Error::source(&err).map(ToString::to_string);
    assert!(
        trap.as_deref().is_some_and(|t| t.contains("unreachable")),
        "the trap is the source: {trap:?}"
    );

    // A panic of Rust's own, as a script sees it.
    let value = common::call(&p, "divide", &common::ints(&[1, 0]));
    let message = value.error_message().unwrap_or_default();
    assert!(
        message.starts_with("rustguest.divide: panicked at rustguest/src/lib.rs:")
            && message.ends_with(&format!(": attempt to divide by zero{RESET}")),
        "{message}"
    );
    assert_eq!(
        common::call(&p, "divide", &common::ints(&[7, -2])),
        Object::Int(-3)
    );

    // Through a typed handle too.
    let boom = p.typed::<&str, ()>("boom").expect("a handle");
    let err = boom.call("again").expect_err("it panics");
    assert!(
        err.to_string().ends_with(&format!(": again{RESET}")),
        "{err}"
    );
}

#[test]
fn a_trap_resets_the_state_a_plugin_keeps() {
    let count = |p: &WasmPlugin| p.call("count", &[]).expect("count");
    let p = common::load("rustguest");
    assert_eq!(count(&p), Object::Int(1));
    assert_eq!(count(&p), Object::Int(2));
    assert!(p.call("boom", &[Object::from("x")]).is_err());
    // A fresh instance: the counter starts over.
    assert_eq!(count(&p), Object::Int(1));

    // Kept instances keep their state (and the message says nothing was reset).
    let config = Config::new().on_trap(Recovery::KeepInstance);
    let p = WasmPlugin::from_file_with(common::plugin_file("rustguest"), &config).expect("load");
    assert_eq!(count(&p), Object::Int(1));
    assert_eq!(count(&p), Object::Int(2));
    let err = p.call("boom", &[Object::from("x")]).expect_err("it panics");
    assert!(
        !err.instance_reset() && !err.to_string().contains(RESET),
        "{err}"
    );
    assert_eq!(count(&p), Object::Int(3));
}
