//! The sandbox flags of `xxplugin call` and `xxplugin repl`: every limit and every WASI grant
//! of [`Config`], from the command line. Nothing is granted unless a flag says so.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use xxlang_plugin::{Config, DirAccess, WasiOutput, WasiPolicy};

/// Limits and WASI grants.
#[derive(Args, Debug, Default)]
pub struct Sandbox {
    /// Stop a call after this long: 500ms, 2s, 1.5s, 1m.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub deadline: Option<Duration>,
    /// Stop a call after this many units of fuel (about one per wasm instruction).
    #[arg(long, value_name = "N", value_parser = count)]
    pub fuel: Option<u64>,
    /// The most linear memory the plugin may have: 65536, 64KiB, 16MiB, 1GiB.
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_memory: Option<usize>,
    /// Let the plugin see a host directory through WASI, at GUEST (default: the same path),
    /// read-only with :ro. Repeatable.
    #[arg(long = "dir", value_name = "HOST[:GUEST][:ro]", value_parser = dir)]
    pub guest_dirs: Vec<Dir>,
    /// Set an environment variable for the plugin; NAME alone passes the host's value
    /// through. Repeatable.
    #[arg(long = "env", value_name = "NAME[=VALUE]")]
    pub guest_env: Vec<String>,
    /// Append an argument to the plugin's WASI argv. Repeatable.
    #[arg(long = "arg", value_name = "VALUE", allow_hyphen_values = true)]
    pub guest_args: Vec<String>,
    /// Where the plugin's WASI stdout goes [default: stdout, or stderr with --json].
    #[arg(long, value_enum, value_name = "TO")]
    pub stdout: Option<Output>,
    /// Where the plugin's WASI stderr goes.
    #[arg(long, value_enum, value_name = "TO", default_value = "stderr")]
    pub stderr: Output,
}

/// Where a guest output stream goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// This process's stdout.
    Stdout,
    /// This process's stderr.
    #[default]
    Stderr,
    /// Log lines (shown with XXPLUGIN_LOG=info).
    Log,
    /// Nowhere.
    Null,
}

/// A `--dir` grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dir {
    pub host: PathBuf,
    pub guest: String,
    pub access: DirAccess,
}

impl Sandbox {
    /// The config these flags make; `json` sends guest stdout to stderr unless `--stdout`
    /// says otherwise, so that stdout holds only the JSON.
    pub fn config(&self, json: bool) -> Result<Config, String> {
        let mut config = Config::new();
        if let Some(deadline) = self.deadline {
            config = config.deadline(deadline);
        }
        if let Some(fuel) = self.fuel {
            config = config.fuel(fuel);
        }
        if let Some(bytes) = self.max_memory {
            config = config.max_memory(bytes);
        }
        let default_stdout = if json { Output::Stderr } else { Output::Stdout };
        let mut wasi = WasiPolicy::new()
            .stdout(stream(
                self.stdout.unwrap_or(default_stdout),
                Output::Stdout,
            )?)
            .stderr(stream(self.stderr, Output::Stderr)?)
            .args(&self.guest_args);
        for d in &self.guest_dirs {
            wasi = wasi.dir(&d.host, &d.guest, d.access);
        }
        for var in &self.guest_env {
            wasi = match var.split_once('=') {
                Some((name, value)) if !name.is_empty() => wasi.env(name, value),
                None if !var.is_empty() => wasi.inherit_env(var),
                _ => return Err(format!("--env {var:?}: expected NAME or NAME=VALUE")),
            };
        }
        Ok(config.wasi(wasi))
    }
}

/// A guest stream's destination; `own` is the guest stream's name.
fn stream(to: Output, own: Output) -> Result<WasiOutput, String> {
    Ok(match to {
        Output::Log => WasiOutput::Tracing,
        Output::Null => WasiOutput::Discard,
        to if to == own => WasiOutput::Inherit,
        Output::Stderr => WasiOutput::HostStderr,
        _ => {
            return Err(String::from(
                "--stderr stdout: the plugin's stderr cannot go to stdout",
            ));
        }
    })
}

