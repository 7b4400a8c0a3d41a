//! The WASI capability policy, through `plugins/wasiprobe_c.wasm` (plugins-src/c/wasiprobe.c):
//! nothing by default; directories read-only or read-write, with no way out of them; an
//! environment allowlist; arguments; stdout and stderr captured, discarded or inherited.
#![cfg(feature = "wasi")]

use crate::common;

use std::fs;
use std::path::Path;

use common::{TempDir, assert_error, call, fixture_bytes, plugin_file};
use xxlang_plugin::{
    Config, DirAccess, ErrorKind, Object, OutputBuffer, WasiOutput, WasiPolicy, WasmPlugin,
};

fn probe(policy: WasiPolicy) -> WasmPlugin {
    WasmPlugin::from_file_with(plugin_file("wasiprobe_c"), &Config::new().wasi(policy))
        .expect("wasiprobe loads")
}

fn s(text: &str) -> Object {
    Object::from(text)
}

/// WASI errno values (wasi-libc's numbering) that say "not allowed".
const EPERM: i64 = 63;
const ENOTCAPABLE: i64 = 76;

/// `open_raw`'s answer was a refusal (not "not found": everything tried exists on the host).
#[track_caller]
fn assert_refused(p: &WasmPlugin, path: &str) {
    let got = call(p, "open_raw", &[s(path)]);
    assert!(
        got == Object::Int(EPERM) || got == Object::Int(ENOTCAPABLE),
        "opening {path}: expected EPERM or ENOTCAPABLE, got {got:?}"
    );
}

#[test]
fn nothing_is_granted_by_default() {
    let p = probe(WasiPolicy::new());
    assert_error(
        &call(&p, "read", &[s("/etc/hostname")]),
        &["wasiprobe.read: /etc/hostname"],
    );
    assert_error(
        &call(&p, "read", &[s("Cargo.toml")]),
        &["wasiprobe.read: Cargo.toml"],
    );
    assert_error(
        &call(&p, "write", &[s("/tmp/x"), s("y")]),
        &["wasiprobe.write"],
    );
    assert_eq!(call(&p, "environ_count", &[]), Object::Int(0));
    assert_eq!(call(&p, "getenv", &[s("PATH")]), Object::Null);
    assert_eq!(call(&p, "args", &[]), Object::Array(Vec::new().into()));
    // There is no preopened directory at all: fd 3 is not open.
    assert_eq!(
        call(&p, "open_raw", &[s("Cargo.toml")]),
        Object::Int(8),
        "EBADF"
    );
}

/// A directory with `inside.txt` and `sub/deep.txt`, next to a `secret.txt` outside it.
struct Tree {
    root: TempDir,
}

impl Tree {
    fn new(tag: &str) -> Self {
        let root = TempDir::new(tag);
        root.write("secret.txt", b"outside");
        root.write("granted/inside.txt", b"hello from inside");
        root.write("granted/sub/deep.txt", b"deep");
        Tree { root }
    }

    fn granted(&self) -> std::path::PathBuf {
        self.root.path().join("granted")
    }

    fn secret(&self) -> std::path::PathBuf {
        self.root.path().join("secret.txt")
    }
}

