//! Loads open a span with the plugin, file, size and time; calls emit trace events.

use crate::common;

use tracing::Level;
use xxlang_plugin::Object;

#[test]
fn load_span_and_call_events() {
    let lines = common::traced(Level::TRACE, || {
        let fib = common::load("fib");
        assert_eq!(
            fib.call("fast", &[Object::Int(10)]).ok(),
            Some(Object::Int(55))
        );
    });
    let all = lines.join("\n");
    let load = lines
        .iter()
        .find(|l| l.starts_with("span load"))
        .unwrap_or_else(|| panic!("no load span:\n{all}"));
    assert!(load.contains("plugin=\"fib\""), "{load}");
    assert!(load.contains("fib.wasm"), "{load}");
    assert!(load.contains("bytes="), "{load}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("record") && l.contains("elapsed_us=")),
        "{all}"
    );
    assert!(lines.iter().any(|l| l.contains("loaded plugin")), "{all}");
    let call = lines
        .iter()
        .find(|l| l.starts_with("event TRACE") && l.contains("function=fast"))
        .unwrap_or_else(|| panic!("no call event:\n{all}"));
    assert!(call.contains("plugin=\"fib\""), "{call}");
}

/// Runs `f` with a subscriber that records everything; returns the lines it saw.
fn record(f: impl FnOnce()) -> Vec<String> {
    common::traced(Level::TRACE, f)
}

#[cfg(feature = "wasi")]
#[test]
fn guest_output_goes_to_tracing_by_default() {
    let lines = record(|| {
        let p = common::load("wasiprobe_c");
        common::call(&p, "print", &[Object::from("first line\nsecond")]);
        common::call(&p, "eprint", &[Object::from("oops\n")]);
        // The unfinished "second" is forwarded when the instance goes.
        drop(p);
    });
    let all = lines.join("\n");
    let line = |level: &str, stream: &str, text: &str| {
        lines.iter().any(|l| {
            l.starts_with(&format!("event {level}"))
                && l.contains("plugin=\"wasiprobe\"")
                && l.contains(&format!("stream=\"{stream}\""))
                && l.contains(&format!("message={text}"))
        })
    };
    assert!(line("INFO", "stdout", "first line"), "{all}");
    assert!(line("INFO", "stdout", "second"), "{all}");
    assert!(line("WARN", "stderr", "oops"), "{all}");
}

#[test]
fn guest_log_lines_are_events_at_their_level() {
    use xxlang_plugin::{Config, HostFunction, Param, Signature, Type, WasmPlugin};
    let dummy = |name: &str, params: Vec<Param>, result: Type| {
        HostFunction::new(name, Signature::new(params, result), |_, _| {
            Ok(Object::Null)
        })
    };
    let config = Config::new()
        .host_function(dummy(
            "lookup",
            vec![Param::named("k", Type::String)],
            Type::String,
        ))
        .host_function(dummy(
            "scale",
            vec![Param::named("n", Type::Int), Param::named("f", Type::Float)],
            Type::Float,
        ))
        .host_function(dummy(
            "call_me",
            vec![Param::named("n", Type::Int)],
            Type::Int,
        ));
    let bytes = common::fixture_bytes("hostcall");
    let lines = record(|| {
        let p = WasmPlugin::from_bytes_with("hostcall", &bytes, &config).expect("loads");
        for (level, text) in [
            (0, "e"),
            (1, "w"),
            (2, "i"),
            (3, "d"),
            (4, "t"),
            (99, "t2"),
            (-5, "e2"),
        ] {
            let args = [Object::Int(level), Object::from(text)];
            assert_eq!(p.call("say", &args).ok(), Some(Object::Null));
        }
    });
    let all = lines.join("\n");
    for (level, text) in [
        ("ERROR", "e"),
        ("WARN", "w"),
        ("INFO", "i"),
        ("DEBUG", "d"),
        ("TRACE", "t"),
        ("TRACE", "t2"),
        ("ERROR", "e2"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with(&format!("event {level}"))
                    && l.contains(&format!("message={text} "))
                    && l.contains("plugin=\"hostcall\"")),
            "no {level} event {text:?}:\n{all}"
        );
    }
}
