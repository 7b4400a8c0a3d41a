//! Performance report: turns criterion's results into a table of ratios (ours / raw wasmi) and a
//! bar chart, so a reader sees where time goes without reading numbers.
//!
//! One command regenerates both (after `cargo bench`, in full or in part):
//!
//! ```text
//! cargo run --release --example perf_report              # docs/performance.svg + docs/performance.md
//! cargo run --release --example perf_report -- --readme  # also the table in README.md
//! ```
//!
//! It reads `target/criterion/<group>/<id>/new/estimates.json` (criterion's median, in
//! nanoseconds, and its 95% confidence interval) for every figure of [`FIGURES`], the one table to
//! edit when a bench or a target changes.
//!
//! One run's ratios move by several percent between processes here (where the process's stack
//! lands moves wasmi's hot copies), so the report can combine runs: save each under a name with
//! `cargo bench ... -- --save-baseline NAME` and give every name with `--baseline NAME`; each
//! figure then shows the median of the runs' medians, its whiskers spanning all of them:
//!
//! ```text
//! for run in 1 2 3; do cargo bench --bench calls --bench typed --bench load -- --save-baseline run$run; done
//! cargo run --release --example perf_report -- --baseline run1 --baseline run2 --baseline run3 --readme
//! ```
//!
//! A figure whose files are missing is reported as "not measured", with the `cargo bench`
//! command that measures it; nothing is made up.
//!
//! Writes:
//! - `docs/performance.svg`: per figure, the baseline's bar (grey) and ours (green: target met,
//!   red: missed, blue: informational), each figure on its own scale, with the medians printed,
//!   95% confidence intervals as whiskers, and a dashed mark at target × baseline;
//! - `docs/performance.md` (and stdout): the same as a Markdown table, then fixed references
//!   (the original Go system, Extism) beside our measured figure for the same call;
//! - with `--readme`: the same Markdown between `<!-- perf-table:start -->` and
//!   `<!-- perf-table:end -->` in README.md (left alone, with a message, when the markers are not
//!   there).
//!
//! Options: `--criterion DIR` (default: `$CRITERION_HOME`, else `$CARGO_TARGET_DIR/criterion`,
//! else `target/criterion` in this crate), `--baseline NAME` (repeated: the runs to combine;
//! default: the latest run), `--out DIR` (default `docs` in this crate),
//! `--readme`, `--readme-file FILE` (default this crate's README.md).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// One figure: `ours` over `base`, two benchmark ids of one criterion group.
struct Figure {
    group: &'static str,
    ours: &'static str,
    base: &'static str,
    /// The ratio to stay under; `None` for a row shown for information.
    target: Option<f64>,
    what: &'static str,
}

const fn fig(
    group: &'static str,
    ours: &'static str,
    base: &'static str,
    target: Option<f64>,
    what: &'static str,
) -> Figure {
    Figure {
        group,
        ours,
        base,
        target,
        what,
    }
}

/// Every figure of the report, in the order shown: `ours` / `base` within `group`, and the ratio
/// to stay under (`None`: shown for information). Edit here when a bench id or a target changes;
/// a group or id that has no results is shown as "not measured", so figures can be added before
/// their bench exists.
#[rustfmt::skip]
const FIGURES: &[Figure] = &[
    //  group            ours                base               target      what it shows
    fig("add",           "builtin_default",  "raw",             Some(1.15), "builtin add(10,20), default config (the issue's figure)"),
    fig("add",           "builtin_trusted",  "raw",             None,       "builtin add(10,20), unmetered (Config::trusted)"),
    fig("add",           "builtin_default",  "builtin_trusted", Some(1.10), "metered (default: fuel slices, cancellable) vs unmetered"),
    fig("add",           "builtin_fuel",     "builtin_trusted", Some(1.10), "Config::fuel (a fuel limit) vs unmetered"),
    fig("add",           "builtin_deadline", "builtin_trusted", Some(1.10), "Config::deadline vs unmetered"),
    fig("add",           "by_name_default",  "builtin_default", Some(1.10), "WasmPlugin::call by name vs builtin"),
    fig("add",           "typed_trusted",    "raw",             Some(1.05), "typed Rust handle, unmetered"),
    fig("add",           "typed_default",    "raw_metered",     None,       "typed Rust handle, default config, vs raw wasmi metered"),
    fig("add",           "raw_metered",      "raw",             None,       "raw wasmi with fuel metering on: the floor of any metered call"),
    fig("fast",          "builtin_default",  "raw",             Some(1.15), "fast(20), default config"),
    fig("fast",          "builtin_trusted",  "raw",             None,       "fast(20), unmetered"),
    fig("fast",          "raw_metered",      "raw",             None,       "fast(20), raw wasmi with fuel metering on: the floor of the default row"),
    fig("fast",          "builtin_default",  "raw_metered",     None,       "fast(20), default config, vs raw wasmi metered"),
    fig("range",         "builtin_default",  "raw",             Some(1.15), "range_(10), default config"),
    fig("range",         "builtin_trusted",  "raw",             None,       "range_(10), unmetered"),
    fig("range",         "builtin_default",  "raw_object",      None,       "range_(10), default config, vs raw wasmi building the same array value"),
    fig("range",         "raw_object",       "raw",             None,       "raw wasmi: the array value (Object) vs a Vec<i64>"),
    fig("compute",       "builtin_trusted",  "raw",             None,       "count_primes(10^6), unmetered"),
    fig("compute",       "builtin_default",  "raw",             None,       "count_primes(10^6), default config (≈ 1.0 expected: no regression)"),
    fig("host",          "builtin_trusted",  "raw",             None,       "1000 host-function calls from a plugin's loop, unmetered, vs wasmi func_wrap"),
    fig("host",          "builtin_default",  "raw",             None,       "1000 host-function calls from a plugin's loop, default config"),
    fig("strings",       "typed_trusted",    "raw",             Some(1.05), "echo_str 1 KiB, typed handle, &str → String"),
    fig("strings",       "typed_default",    "raw_metered",     None,       "echo_str 1 KiB, typed handle, default config, vs raw metered"),
    fig("strings",       "builtin_trusted",  "raw",             None,       "echo_str 1 KiB, builtin, unmetered"),
    fig("strings",       "builtin_default",  "raw",             None,       "echo_str 1 KiB, builtin, default config"),
    fig("strings",       "raw_metered",      "raw",             None,       "echo_str 1 KiB, raw wasmi with fuel metering on"),
    fig("strings_64k",   "typed_trusted",    "raw",             Some(1.05), "echo_str 64 KiB, typed handle"),
    fig("strings_64k",   "builtin_default",  "raw",             None,       "echo_str 64 KiB, builtin, default config"),
    fig("strings_64k",   "builtin_default",  "builtin_trusted", Some(1.10), "echo_str 64 KiB (7.7M fuel: 77 slices) metered vs unmetered"),
    fig("strings_64k",   "builtin_default",  "raw_metered",     None,       "echo_str 64 KiB, default config, vs raw wasmi metered in one go: what slicing adds"),
    fig("strings_64k",   "raw_metered",      "raw",             None,       "echo_str 64 KiB, raw wasmi with fuel metering on: the floor of the metered rows"),
    fig("arrays",        "builtin_trusted",  "raw",             None,       "iota(1000) -> array<int>, builtin, unmetered"),
    fig("arrays",        "builtin_default",  "raw",             None,       "iota(1000) -> array<int>, builtin, default config"),
    fig("load_first",    "from_bytes",       "raw",             Some(1.15), "first load, testplugin"),
    fig("load_first",    "from_bytes",       "raw_start",       None,       "first load vs raw wasmi running the same start-up (alloc, metadata exports)"),
    fig("load_first_go", "from_bytes",       "raw",             Some(1.15), "first load, large real plugin (textkit_go, 2.2 MB, WASI, `_initialize`)"),
    fig("load_first_go", "from_bytes",       "raw_fuel",        None,       "first load, large real plugin, vs raw wasmi on an engine configured as ours"),
    fig("load_hit",      "from_bytes",       "raw",             Some(2.0),  "cache hit, testplugin"),
    fig("load_hit",      "from_bytes",       "raw_start",       None,       "cache hit vs raw wasmi instantiate + the same start-up"),
    fig("load_hit",      "from_bytes_and_call", "raw_start",    None,       "cache hit + first call (starts the instance) vs raw instantiate + start-up"),
    fig("load_hit_4mib", "from_bytes",       "raw",             Some(2.0),  "cache hit, 4 MiB module"),
    fig("load_hit_go",   "from_bytes",       "raw",             Some(2.0),  "cache hit, large real plugin"),
];