#[test]
fn a_read_only_directory_can_be_read_but_not_changed() {
    let t = Tree::new("ro");
    let p = probe(WasiPolicy::new().dir(t.granted(), "/data", DirAccess::ReadOnly));
    assert_eq!(
        call(&p, "read", &[s("/data/inside.txt")]),
        s("hello from inside")
    );
    assert_eq!(call(&p, "read", &[s("/data/sub/deep.txt")]), s("deep"));
    assert_eq!(
        call(&p, "list", &[s("/data")]),
        Object::from(vec![s("inside.txt"), s("sub")])
    );
    assert_eq!(call(&p, "open_raw", &[s("inside.txt")]), Object::Int(0));
    let denied = "Operation not permitted";
    for (f, args) in [
        ("write", vec![s("/data/inside.txt"), s("changed")]),
        ("write", vec![s("/data/new.txt"), s("new")]),
        ("remove", vec![s("/data/inside.txt")]),
        ("mkdir", vec![s("/data/newdir")]),
        ("rename", vec![s("/data/inside.txt"), s("/data/moved.txt")]),
        ("write", vec![s("/data/sub/deep.txt"), s("changed")]),
    ] {
        assert_error(&call(&p, f, &args), &[&format!("wasiprobe.{f}: "), denied]);
    }
    assert_eq!(
        fs::read(t.granted().join("inside.txt")).ok().as_deref(),
        Some(&b"hello from inside"[..])
    );
    assert_eq!(
        fs::read(t.granted().join("sub/deep.txt")).ok().as_deref(),
        Some(&b"deep"[..])
    );
    assert!(!t.granted().join("new.txt").exists());
    assert!(!t.granted().join("newdir").exists());
}

#[test]
fn a_read_write_directory_can_be_changed() {
    let t = Tree::new("rw");
    let p = probe(WasiPolicy::new().dir(t.granted(), "/work", DirAccess::ReadWrite));
    assert_eq!(
        call(&p, "write", &[s("/work/out.txt"), s("written")]),
        Object::Null
    );
    assert_eq!(
        fs::read_to_string(t.granted().join("out.txt"))
            .ok()
            .as_deref(),
        Some("written")
    );
    assert_eq!(call(&p, "read", &[s("/work/out.txt")]), s("written"));
    assert_eq!(call(&p, "mkdir", &[s("/work/made")]), Object::Null);
    assert!(t.granted().join("made").is_dir());
    assert_eq!(
        call(
            &p,
            "rename",
            &[s("/work/out.txt"), s("/work/made/moved.txt")]
        ),
        Object::Null
    );
    assert!(t.granted().join("made/moved.txt").is_file());
    assert_eq!(
        call(&p, "remove", &[s("/work/made/moved.txt")]),
        Object::Null
    );
    assert!(!t.granted().join("made/moved.txt").exists());
}

#[test]
fn paths_cannot_escape_a_preopened_directory() {
    let t = Tree::new("escape");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(t.secret(), t.granted().join("link_out")).expect("symlink");
        std::os::unix::fs::symlink(t.root.path(), t.granted().join("dir_out")).expect("symlink");
    }
    for access in [DirAccess::ReadOnly, DirAccess::ReadWrite] {
        let p = probe(WasiPolicy::new().dir(t.granted(), "/data", access));
        // The raw path_open, relative to the preopen: the host refuses.
        for path in [
            "../secret.txt",
            "sub/../../secret.txt",
            "/etc/passwd",
            "/",
            "..",
        ] {
            assert_refused(&p, path);
        }
        let secret = t.secret().display().to_string();
        for path in [
            "/data/../secret.txt",
            "/data/sub/../../secret.txt",
            "../secret.txt",
            &secret,
        ] {
            assert_error(&call(&p, "read", &[s(path)]), &["wasiprobe.read: "]);
        }
        assert_error(
            &call(&p, "write", &[s("/data/../escaped.txt"), s("x")]),
            &["wasiprobe.write: "],
        );
        assert!(!t.root.path().join("escaped.txt").exists());
        #[cfg(unix)]
        {
            assert_refused(&p, "link_out");
            assert_refused(&p, "dir_out/secret.txt");
            assert_error(
                &call(&p, "read", &[s("/data/link_out")]),
                &["wasiprobe.read: "],
            );
            assert_error(
                &call(&p, "write", &[s("/data/dir_out/escaped.txt"), s("x")]),
                &["wasiprobe.write: "],
            );
            assert!(!t.root.path().join("escaped.txt").exists());
        }
        // Inside is fine, even by a detour.
        assert_eq!(
            call(&p, "open_raw", &[s("sub/../inside.txt")]),
            Object::Int(0)
        );
    }
    assert_eq!(fs::read(t.secret()).ok().as_deref(), Some(&b"outside"[..]));
}

