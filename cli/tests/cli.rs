//! The `xxplugin` command line, run as a user would from the repository root.

mod common;

use common::{module, stderr, stdout, xxplugin, xxplugin_with_env};

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

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
    let o = xxplugin(&["inspect", "--run", "fib"]);
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

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
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

#[cfg(unix)]
#[test]
fn only_regular_files_are_read() {
    let dir = common::TempDir::new("cli-fifo");
    let fifo = dir.path().join("fifo.wasm");
    let made = Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let search = common::TempDir::new("cli-fifo-search");
    let named = search.path().join("hidden.wasm");
    let made = Command::new("mkfifo")
        .arg(&named)
        .status()
        .expect("run mkfifo");
    assert!(made.success(), "mkfifo failed");
    let folder = dir.path().join("folder.wasm");
    std::fs::create_dir(&folder).expect("create dir");
    let cases: [(&[&str], &str); 6] = [
        (
            &["call", path_str(&fifo), "f"],
            "fifo.wasm: not a regular file (it is a FIFO)",
        ),
        (
            &["inspect", path_str(&fifo)],
            "fifo.wasm: not a regular file (it is a FIFO)",
        ),
        (
            &["inspect", "--run", path_str(&fifo)],
            "fifo.wasm: not a regular file (it is a FIFO)",
        ),
        (
            &["--path", path_str(search.path()), "call", "hidden", "f"],
            "hidden.wasm: not a regular file (it is a FIFO)",
        ),
        (
            &["inspect", path_str(&folder)],
            "folder.wasm: not a regular file (it is a directory)",
        ),
        (
            &["inspect", "/dev/zero"],
            "/dev/zero: not a regular file (it is a character device)",
        ),
    ];
    for (args, want) in cases {
        let (o, _) = xxplugin_within(args, AT_ONCE);
        assert_exit(&o, 2);
        assert!(stderr(&o).contains(want), "{args:?}: {}", stderr(&o));
    }
}

/// A plugin that needs a host function nobody provides, and one whose start never ends.
const NEEDS_HOST: &str = r#"(module
    (import "xxhost" "lookup" (func (param i32)))
    (func (export "call_double") (param i64) (result i64) local.get 0 i64.const 2 i64.mul))"#;
const ENDLESS_START: &str = r#"(module
    (func $start (loop $l (br $l)))
    (start $start)
    (func (export "call_double") (param i64) (result i64) local.get 0 i64.const 2 i64.mul))"#;

#[test]
fn inspect_runs_nothing_of_the_plugin() {
    let dir = common::TempDir::new("cli-inspect-static");
    for (name, wat) in [("host.wasm", NEEDS_HOST), ("endless.wasm", ENDLESS_START)] {
        let file = module(&dir, name, wat);
        let (o, took) = xxplugin_within(&["inspect", path_str(&file)], AT_ONCE);
        assert_exit(&o, 0);
        let out = stdout(&o);
        assert!(out.contains("double(int) -> int"), "{out}");
        assert!(out.contains("abi:      legacy (no manifest)"), "{out}");
        assert!(took < AT_ONCE, "{took:?}");
    }
    let out = stdout(&xxplugin(&[
        "inspect",
        path_str(&dir.path().join("host.wasm")),
    ]));
    assert!(out.contains("imports (1):\n  xxhost.lookup\n"), "{out}");
}

#[test]
fn inspect_run_asks_the_plugin_under_limits() {
    let dir = common::TempDir::new("cli-inspect-run");
    let endless = module(&dir, "endless.wasm", ENDLESS_START);
    let (o, took) = xxplugin_within(&["inspect", "--run", path_str(&endless)], AT_ONCE);
    assert_exit(&o, 2);
    assert!(
        stderr(&o).contains("ran out of fuel at start (limit: 500000000 units)"),
        "{}",
        stderr(&o)
    );
    assert!(took < AT_ONCE, "{took:?}");
    let host = module(&dir, "host.wasm", NEEDS_HOST);
    let (o, _) = xxplugin_within(&["inspect", "--run", path_str(&host)], AT_ONCE);
    assert_exit(&o, 2);
    assert!(stderr(&o).contains("xxhost.lookup"), "{}", stderr(&o));
}

#[test]
fn inspect_says_what_only_running_the_plugin_tells() {
    // Go declares its functions through an `xxplugin_manifest` export.
    let out = stdout(&xxplugin(&["inspect", "textkit_go"]));
    for want in [
        "name:     unknown: its `xxplugin_manifest` export says, and that runs plugin code \
         (`inspect --run`)",
        "abi:      unknown: its `xxplugin_manifest` export says",
        "functions (15), from the wasm types alone: its `xxplugin_manifest` export declares \
         them",
    ] {
        assert!(out.contains(want), "lacks {want:?}:\n{out}");
    }
    let out = stdout(&xxplugin(&["inspect", "--run", "textkit_go"]));
    assert!(
        out.contains("abi:      1 (typed, declared in its manifest)"),
        "{out}"
    );
    assert!(out.contains("upper(s: string) -> string"), "{out}");
    // A legacy plugin: the functions are all there, the name and version are not.
    let out = stdout(&xxplugin(&["inspect", "fib"]));
    for want in [
        "name:     unknown: its `plugin_name` export says",
        "version:  unknown: its `plugin_version` export says",
        "range_(int) -> array<int>",
    ] {
        assert!(out.contains(want), "lacks {want:?}:\n{out}");
    }
    // A manifest section tells everything without running anything.
    let out = stdout(&xxplugin(&["inspect", "textkit"]));
    assert!(
        out.contains("name:     textkit\nversion:  1.0.0-rust\n"),
        "{out}"
    );
}

