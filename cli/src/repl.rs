//! `xxplugin repl`: an interactive session that keeps plugins, and their state, alive
//! between calls.
//!
//! ```text
//! > import "plugin/fib"
//! fib: 3 functions
//! > fib.fast(50)
//! 12586269025
//! > help(fib.fast)
//! fib.fast(n: int) -> int
//! > fib
//! fib.fast(n: int) -> int
//! ...
//! ```
//!
//! On a terminal, lines are edited and kept in a history; otherwise (stdin piped or a file)
//! lines are read one by one and nothing but the results is printed, so a session can be
//! scripted and tested. An error prints and the session goes on.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Arc;

use xxlang_plugin::{Config, FunctionInfo, Loader, Object, WasmPlugin};

use crate::{literal, show};

/// What the `help` command prints.
pub const USAGE: &str = "\
import \"plugin/NAME\"   load NAME.wasm from the search paths (also: import NAME)
NAME                   list NAME's functions
NAME.FN(ARGS...)       call FN with xxlang literals: 42, -1.5, \"text\", b\"\\x00\", true,
                       null, [1, 2], {\"k\": 1}
help(NAME.FN)          FN's signature and doc
help                   this text
exit                   leave (or end of input, Ctrl-D)";

/// A session: the loader that finds plugins and the plugins imported so far.
pub struct Session {
    loader: Loader,
    config: Config,
    plugins: BTreeMap<String, Arc<WasmPlugin>>,
}

/// What one line asked for.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    /// Print this, and go on.
    Print(String),
    /// Print this error, and go on.
    Error(String),
    /// Nothing to print (an empty line).
    Nothing,
    /// End the session.
    Exit,
}

impl Session {
    /// A session whose plugins are loaded by `loader`, each under `config`.
    pub fn new(loader: Loader, config: Config) -> Self {
        Self {
            loader,
            config,
            plugins: BTreeMap::new(),
        }
    }

    /// Runs one line.
    pub fn line(&mut self, line: &str) -> Outcome {
        let line = line.trim();
        match line {
            "" => return Outcome::Nothing,
            "exit" | "quit" | "exit()" | "quit()" => return Outcome::Exit,
            "help" | "help()" => return Outcome::Print(String::from(USAGE)),
            _ => {}
        }
        if let Some(spec) = line.strip_prefix("import ") {
            return self.import(spec.trim());
        }
        if let Some(target) = line
            .strip_prefix("help(")
            .and_then(|rest| rest.strip_suffix(')'))
        {
            return self.help(target.trim());
        }
        if let Some(plugin) = self.plugins.get(line) {
            return Outcome::Print(listing(line, plugin));
        }
        match line.split_once('(') {
            Some((target, rest)) => self.call(target.trim(), rest, line.len() - rest.len()),
            None => Outcome::Error(format!(
                "{}: not a command, an imported plugin or a call (try help)",
                show::escape(line)
            )),
        }
    }

    fn import(&mut self, spec: &str) -> Outcome {
        let spec = match literal::parse_arg(spec) {
            Ok(Object::String(s)) => s.to_string(),
            Ok(_) => return Outcome::Error(String::from("import takes a name or a string")),
            Err(e) => return Outcome::Error(format!("import: {e}")),
        };
        let name = spec.strip_prefix("plugin/").unwrap_or(&spec);
        let plugin = match self
            .loader
            .resolve(name)
            .and_then(|file| WasmPlugin::from_file_with(&file, &self.config).map(Arc::new))
        {
            Ok(plugin) => plugin,
            Err(e) => return Outcome::Error(crate::explain(&e)),
        };
        let bound = String::from(name);
        let functions = plugin.functions().len();
        self.plugins.insert(bound.clone(), plugin);
        Outcome::Print(format!("{}: {functions} functions", show::escape(&bound)))
    }

    /// The plugin and function `NAME.FN` names.
    fn lookup(&self, target: &str) -> Result<(&Arc<WasmPlugin>, FunctionInfo), String> {
        let Some((name, function)) = target.split_once('.') else {
            return Err(format!(
                "{}: expected NAME.FN, a function of an imported plugin",
                show::escape(target)
            ));
        };
        let Some(plugin) = self.plugins.get(name) else {
            return Err(format!(
                "{}: not imported (import \"plugin/{}\" first)",
                show::escape(name),
                show::escape(name)
            ));
        };
        match plugin.functions().into_iter().find(|f| f.name == function) {
            Some(info) => Ok((plugin, info)),
            None => Err(format!(
                "{}: no function {} (it has: {})",
                show::escape(name),
                show::escape(function),
                names(plugin)
            )),
        }
    }