#[test]
fn only_granted_environment_variables_are_visible() {
    let path = std::env::var("PATH").expect("PATH is set for tests");
    let p = probe(
        WasiPolicy::new()
            .env("MODE", "fast")
            .inherit_env("PATH")
            .inherit_env("XXLANG_PLUGIN_SURELY_UNSET_VARIABLE"),
    );
    assert_eq!(call(&p, "getenv", &[s("MODE")]), s("fast"));
    assert_eq!(call(&p, "getenv", &[s("PATH")]), s(&path));
    assert_eq!(
        call(&p, "getenv", &[s("XXLANG_PLUGIN_SURELY_UNSET_VARIABLE")]),
        Object::Null
    );
    for other in ["HOME", "USER", "CARGO", "RUST_LOG", "CARGO_MANIFEST_DIR"] {
        assert_eq!(call(&p, "getenv", &[s(other)]), Object::Null, "{other}");
    }
    assert_eq!(call(&p, "environ_count", &[]), Object::Int(2));
    // The last grant of a name wins.
    let p = probe(
        WasiPolicy::new()
            .inherit_env("PATH")
            .env("PATH", "/nowhere"),
    );
    assert_eq!(call(&p, "getenv", &[s("PATH")]), s("/nowhere"));
}

#[test]
fn arguments_are_passed_as_given() {
    let p = probe(
        WasiPolicy::new()
            .arg("report")
            .args(["--verbose", "two words"]),
    );
    assert_eq!(
        call(&p, "args", &[]),
        Object::from(vec![s("report"), s("--verbose"), s("two words")])
    );
}

#[test]
fn output_can_be_captured_discarded_or_inherited() {
    let out = OutputBuffer::new();
    let err = OutputBuffer::new();
    let p = probe(
        WasiPolicy::new()
            .stdout(WasiOutput::Capture(out.clone()))
            .stderr(WasiOutput::Capture(err.clone())),
    );
    call(&p, "print", &[s("to stdout\n")]);
    call(&p, "eprint", &[s("to stderr\n")]);
    call(&p, "print", &[s("more")]);
    assert_eq!(out.take_string(), "to stdout\nmore");
    assert_eq!(err.take_string(), "to stderr\n");
    assert_eq!(out.take_string(), "");

    // Captures are bounded.
    let small = OutputBuffer::with_limit(10);
    let p = probe(WasiPolicy::new().stdout(WasiOutput::Capture(small.clone())));
    call(&p, "print", &[s(&"x".repeat(100_000))]);
    assert_eq!(small.contents().len(), 10);
    assert_eq!(small.dropped(), 99_990);

    for output in [
        WasiOutput::Discard,
        WasiOutput::Inherit,
        WasiOutput::Tracing,
    ] {
        let p = probe(WasiPolicy::new().stdout(output.clone()).stderr(output));
        assert_eq!(call(&p, "print", &[s("")]), Object::Null);
        assert_eq!(call(&p, "eprint", &[s("")]), Object::Null);
    }
}

