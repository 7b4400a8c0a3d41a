//! The long soak: the storm of `tests/stress.rs` (the same file, included below) for minutes
//! instead of seconds.
//!
//! ```sh
//! cargo run --release --example soak                # 60 s, 8 workers
//! cargo run --release --example soak -- 600 4       # 10 minutes, 4 workers
//! ```
//!
//! Workers make mixed calls on shared plugins (`fib`, `textkit`, `textkit_c`, `testplugin`
//! whose `div(_, 0)` traps, the `limits` fixture under a fuel limit and under a 5 ms deadline),
//! each answer checked against a value computed in Rust; beside them three threads load,
//! import, close, unregister and re-register plugins through a `Loader` with its own
//! `Registry`, and cancel the deadline plugin's calls. See tests/stress.rs for the details.
//!
//! Every ~5 s and at the end it prints the calls made, calls per second, errors by kind, wrong
//! results and unexpected errors (both must stay 0), panics, loads and closes, and the
//! process's resident memory (`VmRSS`, with the peak `VmHWM`, from /proc/self/status; "n/a"
//! where there is none), so that a leak shows as RSS climbing from tick to tick; at the end
//! also RSS at start, after the warm-up and at the end, and each shared plugin's linear memory
//! after the warm-up and at the end.
//!
//! Exits 1 if anything went wrong (a wrong result, an unexpected error, a panic, memory growth
//! of a shared plugin), 2 on bad arguments, 3 if the storm is stuck (a deadlock: it has not
//! ended 60 s after its time is up; where each thread was is printed).

#[path = "../tests/stress.rs"]
mod stress;

use std::sync::mpsc::{RecvTimeoutError, channel};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use stress::{Kind, Settings, Stats, storm};

/// How long past its planned end a storm may take to wind down before it counts as stuck.
const GRACE: Duration = Duration::from_secs(60);

/// A `/proc/self/status` field in kB (`VmRSS`, `VmHWM`), if there is one.
fn status_kb(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn show_kb(kb: Option<u64>) -> String {
    match kb {
        Some(kb) => format!("{:.1} MiB", kb as f64 / 1024.0),
        None => String::from("n/a"),
    }
}

fn rss() -> String {
    show_kb(status_kb("VmRSS:"))
}

fn peak() -> String {
    show_kb(status_kb("VmHWM:"))
}

fn usage() -> ! {
    eprintln!("usage: soak [SECONDS (default 60)] [WORKERS (default 8)]");
    std::process::exit(2);
}

fn main() {
    let mut args = std::env::args().skip(1);
    let seconds: u64 = match args.next().map(|a| a.parse()) {
        None => 60,
        Some(Ok(s)) if s > 0 => s,
        Some(_) => usage(),
    };
    let workers: usize = match args.next().map(|a| a.parse()) {
        None => 8,
        Some(Ok(w)) if w > 0 => w,
        Some(_) => usage(),
    };
    if args.next().is_some() {
        usage();
    }
    let rss_start = rss();
    println!(
        "soak: {seconds} s, {workers} workers + {} churn threads; RSS at start {rss_start}",
        stress::CHURNERS
    );

    let stats = Arc::new(Stats::new(workers));
    let rss_warm = Arc::new(Mutex::new(String::from("n/a")));
    let (done, finished) = channel();
    let started = Instant::now();
    {
        let (stats, rss_warm) = (stats.clone(), rss_warm.clone());
        let spawned = std::thread::Builder::new()
            .name(String::from("storm"))
            .spawn(move || {
                let settings = Settings {
                    workers,
                    duration: Duration::from_secs(seconds),
                    tick: Duration::from_secs(5),
                };
                let mut last = (Duration::ZERO, 0u64);
                let report = storm(&settings, &stats, &mut |s, t| {
                    if t.is_zero() {
                        *rss_warm.lock().unwrap_or_else(PoisonError::into_inner) = rss();
                    }
                    // Calls per second since the last tick.
                    let calls = s.calls.load(std::sync::atomic::Ordering::Relaxed);
                    let span = (t - last.0).as_secs_f64();
                    let rate = if span > 0.0 {
                        (calls - last.1) as f64 / span
                    } else {
                        0.0
                    };
                    last = (t, calls);
                    println!(
                        "[{:>6.1} s] {:>9.0} calls/s | RSS {} (peak {}) | {}",
                        t.as_secs_f64(),
                        rate,
                        rss(),
                        peak(),
                        s.summary()
                    );
                });
                // The receiver is gone only if main already gave up on the storm.
                let _ = done.send(report);
            });
        if let Err(e) = spawned {
            eprintln!("soak: cannot spawn the storm thread: {e}");
            std::process::exit(1);
        }
    }

    let report = match finished.recv_timeout(Duration::from_secs(seconds) + GRACE) {
        Ok(report) => report,
        Err(RecvTimeoutError::Timeout) => {
            println!(
                "soak: STUCK: the storm has not ended {GRACE:?} after its time was up (a \
                 deadlock?)\nthreads:\n  {}\ncounts: {}",
                stats.doing().join("\n  "),
                stats.summary()
            );
            std::process::exit(3);
        }
        Err(RecvTimeoutError::Disconnected) => {
            println!(
                "soak: the storm thread died without a report (it panicked); counts: {}",
                stats.summary()
            );
            std::process::exit(1);
        }
    };

    let load = |c: &std::sync::atomic::AtomicU64| c.load(std::sync::atomic::Ordering::Relaxed);
    let calls = load(&stats.calls);
    let secs = report.storm.as_secs_f64();
    println!(
        "\nsoak: finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "calls:         {calls} in {secs:.1} s = {:.0} calls/s ({workers} workers + churn)",
        calls as f64 / secs
    );
    println!("values:        {}", load(&stats.values));
    for kind in Kind::ALL {
        println!(
            "errors {:<10} {}",
            format!("{}:", kind.name()),
            stats.errors(kind)
        );
    }
    println!("wrong results: {}", load(&stats.wrong));
    println!("unexpected:    {}", load(&stats.unexpected));
    println!("panics:        {}", load(&stats.panics));
    println!(
        "loads:         {} (closes {}, cancels {}, calls after close {})",
        load(&stats.loads),
        load(&stats.closes),
        load(&stats.cancels),
        load(&stats.closed_checks)
    );
    let rss_warm = rss_warm
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    println!(
        "RSS:           start {rss_start}, after warm-up {rss_warm}, end {}, peak (VmHWM) {}",
        rss(),
        peak()
    );
    for m in &report.memory {
        let show = |b: Option<usize>| b.map_or(String::from("n/a"), |b| format!("{b} bytes"));
        println!(
            "wasm memory:   {:<12} after warm-up {}, at end {}",
            m.plugin,
            show(m.warm),
            show(m.end)
        );
    }
    if report.problems.is_empty() {
        println!("soak: OK");
    } else {
        println!("soak: {} PROBLEMS:", report.problems.len());
        for p in &report.problems {
            println!("  {p}");
        }
        std::process::exit(1);
    }
}
