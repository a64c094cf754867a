//! `coord history bench`: the history checker's speed on generated valid histories.

use coord_specs::history::{check, History, Operation, Outcome, Time, Verdict};
use coord_specs::kv::{KvOp, KvRet, KvSpec};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use stateright::semantics::SequentialSpec;
use std::time::Instant;

#[derive(clap::Args)]
pub struct BenchArgs {
    /// History sizes, in operations.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000,100000")]
    sizes: Vec<usize>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    clients: u64,
    /// Keys of the map (each an independent partition).
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    keys: u64,
    /// Per mille of operations whose reply is lost (half of them never take effect).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(0..=1000))]
    lost: u64,
    /// Seed of the generator, so that runs are repeatable.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// Generates and checks one history per size, printing the time each check took;
/// `Ok(true)` if every one was found linearizable, as each is by construction.
pub fn run(args: &BenchArgs) -> Result<bool, String> {
    println!(
        "versioned KV map, {} clients, {} keys, {}\u{2030} of replies lost",
        args.clients, args.keys, args.lost
    );
    let mut all_linearizable = true;
    for &size in &args.sizes {
        let mut rng = StdRng::seed_from_u64(args.seed);
        let history = simulate(&mut rng, args, size);
        let unknown = (history.iter())
            .filter(|op| op.outcome == Outcome::Unknown)
            .count();
        let start = Instant::now();
        let verdict = check::<KvSpec>(&history);
        let seconds = start.elapsed().as_secs_f64();
        let linearizable = verdict == Verdict::Linearizable;
        all_linearizable &= linearizable;
        println!(
            "{size:>8} operations ({unknown:>5} unknown outcomes): {seconds:>8.3} s, {}",
            if linearizable {
                "linearizable"
            } else {
                "NOT linearizable (a checker bug)"
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
fn simulate(rng: &mut StdRng, args: &BenchArgs, size: usize) -> History<KvSpec> {
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
        let unknown = |op, invoked| Operation {
            client: c,
            op,
            invoked,
            outcome: Outcome::Unknown,
        };
        *client = match std::mem::replace(client, Client::Idle) {
            Client::Idle if invoked < size => {
                invoked += 1;
                Client::Invoked(random_op(rng, &truth, args.keys, time), time)
            }
            Client::Idle => Client::Idle,
            Client::Invoked(op, at) if lost(rng) => {
                history.push(unknown(op, at));
                Client::Idle
            }
            Client::Invoked(op, at) => {
                let ret = truth.invoke(&op);
                Client::Applied(op, at, ret)
            }
            Client::Applied(op, at, _) if lost(rng) => {
                history.push(unknown(op, at));
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
