//! `coord bench kv|zk|chain`: throughput and latency of a running cluster, measured with
//! N concurrent copies of the model-checked client actor of its system, one phase after
//! another (writes, then reads), each for a fixed duration. `coord bench chain --chains`
//! starts chains of the given lengths itself, one after another, optionally with a fixed
//! CPU budget per node (see [`crate::cpu_budget`]), to show how CRAQ's reads scale with
//! the chain's length against reads at the tail.

use crate::bench_wire::{WireBench, WireLoad};
use crate::both::{parse_connect, BothArgs};
use crate::client::{first_answer, run_until, Cluster, Target};
use crate::cluster::{data_dir, free_members};
use crate::cpu_budget::CpuBudget;
use crate::logging;
use crate::nodes::Nodes;
use crate::system::System;
use coord::client::{ClientMsg, Wire};
use coord::net::admin::request_stats;
use coord::net::admit::Admit;
use coord::net::config::ClusterConfig;
use coord::net::Runtime;
use coord::znode::client::{Call, Next, Program};
use coord::znode::ZkMsg;
use coord::{chain, raft};
use coord_specs::kv::{KvOp, KvRet};
use coord_specs::znode::build::{create, get, set};
use coord_specs::znode::{CreateMode, ZkRet, ANY_VERSION};
use serde::{de::DeserializeOwned, Serialize};
use stateright::actor::{Actor, Id};
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Keys (znodes) per client: writes cycle through them, and reads then find them written.
const KEYS: u64 = 64;
/// Operations in each KV client's script: more than any client completes in a phase.
const SCRIPT: usize = 100_000;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Puts, then ReadIndex gets.
    Kv(BenchArgs),
    /// Creates and sets, then reads at the client's server, then reads after a sync; with
    /// --connect or --both, over ZooKeeper's client protocol, against any server.
    Zk(ZkBenchArgs),
    /// Puts; then classic reads at the tail against CRAQ reads at every node, read-only
    /// and with about one operation in ten a write; with the share of reads each node
    /// served.
    Chain(ChainBenchArgs),
}

#[derive(clap::Args, Debug)]
pub struct ChainBenchArgs {
    #[command(flatten)]
    bench: BenchArgs,
    /// Start a chain of each of these lengths on 127.0.0.1 (free ports, one manager
    /// replica), one after another, and measure each, rather than a running cluster;
    /// comma separated.
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u16).range(1..=9),
          conflicts_with_all = ["cluster", "config"])]
    chains: Vec<u16>,
    /// With --chains: the share of one core, in percent, that each chain node may use,
    /// by a cgroup CPU quota per node process (needs Linux's cgroup v1 cpu controller,
    /// writable: run as root).
    #[arg(long, requires = "chains", value_parser = clap::value_parser!(u32).range(1..=100))]
    cpu_quota: Option<u32>,
}

#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Concurrent clients, each with one operation in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    clients: u16,
    /// Seconds per phase.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    #[command(flatten)]
    target: Target,
}

/// `bench zk`'s arguments: coord's own client by default; ZooKeeper's protocol, with the
/// same client code for any server, with `--connect` or `--both`.
#[derive(clap::Args, Debug)]
pub struct ZkBenchArgs {
    #[command(flatten)]
    bench: BenchArgs,
    /// Drive the servers at this connect string (host:port,...) over ZooKeeper's client
    /// protocol: coord's client ports or a ZooKeeper ensemble alike.
    #[arg(long, conflicts_with = "both")]
    connect: Option<String>,
    /// Drive a coord zk cluster and a ZooKeeper 3.8 ensemble with the same load, row by
    /// row, and print them side by side with the ratio (each started here unless given
    /// by --coord or --zookeeper).
    #[arg(long)]
    both: bool,
    #[command(flatten)]
    clusters: BothArgs,
    /// With --connect or --both: the counts of clients to measure, each a row per load.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,64")]
    sweep: Vec<u16>,
    /// With --connect or --both: seconds of load before each row's count starts.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
}

