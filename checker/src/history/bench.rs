//! `coord history bench`: the history checker's speed on generated histories, and
//! `coord history generate`: one such history, to check or draw.

use super::limits::LimitArgs;
use coord_specs::history::format::write_jepsen_edn;
use coord_specs::history::generate::{jepsen_append, Anomaly, AppendShape};
use coord_specs::history::{
    analyze, Analysis, History, HistorySpec, Operation, Outcome, Time, Verdict,
};
use coord_specs::jepsen_kv::JepsenKvSpec;
use coord_specs::kv::{KvOp, KvRet, KvSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stateright::semantics::SequentialSpec;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// What histories to generate.
    #[arg(long, value_enum, default_value_t = Kind::Kv)]
    kind: Kind,
    /// kv: history sizes, in operations.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// kv: concurrent clients.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    clients: u64,
    /// Keys of the map, each an independent partition (default: 16 for kv, 10 for
    /// jepsen-append).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    keys: Option<u64>,
    /// kv: per mille of operations whose reply is lost (half of them never take effect).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=1000))]
    lost: u64,
    /// jepsen-append: numbers of concurrent processes, one history each per anomaly.
    #[arg(long, value_delimiter = ',', default_value = "10,50,100")]
    processes: Vec<u64>,
    /// jepsen-append: the anomalies injected, one history each (`none`: linearizable).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "none,lost-append,stale-read,double-append"
    )]
    anomalies: Vec<AnomalyArg>,
    /// jepsen-append: operations per process.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    ops_per_process: u64,
    /// Seed of the generator, so that runs are repeatable.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    limits: LimitArgs,
}

/// The kinds of generated histories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Kind {
    /// The versioned map of `specs/src/kv.rs`, valid, with some replies lost.
    Kv,
    /// Jepsen's list-append workload (appends of unique elements, reads of whole lists) in
    /// the `jepsen-kv` spec, every operation completed, with or without an anomaly.
    JepsenAppend,
}

/// An anomaly to inject, or none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AnomalyArg {
    None,
    LostAppend,
    StaleRead,
    DoubleAppend,
}

impl AnomalyArg {
    fn anomaly(self) -> Option<Anomaly> {
        match self {
            AnomalyArg::None => None,
            AnomalyArg::LostAppend => Some(Anomaly::LostAppend),
            AnomalyArg::StaleRead => Some(Anomaly::StaleRead),
            AnomalyArg::DoubleAppend => Some(Anomaly::DoubleAppend),
        }
    }
}

#[derive(clap::Args)]
pub struct GenerateArgs {
    /// Concurrent processes.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    processes: u64,
    /// The anomaly injected (`none`: linearizable).
    #[arg(long, value_enum, default_value_t = AnomalyArg::None)]
    anomaly: AnomalyArg,
    /// Operations per process.
    #[arg(long, default_value_t = 40, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    ops_per_process: u64,
    /// Keys, each a list.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    keys: u64,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Prints one generated Jepsen list-append history as EDN lines, for `history check`.
pub fn generate(args: &GenerateArgs) -> Result<bool, String> {
    let history = append_history(
        args.processes,
        args.ops_per_process,
        args.keys,
        args.anomaly,
        args.seed,
    );
    print!("{}", write_jepsen_edn(&history));
    Ok(true)
}

/// The Jepsen list-append history the bench and `generate` make: half reads.
fn append_history(
    processes: u64,
    ops_per_process: u64,
    keys: u64,
    anomaly: AnomalyArg,
    seed: u64,
) -> History<JepsenKvSpec> {
    let shape = AppendShape {
        processes,
        ops: (processes * ops_per_process) as usize,
        keys,
        reads: 0.5,
        lost: 0.0,
        anomaly: anomaly.anomaly(),
    };
    jepsen_append(&mut StdRng::seed_from_u64(seed), shape)
}

/// Generates and checks the histories `args` asks for, printing the time each check took
/// and the most memory its search held; `Ok(true)` if every verdict is the one the history
/// was built to have.
pub fn run(args: &BenchArgs) -> Result<bool, String> {
    let right = match args.kind {
        Kind::Kv => run_kv(args),
        Kind::JepsenAppend => run_append(args),
    };
    let peak = crate::check::peak_memory().unwrap_or_else(|| "?".into());
    println!("peak resident memory of this process: {peak}");
    right
}

/// Checks `history`: the analysis, and how long it took in seconds.
fn timed<S: HistorySpec>(history: &History<S>, args: &BenchArgs) -> (Analysis, f64) {
    let start = Instant::now();
    let analysis = analyze::<S>(history, &args.limits.limits());
    (analysis, start.elapsed().as_secs_f64())
}

/// The search's peak memory, in MiB.
fn mib(analysis: &Analysis) -> f64 {
    analysis.peak_memory as f64 / f64::from(1 << 20)
}

fn run_append(args: &BenchArgs) -> Result<bool, String> {
    let keys = args.keys.unwrap_or(10);
    println!(
        "Jepsen list-append histories, {keys} keys, {} operations per process, half reads",
        args.ops_per_process
    );
    let mut all_right = true;
    for &processes in &args.processes {
        for &anomaly in &args.anomalies {
            let history = append_history(processes, args.ops_per_process, keys, anomaly, args.seed);
            let (analysis, seconds) = timed::<JepsenKvSpec>(&history, args);
            let verdict = &analysis.verdict;
            let right = match verdict {
                Verdict::Unknown(_) => false,
                _ => (*verdict == Verdict::Linearizable) == (anomaly == AnomalyArg::None),
            };
            all_right &= right;
            println!(
                "{processes:>4} processes {:>7} operations  {:<14} {seconds:>8.3} s {:>8.1} MiB  {}{}",
                history.len(),
                format!("{anomaly:?}"),
                mib(&analysis),
                describe(verdict),
                match verdict {
                    _ if right => "",
                    Verdict::Unknown(_) => " (undecided within the limits)",
                    _ => " (WRONG: a checker bug)",
                }
            );
        }
    }
    Ok(all_right)
}

fn describe(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Linearizable => "linearizable",
        Verdict::NotLinearizable(_) => "not linearizable",
        Verdict::Unknown(_) => "unknown",
    }
}

