//! `coord check [NAME...]`: run checks and print every verdict against its expectation.

use crate::SizeArgs;
use coord_models::{Progress, Report, RunOptions, Search, Verdict};
use std::time::Duration;

#[derive(Clone, Copy, clap::ValueEnum)]
enum SearchArg {
    Dfs,
    Bfs,
}

#[derive(clap::Args)]
pub struct CheckArgs {
    /// Checks to run (a name also selects its `NAME-*` family); all when none is given.
    names: Vec<String>,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    threads: Option<u16>,
    /// Search order, overriding each check's own (DFS proves, BFS hunts short traces).
    #[arg(long, value_enum)]
    search: Option<SearchArg>,
    /// Do not explore beyond this depth (the run is then not exhaustive).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    depth: Option<u64>,
    /// Run each check at its reduced size (the one `cargo test` uses); size flags still
    /// override it.
    #[arg(long)]
    quick: bool,
    /// Print one JSON object per check on standard output instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    sizes: SizeArgs,
}

/// Runs the selected checks; `Ok(true)` if every verdict is as expected.
pub fn run(args: &CheckArgs) -> Result<bool, String> {
    let checks = coord_models::select(&args.names)?;
    let bounds = args.sizes.bounds();
    // Build every model first so that a bad size fails before hours of checking.
    let models = checks
        .iter()
        .map(|c| {
            let bounds = if args.quick {
                bounds.or(&c.quick)
            } else {
                bounds.clone()
            };
            c.model(&bounds).map_err(|e| format!("{}: {e}", c.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opts = RunOptions {
        threads: args
            .threads
            .map(usize::from)
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
        search: args.search.map(|s| match s {
            SearchArg::Dfs => Search::Dfs,
            SearchArg::Bfs => Search::Bfs,
        }),
        depth: args.depth.map(|d| d as usize),
    };
    let mut all_as_expected = true;
    for (check, model) in checks.iter().zip(models) {
        let mut every_10s = Throttle::default();
        let mut progress = |p: Progress| {
            if every_10s.due(p.elapsed) {
                eprintln!(
                    "  {}: {} states, depth {}, {:.0} s ...",
                    check.name,
                    p.unique_states,
                    p.max_depth,
                    p.elapsed.as_secs_f64()
                );
            }
        };
        let report = model.run(
            check.name,
            &check.expect,
            check.search,
            &opts,
            &mut progress,
        );
        all_as_expected &= report.as_expected;
        emit(&report, args.json, print_report)?;
    }
    Ok(all_as_expected)
}

/// Prints `report` as one line of JSON, or as text by `print`.
pub(crate) fn emit<R: serde::Serialize>(
    report: &R,
    json: bool,
    print: fn(&R),
) -> Result<(), String> {
    if json {
        let line = serde_json::to_string(report).map_err(|e| e.to_string())?;
        println!("{line}");
    } else {
        print(report);
    }
    Ok(())
}

/// Progress is shown at most every 10 s of a run.
#[derive(Default)]
pub(crate) struct Throttle {
    last_shown: Duration,
}

impl Throttle {
    /// Whether progress at `elapsed` is to be shown (and then counts as shown).
    pub(crate) fn due(&mut self, elapsed: Duration) -> bool {
        let due = elapsed >= self.last_shown + Duration::from_secs(10);
        if due {
            self.last_shown = elapsed;
        }
        due
    }
}

/// The process's peak resident memory, if the platform reports it.
pub(crate) fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{:.0} MiB", kib / 1024.0))
}

fn print_report(r: &Report) {
    let rate = r.unique_states as f64 / r.seconds.max(1e-9);
    println!(
        "{}: {} unique states, depth {}, {:.1} s, {:.0} states/s, peak memory {}, {}",
        r.name,
        r.unique_states,
        r.max_depth,
        r.seconds,
        rate,
        peak_memory().unwrap_or_else(|| "unknown".into()),
        if r.exhaustive {
            "exhaustive within bounds"
        } else {
            "NOT exhaustive (stopped early)"
        }
    );
    for p in &r.properties {
        println!(
            "  {} {:<10} {:<48} expected {:<8} actual {}",
            if p.as_expected() { "ok  " } else { "FAIL" },
            p.expectation,
            p.name,
            p.expected,
            p.actual
        );
    }
    for p in &r.properties {
        let counterexample = p.actual == Verdict::Violated && p.expectation != "sometimes";
        if let (true, Some(trace)) = (counterexample, &p.trace) {
            println!("  counterexample to {:?} ({} steps):", p.name, trace.len());
            print_trace(trace);
        }
    }
    print_outcome(r.as_expected);
}

/// A counterexample's steps, numbered from 1.
pub fn print_trace(trace: &[String]) {
    for (i, step) in trace.iter().enumerate() {
        println!("    {:>3}. {step}", i + 1);
    }
}

/// The last line of a check's report: whether every verdict was the one expected.
pub fn print_outcome(as_expected: bool) {
    let outcome = match as_expected {
        true => "every verdict as expected",
        false => "UNEXPECTED VERDICT",
    };
    println!("  => {outcome}");
}