/// What one phase measured: each client's answers (latency, and the server that sent
/// it), and how long the phase took.
struct Phase {
    answers: Vec<Vec<(Duration, Id)>>,
    seconds: f64,
}

impl Phase {
    /// Answers per second, all clients together.
    fn rate(&self) -> f64 {
        self.answers.iter().map(Vec::len).sum::<usize>() as f64 / self.seconds
    }
}

pub fn run(command: &BenchCommand) -> Result<bool, String> {
    logging::init();
    let (system, args) = match command {
        BenchCommand::Kv(args) => (System::Kv, args),
        BenchCommand::Zk(zk) if zk.connect.is_some() || zk.both => return wire(zk),
        BenchCommand::Zk(zk) => (System::Zk, &zk.bench),
        BenchCommand::Chain(chain) => (System::Chain, &chain.bench),
    };
    let bench = Bench {
        clients: args.clients,
        duration: Duration::from_secs_f64(args.duration.max(0.1)),
    };
    if let BenchCommand::Chain(chain) = command {
        if !chain.chains.is_empty() {
            return local_chains(&bench, &chain.chains, chain.cpu_quota);
        }
    }
    let cluster = &args.target.resolve(system)?;
    measured(system, cluster, &bench, || match system {
        System::Kv => {
            let kv = |write| move |c| cluster.kv_client(kv_script(c, write));
            bench.phase("writes", kv(true))?;
            bench.phase("reads", kv(false))?;
            Ok(())
        }
        System::Zk => {
            let zk = |call: fn(u16, u64) -> Call| {
                move |c| cluster.zk_client(|_| Load { client: c, call })
            };
            bench.phase("writes", zk(zk_write))?;
            bench.phase("reads", zk(|c, i| Call::plain(zk_read(c, i))))?;
            bench.phase("synced reads", zk(|c, i| Call::synced(zk_read(c, i))))?;
            Ok(())
        }
        System::Chain => chain_phases(&bench, cluster).map(|_| ()),
    })?;
    Ok(true)
}

/// Runs `phases` against `cluster` between a header (the cluster, the clients, the
/// phases' columns) and the CPU this process (the clients) used meanwhile.
fn measured<R>(
    system: System,
    cluster: &Cluster,
    bench: &Bench,
    phases: impl FnOnce() -> Result<R, String>,
) -> Result<R, String> {
    println!(
        "{} bench: {} servers, {} clients, {:.1} s per phase",
        system.name(),
        cluster.size(),
        bench.clients,
        bench.duration.as_secs_f64()
    );
    println!(
        "{:<13} {:>8} {:>10} {:>9} {:>9}",
        "phase", "ops", "ops/s", "p50 ms", "p99 ms"
    );
    let cpu_before = cpu_seconds();
    let wall = Instant::now();
    let result = phases()?;
    print_client_cpu(cpu_before, wall);
    Ok(result)
}