    fn help(&self, target: &str) -> Outcome {
        match self.lookup(target) {
            Ok((_, info)) => {
                let bound = target.split_once('.').map_or(target, |(name, _)| name);
                Outcome::Print(describe(bound, &info))
            }
            Err(e) => Outcome::Error(e),
        }
    }

    fn call(&self, target: &str, rest: &str, offset: usize) -> Outcome {
        let (plugin, info) = match self.lookup(target) {
            Ok(found) => found,
            Err(e) => return Outcome::Error(e),
        };
        let (args, read) = match literal::parse_call_args(rest) {
            Ok(parsed) => parsed,
            Err(e) => {
                // Columns count from the start of the line.
                let e = literal::LiteralError {
                    offset: offset + e.offset,
                    ..e
                };
                return Outcome::Error(e.to_string());
            }
        };
        if let Some(extra) = rest.get(read..).filter(|t| !t.trim().is_empty()) {
            return Outcome::Error(format!(
                "unexpected text after the call: {}",
                show::escape(extra.trim())
            ));
        }
        match plugin.call(&info.name, &args) {
            Ok(value) => Outcome::Print(show::value(&value)),
            Err(e) => Outcome::Error(format!("ERROR: {}", show::escape(&e.to_string()))),
        }
    }

    /// Runs the lines of `input` until it ends or one says `exit`, printing to `out` (and
    /// errors too: a session's transcript is one stream). Returns whether every line went
    /// well.
    pub fn run_lines(&mut self, input: impl BufRead, out: &mut impl Write) -> bool {
        let mut all_ok = true;
        for line in input.lines() {
            let Ok(line) = line else {
                let _ = writeln!(out, "error: stdin is not text");
                return false;
            };
            match self.line(&line) {
                Outcome::Print(text) => {
                    let _ = writeln!(out, "{text}");
                }
                Outcome::Error(text) => {
                    all_ok = false;
                    let _ = writeln!(out, "{text}");
                }
                Outcome::Nothing => {}
                Outcome::Exit => break,
            }
        }
        let _ = out.flush();
        all_ok
    }
}

/// `NAME.FN(signature)` and the doc on the next line, `NAME` being what the session imported
/// the plugin as (a plugin may declare another name: `wasiprobe_c` is `wasiprobe`).
fn describe(bound: &str, info: &FunctionInfo) -> String {
    let mut text = format!(
        "{}.{}{}",
        show::escape(bound),
        show::escape(&info.name),
        show::escape(&info.signature.to_string())
    );
    if let Some(doc) = &info.signature.doc {
        text.push_str("\n    ");
        text.push_str(&show::escape(doc));
    }
    text
}

/// Every function of `plugin`, imported as `bound`, one per line.
fn listing(bound: &str, plugin: &WasmPlugin) -> String {
    let lines: Vec<String> = plugin
        .functions()
        .iter()
        .map(|info| describe(bound, info))
        .collect();
    lines.join("\n")
}

fn names(plugin: &WasmPlugin) -> String {
    let names: Vec<String> = plugin.functions().into_iter().map(|f| f.name).collect();
    show::escape(&names.join(", ")).into_owned()
}

/// The session on a terminal: a prompt, line editing and the session's history. Ends at
/// `exit`, Ctrl-D or Ctrl-C at an empty prompt.
pub fn interactive(session: &mut Session) -> Result<(), String> {
    use rustyline::error::ReadlineError;
    let mut editor =
        rustyline::DefaultEditor::new().map_err(|e| format!("cannot use the terminal: {e}"))?;
    println!("xxplugin repl: import \"plugin/NAME\", then NAME.FN(ARGS); help, exit");
    loop {
        match editor.readline("> ") {
            Ok(line) => {
                if !line.trim().is_empty() {
                    let _ = editor.add_history_entry(line.as_str());
                }
                match session.line(&line) {
                    Outcome::Print(text) => println!("{text}"),
                    Outcome::Error(text) => eprintln!("{text}"),
                    Outcome::Nothing => {}
                    Outcome::Exit => return Ok(()),
                }
            }
            Err(ReadlineError::Eof | ReadlineError::Interrupted) => return Ok(()),
            Err(e) => return Err(format!("reading the terminal: {e}")),
        }
    }
}