/// A figure measured elsewhere, shown beside ours for the same call.
struct Reference {
    system: &'static str,
    call: &'static str,
    figure: &'static str,
    source: &'static str,
    /// Our figure for the same call: (group, id), default config.
    ours: Option<(&'static str, &'static str)>,
}

/// The original system's own figures: xxlang's `pkg/plugin`, Go on wazero's compiler engine (a
/// JIT), 2-vCPU machine; written down in the project's brief, SEED.md, section "Its speed".
const SEED_SOURCE: &str = "its own figures (SEED.md, \"Its speed\"; 2-vCPU machine)";
const SEED: &str = "original Go system: xxlang `pkg/plugin`, wazero compiler (JIT)";

/// Fixed references: not measured by this tool, never updated by it.
const REFERENCES: &[Reference] = &[
    Reference {
        system: SEED,
        call: "`add(10,20)`",
        figure: "≈ 86 ns",
        source: SEED_SOURCE,
        ours: Some(("add", "builtin_default")),
    },
    Reference {
        system: SEED,
        call: "`fast(20)`",
        figure: "≈ 72 ns",
        source: SEED_SOURCE,
        ours: Some(("fast", "builtin_default")),
    },
    Reference {
        system: SEED,
        call: "`range_(10)`",
        figure: "≈ 4–6 µs (and 12 KB)",
        source: SEED_SOURCE,
        ours: Some(("range", "builtin_default")),
    },
    Reference {
        system: SEED,
        call: "loading `testplugin`",
        figure: "≈ 2.8 ms",
        source: SEED_SOURCE,
        ours: Some(("load_first", "from_bytes")),
    },
    Reference {
        system: "Extism",
        call: "one call (ours: `add(10,20)`)",
        figure: "3–6 µs",
        source: "team measurement, field notes (same machine kind)",
        ours: Some(("add", "builtin_default")),
    },
];

const START_MARKER: &str = "<!-- perf-table:start -->";
const END_MARKER: &str = "<!-- perf-table:end -->";
const COMMAND: &str = "cargo run --release --example perf_report";

/// Criterion's estimate of one benchmark's median, in nanoseconds.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Estimate {
    median: f64,
    lower: f64,
    upper: f64,
    modified: Option<SystemTime>,
}

/// The criterion directory, read once: where each benchmark's files are.
struct Criterion {
    dir: PathBuf,
    /// The runs read: criterion's folder of each (`new`, the latest run, or the names given
    /// to `cargo bench -- --save-baseline NAME`).
    runs: Vec<String>,
    /// `group/id` (criterion's `full_id`) → the benchmark's directory, from `benchmark.json`,
    /// for ids that criterion had to rename on disk.
    by_full_id: BTreeMap<String, PathBuf>,
    /// Every group with results, from `benchmark.json` or else the directory name.
    groups: BTreeSet<String>,
    /// What was read, so that each file is read (and a bad one reported) once.
    read: RefCell<BTreeMap<String, Option<Estimate>>>,
}

impl Criterion {
    /// Reads `dir`; `runs` are the baselines to combine (none: the latest run, `new`).
    fn open(dir: &Path, runs: &[String]) -> Self {
        let runs = match runs {
            [] => vec![String::from("new")],
            names => names.to_vec(),
        };
        let mut c = Criterion {
            dir: dir.to_path_buf(),
            runs,
            by_full_id: BTreeMap::new(),
            groups: BTreeSet::new(),
            read: RefCell::default(),
        };
        c.scan(dir, 0);
        c
    }

