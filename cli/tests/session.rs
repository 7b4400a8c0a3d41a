//! `xxplugin repl` (piped, and on a real terminal through tmux) and the sandbox and output
//! flags of `xxplugin call`, run as a user would from the repository root.

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{TempDir, root, stderr, stdout, xxplugin};

/// `xxplugin repl ARGS` with `input` on its stdin (a pipe).
fn repl(args: &[&str], input: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_xxplugin"))
        .arg("repl")
        .args(args)
        .current_dir(root())
        .env_remove("XXLANG_PLUGIN_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run xxplugin repl");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("repl ends")
}

/// The module `wat` written as `NAME.wasm` in `dir`; its path.
fn module(dir: &TempDir, name: &str, wat: &str) -> String {
    let bytes = wat::parse_str(wat).expect("wat");
    dir.write(&format!("{name}.wasm"), &bytes)
        .display()
        .to_string()
}

#[test]
fn a_piped_session_keeps_plugins_and_their_state() {
    let dir = TempDir::new("state");
    let counter = module(
        &dir,
        "counter",
        r#"(module (global $n (mut i64) (i64.const 0))
            (func (export "bump") (result i64)
                (global.set $n (i64.add (global.get $n) (i64.const 1))) (global.get $n)))"#,
    );
    let input = "import \"plugin/fib\"\nfib.fast(50)\nhelp(fib.fast)\nimport counter\n\
                 counter.bump()\ncounter.bump()\ncounter\nexit\ncounter.bump()\n";
    assert!(counter.ends_with("counter.wasm"));
    let o = repl(&["--path", &dir.path().display().to_string()], input);
    assert_eq!(
        stdout(&o),
        "fib: 4 functions\n12586269025\nfib.fast(int) -> int\ncounter: 1 functions\n1\n2\n\
         counter.bump() -> int\n",
        "{}",
        stderr(&o)
    );
    assert_eq!(o.status.code(), Some(0));
}

#[test]
fn errors_in_a_session_print_and_the_session_goes_on() {
    let input = "fib.fast(1)\nimport fib\nfib.fast(\"x\")\nfib.fast(1, 2\nfib.nope()\n\
                 nonsense\nimport nosuch\nfib.fast([1,)\nfib.fast(b\"\\x01\")\nfib.fast(10)\n";
    let o = repl(&[], input);
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    assert!(lines[0].contains("fib: not imported"), "{out}");
    assert_eq!(lines[1], "fib: 4 functions");
    assert!(
        lines[2].starts_with("ERROR: fib.fast: argument 1 must be int"),
        "{out}"
    );
    assert_eq!(
        lines[3],
        "expected , or ) after an argument, found the end (at column 14)"
    );
    assert!(
        lines[4].contains("no function nope (it has: fast, isFib"),
        "{out}"
    );
    assert!(lines[5].contains("not a command"), "{out}");
    assert!(lines[6].contains("plugin not found: nosuch"), "{out}");
    assert!(lines[6].contains("--path"), "{out}");
    assert_eq!(lines[7], "expected a value, found ')' (at column 13)");
    assert!(lines[8].contains("must be int, got bytes"), "{out}");
    assert_eq!(lines[9], "55", "the session went on");
    assert_eq!(o.status.code(), Some(1), "a line failed");
}

#[test]
fn a_plugin_is_named_as_it_was_imported() {
    // wasiprobe_c declares the name "wasiprobe": the session calls it what it imported.
    let o = repl(
        &[],
        "import wasiprobe_c\nhelp(wasiprobe_c.args)\nwasiprobe_c.args()\n",
    );
    assert_eq!(
        stdout(&o),
        "wasiprobe_c: 12 functions\nwasiprobe_c.args() -> array<string>\n    \
         The plugin's arguments (argv).\n[]\n",
        "{}",
        stderr(&o)
    );
}

#[test]
fn repl_imports_and_limits_from_flags() {
    let o = repl(
        &["--import", "testplugin", "--fuel", "100000"],
        "testplugin.add(2, 3)\ntestplugin.count_primes(1000000)\n",
    );
    let out = stdout(&o);
    assert!(out.starts_with("testplugin: "), "{out}");
    assert!(out.contains("\n5\n"), "{out}");
    assert!(out.contains("ran out of fuel"), "{out}");
}

