//! `xxplugin`: call and inspect xxlang WebAssembly plugins from the command line.
//!
//! ```text
//! xxplugin call fib fast 50          # 12586269025
//! xxplugin call --json --fuel 1000000 textkit upper hello
//! xxplugin inspect fib               # functions and signatures, imports: nothing runs
//! xxplugin inspect --run fib         # also what the plugin says when asked, under limits
//! xxplugin repl                      # import "plugin/fib", then fib.fast(50)
//! ```
//!
//! Exit status: 0 when the call returned a value, 1 when it returned an Error value (for
//! `repl` on piped input: when a line failed), 2 when the plugin could not be loaded or the
//! command line is wrong.
//!
//! A plugin is hostile code and a `.wasm` file hostile bytes: only regular files are read,
//! arguments nest at most [`literal::MAX_NESTING`] deep, `inspect` runs nothing unless asked,
//! and everything printed goes through [`show::escape`].

mod inspect;
mod json;
mod literal;
mod repl;
mod sandbox;
mod show;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use xxlang_plugin::{Config, Error, ErrorKind, Loader, Object, Plugin, WasmPlugin};

use sandbox::Sandbox;

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
        /// Arguments as xxlang literals: 42, -1.5, "text", b"\x00\xff" (bytes), true, false,
        /// null, [1, 2], {"k": 1}. Any other word is passed as a string; one that starts
        /// like a string, bytes, array or map must be one.
        #[arg(allow_hyphen_values = true)]
        args: Vec<String>,
        /// Print the result as JSON (errors too: {"error": {"kind": .., "message": ..}}); the
        /// plugin's stdout then goes to stderr unless --stdout says otherwise.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        sandbox: Sandbox,
    },
    /// An interactive session: import plugins, call their functions, keep their state.
    /// Reads lines one by one (no prompt) when stdin is not a terminal.
    Repl {
        /// Plugins to import before the first line.
        #[arg(long = "import", value_name = "NAME")]
        imports: Vec<String>,
        #[command(flatten)]
        sandbox: Sandbox,
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
            json,
            sandbox,
        } => {
            let called = parse_args(args).and_then(|args| {
                let config = sandbox.config(*json)?;
                let file = locate(&cli.paths, plugin)?;
                let plugin = WasmPlugin::from_file_with(&file, &config).map_err(|e| explain(&e))?;
                call(&plugin, function, &args, *json)
            });
            match (called, *json) {
                (Err(message), true) => {
                    println!("{}", json::failure("usage", &message));
                    Ok(ExitCode::from(USAGE))
                }
                (other, _) => other,
            }
        }
        Command::Repl { imports, sandbox } => sandbox
            .config(false)
            .and_then(|config| repl(&cli.paths, imports, config)),
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

/// A load error, with what to do about a plugin that was not found.
pub fn explain(e: &Error) -> String {
    match e.kind() {
        ErrorKind::NotFound { .. } => format!(
            "{e}; add a directory to search with --path DIR or the {} environment variable, \
             or name the .wasm file",
            xxlang_plugin::PATH_ENV
        ),
        _ => e.to_string(),
    }
}

/// A loader searching `extra_paths` first, then the default paths.
fn loader(extra_paths: &[PathBuf]) -> Loader {
    let loader = Loader::new();
    let mut paths = extra_paths.to_vec();
    paths.extend(loader.paths());
    loader.set_paths(paths);
    loader
}

/// `xxplugin repl`: lines from a terminal (edited, with history) or from a pipe.
fn repl(paths: &[PathBuf], imports: &[String], config: Config) -> Result<ExitCode, String> {
    let mut session = repl::Session::new(loader(paths), config);
    for name in imports {
        match session.line(&format!("import {name:?}")) {
            repl::Outcome::Error(e) => return Err(e),
            repl::Outcome::Print(text) => println!("{text}"),
            repl::Outcome::Nothing | repl::Outcome::Exit => {}
        }
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let ok = session.run_lines(stdin.lock(), &mut std::io::stdout().lock());
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    repl::interactive(&mut session)?;
    Ok(ExitCode::SUCCESS)
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
    loader(extra_paths).resolve(plugin).map_err(|e| explain(&e))
}

/// The command-line arguments as values; an error names the argument that nests too deep.
fn parse_args(args: &[String]) -> Result<Vec<Object>, String> {
    args.iter()
        .enumerate()
        .map(|(i, a)| literal::parse_arg(a).map_err(|e| format!("argument {}: {e}", i + 1)))
        .collect()
}

fn call(
    plugin: &WasmPlugin,
    function: &str,
    args: &[Object],
    json: bool,
) -> Result<ExitCode, String> {
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
        Object::Builtin(b) => b.try_call(args),
        value if args.is_empty() => Ok(value.clone()),
        _ => {
            return Err(format!(
                "{}.{function} is a value, not a function",
                plugin.name()
            ));
        }
    };
    let mut out = std::io::stdout().lock();
    let printed = match (&result, json) {
        (Ok(value), false) => show::value(value),
        (Err(e), false) => show::value(&Object::error(e.to_string())),
        (Ok(value), true) => json::value(value),
        (Err(e), true) => json::error(e),
    };
    let _ = writeln!(out, "{printed}");
    Ok(match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    })
}