    fn scan(&mut self, dir: &Path, depth: usize) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name();
            // Criterion's own folders: its HTML report and a benchmark's runs.
            let own = matches!(name.to_str(), Some("new" | "base" | "change" | "report"))
                || name
                    .to_str()
                    .is_some_and(|n| self.runs.iter().any(|r| r == n));
            if own || !path.is_dir() {
                continue;
            }
            let meta = path.join("new").join("benchmark.json");
            if meta.is_file() {
                let json = std::fs::read_to_string(&meta)
                    .ok()
                    .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok());
                let field = |k: &str| {
                    json.as_ref()
                        .and_then(|j| j.get(k))
                        .and_then(|v| v.as_str())
                        .map(str::to_owned)
                };
                if let Some(full_id) = field("full_id") {
                    self.by_full_id.insert(full_id, path.clone());
                }
                if let Some(group) = field("group_id") {
                    self.groups.insert(group);
                } else if let Some(parent) = path.strip_prefix(&self.dir).ok().and_then(|p| {
                    p.components()
                        .next()
                        .and_then(|c| c.as_os_str().to_str().map(str::to_owned))
                }) {
                    self.groups.insert(parent);
                }
            } else if depth < 3 {
                self.scan(&path, depth + 1);
            }
        }
    }

    /// The estimate of `group/id`, if it was measured. A file that exists but cannot be read is
    /// reported on stderr and counts as not measured.
    fn estimate(&self, group: &str, id: &str) -> Option<Estimate> {
        let key = format!("{group}/{id}");
        if let Some(known) = self.read.borrow().get(&key) {
            return *known;
        }
        let found = self.find_and_read(group, id);
        self.read.borrow_mut().insert(key, found);
        found
    }

    /// The estimate of `group/id` over the runs that measured it (see [`combine`]).
    fn find_and_read(&self, group: &str, id: &str) -> Option<Estimate> {
        let direct = self.dir.join(group).join(id);
        let dir = if direct.join("new/estimates.json").is_file() {
            direct
        } else {
            self.by_full_id.get(&format!("{group}/{id}"))?.clone()
        };
        let mut found = Vec::new();
        for run in &self.runs {
            let path = dir.join(run).join("estimates.json");
            match read_estimate(&path) {
                Ok(e) => found.push(e),
                Err(why) => eprintln!(
                    "perf_report: {}: {why}; that run counts as not measured",
                    path.display()
                ),
            }
        }
        combine(&found)
    }
}

/// One estimate from several runs' estimates of a benchmark: the median of their medians (the
/// mean of the middle two for an even count), and an interval from the lowest lower bound to
/// the highest upper bound, so the whiskers show how far the runs spread. `None` for none.
fn combine(runs: &[Estimate]) -> Option<Estimate> {
    let mut medians: Vec<f64> = runs.iter().map(|e| e.median).collect();
    medians.sort_by(f64::total_cmp);
    let n = medians.len();
    let median = match n {
        0 => return None,
        n if n % 2 == 1 => *medians.get(n / 2)?,
        n => (*medians.get(n / 2 - 1)? + *medians.get(n / 2)?) / 2.0,
    };
    Some(Estimate {
        median,
        lower: runs.iter().map(|e| e.lower).fold(median, f64::min),
        upper: runs.iter().map(|e| e.upper).fold(median, f64::max),
        modified: runs.iter().filter_map(|e| e.modified).max(),
    })
}

fn read_estimate(path: &Path) -> Result<Estimate, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let number = |pointer: &str| {
        json.pointer(pointer)
            .and_then(serde_json::Value::as_f64)
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("no number at {pointer}"))
    };
    let median = number("/median/point_estimate")?;
    // The interval is only for the whiskers: without it, the whisker is the median itself.
    let lower = number("/median/confidence_interval/lower_bound").unwrap_or(median);
    let upper = number("/median/confidence_interval/upper_bound").unwrap_or(median);
    Ok(Estimate {
        median,
        lower: lower.min(median),
        upper: upper.max(median),
        modified: std::fs::metadata(path).and_then(|m| m.modified()).ok(),
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Status {
    Met,
    Missed,
    Info,
    NotMeasured,
}

/// One figure with what was found for it.
struct Row<'a> {
    figure: &'a Figure,
    ours: Option<Estimate>,
    base: Option<Estimate>,
}

impl Row<'_> {
    fn ratio(&self) -> Option<f64> {
        let (o, b) = (self.ours?, self.base?);
        (b.median > 0.0).then(|| o.median / b.median)
    }

    /// The ratio's range from the two confidence intervals (a rough, conservative bound).
    fn ratio_range(&self) -> Option<(f64, f64)> {
        let (o, b) = (self.ours?, self.base?);
        (b.lower > 0.0).then(|| (o.lower / b.upper, o.upper / b.lower))
    }

    fn status(&self) -> Status {
        match (self.ratio(), self.figure.target) {
            (None, _) => Status::NotMeasured,
            (Some(_), None) => Status::Info,
            (Some(r), Some(t)) if r <= t => Status::Met,
            (Some(_), Some(_)) => Status::Missed,
        }
    }

    /// Whether the target lies within the ratio's uncertainty, so that "met" or "missed" is
    /// within noise.
    fn within_noise(&self) -> bool {
        match (self.ratio_range(), self.figure.target) {
            (Some((lo, hi)), Some(t)) => lo <= t && t <= hi,
            _ => false,
        }
    }
}

/// Everything the outputs show.
struct Report<'a> {
    rows: Vec<Row<'a>>,
    criterion: Criterion,
    machine: String,
    newest: Option<SystemTime>,
    /// Groups with results that no figure uses.
    other_groups: Vec<String>,
    /// Groups a figure needs that have missing ids, with the command that measures them.
    to_measure: BTreeMap<&'a str, String>,
}

fn build_report<'a>(criterion: Criterion, figures: &'a [Figure], benches: &Path) -> Report<'a> {
    let rows: Vec<Row> = figures
        .iter()
        .map(|figure| Row {
            figure,
            ours: criterion.estimate(figure.group, figure.ours),
            base: criterion.estimate(figure.group, figure.base),
        })
        .collect();
    let newest = rows
        .iter()
        .flat_map(|r| [r.ours, r.base])
        .flatten()
        .filter_map(|e| e.modified)
        .max();
    let used: BTreeSet<&str> = figures.iter().map(|f| f.group).collect();
    let other_groups = criterion
        .groups
        .iter()
        .filter(|g| !used.contains(g.as_str()))
        .cloned()
        .collect();
    let to_measure = rows
        .iter()
        .filter(|r| r.ours.is_none() || r.base.is_none())
        .map(|r| (r.figure.group, bench_command(benches, r.figure.group)))
        .collect();
    Report {
        rows,
        criterion,
        machine: machine(),
        newest,
        other_groups,
        to_measure,
    }
}

/// The `cargo bench` command that measures `group`: the bench whose source opens that group
/// (`benchmark_group("add")`), else the one that names it in quotes (a group opened by a helper),
/// else every bench with a filter.
fn bench_command(benches: &Path, group: &str) -> String {
    let mut sources: Vec<(String, String)> = std::fs::read_dir(benches)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            Some((stem, std::fs::read_to_string(&p).ok()?))
        })
        .collect();
    sources.sort();
    let opens = format!("benchmark_group(\"{group}\")");
    let names = format!("\"{group}\"");
    let bench = [opens, names].iter().find_map(|needle| {
        sources
            .iter()
            .find(|(_, text)| text.contains(needle.as_str()))
    });
    match bench {
        Some((stem, _)) => format!("cargo bench --bench {stem} -- '^{group}/'"),
        None => format!("cargo bench -- '^{group}/'"),
    }
}

