//! `coord bench kv`: throughput and latency of a running KV cluster, measured with N
//! concurrent copies of the model-checked client actor, first writing, then reading.

use crate::client::Target;
use crate::logging;
use coord::client::ClientMsg;
use coord::raft::Msg;
use coord_specs::kv::KvOp;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Keys per client: writes cycle through them, and reads then find them written.
const KEYS: usize = 64;
/// Operations in each client's script: more than any client completes in a phase.
const SCRIPT: usize = 100_000;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Puts, then gets, each for a fixed duration.
    Kv(KvBenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct KvBenchArgs {
    /// Concurrent clients, each with one operation in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    clients: u16,
    /// Seconds per phase (writes, then reads).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[command(flatten)]
    target: Target,
}

/// What one phase measured.
struct Phase {
    ops: usize,
    latencies: Vec<Duration>,
    seconds: f64,
}

pub fn run(command: &BenchCommand) -> Result<bool, String> {
    logging::init();
    let BenchCommand::Kv(args) = command;
    let servers = args.target.servers()?.len();
    let duration = Duration::from_secs_f64(args.duration.max(0.1));
    println!(
        "kv bench: {servers} servers, {} clients, {:.1} s per phase",
        args.clients,
        duration.as_secs_f64()
    );
    println!(
        "{:<7} {:>8} {:>10} {:>9} {:>9}",
        "phase", "ops", "ops/s", "p50 ms", "p99 ms"
    );
    let cpu_before = cpu_seconds();
    let wall = Instant::now();
    for (name, write) in [("writes", true), ("reads", false)] {
        let phase = run_phase(args, write, duration)?;
        if phase.ops == 0 {
            return Err(format!("no {name} completed: is the cluster up?"));
        }
        println!(
            "{name:<7} {:>8} {:>10.1} {:>9.2} {:>9.2}",
            phase.ops,
            phase.ops as f64 / phase.seconds,
            percentile(&phase.latencies, 50.0),
            percentile(&phase.latencies, 99.0)
        );
    }
    let cpu = cpu_seconds() - cpu_before;
    let wall = wall.elapsed().as_secs_f64();
    println!(
        "client CPU: {cpu:.2} s user+sys over {wall:.1} s ({:.0}% of one core)",
        100.0 * cpu / wall
    );
    Ok(true)
}

/// Runs every client in its own thread until the phase's deadline.
fn run_phase(args: &KvBenchArgs, write: bool, duration: Duration) -> Result<Phase, String> {
    let start = Instant::now();
    let deadline = start + duration;
    let results = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.clients)
            .map(|c| scope.spawn(move || run_client(&args.target, c, write, deadline)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a bench client panicked"))
            .collect::<Result<Vec<_>, String>>()
    })?;
    let latencies: Vec<Duration> = results.into_iter().flatten().collect();
    Ok(Phase {
        ops: latencies.len(),
        latencies,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// One client's latencies. The client sends its next request as soon as a reply comes, so
/// each answer's latency is the time since the previous answer (or the start).
fn run_client(
    target: &Target,
    c: u16,
    write: bool,
    deadline: Instant,
) -> Result<Vec<Duration>, String> {
    let script = (0..SCRIPT)
        .map(|i| {
            let key = format!("bench/{c}/{}", i % KEYS).into();
            match write {
                true => KvOp::Put {
                    key,
                    value: format!("{i}").into(),
                    expected: None,
                },
                false => KvOp::Get { key },
            }
        })
        .collect();
    let mut client = target.client(script)?;
    let mut latencies = Vec::new();
    let mut sent = Instant::now();
    client
        .run(
            &AtomicBool::new(false),
            Some(deadline),
            |state| state.next >= SCRIPT,
            |_, msg| {
                if let Msg::Client(ClientMsg::Reply { seq, .. }) = msg {
                    if *seq == latencies.len() as u64 + 1 {
                        let now = Instant::now();
                        latencies.push(now - sent);
                        sent = now;
                    }
                }
            },
        )
        .map_err(|e| e.to_string())?;
    Ok(latencies)
}

/// The `p`th percentile in milliseconds (nearest rank).
fn percentile(latencies: &[Duration], p: f64) -> f64 {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// CPU time (user and system) this process has used so far.
fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