/// A tmux server of its own (`-L`), killed at the end.
struct Tmux(String);

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.0])
            .args(args)
            .output()
            .expect("tmux runs (install it: apt-get install tmux)")
    }

    fn screen(&self) -> String {
        stdout(&self.run(&["capture-pane", "-p", "-t", "repl"]))
    }

    /// Waits until the screen shows `text`; fails with the screen after 20 s.
    fn wait_for(&self, text: &str, count: usize) {
        let started = Instant::now();
        loop {
            let screen = self.screen();
            if screen.matches(text).count() >= count {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no {text:?} (x{count}) on the terminal:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "repl"];
        args.extend_from_slice(keys);
        assert!(self.run(&args).status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

#[test]
fn on_a_terminal_lines_are_edited_and_kept_in_history() {
    let tmux = Tmux(format!("xxplugin-test-{}", std::process::id()));
    let command = format!(
        "cd {} && {} repl",
        root().display(),
        env!("CARGO_BIN_EXE_xxplugin")
    );
    let started = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "repl",
        "-x",
        "100",
        "-y",
        "30",
        &command,
    ]);
    assert!(started.status.success(), "{}", stderr(&started));
    tmux.wait_for("help, exit", 1);
    tmux.keys(&["import fib", "Enter"]);
    tmux.wait_for("fib: 4 functions", 1);
    // Typed with a mistake, corrected with backspace and the arrow keys.
    tmux.keys(&["fib.fast(1)", "BSpace", "BSpace", "20)", "Enter"]);
    tmux.wait_for("6765", 1);
    tmux.keys(&[
        "fib.fst(5)",
        "Home",
        "Right",
        "Right",
        "Right",
        "Right",
        "Right",
        "a",
        "Enter",
    ]);
    tmux.wait_for("\n5\n", 1);
    // History: the call before last, again.
    tmux.keys(&["Up", "Up", "Enter"]);
    tmux.wait_for("6765", 2);
    tmux.keys(&["help(fib.fast)", "Enter"]);
    tmux.wait_for("fib.fast(int) -> int", 1);
    tmux.keys(&["exit", "Enter"]);
    let started = Instant::now();
    while tmux.run(&["has-session", "-t", "repl"]).status.success() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the session did not end"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn sandbox_flags_reach_the_plugin() {
    let dir = TempDir::new("sandbox");
    std::fs::write(dir.path().join("in.txt"), "from the host").expect("write");
    let grant = format!("{}:/data:ro", dir.path().display());
    let o = xxplugin(&[
        "call",
        "--dir",
        &grant,
        "wasiprobe_c",
        "read",
        "/data/in.txt",
    ]);
    assert_eq!(stdout(&o), "from the host\n", "{}", stderr(&o));
    let o = xxplugin(&[
        "call",
        "--dir",
        &grant,
        "wasiprobe_c",
        "write",
        "/data/x",
        "y",
    ]);
    assert!(
        stdout(&o).contains("not permitted"),
        "read-only: {}",
        stdout(&o)
    );
    assert!(!dir.path().join("x").exists());
    let o = xxplugin(&["call", "wasiprobe_c", "read", "/data/in.txt"]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "no --dir, no file: {}",
        stdout(&o)
    );
    let o = xxplugin(&[
        "call",
        "--env",
        "GREETING=hi",
        "wasiprobe_c",
        "getenv",
        "GREETING",
    ]);
    assert_eq!(stdout(&o), "hi\n");
    let o = xxplugin(&["call", "wasiprobe_c", "getenv", "HOME"]);
    assert_eq!(stdout(&o), "null\n", "nothing is passed unless asked");
    let o = xxplugin(&["call", "--arg", "a", "--arg", "-b", "wasiprobe_c", "args"]);
    assert_eq!(stdout(&o), "[\"a\", \"-b\"]\n", "{}", stderr(&o));
}

#[test]
fn limits_from_flags() {
    let dir = TempDir::new("limits");
    let spin = module(
        &dir,
        "spin",
        r#"(module (func (export "spin") (loop $l (br $l))))"#,
    );
    let started = Instant::now();
    let o = xxplugin(&["call", "--deadline", "200ms", &spin, "spin"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ran past its deadline (200 ms)"),
        "{}",
        stdout(&o)
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let o = xxplugin(&[
        "call",
        "--fuel",
        "1_000",
        "testplugin",
        "count_primes",
        "1000000",
    ]);
    assert!(
        stdout(&o).contains("ran out of fuel (limit: 1000"),
        "{}",
        stdout(&o)
    );
    let grow = module(
        &dir,
        "grow",
        r#"(module (memory (export "memory") 1)
            (func (export "grow") (param i64) (result i64)
                (i64.extend_i32_s (memory.grow (i32.wrap_i64 (local.get 0))))))"#,
    );
    let o = xxplugin(&["call", "--max-memory", "128KiB", &grow, "grow", "4"]);
    assert_eq!(stdout(&o), "-1\n", "{}", stderr(&o));
    let o = xxplugin(&["call", &grow, "grow", "4"]);
    assert_eq!(stdout(&o), "1\n");
    let o = xxplugin(&["call", "--deadline", "soon", "fib", "fast", "1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("expected a duration"), "{}", stderr(&o));
}

#[test]
fn guest_output_goes_where_it_is_sent() {
    let o = xxplugin(&["call", "wasiprobe_c", "print", "out!"]);
    assert_eq!(stdout(&o), "out!null\n");
    let o = xxplugin(&["call", "--stdout", "null", "wasiprobe_c", "print", "out!"]);
    assert_eq!(stdout(&o), "null\n");
    let o = xxplugin(&["call", "--stdout", "stderr", "wasiprobe_c", "print", "out!"]);
    assert_eq!(
        (stdout(&o).as_str(), stderr(&o).as_str()),
        ("null\n", "out!")
    );
    let o = xxplugin(&["call", "wasiprobe_c", "eprint", "err!"]);
    assert_eq!(stderr(&o), "err!");
}

#[test]
fn json_output_for_scripts() {
    let o = xxplugin(&["call", "--json", "fib", "range_", "5"]);
    assert_eq!(stdout(&o), "[0, 1, 1, 2, 3, 5]\n");
    let o = xxplugin(&["call", "--json", "wasiprobe_c", "print", "out!"]);
    assert_eq!(
        stdout(&o),
        "null\n",
        "the plugin's stdout is kept out of the JSON"
    );
    assert_eq!(stderr(&o), "out!");
    let o = xxplugin(&["call", "--json", "fib", "fast", "x"]);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        stdout(&o),
        "{\"error\": {\"kind\": \"type\", \"message\": \"fib.fast: argument 1 must be int, got string \\\"x\\\"\"}}\n"
    );
    let o = xxplugin(&["call", "--json", "nosuch", "f"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stdout(&o).starts_with("{\"error\": {\"kind\": \"usage\""),
        "{}",
        stdout(&o)
    );
}

#[test]
fn bytes_and_malformed_literals() {
    let dir = TempDir::new("bytes");
    let len = module(
        &dir,
        "len",
        r#"(module (memory (export "memory") 1)
            (func (export "alloc") (param i32) (result i32) i32.const 1024)
            (func (export "dealloc") (param i32 i32))
            (@custom "xxplugin" "abi 1\nfn size(b: bytes) -> int\n")
            (func (export "size") (param i32) (result i64) (i64.extend_i32_u (local.get 0))))"#,
    );
    let o = xxplugin(&["call", &len, "size", r#"b"\x00\xff\n""#]);
    assert_eq!(stdout(&o), "3\n", "{}", stderr(&o));
    for (arg, want) in [
        (
            "[1, 2",
            "expected , or ] in an array, found the end (at column 6)",
        ),
        ("\"open", "unclosed string"),
        ("{1 2}", "expected : after a map key"),
        (r#"b"\xZ1""#, "\\x needs two hex digits"),
    ] {
        let o = xxplugin(&["call", "fib", "fast", arg]);
        assert_eq!(o.status.code(), Some(2), "{arg}");
        assert!(stderr(&o).contains(want), "{arg}: {}", stderr(&o));
        assert!(stderr(&o).contains("argument 1"), "{arg}: {}", stderr(&o));
    }
    // Not starting like a literal: a plain string, as before.
    let o = xxplugin(&["call", "textkit", "upper", "hello"]);
    assert_eq!(stdout(&o), "HELLO\n");
}

#[test]
fn no_colour_codes_when_stderr_is_not_a_terminal() {
    for args in [
        &["call", "nosuch", "f"][..],
        &["call", "fib", "fast", "[1,"],
        &["call", "--bogus"],
    ] {
        let o = xxplugin(args);
        assert!(!o.stderr.contains(&0x1b), "{args:?}: {:?}", stderr(&o));
        assert!(!o.stdout.contains(&0x1b), "{args:?}");
    }
}