/// "AMD EPYC, 2 logical CPUs", from /proc/cpuinfo; "unknown machine" without it.
fn machine() -> String {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return "unknown machine".into();
    };
    machine_from_cpuinfo(&info)
}

fn machine_from_cpuinfo(info: &str) -> String {
    let value = |line: &str, key: &str| {
        let (k, v) = line.split_once(':')?;
        (k.trim() == key).then(|| v.trim().to_owned())
    };
    let model = info.lines().find_map(|l| value(l, "model name"));
    let cpus = info
        .lines()
        .filter(|l| value(l, "processor").is_some())
        .count();
    match (model, cpus) {
        (None, 0) => "unknown machine".into(),
        (Some(m), 0) => m,
        (None, n) => format!("unknown CPU model, {n} logical CPUs"),
        (Some(m), 1) => format!("{m}, 1 logical CPU"),
        (Some(m), n) => format!("{m}, {n} logical CPUs"),
    }
}

/// `t` as "YYYY-MM-DD HH:MM UTC".
fn utc(t: SystemTime) -> String {
    let secs = match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60
    )
}

/// A time in nanoseconds with three significant digits and a unit that fits.
fn format_ns(ns: f64) -> String {
    // Thresholds just under 1000 of a unit, so that 999.99 ns prints as 1.00 µs, not 1000 ns.
    let (v, unit) = if ns < 999.5 {
        (ns, "ns")
    } else if ns < 999_500.0 {
        (ns / 1e3, "µs")
    } else if ns < 999_500_000.0 {
        (ns / 1e6, "ms")
    } else {
        (ns / 1e9, "s")
    };
    if v < 9.995 {
        format!("{v:.2} {unit}")
    } else if v < 99.95 {
        format!("{v:.1} {unit}")
    } else {
        format!("{v:.0} {unit}")
    }
}

fn format_ratio(r: f64) -> String {
    format!("{r:.2}×")
}

// ---------------------------------------------------------------------------------------------
// Markdown