fn run_kv(args: &BenchArgs) -> Result<bool, String> {
    let keys = args.keys.unwrap_or(16);
    println!(
        "versioned KV map, {} clients, {keys} keys, {}\u{2030} of replies lost",
        args.clients, args.lost
    );
    let mut all_linearizable = true;
    for &size in &args.sizes {
        let mut rng = StdRng::seed_from_u64(args.seed);
        let history = simulate(&mut rng, args, keys, size);
        let unknown = (history.iter())
            .filter(|op| op.outcome == Outcome::Unknown)
            .count();
        let (analysis, seconds) = timed::<KvSpec>(&history, args);
        let linearizable = analysis.verdict == Verdict::Linearizable;
        all_linearizable &= linearizable;
        println!(
            "{size:>8} operations ({unknown:>5} unknown outcomes): {seconds:>8.3} s, {:>8.1} MiB, {}",
            mib(&analysis),
            match &analysis.verdict {
                Verdict::Linearizable => "linearizable",
                Verdict::NotLinearizable(_) => "NOT linearizable (a checker bug)",
                Verdict::Unknown(_) => "unknown (undecided within the limits)",
            }
        );
    }
    Ok(all_linearizable)
}
/// What a simulated client is doing.
enum Client {
    Idle,
    /// Invoked at the given time, not yet taken effect.
    Invoked(KvOp, Time),
    /// Took effect with this result, reply not yet delivered.
    Applied(KvOp, Time, KvRet),
}

/// A linearizable history of `size` operations: at each tick one random client invokes,
/// takes effect on the one true map, or receives its reply. A lost reply leaves the
/// outcome unknown, whether the operation took effect or not.
fn simulate(rng: &mut StdRng, args: &BenchArgs, keys: u64, size: usize) -> History<KvSpec> {
    let mut truth = KvSpec::default();
    let mut clients: Vec<Client> = (0..args.clients).map(|_| Client::Idle).collect();
    let mut history = Vec::with_capacity(size);
    let mut invoked = 0;
    let lost = |rng: &mut StdRng| rng.random_range(0..2000) < args.lost;
    for time in 0.. {
        if history.len() == size {
            break;
        }
        let c = rng.random_range(0..args.clients);
        let client = &mut clients[c as usize];
        *client = match std::mem::replace(client, Client::Idle) {
            Client::Idle if invoked < size => {
                invoked += 1;
                Client::Invoked(random_op(rng, &truth, keys, time), time)
            }
            Client::Idle => Client::Idle,
            Client::Invoked(op, at) if lost(rng) => {
                history.push(Operation::unknown(c, op, at));
                Client::Idle
            }
            Client::Invoked(op, at) => {
                let ret = truth.invoke(&op);
                Client::Applied(op, at, ret)
            }
            Client::Applied(op, at, _) if lost(rng) => {
                history.push(Operation::unknown(c, op, at));
                Client::Idle
            }
            Client::Applied(op, at, ret) => {
                let outcome = Outcome::Returned { at: time, ret };
                history.push(Operation {
                    client: c,
                    op,
                    invoked: at,
                    outcome,
                });
                Client::Idle
            }
        };
    }
    history
}

/// Half gets, half puts; a third of the puts are conditional on a version that is the
/// current one or just behind it, so that both outcomes of a conditional put occur.
fn random_op(rng: &mut StdRng, truth: &KvSpec, keys: u64, time: Time) -> KvOp {
    let key = format!("k{}", rng.random_range(0..keys)).into();
    if rng.random_bool(0.5) {
        return KvOp::Get { key };
    }
    let version = truth.version(&key);
    let expected = rng
        .random_bool(1.0 / 3.0)
        .then(|| version.saturating_sub(rng.random_range(0..2)));
    KvOp::Put {
        key,
        value: format!("v{time}").into(),
        expected,
    }
}
