//! What the CLI's tests share: the repository (its root, the committed plugins and WAT
//! fixtures), temporary directories, and running `xxplugin` as a user would from the root.
#![allow(dead_code)] // each test binary uses part of it

use std::process::{Command, Output};

use std::path::{Path, PathBuf};

/// The repository root, where a user runs `xxplugin` (the tests run it there too).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("cli/ is inside the repository")
        .to_path_buf()
}

/// A committed plugin: `plugins/NAME.wasm`.
pub fn plugin_file(name: &str) -> PathBuf {
    root().join("plugins").join(format!("{name}.wasm"))
}

/// The bytes of `tests/fixtures/NAME.wat`.
pub fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = root().join("tests/fixtures").join(format!("{name}.wat"));
    wat::parse_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> Self {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "xxplugin-cli-test-{}-{tag}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Writes `bytes` to `RELATIVE` inside, creating folders.
    pub fn write(&self, relative: &str, bytes: &[u8]) -> PathBuf {
        let path = self.0.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create dir");
        }
        std::fs::write(&path, bytes).expect("write file");
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes the module `wat` to `dir/NAME`.
pub fn module(dir: &TempDir, name: &str, wat: &str) -> PathBuf {
    dir.write(name, &wat::parse_str(wat).expect("test WAT"))
}

/// `xxplugin ARGS` run from the repository root, without `XXLANG_PLUGIN_PATH`.
pub fn xxplugin(args: &[&str]) -> Output {
    xxplugin_with_env(args, &[])
}

/// [`xxplugin`] with environment variables set.
pub fn xxplugin_with_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xxplugin"));
    cmd.args(args)
        .current_dir(root())
        .env_remove("XXLANG_PLUGIN_PATH");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("run xxplugin")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