/// Every control character in `bytes` but the line ends, as found.
fn raw_controls(bytes: &[u8]) -> Vec<char> {
    String::from_utf8_lossy(bytes)
        .chars()
        .filter(|c| c.is_control() && *c != '\n')
        .collect()
}

/// Terminal escapes (OSC title, clear screen, 8-bit CSI), a carriage return and DEL.
const NASTY: &str = "\\u{1b}]0;pwned\\u{7}\\u{1b}[2J\\u{9b}31m\\r\\u{7f}";

#[test]
fn text_from_a_plugin_reaches_the_terminal_escaped() {
    let dir = common::TempDir::new("cli-escapes");
    // Names, docs, imports and exports with escapes: inspect.
    let names = module(
        &dir,
        "names.wasm",
        r#"(module
            (import "xxhost\1b[2J" "look\07up" (func (param i32)))
            (@custom "xxplugin" "abi 1\nname evil\nfn shout(s: string) -> string -- \1b]0;pwned\07 title, \1b[31mred\c2\9b0m, \rspoof\n")
            (memory (export "memory") 1)
            (func (export "shout") (param i32))
            (func (export "bad\1b[2Jname") (param i64) (result i64) local.get 0))"#,
    );
    // Results, error messages and log lines with escapes: call.
    let calls = module(
        &dir,
        "calls.wasm",
        r#"(module
            (import "xxplugin" "result" (func $result (param i32 i32)))
            (import "xxplugin" "error" (func $error (param i32 i32)))
            (import "xxplugin" "log" (func $log (param i32 i32 i32)))
            (@custom "xxplugin" "abi 1\nname evil\nfn shout() -> string\nfn fail() -> int\nfn noisy()\nfn nested() -> array\n")
            (memory (export "memory") 1)
            (data (i32.const 0) "\1b]0;pwned\07\1b[2J\c2\9b31m\0d\7f")
            (data (i32.const 64) "\91\b5\1b]0;pwned\07\1b[2J\c2\9b31m\0d\7f")
            (func (export "shout") (call $result (i32.const 0) (i32.const 21)))
            (func (export "fail") (result i64) (call $error (i32.const 0) (i32.const 21)) i64.const 0)
            (func (export "noisy") (call $log (i32.const 0) (i32.const 0) (i32.const 21)))
            (func (export "nested") (call $result (i32.const 64) (i32.const 23))))"#,
    );
    let bad_manifest = module(
        &dir,
        "manifest.wasm",
        r#"(module (@custom "xxplugin" "abi 1\nfn f(x: \1b[31mred)\n"))"#,
    );
    let (names, calls, bad_manifest) =
        (path_str(&names), path_str(&calls), path_str(&bad_manifest));
    let cases: [(&[&str], i32, &str, &str); 9] = [
        (
            &["inspect", names],
            0,
            "-- \\u{1b}]0;pwned\\u{7} title, \\u{1b}[31mred\\u{9b}0m, \\rspoof",
            "",
        ),
        (
            &["inspect", names],
            0,
            "  xxhost\\u{1b}[2J.look\\u{7}up",
            "",
        ),
        (
            &["inspect", names],
            0,
            "  bad\\u{1b}[2Jname: `bad\\u{1b}[2Jname` is not an identifier",
            "",
        ),
        (
            &["inspect", "--run", names],
            2,
            "",
            "missing imports: xxhost\\u{1b}[2J.look\\u{7}up",
        ),
        (&["call", calls, "shout"], 0, &format!("{NASTY}\n"), ""),
        (
            &["call", calls, "fail"],
            1,
            &format!("ERROR: evil.fail: {NASTY}\n"),
            "",
        ),
        (
            &["call", calls, "nested"],
            0,
            &format!("[\"{NASTY}\"]\n"),
            "",
        ),
        (&["call", calls, "noisy"], 0, "null\n", NASTY),
        (
            &["inspect", bad_manifest],
            2,
            "",
            "unknown type `\\u{1b}[31mred`",
        ),
    ];
    for (args, code, out, err) in cases {
        let (o, _) = xxplugin_within(args, AT_ONCE);
        assert_exit(&o, code);
        assert!(stdout(&o).contains(out), "{args:?}: stdout {}", stdout(&o));
        assert!(stderr(&o).contains(err), "{args:?}: stderr {}", stderr(&o));
        assert_eq!(
            raw_controls(&o.stdout),
            [],
            "{args:?}: stdout {}",
            stdout(&o)
        );
        assert_eq!(
            raw_controls(&o.stderr),
            [],
            "{args:?}: stderr {}",
            stderr(&o)
        );
    }
}