/// The tables, for docs/performance.md, stdout and README. `image` links the chart when given.
fn markdown(report: &Report, image: Option<&str>) -> String {
    let mut md = String::new();
    let when = report.newest.map_or_else(|| "no results yet".into(), utc);
    let runs = match report.criterion.runs.as_slice() {
        [only] if only == "new" => String::from("Criterion medians"),
        [only] => format!("Criterion medians of run `{only}`"),
        runs => format!(
            "The median of {} runs' criterion medians (baselines {}; whiskers span the runs)",
            runs.len(),
            runs.iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let _ = writeln!(
        md,
        "{runs} (newest result: {when}; report generated on {}). \
         Regenerate with `{COMMAND}` after `cargo bench`.\n",
        report.machine
    );
    if let Some(image) = image {
        let _ = writeln!(
            md,
            "![Bar chart: each figure's time, ours beside its baseline, with the target \
             marked]({image})\n"
        );
    }
    md.push_str("| Figure | ours | baseline | ratio | target | met? |\n");
    md.push_str("|---|---|---|---|---|---|\n");
    for row in &report.rows {
        let f = row.figure;
        let time =
            |e: Option<Estimate>| e.map_or_else(|| "not measured".into(), |e| format_ns(e.median));
        let ratio = row.ratio().map_or_else(|| "—".into(), format_ratio);
        let target = f
            .target
            .map_or_else(|| "(info)".into(), |t| format!("≤ {t:.2}×"));
        let noise = if row.within_noise() {
            " (within noise)"
        } else {
            ""
        };
        let met = match row.status() {
            Status::Met => format!("yes{noise}"),
            Status::Missed => format!("**no**{noise}"),
            Status::Info => "—".into(),
            Status::NotMeasured => "not measured".into(),
        };
        let _ = writeln!(
            md,
            "| `{}`: {} (`{}` / `{}`) | {} | {} | {ratio} | {target} | {met} |",
            f.group,
            md_cell(f.what),
            f.ours,
            f.base,
            time(row.ours),
            time(row.base),
        );
    }
    if !report.to_measure.is_empty() {
        md.push_str("\nNot measured yet; these commands produce the missing rows:\n\n");
        let commands: BTreeSet<&String> = report.to_measure.values().collect();
        for command in commands {
            let _ = writeln!(md, "- `{command}`");
        }
    }
    if !report.other_groups.is_empty() {
        let _ = writeln!(
            md,
            "\nAlso measured, in no figure above: {} (see `{}/report/index.html`).",
            report
                .other_groups
                .iter()
                .map(|g| format!("`{g}`"))
                .collect::<Vec<_>>()
                .join(", "),
            shown_path(&report.criterion.dir).display(),
        );
    }
    md.push_str(
        "\nFixed references, measured elsewhere and never updated by this tool, beside our \
         measured figure for the same call (default config):\n\n",
    );
    md.push_str("| system | call | their figure | source | ours |\n");
    md.push_str("|---|---|---|---|---|\n");
    for r in REFERENCES {
        let ours = match r.ours {
            None => "—".to_owned(),
            Some((group, id)) => match report.criterion.estimate(group, id) {
                Some(e) => format!("{} (`{group}/{id}`)", format_ns(e.median)),
                None => format!("not measured (`{group}/{id}`)"),
            },
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {ours} |",
            r.system, r.call, r.figure, r.source
        );
    }
    md
}

/// `path` relative to this crate when it is inside it, so committed output names no home folder.
fn shown_path(path: &Path) -> &Path {
    path.strip_prefix(env!("CARGO_MANIFEST_DIR"))
        .unwrap_or(path)
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|")
}

/// README with `table` between the markers, or `None` when the markers are not both there in
/// order.
fn replace_between_markers(readme: &str, table: &str) -> Option<String> {
    let start = readme.find(START_MARKER)? + START_MARKER.len();
    let end = start + readme[start..].find(END_MARKER)?;
    Some(format!(
        "{}\n{}\n{}",
        &readme[..start],
        table.trim_end(),
        &readme[end..]
    ))
}

// ---------------------------------------------------------------------------------------------
// SVG

const WIDTH: f64 = 980.0;
const MARGIN: f64 = 20.0;
/// Where bars start: the column left of it names the benchmark id.
const BAR_X: f64 = 190.0;
/// The longest bar: leaves room for the printed median after it.
const BAR_MAX: f64 = 640.0;
const BAR_H: f64 = 14.0;
const GREY: &str = "#9e9e9e";
const GREEN: &str = "#2e7d32";
const RED: &str = "#c62828";
const BLUE: &str = "#1f6fb2";
const INK: &str = "#1a1a1a";
const MUTED: &str = "#5f6368";

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn colour(status: Status) -> &'static str {
    match status {
        Status::Met => GREEN,
        Status::Missed => RED,
        Status::Info | Status::NotMeasured => BLUE,
    }
}

/// The chart: a title, the machine, a legend, then per group a heading and per figure two bars.
fn svg(report: &Report) -> String {
    let mut body = String::new();
    let mut y = MARGIN + 22.0;
    let text = |body: &mut String, x: f64, y: f64, attrs: &str, s: &str| {
        let _ = writeln!(
            body,
            r#"<text x="{x:.1}" y="{y:.1}" {attrs}>{}</text>"#,
            xml(s)
        );
    };
    text(
        &mut body,
        MARGIN,
        y,
        r#"font-size="20" font-weight="bold""#,
        "xxlang-plugin: time per operation, ours vs its baseline",
    );
    y += 20.0;
    let when = report.newest.map_or_else(|| "no results yet".into(), utc);
    let notes = [
        format!(
            "Criterion medians; newest result {when}; generated on {}.",
            report.machine
        ),
        format!("Each figure has its own scale. Regenerate: {COMMAND}"),
    ];
    for note in notes {
        text(
            &mut body,
            MARGIN,
            y,
            &format!(r#"font-size="12" fill="{MUTED}""#),
            &note,
        );
        y += 16.0;
    }
    y += 6.0;
    y = legend(&mut body, y);

    let mut group = "";
    for row in &report.rows {
        let f = row.figure;
        if f.group != group {
            group = f.group;
            y += 10.0;
            let _ = writeln!(
                body,
                r##"<line x1="{MARGIN}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#d0d0d0"/>"##,
                WIDTH - MARGIN
            );
            y += 18.0;
            text(
                &mut body,
                MARGIN,
                y,
                r#"font-size="15" font-weight="bold""#,
                group,
            );
            y += 8.0;
        }
        y = figure_svg(&mut body, row, y, &report.to_measure);
    }
    y += MARGIN;
    let height = y.ceil();
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" fill="{INK}">
<title>xxlang-plugin performance: ours vs baseline per figure</title>
<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="#ffffff"/>
{body}</svg>
"##
    )
}

/// About how wide `s` is in a 12-pixel sans-serif font (no font metrics here: an estimate that
/// errs wide).
fn text_width(s: &str) -> f64 {
    6.2 * s.chars().count() as f64
}

fn legend(body: &mut String, y: f64) -> f64 {
    let items: [(&str, &str); 4] = [
        (GREY, "baseline"),
        (GREEN, "ours: target met"),
        (RED, "ours: target missed"),
        (BLUE, "ours: for information"),
    ];
    let mut x = MARGIN;
    for (fill, label) in items {
        let _ = writeln!(
            body,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{fill}"/>"#,
            y - 10.0
        );
        let _ = writeln!(
            body,
            r#"<text x="{:.1}" y="{y:.1}" font-size="12">{}</text>"#,
            x + 17.0,
            xml(label)
        );
        x += 17.0 + text_width(label) + 18.0;
    }
    let _ = writeln!(
        body,
        r#"<line x1="{:.1}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="3,2"/>"#,
        x + 5.0,
        y - 12.0,
        x + 5.0,
        y + 2.0
    );
    let target = "target (ratio × baseline)";
    let _ = writeln!(
        body,
        r#"<text x="{:.1}" y="{y:.1}" font-size="12">{}</text>"#,
        x + 13.0,
        xml(target)
    );
    x += 13.0 + text_width(target) + 18.0;
    let _ = writeln!(
        body,
        r#"<path d="M{:.1} {:.1} v8 M{:.1} {:.1} h20 M{:.1} {:.1} v8" stroke="{INK}" fill="none"/>"#,
        x,
        y - 8.0,
        x,
        y - 4.0,
        x + 20.0,
        y - 8.0
    );
    let _ = writeln!(
        body,
        r#"<text x="{:.1}" y="{y:.1}" font-size="12">95% interval of the median</text>"#,
        x + 26.0
    );
    y + 6.0
}

/// One figure: its label and verdict, then the baseline's bar and ours, on the figure's own scale.
fn figure_svg(body: &mut String, row: &Row, y: f64, to_measure: &BTreeMap<&str, String>) -> f64 {
    let f = row.figure;
    let status = row.status();
    let mut y = y + 18.0;
    let _ = writeln!(
        body,
        r#"<text x="{MARGIN}" y="{y:.1}" font-size="13">{}</text>"#,
        xml(f.what)
    );
    let verdict = match (row.ratio(), f.target) {
        (None, _) => String::new(),
        (Some(r), Some(t)) => {
            let mark = if status == Status::Met {
                "✓ met"
            } else {
                "✗ missed"
            };
            let noise = if row.within_noise() {
                ", within noise"
            } else {
                ""
            };
            format!("{} (target ≤ {t:.2}×) {mark}{noise}", format_ratio(r))
        }
        (Some(r), None) => format!("{} (for information)", format_ratio(r)),
    };
    let verdict_fill = if status == Status::Info {
        MUTED
    } else {
        colour(status)
    };
    let _ = writeln!(
        body,
        r#"<text x="{:.1}" y="{y:.1}" font-size="13" font-weight="bold" text-anchor="end" fill="{verdict_fill}">{}</text>"#,
        WIDTH - MARGIN,
        xml(&verdict)
    );
    y += 6.0;

    if row.ours.is_none() || row.base.is_none() {
        let missing: Vec<&str> = [(row.ours, f.ours), (row.base, f.base)]
            .iter()
            .filter(|(e, _)| e.is_none())
            .map(|(_, id)| *id)
            .collect();
        let command = to_measure
            .get(f.group)
            .map_or("cargo bench", String::as_str);
        y += 14.0;
        let _ = writeln!(
            body,
            r#"<text x="{:.1}" y="{y:.1}" font-size="12" font-style="italic" fill="{MUTED}">not measured ({}/{}): run {}</text>"#,
            MARGIN + 12.0,
            xml(f.group),
            xml(&missing.join(", ")),
            xml(command)
        );
        return y + 8.0;
    }
    let (ours, base) = (row.ours.unwrap(), row.base.unwrap());
    let target_ns = f.target.map(|t| t * base.median);
    let top = [ours.upper, base.upper, target_ns.unwrap_or(0.0)]
        .into_iter()
        .fold(0.0_f64, f64::max);
    let scale = if top > 0.0 { BAR_MAX / top } else { 0.0 };
    let first_bar = y;
    // Bars first, then the target's mark over them, then the printed medians over the mark.
    let mut labels = String::new();
    for (estimate, id, fill) in [(base, f.base, GREY), (ours, f.ours, colour(status))] {
        bar(body, &mut labels, y, estimate, id, fill, scale);
        y += BAR_H + 4.0;
    }
    if let Some(t) = target_ns {
        let x = BAR_X + t * scale;
        let _ = writeln!(
            body,
            r#"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{:.1}" stroke="{INK}" stroke-width="1.5" stroke-dasharray="3,2"/>"#,
            first_bar - 3.0,
            y - 1.0
        );
    }
    body.push_str(&labels);
    y + 2.0
}

/// One bar with its whisker into `body`, and its id and printed median into `labels`.
fn bar(
    body: &mut String,
    labels: &mut String,
    y: f64,
    e: Estimate,
    id: &str,
    fill: &str,
    scale: f64,
) {
    let mid = y + BAR_H / 2.0;
    let _ = writeln!(
        labels,
        r#"<text x="{:.1}" y="{:.1}" font-size="11" font-family="Menlo, Consolas, monospace" text-anchor="end" fill="{MUTED}">{}</text>"#,
        BAR_X - 8.0,
        mid + 4.0,
        xml(id)
    );
    let width = (e.median * scale).max(1.0);
    let _ = writeln!(
        body,
        r#"<rect x="{BAR_X}" y="{y:.1}" width="{width:.1}" height="{BAR_H}" fill="{fill}"/>"#
    );
    let (lo, hi) = (BAR_X + e.lower * scale, BAR_X + e.upper * scale);
    if hi - lo >= 1.0 {
        let _ = writeln!(
            body,
            r#"<path d="M{lo:.1} {:.1} v6 M{lo:.1} {mid:.1} H{hi:.1} M{hi:.1} {:.1} v6" stroke="{INK}" fill="none"/>"#,
            mid - 3.0,
            mid - 3.0
        );
    }
    let _ = writeln!(
        labels,
        r##"<text x="{:.1}" y="{:.1}" font-size="11" stroke="#ffffff" stroke-width="3" paint-order="stroke">{}</text>"##,
        BAR_X + width.max(hi - BAR_X) + 6.0,
        mid + 4.0,
        xml(&format_ns(e.median))
    );
}

// ---------------------------------------------------------------------------------------------
// Command line

struct Options {
    criterion: PathBuf,
    /// Baselines to combine (`--baseline`, repeated); none: the latest run.
    baselines: Vec<String>,
    out: PathBuf,
    readme: Option<PathBuf>,
}

const USAGE: &str = "usage: cargo run --release --example perf_report -- \
                     [--criterion DIR] [--baseline NAME]... [--out DIR] [--readme] \
                     [--readme-file FILE]";

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let default_criterion = std::env::var_os("CRITERION_HOME")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("CARGO_TARGET_DIR").map(|d| PathBuf::from(d).join("criterion"))
        })
        .unwrap_or_else(|| crate_dir.join("target/criterion"));
    let mut options = Options {
        criterion: default_criterion,
        baselines: Vec::new(),
        out: crate_dir.join("docs"),
        readme: None,
    };
    let mut readme = false;
    let mut readme_file = crate_dir.join("README.md");
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--criterion" => options.criterion = value("--criterion")?.into(),
            "--baseline" => options.baselines.push(value("--baseline")?),
            "--out" => options.out = value("--out")?.into(),
            "--readme" => readme = true,
            "--readme-file" => readme_file = value("--readme-file")?.into(),
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if readme {
        options.readme = Some(readme_file);
    }
    Ok(options)
}

