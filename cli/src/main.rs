//! `xxplugin`: call and inspect xxlang WebAssembly plugins from the command line.
//!
//! ```text
//! xxplugin call fib fast 50          # 12586269025
//! xxplugin inspect fib               # functions and signatures, imports: nothing runs
//! xxplugin inspect --run fib         # also what the plugin says when asked, under limits
//! ```
//!
//! Exit status: 0 when the call returned a value, 1 when it returned an Error value, 2 when
//! the plugin could not be loaded or the command line is wrong.
//!
//! A plugin is hostile code and a `.wasm` file hostile bytes: only regular files are read,
//! arguments nest at most [`literal::MAX_NESTING`] deep, `inspect` runs nothing unless asked,
//! and everything printed goes through [`show::escape`].

mod inspect;
mod literal;
mod show;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xxlang_plugin::{Loader, Object, Plugin, WasmPlugin};

#[derive(Parser)]
#[command(
    name = "xxplugin",
    version,
    about = "Call and inspect xxlang WebAssembly plugins."
)]
struct Cli {
    /// Extra directory to search for NAME.wasm (before ./plugins, ./plugin, XXLANG_PLUGIN_PATH).
    #[arg(long = "path", short = 'p', global = true, value_name = "DIR")]
    paths: Vec<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Call a plugin function and print its result.
    Call {
        /// A plugin name (searched for as NAME.wasm) or a path to a .wasm file.
        plugin: String,
        /// The function, by the name scripts use.
        function: String,
        /// Arguments as xxlang literals: 42, -1.5, "text", true, false, null, [1, 2],
        /// {"k": 1}. Any other word is passed as a string.
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Show a plugin's name, version, functions with their signatures, and imports, read
    /// from the module without running any of it.
    Inspect {
        /// A plugin name (searched for as NAME.wasm) or a path to a .wasm file.
        plugin: String,
        /// Also load the plugin, running its start-up code under strict limits (fuel, memory),
        /// to ask what only running it tells: the declarations an `xxplugin_manifest` export
        /// sends, `plugin_name`, `plugin_version`.
        #[arg(long)]
        run: bool,
    },
}

/// Exit status for a load or usage error.
const USAGE: u8 = 2;

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Call {
            plugin,
            function,
            args,
        } => parse_args(args).and_then(|args| {
            let file = locate(&cli.paths, plugin)?;
            let plugin = WasmPlugin::from_file(&file).map_err(|e| e.to_string())?;
            call(&plugin, function, &args)
        }),
        Command::Inspect { plugin, run } => locate(&cli.paths, plugin)
            .and_then(|file| inspect::inspect(&file, *run))
            .map(|report| {
                print!("{report}");
                ExitCode::SUCCESS
            }),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xxplugin: {}", show::escape(&message));
            ExitCode::from(USAGE)
        }
    }
}

/// Logging to stderr at the level in `XXPLUGIN_LOG` (error, warn, info, debug, trace);
/// warnings by default.
fn init_logging() {
    let level = std::env::var("XXPLUGIN_LOG")
        .ok()
        .and_then(|l| l.parse::<tracing_subscriber::filter::LevelFilter>().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::WARN);
    tracing_subscriber::fmt()
        .with_max_level(level)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: in a pipe or a file they are noise.
        .with_ansi(std::io::stderr().is_terminal())
        .fmt_fields(show::log_fields())
        .init();
}

/// The file of a plugin named on the command line: a path if it looks like one, else the
/// first `NAME.wasm` on the search paths. Reading it checks that it is a regular file.
fn locate(extra_paths: &[PathBuf], plugin: &str) -> Result<PathBuf, String> {
    let looks_like_path = plugin.ends_with(".wasm") || plugin.contains(['/', '\\']);
    if looks_like_path {
        return Ok(PathBuf::from(plugin));
    }
    let loader = Loader::new();
    let mut paths = extra_paths.to_vec();
    paths.extend(loader.paths());
    loader.set_paths(paths);
    loader.resolve(plugin).map_err(|e| e.to_string())
}

/// The command-line arguments as values; an error names the argument that nests too deep.
fn parse_args(args: &[String]) -> Result<Vec<Object>, String> {
    args.iter()
        .enumerate()
        .map(|(i, a)| literal::parse_arg(a).map_err(|e| format!("argument {}: {e}", i + 1)))
        .collect()
}

fn call(plugin: &WasmPlugin, function: &str, args: &[Object]) -> Result<ExitCode, String> {
    let exports = plugin.exports();
    let Some(export) = exports.get(function) else {
        let names: Vec<&str> = exports.keys().map(String::as_str).collect();
        return Err(format!(
            "{}: no export named {function:?} (it has: {})",
            plugin.name(),
            names.join(", ")
        ));
    };
    let result = match export {
        Object::Builtin(b) => b.call(args),
        value if args.is_empty() => value.clone(),
        _ => {
            return Err(format!(
                "{}.{function} is a value, not a function",
                plugin.name()
            ));
        }
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", show::value(&result));
    Ok(if result.is_error() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
