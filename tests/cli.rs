//! The `xxplugin` command line, run as a user would from the repository root.
#![cfg(feature = "cli")]

mod common;

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn xxplugin(args: &[&str]) -> Output {
    xxplugin_with_env(args, &[])
}

fn xxplugin_with_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xxplugin"));
    cmd.args(args)
        .current_dir(common::root())
        .env_remove("XXLANG_PLUGIN_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run xxplugin")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn readme_first_command() {
    let o = xxplugin(&["call", "fib", "fast", "50"]);
    assert_eq!(stdout(&o), "12586269025\n", "{}", stderr(&o));
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn call_prints_printed_forms() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["call", "fib", "range_", "10"],
            "[0, 1, 1, 2, 3, 5, 8, 13, 21, 34, 55]\n",
        ),
        (&["call", "fib", "isFib", "55"], "true\n"),
        (&["call", "testplugin", "neg", "-5"], "5\n"),
        (&["call", "fib", "version"], "1.0.0-rust\n"),
        (&["call", "plugins/testplugin.wasm", "add", "2", "3"], "5\n"),
    ];
    for (args, want) in cases {
        let o = xxplugin(args);
        assert_eq!(stdout(&o), *want, "{args:?}: {}", stderr(&o));
        assert_eq!(o.status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn error_values_exit_1() {
    let o = xxplugin(&["call", "fib", "fast", "1", "2"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).starts_with("ERROR: fib.fast: expected 1 argument"),
        "{}",
        stdout(&o)
    );
    let o = xxplugin(&["call", "fib", "fast", "\"x\""]);
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stdout(&o).contains("argument 1 must be int, got string \"x\""),
        "{}",
        stdout(&o)
    );
}

#[test]
fn load_and_usage_errors_exit_2() {
    let o = xxplugin(&["call", "nope", "f"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("plugin not found: nope (searched: ./plugins, ./plugin)"),
        "{}",
        stderr(&o)
    );
    let o = xxplugin(&["call", "fib", "nosuch"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no export named \"nosuch\""),
        "{}",
        stderr(&o)
    );
    let o = xxplugin(&["call", "fib"]);
    assert_eq!(
        o.status.code(),
        Some(2),
        "missing function is a usage error"
    );
    let o = xxplugin(&["frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    let o = xxplugin(&["call", "../fib", "fast", "1"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn inspect_lists_functions_signatures_and_version() {
    let o = xxplugin(&["inspect", "fib"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    for want in [
        "name:     fib",
        "version:  1.0.0-rust",
        "fast(int) -> int",
        "matrix(int) -> int",
        "isFib(int) -> bool",
        "range_(int) -> array<int>",
        "version = \"1.0.0-rust\"",
        "imports:  (none)",
    ] {
        assert!(out.contains(want), "inspect output lacks {want:?}:\n{out}");
    }
}

#[test]
fn inspect_shows_imports_and_skipped_exports() {
    let dir = common::TempDir::new("cli-inspect");
    let file = dir.write("collide.wasm", &common::fixture_bytes("collisions"));
    let o = xxplugin(&["inspect", file.to_str().expect("utf-8 path")]);
    let out = stdout(&o);
    assert!(
        out.contains("fast: `fast` is already taken by `call_fast`"),
        "{out}"
    );
    let file = dir.write("abort.wasm", &common::fixture_bytes("abort"));
    let out = stdout(&xxplugin(&["inspect", file.to_str().expect("utf-8 path")]));
    assert!(out.contains("env.abort"), "{out}");
}

#[test]
fn plugin_path_environment_uses_the_platform_separator() {
    let a = common::TempDir::new("cli-env-a");
    let b = common::TempDir::new("cli-env-b");
    b.write(
        "other.wasm",
        &std::fs::read(common::plugin_file("fib")).expect("read"),
    );
    let joined = std::env::join_paths([a.path(), b.path()]).expect("join");
    let o = xxplugin_with_env(
        &["call", "other", "fast", "10"],
        &[("XXLANG_PLUGIN_PATH", &joined)],
    );
    assert_eq!(stdout(&o), "55\n", "{}", stderr(&o));
    let o = xxplugin(&[
        "--path",
        b.path().to_str().expect("utf-8"),
        "call",
        "other",
        "fast",
        "11",
    ]);
    assert_eq!(stdout(&o), "89\n", "{}", stderr(&o));
}

/// Runs `xxplugin` as a child that must finish within `limit` (it is killed, and the test
/// fails, if not); returns what it printed and how long it took.
fn xxplugin_within(args: &[&str], limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_xxplugin"))
        .args(args)
        .current_dir(common::root())
        .env_remove("XXLANG_PLUGIN_PATH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xxplugin");
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_end(&mut bytes);
            }
            bytes
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for xxplugin") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("xxplugin {args:?} still ran after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = started.elapsed();
    let output = Output {
        status,
        stdout: out.join().expect("stdout"),
        stderr: err.join().expect("stderr"),
    };
    (output, took)
}

/// The bound for commands that must answer at once: generous, for a loaded debug build.
const AT_ONCE: Duration = Duration::from_secs(20);

/// Asserts the command ran to its end (no signal: no stack overflow, no abort) with `code`.
#[track_caller]
fn assert_exit(o: &Output, code: i32) {
    assert_eq!(
        o.status.code(),
        Some(code),
        "{:?}\nstdout: {}\nstderr: {}",
        o.status,
        stdout(o),
        stderr(o)
    );
}

#[test]
fn deeply_nested_arguments_are_an_error_not_a_crash() {
    let arrays = "[".repeat(60_000);
    let maps = "{1:".repeat(20_000);
    for (arg, at) in [(&arrays, 64), (&maps, 3 * 64)] {
        let (o, _) = xxplugin_within(&["call", "textkit", "echo", arg], AT_ONCE);
        assert_exit(&o, 2);
        let want = format!(
            "xxplugin: argument 1: arrays and maps nest deeper than 64 levels (at byte {at}, \
             column {})",
            at + 1
        );
        assert!(stderr(&o).contains(&want), "{}", stderr(&o));
        assert!(stdout(&o).is_empty(), "nothing is called: {}", stdout(&o));
    }
    // Nesting up to the limit is a value like any other.
    let ok = format!("{}1{}", "[".repeat(10), "]".repeat(10));
    let (o, _) = xxplugin_within(&["call", "textkit", "echo", &ok], AT_ONCE);
    assert_exit(&o, 0);
    assert_eq!(stdout(&o), format!("{ok}\n"));
}
