//! `coord simulate [NAME...]`: seeded random walks over each check's model at a larger size
//! than exhaustive search can finish, judging every Always property in every state.

use crate::check::{emit, print_outcome, print_trace, Throttle};
use crate::SizeArgs;
use coord_models::{SimOptions, SimProgress, SimReport, Verdict};
use std::time::Duration;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// Checks to simulate (a name also selects its `NAME-*` family); all when none is given.
    names: Vec<String>,
    /// The seed of the first walk; walk k uses SEED + k.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Walks per check at most.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    runs: u64,
    /// Steps per walk at most.
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(1..))]
    depth: u64,
    /// Seconds per check at most (no new walk starts after them).
    #[arg(long, default_value_t = 60.0)]
    time: f64,
    /// Print one JSON object per check on standard output instead of text.
    #[arg(long)]
    json: bool,
    /// Size overrides, applied over each family's larger size (`coord simulate` shows it).
    #[command(flatten)]
    sizes: SizeArgs,
}

/// Simulates the selected checks; `Ok(true)` if every verdict is as expected: no walk
/// violated a property expected to hold, and a walk violated each one expected violated.
pub fn run(args: &SimulateArgs) -> Result<bool, String> {
    if !(args.time > 0.0 && args.time.is_finite()) {
        return Err("--time must be a positive number of seconds".into());
    }
    let checks = coord_models::select(&args.names)?;
    let bounds = args.sizes.bounds();
    let models = checks
        .iter()
        .map(|c| {
            let size = bounds.or(&coord_models::sim_sizes::larger(c.name));
            c.model(&size).map_err(|e| format!("{}: {e}", c.name))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let opts = SimOptions {
        seed: args.seed,
        runs: Some(args.runs),
        depth: args.depth as usize,
        time_limit: Some(Duration::from_secs_f64(args.time)),
    };
    let mut all_as_expected = true;
    for (check, model) in checks.iter().zip(models) {
        let mut every_10s = Throttle::default();
        let mut progress = |p: SimProgress| {
            if every_10s.due(p.elapsed) {
                eprintln!(
                    "  {}: {} walks, {} steps, {:.0} s ...",
                    check.name,
                    p.walks,
                    p.steps,
                    p.elapsed.as_secs_f64()
                );
            }
        };
        let report = model.simulate(check.name, &check.expect, &opts, &mut progress);
        all_as_expected &= report.as_expected;
        emit(&report, args.json, print_report)?;
    }
    Ok(all_as_expected)
}

fn print_report(r: &SimReport) {
    println!(
        "{}: {} walks, {} steps, deepest {}, {:.1} s, {:.0} steps/s",
        r.name,
        r.walks,
        r.steps,
        r.max_depth,
        r.seconds,
        r.steps as f64 / r.seconds.max(1e-9),
    );
    for p in &r.properties {
        let actual = match p.actual {
            Verdict::Violated => "violated".to_string(),
            _ => format!("not violated in {} walks", r.walks),
        };
        println!(
            "  always {:<48} expected {:<8} actual {}",
            p.name, p.expected, actual
        );
    }
    if !r.examples_seen.is_empty() {
        println!("  examples reached: {}", r.examples_seen.join(", "));
    }
    if let Some(v) = &r.violation {
        let what = match &v.message {
            Some(message) => format!("an actor's invariant ({message})"),
            None => format!("{:?}", v.property),
        };
        println!(
            "  violation of {what} after {:.1} s by the walk of seed {} ({} steps); \
             replay it alone with --seed {} --runs 1:",
            r.first_violation_seconds.unwrap_or(r.seconds),
            v.seed,
            v.trace.len(),
            v.seed
        );
        print_trace(&v.trace);
    }
    print_outcome(r.as_expected);
}