#[test]
fn a_missing_directory_fails_the_load_by_name() {
    let missing = Path::new("/definitely/not/here");
    let config = Config::new().wasi(WasiPolicy::new().dir(missing, "/data", DirAccess::ReadOnly));
    match WasmPlugin::from_file_with(plugin_file("wasiprobe_c"), &config) {
        Err(e) if matches!(e.kind(), ErrorKind::Instantiation { .. }) => {
            let msg = e.to_string();
            assert!(
                msg.contains("wasiprobe") && msg.contains("/definitely/not/here"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_grant_to_one_plugin_is_not_a_grant_to_another() {
    let t = Tree::new("two");
    let granted = probe(WasiPolicy::new().dir(t.granted(), "/data", DirAccess::ReadOnly));
    let other = probe(WasiPolicy::new());
    assert_eq!(
        call(&granted, "read", &[s("/data/inside.txt")]),
        s("hello from inside")
    );
    assert_error(
        &call(&other, "read", &[s("/data/inside.txt")]),
        &["wasiprobe.read: "],
    );
}

/// What `tracing` received of guest output: events, pieces marked `partial`, and the longest
/// message.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Seen {
    events: usize,
    partial: usize,
    longest: usize,
}

#[derive(Clone, Default)]
struct GuestLines(std::sync::Arc<std::sync::Mutex<Seen>>);

impl GuestLines {
    fn take(&self) -> Seen {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for GuestLines {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        #[derive(Default)]
        struct Fields {
            message: usize,
            partial: bool,
        }
        impl tracing::field::Visit for Fields {
            fn record_bool(&mut self, field: &tracing::field::Field, value: bool) {
                self.partial |= field.name() == "partial" && value;
            }
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                if field.name() == "message" {
                    self.message = format!("{value:?}").len();
                }
            }
        }
        if event.metadata().target() == "xxlang_plugin::guest" {
            let mut f = Fields::default();
            event.record(&mut f);
            let mut seen = self.0.lock().unwrap_or_else(|e| e.into_inner());
            seen.events += 1;
            seen.partial += usize::from(f.partial);
            seen.longest = seen.longest.max(f.message);
        }
    }
}

/// The default sink, `tracing`, takes time linear in the output's size (it used to search the
/// whole rest of a write for a newline once per 4 KiB piece: 4 MiB without a newline took
/// 10 s in a debug build), and forwards lines of at most 4 KiB.
#[test]
fn output_to_tracing_takes_time_linear_in_its_size_and_bounds_lines() {
    use std::time::{Duration, Instant};
    use tracing_subscriber::layer::SubscriberExt;
    const MIB: usize = 1 << 20;
    let lines = GuestLines::default();
    let subscriber = tracing_subscriber::registry().with(lines.clone());
    tracing::subscriber::with_default(subscriber, || {
        let p = probe(WasiPolicy::new());
        let mut took = Vec::new();
        for size in [MIB, 4 * MIB] {
            let line = format!("{}\n", "x".repeat(99));
            for (text, want) in [
                (
                    "x".repeat(size),
                    Seen {
                        events: size / 4096,
                        partial: size / 4096,
                        longest: 4096,
                    },
                ),
                (
                    line.repeat(size / 100),
                    Seen {
                        events: size / 100,
                        partial: 0,
                        longest: 99,
                    },
                ),
            ] {
                let text = s(&text);
                let start = Instant::now();
                assert_eq!(call(&p, "print", &[text]), Object::Null);
                took.push((size / MIB, want.partial > 0, start.elapsed()));
                assert_eq!(lines.take(), want, "{} MiB", size / MIB);
            }
        }
        eprintln!("(MiB, without newlines, time): {took:?}");
        // Linear: about 20 ms for 4 MiB in a debug build. A generous bound, for loaded machines.
        for (mib, _, t) in took {
            assert!(t < Duration::from_secs(2), "{mib} MiB took {t:?}");
        }
    });
}

/// WASI errno values (wasi-libc's numbering) of the limits.
const EMFILE: i64 = 33;
const EDQUOT: i64 = 19;

/// `tests/fixtures/wasi_files.wat` under `policy`.
fn files(policy: WasiPolicy) -> WasmPlugin {
    WasmPlugin::from_bytes_with(
        "wasi_files",
        &fixture_bytes("wasi_files"),
        &Config::new().wasi(policy),
    )
    .expect("wasi_files loads")
}

fn int(p: &WasmPlugin, f: &str, args: &[i64]) -> i64 {
    let args: Vec<Object> = args.iter().map(|&a| Object::Int(a)).collect();
    match call(p, f, &args) {
        Object::Int(n) => n,
        other => panic!("{f}{args:?}: {other:?}"),
    }
}

/// A directory with `f.txt` and `sub/inside.txt`.
fn files_dir(tag: &str) -> TempDir {
    let dir = TempDir::new(tag);
    dir.write("f.txt", b"f");
    dir.write("sub/inside.txt", b"inside");
    dir
}

#[test]
fn a_plugin_opening_files_in_a_loop_hits_its_cap_and_sees_emfile() {
    let dir = files_dir("fdcap");
    for access in [DirAccess::ReadOnly, DirAccess::ReadWrite] {
        let policy = WasiPolicy::new().dir(dir.path(), "/data", access);
        let p = files(policy.clone());
        assert_eq!(
            int(&p, "open_files", &[100_000]),
            WasiPolicy::DEFAULT_MAX_OPEN_FILES as i64
        );
        assert_eq!(int(&p, "errno", &[]), EMFILE, "the guest sees EMFILE");
        // The host still opens files, and another plugin still loads, opens and answers.
        assert_eq!(
            fs::read(dir.path().join("f.txt")).ok().as_deref(),
            Some(&b"f"[..])
        );
        let other = probe(policy.clone());
        assert_eq!(
            call(&other, "read", &[s("/data/sub/inside.txt")]),
            s("inside")
        );
        // The cap is per instance: another instance has all of its own.
        let again = files(policy);
        assert_eq!(int(&again, "open_files", &[100]), 64);
        // Closing gives the places back.
        assert_eq!(int(&p, "close_all", &[]), 64);
        assert_eq!(int(&p, "open_files", &[10]), 10);
        // Directories count too.
        assert_eq!(int(&p, "open_dirs", &[100_000]), 54);
        assert_eq!(int(&p, "errno", &[]), EMFILE);
        assert_eq!(int(&p, "close_all", &[]), 64);
        assert_eq!(int(&p, "open_dirs", &[10]), 10);
        assert_eq!(int(&p, "errno", &[]), 0);
    }
}

#[test]
fn the_open_file_cap_is_configurable_and_counts_opens_inside_opened_directories() {
    let dir = files_dir("fdcap3");
    let p = files(
        WasiPolicy::new()
            .dir(dir.path(), "/data", DirAccess::ReadOnly)
            .max_open_files(3),
    );
    // `sub`, then two files in it.
    assert_eq!(int(&p, "open_in_sub", &[10]), 3);
    assert_eq!(int(&p, "errno", &[]), EMFILE);
    assert_eq!(int(&p, "close_all", &[]), 3);
    let none = files(
        WasiPolicy::new()
            .dir(dir.path(), "/data", DirAccess::ReadOnly)
            .max_open_files(0),
    );
    assert_eq!(int(&none, "open_files", &[1]), 0);
    assert_eq!(int(&none, "errno", &[]), EMFILE);
    // The C library sees the same: fopen fails, the call reports it.
    let probe0 = probe(
        WasiPolicy::new()
            .dir(dir.path(), "/data", DirAccess::ReadOnly)
            .max_open_files(0),
    );
    assert_error(
        &call(&probe0, "read", &[s("/data/f.txt")]),
        &["wasiprobe.read: /data/f.txt", "errno 33"],
    );
}

#[test]
fn the_write_quota_stops_a_write_loop_before_the_file_grows_past_it() {
    const QUOTA: i64 = 1 << 20;
    const ENTRY: i64 = 4096;
    let dir = files_dir("quota");
    let out = dir.path().join("out.bin");
    let size = || fs::metadata(&out).map(|m| m.len() as i64).unwrap_or(-1);
    let quota = || {
        WasiPolicy::new()
            .dir(dir.path(), "/data", DirAccess::ReadWrite)
            .write_quota(QUOTA as u64)
    };
    let p = files(quota());
    // Creating out.bin costs an entry; 4 KiB writes fill the rest exactly.
    assert_eq!(int(&p, "write_loop", &[4096, 100 * QUOTA]), QUOTA - ENTRY);
    assert_eq!(int(&p, "errno", &[]), EDQUOT);
    assert_eq!(size(), QUOTA - ENTRY);
    // Nothing is refunded: truncating and rewriting the file finds the quota used up.
    assert_eq!(int(&p, "write_loop", &[1, 10]), 0);
    assert_eq!(int(&p, "errno", &[]), EDQUOT);
    assert_eq!(size(), 0);
    // The quota is the plugin's: the fresh instance after a trap finds it used up too.
    assert!(p.call("trap", &[]).is_err());
    assert_eq!(int(&p, "write_loop", &[4096, 10]), 0);
    assert_eq!(int(&p, "errno", &[]), EDQUOT);

    // A write that does not fit writes nothing: 5000-byte blocks stop below the quota. (A
    // newly loaded plugin has a full quota; out.bin exists now, so opening it creates nothing.)
    let p = files(quota());
    let written = int(&p, "write_loop", &[5000, 100 * QUOTA]);
    assert_eq!(written, QUOTA / 5000 * 5000);
    assert_eq!(int(&p, "errno", &[]), EDQUOT);
    assert_eq!(size(), written);

    // Growing a file counts: by a write far past its end, or by setting its size.
    fs::remove_file(&out).expect("remove out.bin");
    let p = files(quota());
    assert_eq!(int(&p, "pwrite_at", &[100 * QUOTA, 10]), EDQUOT);
    assert_eq!(size(), 0, "the file was not extended");
    assert_eq!(int(&p, "set_size", &[100 * QUOTA]), EDQUOT);
    assert_eq!(size(), 0);
    assert_eq!(int(&p, "set_size", &[QUOTA / 2]), 0);
    assert_eq!(size(), QUOTA / 2);
    // An overwrite inside the file counts its bytes.
    assert_eq!(int(&p, "pwrite_at", &[0, 65536]), 0);
    assert_eq!(size(), QUOTA / 2);
    assert_eq!(int(&p, "set_size", &[QUOTA]), EDQUOT, "used: half + 64 KiB");
    assert_eq!(int(&p, "set_size", &[QUOTA / 2 + 1000]), 0);

    // Creating directories counts an entry each.
    let p = files(quota());
    assert_eq!(int(&p, "mkdir", &[260]), QUOTA / ENTRY);
    assert_eq!(int(&p, "errno", &[]), EDQUOT);

    // Without a quota, writing is not limited (beyond the disk).
    let p = files(WasiPolicy::new().dir(dir.path(), "/data", DirAccess::ReadWrite));
    assert_eq!(int(&p, "write_loop", &[65536, 4 * QUOTA]), 4 * QUOTA);
    assert_eq!(size(), 4 * QUOTA);
}

#[test]
fn renames_and_links_between_directories_keep_their_access() {
    let work = TempDir::new("rename-rw");
    let other = TempDir::new("rename-rw2");
    let ro = TempDir::new("rename-ro");
    work.write("a.txt", b"a");
    ro.write("keep.txt", b"keep");
    let p = probe(
        WasiPolicy::new()
            .dir(work.path(), "/work", DirAccess::ReadWrite)
            .dir(other.path(), "/other", DirAccess::ReadWrite)
            .dir(ro.path(), "/ro", DirAccess::ReadOnly)
            .write_quota(1 << 20),
    );
    // Between read-write directories: fine.
    assert_eq!(
        call(&p, "rename", &[s("/work/a.txt"), s("/other/a.txt")]),
        Object::Null
    );
    assert!(other.path().join("a.txt").is_file());
    // Into or out of a read-only one: refused.
    let denied = "Operation not permitted";
    assert_error(
        &call(&p, "rename", &[s("/other/a.txt"), s("/ro/a.txt")]),
        &["wasiprobe.rename: ", denied],
    );
    assert_error(
        &call(&p, "rename", &[s("/ro/keep.txt"), s("/work/keep.txt")]),
        &["wasiprobe.rename: ", denied],
    );
    assert!(other.path().join("a.txt").is_file());
    assert!(ro.path().join("keep.txt").is_file());
}
