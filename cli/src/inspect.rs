//! `xxplugin inspect`: a plugin's name, version, functions with their signatures, and imports.
//!
//! By default nothing of the plugin runs: the module is read with
//! [`WasmPlugin::describe_static_file`], so inspecting works on a plugin whose start never ends
//! or that needs host functions, and costs nothing. What only running it can tell (the
//! declarations an `xxplugin_manifest` export sends, the `plugin_name` and `plugin_version`
//! exports) is shown as unknown, and `--run` loads the plugin under [`run_config`] to ask it.

use std::path::Path;

use xxlang_plugin::{Config, Description, FunctionInfo, Object, Plugin, SkippedExport, WasmPlugin};

use crate::show;

/// The fuel `inspect --run` gives the plugin's start-up code (its start function,
/// `_initialize` and metadata exports): about a second of interpretation, enough for a Go
/// runtime to start, and then the load fails with an error saying so.
pub const RUN_STARTUP_FUEL: u64 = 500_000_000;

/// The linear memory `inspect --run` lets the plugin have.
pub const RUN_MAX_MEMORY: usize = 64 << 20;

/// The limits `inspect --run` loads a plugin under. Everything it runs is start-up code,
/// bounded by [`RUN_STARTUP_FUEL`]: a [`Config::deadline`] bounds calls only, and `inspect`
/// makes none.
pub fn run_config() -> Config {
    Config::new()
        .startup_fuel(RUN_STARTUP_FUEL)
        .max_memory(RUN_MAX_MEMORY)
}

/// The report on the plugin in `file`, its lines escaped; `run` loads the plugin to ask what
/// reading it cannot tell.
pub fn inspect(file: &Path, run: bool) -> Result<String, String> {
    let report = if run {
        let p = WasmPlugin::from_file_with(file, &run_config()).map_err(|e| e.to_string())?;
        Report::of_plugin(&p)
    } else {
        let d = WasmPlugin::describe_static_file(file).map_err(|e| e.to_string())?;
        Report::of_description(d, file)
    };
    let size = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    Ok(report.render(&format!("{} ({size} bytes)", file.display())))
}

/// What `inspect` shows, from a description or a loaded plugin.
struct Report {
    name: String,
    version: String,
    abi: String,
    /// Why the functions may not be what the plugin declares.
    functions_note: Option<&'static str>,
    functions: Vec<FunctionInfo>,
    /// Values scripts get (`version`), printed.
    values: Vec<(String, String)>,
    skipped: Vec<SkippedExport>,
    imports: Vec<String>,
}

/// What the report says of something only the metadata exports `exports` (not run) can tell;
/// `None` when there are none.
fn unknown(exports: &[&str]) -> Option<String> {
    let names: Vec<String> = exports.iter().map(|e| format!("`{e}`")).collect();
    let (it, says) = match names.len() {
        0 => return None,
        1 => ("export", "says"),
        _ => ("exports", "say"),
    };
    Some(format!(
        "unknown: its {} {it} {says}, and that runs plugin code (`inspect --run`)",
        names.join(" or ")
    ))
}

impl Report {
    fn of_description(d: Description, file: &Path) -> Self {
        // Which exports not run could tell the name and the version.
        let tellers = |metadata: &str| -> Vec<&str> {
            let wanted = ["xxplugin_manifest", metadata];
            d.not_run
                .iter()
                .copied()
                .filter(|e| wanted.contains(e))
                .collect()
        };
        let name = match (d.name, unknown(&tellers("plugin_name"))) {
            (Some(name), _) => name,
            (None, Some(unknown)) => unknown,
            (None, None) => {
                let stem = file.file_stem().unwrap_or_default().to_string_lossy();
                format!("{stem} (its file name: it declares none)")
            }
        };
        let values = d
            .version
            .iter()
            .map(|v| (String::from("version"), nested(Object::from(v.as_str()))))
            .collect();
        let version = d
            .version
            .or_else(|| unknown(&tellers("plugin_version")))
            .unwrap_or_else(|| String::from("(none)"));
        let manifest_not_run = d.not_run.contains(&"xxplugin_manifest");
        Report {
            name,
            version,
            abi: abi_line(d.abi, manifest_not_run),
            functions_note: manifest_not_run.then_some(
                "from the wasm types alone: its `xxplugin_manifest` export declares them, and \
                 that runs plugin code (`inspect --run`)",
            ),
            functions: d.functions,
            values,
            skipped: d.skipped,
            imports: d.imports,
        }
    }

    fn of_plugin(p: &WasmPlugin) -> Self {
        let values = p
            .exports()
            .into_iter()
            .filter(|(_, v)| v.as_builtin().is_none())
            .map(|(name, v)| (name, nested(v)))
            .collect();
        Report {
            name: p.name().to_string(),
            version: p.version().unwrap_or("(none)").to_string(),
            abi: abi_line(p.abi(), false),
            functions_note: None,
            functions: p.functions(),
            values,
            skipped: p.skipped().to_vec(),
            imports: p.imports().to_vec(),
        }
    }

    /// The report's text: one line each, every line escaped.
    fn render(&self, file: &str) -> String {
        let mut lines = vec![
            format!("name:     {}", self.name),
            format!("version:  {}", self.version),
            format!("abi:      {}", self.abi),
            format!("file:     {file}"),
        ];
        lines.push(match self.functions_note {
            Some(note) => format!("functions ({}), {note}:", self.functions.len()),
            None => format!("functions ({}):", self.functions.len()),
        });
        let shown: Vec<String> = self
            .functions
            .iter()
            .map(|f| format!("{}{}", f.name, f.signature))
            .collect();
        let width = shown.iter().map(|s| s.chars().count()).max().unwrap_or(0);
        for (f, sig) in self.functions.iter().zip(&shown) {
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
            lines.push(format!("  {sig:width$}  [{origin}]{doc}"));
        }
        if !self.values.is_empty() {
            lines.push(String::from("values:"));
            for (name, v) in &self.values {
                lines.push(format!("  {name} = {v}"));
            }
        }
        if !self.skipped.is_empty() {
            lines.push(String::from("not exposed:"));
            for skipped in &self.skipped {
                lines.push(format!("  {}: {}", skipped.wasm_name, skipped.reason));
            }
        }
        if self.imports.is_empty() {
            lines.push(String::from("imports:  (none)"));
        } else {
            lines.push(format!("imports ({}):", self.imports.len()));
            for import in &self.imports {
                lines.push(format!("  {import}"));
            }
        }
        let mut text = String::new();
        for line in lines {
            text.push_str(&show::escape(&line));
            text.push('\n');
        }
        text
    }
}

/// A value as it prints inside an array: strings quoted.
fn nested(v: Object) -> String {
    let shown = show::value(&Object::from(vec![v]));
    let inner = shown.strip_prefix('[').and_then(|s| s.strip_suffix(']'));
    inner.unwrap_or(&shown).to_string()
}

fn abi_line(abi: Option<u32>, manifest_not_run: bool) -> String {
    match abi {
        Some(abi) => format!("{abi} (typed, declared in its manifest)"),
        None if manifest_not_run => unknown(&["xxplugin_manifest"]).unwrap_or_default(),
        None => String::from("legacy (no manifest)"),
    }
}