/// Writes the outputs; returns the Markdown (also printed by `main`).
fn run(options: &Options) -> Result<String, String> {
    let criterion = Criterion::open(&options.criterion, &options.baselines);
    let benches = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches");
    let report = build_report(criterion, FIGURES, &benches);

    std::fs::create_dir_all(&options.out).map_err(|e| format!("{}: {e}", options.out.display()))?;
    let svg_path = options.out.join("performance.svg");
    std::fs::write(&svg_path, svg(&report)).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    let md = markdown(&report, Some("performance.svg"));
    let md_path = options.out.join("performance.md");
    let page = format!("# Performance\n\n<!-- Generated by `{COMMAND}`: do not edit. -->\n\n{md}");
    std::fs::write(&md_path, page).map_err(|e| format!("{}: {e}", md_path.display()))?;
    eprintln!(
        "perf_report: wrote {} and {}",
        svg_path.display(),
        md_path.display()
    );

    if let Some(readme_path) = &options.readme {
        let readme = std::fs::read_to_string(readme_path)
            .map_err(|e| format!("{}: {e}", readme_path.display()))?;
        // The chart's path as README sees it, when it sits below README's directory.
        let image = readme_path
            .parent()
            .and_then(|dir| svg_path.strip_prefix(dir).ok())
            .and_then(|p| p.to_str())
            .map(|p| p.replace('\\', "/"));
        let table = markdown(&report, image.as_deref());
        match replace_between_markers(&readme, &table) {
            Some(new) if new == readme => {
                eprintln!("perf_report: {} already up to date", readme_path.display());
            }
            Some(new) => {
                std::fs::write(readme_path, new)
                    .map_err(|e| format!("{}: {e}", readme_path.display()))?;
                eprintln!(
                    "perf_report: updated the table in {}",
                    readme_path.display()
                );
            }
            None => eprintln!(
                "perf_report: {} has no {START_MARKER} ... {END_MARKER} markers; left unchanged",
                readme_path.display()
            ),
        }
    }
    for (group, command) in &report.to_measure {
        eprintln!("perf_report: group `{group}` not fully measured: run {command}");
    }
    Ok(md)
}

fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(why) if why.is_empty() => {
            println!("{USAGE}");
            return;
        }
        Err(why) => {
            eprintln!("perf_report: {why}\n{USAGE}");
            std::process::exit(2);
        }
    };
    match run(&options) {
        Ok(md) => print!("{md}"),
        Err(why) => {
            eprintln!("perf_report: {why}");
            std::process::exit(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary directory, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let nanos = SystemTime::now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.subsec_nanos());
            let dir = std::env::temp_dir()
                .join(format!("perf_report_{name}_{}_{nanos}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Writes criterion's files for one benchmark into `dir/on_disk`, as criterion does.
    fn bench(criterion: &Path, group: &str, id: &str, on_disk: &str, median: f64) {
        bench_in(criterion, group, id, on_disk, "new", median);
    }

    /// [`bench`] into the run folder `run` (`new`, or a baseline's name).
    fn bench_in(criterion: &Path, group: &str, id: &str, on_disk: &str, run: &str, median: f64) {
        let new = criterion.join(on_disk).join(run);
        std::fs::create_dir_all(&new).unwrap();
        let estimates = format!(
            r#"{{"mean":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":1,"upper_bound":2}},"point_estimate":1.5,"standard_error":0.1}},
"median":{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{median},"standard_error":0.5}}}}"#,
            median * 0.99,
            median * 1.01
        );
        std::fs::write(new.join("estimates.json"), estimates).unwrap();
        let meta = format!(
            r#"{{"group_id":"{group}","function_id":"{id}","value_str":null,"throughput":null,"full_id":"{group}/{id}","directory_name":"{on_disk}","title":"{group}/{id}"}}"#
        );
        std::fs::write(new.join("benchmark.json"), meta).unwrap();
    }

    fn fake_criterion(dir: &Path) {
        bench(dir, "add", "raw", "add/raw", 40.0);
        // 1.10: under 1.15, met.
        bench(dir, "add", "builtin_default", "add/builtin_default", 44.0);
        // 44/30 = 1.47: over 1.10, missed.
        bench(dir, "add", "builtin_trusted", "add/builtin_trusted", 30.0);
        // Criterion renamed the directory: found through benchmark.json.
        bench(dir, "strings", "raw", "strings/raw_x", 1000.0);
        bench(
            dir,
            "strings",
            "typed_trusted",
            "strings/typed_trusted",
            1040.0,
        );
        // range: 250/200 = 1.25 > 1.15, missed.
        bench(dir, "range", "raw", "range/raw", 200.0);
        bench(
            dir,
            "range",
            "builtin_trusted",
            "range/builtin_trusted",
            300.0,
        );
        bench(
            dir,
            "range",
            "builtin_default",
            "range/builtin_default",
            250.0,
        );
        bench(dir, "range", "raw_object", "range/raw_object", 240.0);
        // A group no figure uses.
        bench(dir, "extra", "thing", "extra/thing", 5.0);
        // A corrupt file: not measured, no panic.
        let bad = dir.join("load_first/raw/new");
        std::fs::create_dir_all(&bad).unwrap();
        std::fs::write(bad.join("estimates.json"), "{\"median\":{}}").unwrap();
        bench(
            dir,
            "load_first",
            "from_bytes",
            "load_first/from_bytes",
            2.0e6,
        );
    }

    fn row<'a>(report: &'a Report, group: &str, ours: &str, base: &str) -> &'a Row<'a> {
        report
            .rows
            .iter()
            .find(|r| r.figure.group == group && r.figure.ours == ours && r.figure.base == base)
            .unwrap()
    }

    #[test]
    fn ratios_and_verdicts_come_from_the_files() {
        let tmp = TempDir::new("ratios");
        fake_criterion(&tmp.0);
        let report = build_report(Criterion::open(&tmp.0, &[]), FIGURES, Path::new("benches"));

        let default = row(&report, "add", "builtin_default", "raw");
        assert!((default.ratio().unwrap() - 1.10).abs() < 1e-9);
        assert_eq!(default.status(), Status::Met);
        let metered = row(&report, "add", "builtin_default", "builtin_trusted");
        assert!((metered.ratio().unwrap() - 44.0 / 30.0).abs() < 1e-9);
        assert_eq!(metered.status(), Status::Missed);
        assert!(!metered.within_noise());
        assert_eq!(
            row(&report, "add", "builtin_trusted", "raw").status(),
            Status::Info
        );
        let strings = row(&report, "strings", "typed_trusted", "raw");
        assert!((strings.ratio().unwrap() - 1.04).abs() < 1e-9);
        assert_eq!(strings.status(), Status::Met);
        // 1.04 within [1.04·0.99/1.01, 1.04·1.01/0.99] which holds 1.05.
        assert!(strings.within_noise());

        // Missing: one side, both sides, a corrupt file.
        for (group, ours, base) in [
            ("add", "builtin_fuel", "builtin_trusted"),
            ("fast", "builtin_default", "raw"),
            ("load_first", "from_bytes", "raw"),
        ] {
            let r = row(&report, group, ours, base);
            assert_eq!(r.status(), Status::NotMeasured, "{group}/{ours}");
            assert_eq!(r.ratio(), None);
        }
        assert!(report.to_measure.contains_key("fast"));
        assert!(report.to_measure.contains_key("strings"));
        // Every id of `range` is there: nothing to measure.
        assert!(!report.to_measure.contains_key("range"));
        let range = row(&report, "range", "builtin_default", "raw");
        assert!((range.ratio().unwrap() - 1.25).abs() < 1e-9);
        assert_eq!(range.status(), Status::Missed);
        assert_eq!(report.other_groups, ["extra"]);

        let md = markdown(&report, None);
        let line = |needle: &str| {
            md.lines()
                .find(|l| l.contains(needle))
                .unwrap_or_else(|| panic!("no line with {needle:?} in\n{md}"))
                .to_owned()
        };
        let default = line("(`builtin_default` / `raw`) | 44.0 ns");
        assert!(
            default.contains("| 40.0 ns | 1.10× | ≤ 1.15× | yes |"),
            "{default}"
        );
        let metered = line("(`builtin_default` / `builtin_trusted`)");
        assert!(
            metered.contains("| 1.47× | ≤ 1.10× | **no** |"),
            "{metered}"
        );
        let fast = line("`fast`: fast(20), default config");
        assert!(
            fast.contains("| not measured | not measured | — | ≤ 1.15× | not measured |"),
            "{fast}"
        );
        let fuel = line("(`builtin_fuel` / `builtin_trusted`)");
        assert!(fuel.contains("| not measured | 30.0 ns | — |"), "{fuel}");
        assert!(md.contains("cargo bench"), "{md}");
        assert!(md.contains("-- '^fast/'`"), "{md}");
        // References: ours beside the Go seed's add, and not-measured for fast.
        assert!(line("| `add(10,20)` | ≈ 86 ns").contains("44.0 ns (`add/builtin_default`)"));
        assert!(line("| `fast(20)` | ≈ 72 ns").contains("not measured (`fast/builtin_default`)"));

        let chart = svg(&report);
        assert!(chart.starts_with("<?xml") && chart.trim_end().ends_with("</svg>"));
        assert!(chart.contains("not measured (fast/builtin_default, raw)"));
        assert!(chart.contains(RED) && chart.contains(GREEN));
        assert!(chart.contains("&amp;str → String"));
    }

    #[test]
    fn nothing_measured_is_no_panic() {
        let tmp = TempDir::new("empty");
        let out = tmp.0.join("docs");
        let options = Options {
            criterion: tmp.0.join("no-such-dir"),
            baselines: Vec::new(),
            out: out.clone(),
            readme: None,
        };
        let md = run(&options).unwrap();
        let verdicts = md.lines().filter(|l| l.ends_with("| not measured |"));
        assert_eq!(verdicts.count(), FIGURES.len());
        assert!(out.join("performance.svg").is_file());
        assert!(out.join("performance.md").is_file());
    }

    #[test]
    fn readme_between_markers_only() {
        let readme = format!("intro\n{START_MARKER}\nold\n{END_MARKER}\nrest\n");
        let new = replace_between_markers(&readme, "| a |\n").unwrap();
        assert_eq!(
            new,
            format!("intro\n{START_MARKER}\n| a |\n{END_MARKER}\nrest\n")
        );
        assert_eq!(replace_between_markers(&new, "| a |\n").unwrap(), new);
        assert_eq!(replace_between_markers("no markers", "x"), None);
        assert_eq!(
            replace_between_markers(&format!("{END_MARKER} {START_MARKER}"), "x"),
            None
        );

        let tmp = TempDir::new("readme");
        fake_criterion(&tmp.0);
        let path = tmp.0.join("README.md");
        std::fs::write(&path, &readme).unwrap();
        let options = Options {
            criterion: tmp.0.clone(),
            baselines: Vec::new(),
            out: tmp.0.join("docs"),
            readme: Some(path.clone()),
        };
        run(&options).unwrap();
        let written = std::fs::read_to_string(&path).unwrap();
        assert!(written.starts_with(&format!("intro\n{START_MARKER}\n")));
        assert!(written.ends_with(&format!("\n{END_MARKER}\nrest\n")));
        assert!(written.contains("](docs/performance.svg)"));
        assert!(written.contains("| 1.10× | ≤ 1.15× | yes |"));

        std::fs::write(&path, "no markers here\n").unwrap();
        run(&options).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "no markers here\n");
    }

    #[test]
    fn bench_command_names_the_bench() {
        let tmp = TempDir::new("benches");
        let calls = "c.benchmark_group(\"add\"); // like \"load\"";
        std::fs::write(tmp.0.join("calls.rs"), calls).unwrap();
        let load = "c.benchmark_group(\"load\"); hit_group(c, \"load_hit\", &bytes);";
        std::fs::write(tmp.0.join("load.rs"), load).unwrap();
        let command = |group| bench_command(&tmp.0, group);
        assert_eq!(command("add"), "cargo bench --bench calls -- '^add/'");
        // Opened by a helper: named in quotes only.
        assert_eq!(
            command("load_hit"),
            "cargo bench --bench load -- '^load_hit/'"
        );
        // Opened in load.rs wins over a mere mention in calls.rs (sorted first).
        assert_eq!(command("load"), "cargo bench --bench load -- '^load/'");
        assert_eq!(command("fast"), "cargo bench -- '^fast/'");
        assert_eq!(
            bench_command(&tmp.0.join("none"), "add"),
            "cargo bench -- '^add/'"
        );
    }

    #[test]
    fn units_dates_and_machine() {
        assert_eq!(format_ns(86.04), "86.0 ns");
        assert_eq!(format_ns(4_500.0), "4.50 µs");
        assert_eq!(format_ns(372_000.0), "372 µs");
        assert_eq!(format_ns(2.8e6), "2.80 ms");
        assert_eq!(format_ns(999.99), "1.00 µs");
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_709_210_096);
        assert_eq!(utc(t), "2024-02-29 12:34 UTC");
        let info =
            "processor\t: 0\nmodel name\t: AMD EPYC\n\nprocessor\t: 1\nmodel name\t: AMD EPYC\n";
        assert_eq!(machine_from_cpuinfo(info), "AMD EPYC, 2 logical CPUs");
        assert_eq!(machine_from_cpuinfo(""), "unknown machine");
    }

    #[test]
    fn runs_saved_as_baselines_are_combined() {
        let tmp = TempDir::new("baselines");
        let runs = [
            ("run1", 40.0, 48.0),
            ("run2", 40.0, 44.0),
            ("run3", 50.0, 50.0),
        ];
        for (run, raw, ours) in runs {
            // `cargo bench -- --save-baseline NAME` writes `new` and then copies it to NAME.
            for folder in ["new", run] {
                bench_in(&tmp.0, "add", "raw", "add/raw", folder, raw);
                bench_in(
                    &tmp.0,
                    "add",
                    "builtin_default",
                    "add/builtin_default",
                    folder,
                    ours,
                );
            }
        }
        let names = runs.map(|(run, ..)| String::from(run));
        let report = build_report(
            Criterion::open(&tmp.0, &names),
            FIGURES,
            Path::new("benches"),
        );
        let add = row(&report, "add", "builtin_default", "raw");
        let (ours, base) = (add.ours.unwrap(), add.base.unwrap());
        // The median of the three medians, each side on its own.
        assert_eq!((ours.median, base.median), (48.0, 40.0));
        assert!((add.ratio().unwrap() - 1.2).abs() < 1e-9);
        // The whiskers span every run's interval.
        assert!((ours.lower - 44.0 * 0.99).abs() < 1e-9, "{ours:?}");
        assert!((ours.upper - 50.0 * 1.01).abs() < 1e-9, "{ours:?}");
        let md = markdown(&report, None);
        assert!(md.starts_with("The median of 3 runs"), "{md}");
        assert!(md.contains("`run1`, `run2`, `run3`"), "{md}");

        // Two runs: the mean of the two.
        let report = build_report(
            Criterion::open(&tmp.0, &names[..2]),
            FIGURES,
            Path::new("benches"),
        );
        let add = row(&report, "add", "builtin_default", "raw");
        assert_eq!(add.ours.unwrap().median, 46.0);
        // A baseline a benchmark was not run in counts for nothing; none at all, not measured.
        let missing = [String::from("run1"), String::from("nowhere")];
        let report = build_report(
            Criterion::open(&tmp.0, &missing),
            FIGURES,
            Path::new("benches"),
        );
        assert_eq!(
            row(&report, "add", "builtin_default", "raw")
                .ours
                .unwrap()
                .median,
            48.0
        );
        let none = [String::from("nowhere")];
        let report = build_report(
            Criterion::open(&tmp.0, &none),
            FIGURES,
            Path::new("benches"),
        );
        assert_eq!(
            row(&report, "add", "builtin_default", "raw").status(),
            Status::NotMeasured
        );
        // The baselines' folders are runs, not benchmarks.
        assert!(!report.criterion.groups.contains("run1"));
        let args = ["--baseline", "run1", "--baseline", "run2"].map(String::from);
        assert_eq!(parse_args(args).unwrap().baselines, ["run1", "run2"]);
    }
}