/// `bench zk` over ZooKeeper's protocol: one cluster's rows, or both clusters' side by
/// side, each row run on coord and then on ZooKeeper before the next.
fn wire(args: &ZkBenchArgs) -> Result<bool, String> {
    let wire = WireBench {
        warmup: Duration::from_secs_f64(args.warmup.max(0.0)),
        duration: Duration::from_secs_f64(args.bench.duration.max(0.1)),
        tag: std::process::id().to_string(),
    };
    let cpu_before = cpu_seconds();
    let wall = Instant::now();
    let secs = wire.duration.as_secs_f64();
    let ms = |r: &crate::bench_wire::Row| format!("{:.2} / {:.2}", r.p50_ms, r.p99_ms);
    let cores = |r: &crate::bench_wire::Row| format!("{:.0}%", 100.0 * r.client_cores);
    match &args.connect {
        Some(connect) => {
            let servers = parse_connect(connect)?;
            println!(
                "zk bench over ZooKeeper's protocol: {} servers, {secs:.1} s per row after {:.1} s of warm-up",
                servers.len(),
                wire.warmup.as_secs_f64()
            );
            println!(
                "{:<16} {:>7} {:>8} {:>10} {:>17} {:>10}",
                "load", "clients", "ops", "ops/s", "p50 / p99 ms", "client CPU"
            );
            for load in WireLoad::ALL {
                for &clients in &args.sweep {
                    let row = wire.row(&servers, load, clients)?;
                    lost(&[("", &row)]);
                    println!(
                        "{:<16} {clients:>7} {:>8} {:>10.0} {:>17} {:>10}",
                        load.name(),
                        row.ops,
                        row.rate,
                        ms(&row),
                        cores(&row)
                    );
                }
            }
        }
        None => {
            let both = args.clusters.start()?;
            println!(
                "zk bench over ZooKeeper's protocol, coord and ZooKeeper {secs:.1} s per row each, \
                 after {:.1} s of warm-up",
                wire.warmup.as_secs_f64()
            );
            println!(
                "{:<16} {:>7} {:>10} {:>15} {:>10} {:>15} {:>8} {:>11}",
                "load",
                "clients",
                "coord/s",
                "p50 / p99 ms",
                "ZK/s",
                "p50 / p99 ms",
                "coord/ZK",
                "client CPU"
            );
            for load in WireLoad::ALL {
                for &clients in &args.sweep {
                    both.go_on()?;
                    let coord = wire.row(&both.coord, load, clients)?;
                    let zookeeper = wire.row(&both.zookeeper, load, clients)?;
                    lost(&[("coord", &coord), ("ZooKeeper", &zookeeper)]);
                    println!(
                        "{:<16} {clients:>7} {:>10.0} {:>15} {:>10.0} {:>15} {:>7.2}x {:>5} {:>5}",
                        load.name(),
                        coord.rate,
                        ms(&coord),
                        zookeeper.rate,
                        ms(&zookeeper),
                        coord.rate / zookeeper.rate,
                        cores(&coord),
                        cores(&zookeeper)
                    );
                }
            }
        }
    }
    print_client_cpu(cpu_before, wall);
    Ok(true)
}

/// The client's CPU use since `cpu_before` seconds of it, at `wall`.
fn print_client_cpu(cpu_before: f64, wall: Instant) {
    let cpu = cpu_seconds() - cpu_before;
    let wall = wall.elapsed().as_secs_f64();
    println!(
        "client CPU: {cpu:.2} s user+sys over {wall:.1} s ({:.0}% of one core)",
        100.0 * cpu / wall
    );
}

/// A line above a row whose clients lost their connection and resumed their sessions.
fn lost(rows: &[(&str, &crate::bench_wire::Row)]) {
    for (who, row) in rows.iter().filter(|(_, row)| row.lost > 0) {
        println!(
            "    ({who} clients below lost their connection {} times and resumed)",
            row.lost
        );
    }
}

/// How long a chain started by the bench may take to publish its configuration.
const READY: Duration = Duration::from_secs(60);

/// `coord bench chain --chains`: for each length, a fresh local chain (its nodes held to
/// `quota` percent of a core each, if given) measured as [`chain_phases`] does, then one
/// table of the reads per second at the tail and under CRAQ, side by side.
fn local_chains(bench: &Bench, lengths: &[u16], quota: Option<u32>) -> Result<bool, String> {
    let mut budget = quota.map(CpuBudget::new).transpose()?;
    match quota {
        Some(percent) => println!(
            "each chain node held to {percent}% of one core (a cgroup CPU quota per node \
             process); the manager and the clients unbounded"
        ),
        None => println!("no CPU budget: the nodes share the machine's cores (see --cpu-quota)"),
    }
    let mut rows = Vec::new();
    for &length in lengths {
        let (nodes, cluster) = start_chain(length, budget.as_mut())?;
        let reads = measured(System::Chain, &cluster, bench, || {
            chain_phases(bench, &cluster)
        })?;
        drop(nodes);
        rows.push((length, reads));
    }
    println!("reads/s, all readers together (tail: chain replication; craq: every node):");
    println!(
        "{:<6} {:>12} {:>12} {:>10} {:>12} {:>12} {:>10}",
        "chain", "tail", "craq", "craq/tail", "tail mixed", "craq mixed", "craq/tail"
    );
    for (length, r) in rows {
        println!(
            "{length:<6} {:>12.0} {:>12.0} {:>9.2}x {:>12.0} {:>12.0} {:>9.2}x",
            r.tail,
            r.craq,
            r.craq / r.tail,
            r.tail_mixed,
            r.craq_mixed,
            r.craq_mixed / r.tail_mixed
        );
    }
    Ok(true)
}