/// `500ms`, `2s`, `1.5s`, `1m`, `250us`; a bare number is seconds.
pub fn duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a duration such as 500ms, 2s or 1m"))?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => n,
        "ms" => n / 1e3,
        "us" | "µs" => n / 1e6,
        "ns" => n / 1e9,
        "m" | "min" => n * 60.0,
        "h" => n * 3600.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (ns, us, ms, s, m, h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"))
}

/// A count, `_` allowed between digits: `1000000`, `1_000_000`.
pub fn count(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("{text:?}: expected a whole number"))
}

/// A size in bytes: `65536`, `64KiB`, `16MiB`, `1GiB` (also `k`, `M`, `G`: powers of 1024;
/// `KB`, `MB`, `GB`: powers of 1000).
pub fn size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit() && c != '_')
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n = count(number)?;
    let scale: u64 = match unit.trim() {
        "" | "B" => 1,
        "k" | "K" | "KiB" => 1 << 10,
        "M" | "MiB" => 1 << 20,
        "G" | "GiB" => 1 << 30,
        "KB" => 1_000,
        "MB" => 1_000_000,
        "GB" => 1_000_000_000,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?} (KiB, MiB, GiB, KB, MB, GB)"
            ));
        }
    };
    n.checked_mul(scale)
        .and_then(|b| usize::try_from(b).ok())
        .ok_or_else(|| format!("{text:?}: too large"))
}

/// `HOST`, `HOST:GUEST`, `HOST:ro`, `HOST:GUEST:ro` (also `:rw`).
pub fn dir(text: &str) -> Result<Dir, String> {
    let (rest, access) = match text.rsplit_once(':') {
        Some((rest, "ro")) => (rest, DirAccess::ReadOnly),
        Some((rest, "rw")) => (rest, DirAccess::ReadWrite),
        _ => (text, DirAccess::ReadWrite),
    };
    let (host, guest) = match rest.split_once(':') {
        Some((host, guest)) => (host, guest),
        None => (rest, rest),
    };
    if host.is_empty() || guest.is_empty() {
        return Err(format!("{text:?}: expected HOST[:GUEST][:ro]"));
    }
    Ok(Dir {
        host: PathBuf::from(host),
        guest: guest.to_string(),
        access,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(duration("250us"), Ok(Duration::from_micros(250)));
        assert!(duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(duration("soon").is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!(size("65536"), Ok(65536));
        assert_eq!(size("64KiB"), Ok(64 << 10));
        assert_eq!(size("16MiB"), Ok(16 << 20));
        assert_eq!(size("16M"), Ok(16 << 20));
        assert_eq!(size("1GiB"), Ok(1 << 30));
        assert_eq!(size("2MB"), Ok(2_000_000));
        assert!(size("12 apples").is_err());
        assert!(size("99999999999999999999GiB").is_err());
    }

    #[test]
    fn dirs() {
        let d = dir("/data").expect("dir");
        assert_eq!(
            (d.guest.as_str(), d.access),
            ("/data", DirAccess::ReadWrite)
        );
        let d = dir("./in:/input:ro").expect("dir");
        assert_eq!(d.host, PathBuf::from("./in"));
        assert_eq!(
            (d.guest.as_str(), d.access),
            ("/input", DirAccess::ReadOnly)
        );
        let d = dir("out:ro").expect("dir");
        assert_eq!((d.guest.as_str(), d.access), ("out", DirAccess::ReadOnly));
        assert!(dir(":ro").is_err());
    }

    #[test]
    fn env_needs_a_name() {
        let bad = Sandbox {
            guest_env: vec![String::from("=x")],
            ..Sandbox::default()
        };
        assert!(bad.config(false).is_err());
    }
}
