//! `xxplugin`: call and inspect xxlang WebAssembly plugins from the command line.
//!
//! ```text
//! xxplugin call fib fast 50          # 12586269025
//! xxplugin inspect fib               # name, version, functions and signatures, imports
//! ```
//!
//! Exit status: 0 when the call returned a value, 1 when it returned an Error value, 2 when
//! the plugin could not be loaded or the command line is wrong.

mod literal;

use std::io::Write;
use std::path::{Path, PathBuf};
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
    /// Show a plugin's name, version, functions with their signatures, and imports.
    Inspect {
        /// A plugin name (searched for as NAME.wasm) or a path to a .wasm file.
        plugin: String,
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
        } => parse_args(args)
            .and_then(|args| open(&cli.paths, plugin).and_then(|p| call(&p, function, &args))),
        Command::Inspect { plugin } => open(&cli.paths, plugin).map(|p| {
            print!("{}", inspect(&p));
            ExitCode::SUCCESS
        }),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xxplugin: {message}");
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
        .init();
}

/// Loads a plugin named on the command line: a path if it looks like one, else a name found
/// on the search paths.
fn open(extra_paths: &[PathBuf], plugin: &str) -> Result<WasmPlugin, String> {
    let looks_like_path = plugin.ends_with(".wasm") || plugin.contains(['/', '\\']);
    let file = if looks_like_path {
        PathBuf::from(plugin)
    } else {
        let loader = Loader::new();
        let mut paths = extra_paths.to_vec();
        paths.extend(loader.paths());
        loader.set_paths(paths);
        loader.resolve(plugin).map_err(|e| e.to_string())?
    };
    WasmPlugin::from_file(&file).map_err(|e| e.to_string())
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
    let _ = writeln!(out, "{result}");
    Ok(if result.is_error() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

fn inspect(p: &WasmPlugin) -> String {
    let mut s = String::new();
    let mut line = |text: String| {
        s.push_str(&text);
        s.push('\n');
    };
    line(format!("name:     {}", p.name()));
    line(format!("version:  {}", p.version().unwrap_or("(none)")));
    line(match p.abi() {
        Some(abi) => format!("abi:      {abi} (typed, declared in its manifest)"),
        None => String::from("abi:      legacy (no manifest)"),
    });
    if let Some(file) = p.file() {
        let size = std::fs::metadata(Path::new(file))
            .map(|m| m.len())
            .unwrap_or(0);
        line(format!("file:     {file} ({size} bytes)"));
    }
    let functions = p.functions();
    line(format!("functions ({}):", functions.len()));
    let shown: Vec<String> = functions
        .iter()
        .map(|f| format!("{}{}", f.name, f.signature))
        .collect();
    let width = shown.iter().map(String::len).max().unwrap_or(0);
    for (f, sig) in functions.iter().zip(&shown) {
        let doc = f
            .signature
            .doc
            .as_deref()
            .map(|d| format!("  -- {d}"))
            .unwrap_or_default();
        let origin = if f.wasm_name == f.name {
            f.convention.to_string()
        } else {
            format!("{}: {}", f.wasm_name, f.convention)
        };
        line(format!("  {sig:width$}  [{origin}]{doc}"));
    }
    let values: Vec<(String, Object)> = p
        .exports()
        .into_iter()
        .filter(|(_, v)| v.as_builtin().is_none())
        .collect();
    if !values.is_empty() {
        line(String::from("values:"));
        for (name, v) in values {
            line(format!(
                "  {name} = {}",
                Object::from(vec![v]).to_string().trim_matches(['[', ']'])
            ));
        }
    }
    if !p.skipped().is_empty() {
        line(String::from("not exposed:"));
        for skipped in p.skipped() {
            line(format!("  {}: {}", skipped.wasm_name, skipped.reason));
        }
    }
    if p.imports().is_empty() {
        line(String::from("imports:  (none)"));
    } else {
        line(format!("imports ({}):", p.imports().len()));
        for import in p.imports() {
            line(format!("  {import}"));
        }
    }
    s
}