/// Starts a chain of `length` nodes and one manager replica on free ports of 127.0.0.1,
/// each node confined to `budget` if given, and waits until the manager publishes it.
fn start_chain(length: u16, budget: Option<&mut CpuBudget>) -> Result<(Nodes, Cluster), String> {
    let dir = data_dir(None, &format!("bench-chain{length}"))?;
    let members = free_members(length + 1)?;
    let mut config = ClusterConfig::new(System::Chain.name(), members.clone(), dir.clone());
    config.managers = 1;
    let path = dir.join("cluster.json");
    config.save(&path)?;
    let mut nodes = Nodes::new(&path, members.len(), None, Some(dir.clone()))?;
    let mut budget = budget;
    for i in 0..members.len() {
        let pid = nodes.start(i)?;
        if let (Some(budget), true) = (budget.as_deref_mut(), i < usize::from(length)) {
            budget.confine(&format!("chain{length}-node{i}"), pid)?;
        }
    }
    let manager = std::net::SocketAddr::from(members[usize::from(length)]);
    let deadline = Instant::now() + READY;
    let published = || {
        let stats = request_stats(manager, Duration::from_secs(1)).ok()?;
        let chain = stats.field("chain")?;
        Some(chain.split(',').filter(|m| !m.is_empty()).count())
    };
    while published() != Some(usize::from(length)) {
        if Instant::now() >= deadline {
            return Err(format!(
                "the chain of {length} in {} was not published within {READY:?}",
                dir.display()
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let cluster = Target::of_members(members, 1, None).resolve(System::Chain)?;
    Ok((nodes, cluster))
}

/// What the read phases of a chain measured: reads per second, all readers together,
/// read-only and with writes mixed in, at the tail and under CRAQ.
struct ReadRates {
    tail: f64,
    craq: f64,
    tail_mixed: f64,
    craq_mixed: f64,
}

/// The chain's phases: puts (which also write the keys read later); then, for classic
/// reads at the tail and for CRAQ reads (the readers spread evenly over the N nodes), a
/// read-only phase
/// and a mixed one in which some clients write the keys that the others read. Enough
/// writers for about one operation in ten to be a write are estimated from the rates of
/// the write phase and of the read-only phase. Each read phase prints the share of reads
/// each node served, and the mixed phases the share of operations that were writes.
fn chain_phases(bench: &Bench, cluster: &Cluster) -> Result<ReadRates, String> {
    wait_for_reads(cluster)?;
    let n = bench.clients;
    let nodes = &cluster.chain_nodes();
    let client = |c: u16, writers: u16, craq: bool| {
        let at = craq.then_some(usize::from(c.saturating_sub(writers)) % nodes.len());
        match c < writers {
            true => cluster.chain_client(kv_script(c, true), None),
            false => cluster.chain_client(kv_script(c % writers.max(1), false), at),
        }
    };
    let written = bench.phase("writes", |c| client(c, n, false))?;
    let per_client = |phase: &Phase| phase.rate() / f64::from(n);
    let write_rate = per_client(&written);
    let mut rates = Vec::new();
    for (mode, craq) in [("tail", false), ("craq", true)] {
        let read_only = bench.phase(&format!("{mode} reads"), |c| client(c, 0, craq))?;
        println!("    reads served: {}", shares(&read_only, nodes, 0));
        let read_rate = per_client(&read_only);
        let estimate = 0.1 * f64::from(n) * read_rate / (0.9 * write_rate + 0.1 * read_rate);
        let writers = (estimate.round() as u16).clamp(1, n.saturating_sub(1).max(1));
        let mixed = bench.phase(&format!("{mode} mixed"), |c| client(c, writers, craq))?;
        let count = |answers: &[Vec<(Duration, Id)>]| answers.iter().map(Vec::len).sum::<usize>();
        let (writes, reads) = mixed.answers.split_at(usize::from(writers));
        let share = count(writes) as f64 / (count(writes) + count(reads)).max(1) as f64;
        println!(
            "    reads served: {}; {writers} of {n} clients writing, writes {:.0}% of operations",
            shares(&mixed, nodes, writers),
            100.0 * share
        );
        rates.push((read_only.rate(), count(reads) as f64 / mixed.seconds));
    }
    let [(tail, tail_mixed), (craq, craq_mixed)] = rates[..] else {
        unreachable!("two read modes")
    };
    Ok(ReadRates {
        tail,
        craq,
        tail_mixed,
        craq_mixed,
    })
}

/// Waits until the chain answers a read, so that no phase times the chain's start: right
/// after `cluster up` its nodes take writes before the manager's replicas have a leader,
/// but a node answers reads only under a lease, which only that leader grants.
fn wait_for_reads(cluster: &Cluster) -> Result<(), String> {
    let probe = vec![KvOp::Get {
        key: "bench/ready".into(),
    }];
    let mut client = cluster.chain_client(probe, None)?;
    match first_answer(cluster, &mut client, |msg| msg.answers())? {
        Some(_) => Ok(()),
        None => Err(format!(
            "the chain answered no read within {:?}: is its manager up?",
            cluster.timeout
        )),
    }
}

/// The share of the reads of `phase` (its clients from `writers` on) each node served.
fn shares(phase: &Phase, nodes: &[Id], writers: u16) -> String {
    let reads: Vec<Id> = phase.answers[usize::from(writers)..]
        .iter()
        .flatten()
        .map(|a| a.1)
        .collect();
    let total = reads.len().max(1) as f64;
    (nodes.iter().enumerate())
        .map(|(i, node)| {
            let served = reads.iter().filter(|&&s| s == *node).count();
            format!("n{i} {:.0}%", 100.0 * served as f64 / total)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// KV client `c`'s script: puts or gets cycling through its keys.
fn kv_script(c: u16, write: bool) -> Vec<KvOp> {
    (0..SCRIPT)
        .map(|i| {
            let key = format!("bench/{c}/{}", i as u64 % KEYS).into();
            match write {
                true => KvOp::Put {
                    key,
                    value: format!("{i}").into(),
                    expected: None,
                },
                false => KvOp::Get { key },
            }
        })
        .collect()
}

/// zk client `c`'s write `i`: create `/bench`, then its nodes, then set them in turn.
fn zk_write(c: u16, i: u64) -> Call {
    let op = match i {
        0 => create("/bench", "", CreateMode::Persistent, 0),
        i if i <= KEYS => create(&zk_node(c, i), "", CreateMode::Persistent, 0),
        i => set(&zk_node(c, i), &i.to_string(), ANY_VERSION),
    };
    Call::plain(op)
}

fn zk_read(c: u16, i: u64) -> coord_specs::znode::ZkOp {
    get(&zk_node(c, i))
}

fn zk_node(c: u16, i: u64) -> String {
    format!("/bench/{c}-{}", i % KEYS)
}

/// A bench client's endless program: call `i` is `call(client, i)`. Its state counts the
/// answers, so that it stays small however many calls the client makes.
#[derive(Clone, Debug)]
struct Load {
    client: u16,
    call: fn(u16, u64) -> Call,
}

impl Program for Load {
    type State = u64;

    fn start(&self) -> (u64, Next) {
        (0, Next::Call((self.call)(self.client, 0)))
    }

    fn on_return(&self, answered: &mut u64, _ret: &ZkRet) -> Next {
        *answered += 1;
        Next::Call((self.call)(self.client, *answered))
    }

    fn on_wake(&self, answered: &mut u64) -> Next {
        Next::Call((self.call)(self.client, *answered))
    }
}

/// How a bench runs its phases.
struct Bench {
    clients: u16,
    duration: Duration,
}

impl Bench {
    /// Runs one phase with the clients `start(c)`, each in its own thread, until the
    /// phase's deadline, and prints its row.
    fn phase<A>(
        &self,
        name: &str,
        start: impl Fn(u16) -> Result<Runtime<A>, String> + Sync,
    ) -> Result<Phase, String>
    where
        A: Actor<Storage = ()>,
        A::Msg: Admit + Serialize + DeserializeOwned + Answers,
    {
        let started = Instant::now();
        let deadline = started + self.duration;
        let results = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..self.clients)
                .map(|c| {
                    let start = &start;
                    scope.spawn(move || time_client(start(c)?, deadline))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a bench client panicked"))
                .collect::<Result<Vec<_>, String>>()
        })?;
        let phase = Phase {
            answers: results,
            seconds: started.elapsed().as_secs_f64(),
        };
        let latencies: Vec<Duration> = phase.answers.iter().flatten().map(|a| a.0).collect();
        let ops = latencies.len();
        if ops == 0 {
            return Err(format!("no {name} completed: is the cluster up?"));
        }
        println!(
            "{name:<13} {ops:>8} {:>10.1} {:>9.2} {:>9.2}",
            phase.rate(),
            percentile(&latencies, 50.0),
            percentile(&latencies, 99.0)
        );
        Ok(phase)
    }
}

/// One client's answers until `deadline`: latency and sender. The client sends its next
/// request as soon as a reply comes, so each answer's latency is the time since the
/// previous answer (or the start).
fn time_client<A>(mut client: Runtime<A>, deadline: Instant) -> Result<Vec<(Duration, Id)>, String>
where
    A: Actor<Storage = ()>,
    A::Msg: Admit + Serialize + DeserializeOwned + Answers,
{
    let mut latencies = Vec::new();
    let mut sent = Instant::now();
    run_until(
        &mut client,
        &AtomicBool::new(false),
        Some(deadline),
        |_| false,
        |src, msg| {
            if let Some(seq) = msg.answers() {
                if seq == latencies.len() as u64 + 1 {
                    let now = Instant::now();
                    latencies.push((now - sent, src));
                    sent = now;
                }
            }
        },
    )?;
    Ok(latencies)
}

/// A client message type whose replies name the request they answer.
trait Answers {
    /// The number of the request this message answers, if it is a reply.
    fn answers(&self) -> Option<u64>;
}

/// A key-value service's reply's sequence number.
fn kv_answers<M: Wire<KvOp, KvRet>>(msg: &M) -> Option<u64> {
    match msg.as_client()? {
        ClientMsg::Reply { seq, .. } => Some(*seq),
        _ => None,
    }
}

impl Answers for raft::Msg<KvOp, KvRet> {
    fn answers(&self) -> Option<u64> {
        kv_answers(self)
    }
}

impl Answers for chain::Msg<KvOp, KvRet> {
    fn answers(&self) -> Option<u64> {
        kv_answers(self)
    }
}

/// The znode service's replies, by xid (a coord client's xid is its call's number).
impl Answers for ZkMsg {
    fn answers(&self) -> Option<u64> {
        match self {
            ZkMsg::Reply(reply) => u64::try_from(reply.xid).ok(),
            _ => None,
        }
    }
}

/// The `p`th percentile in milliseconds (nearest rank).
pub fn percentile(latencies: &[Duration], p: f64) -> f64 {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1000.0
}

/// CPU time (user and system) this process has used so far.
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes into the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
