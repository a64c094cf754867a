//! `coord test SYSTEM`: the running system checked the way Jepsen checks one. It starts a
//! real cluster on 127.0.0.1, runs clients doing a random mix of operations (the very
//! client actors the models check) and records every invocation and reply, while a fault
//! injector kills, restarts, partitions and pauses nodes. Then it repairs every fault,
//! waits for the cluster to settle, reads back every acknowledged write, and checks the
//! history for linearizability with the checker in `specs/`. The znode service can also be
//! tested over ZooKeeper's own client protocol, coord's nodes and a real ZooKeeper
//! ensemble alike.

mod chain;
mod clients;
mod kv;
mod nemesis;
mod processes;
mod progress;
mod record;
mod role;
mod sessions;
mod settle;
mod srvr;
mod subject;
mod zk;
mod zk_wire;

use crate::client::Target;
use crate::cluster::{data_dir, free_members, local_members};
use crate::logging;
use crate::nodes::Nodes;
use crate::system::{System, DEFAULT_MANAGERS};
use clients::Worker;
use coord::bug::NamedBug;
use coord::chain::ChainBug;
use coord::net::config::ClusterConfig;
use coord::net::frame::ClusterKey;
use coord::raft::RaftBug;
use coord::znode::ZkBug;
use coord_checker::members::Members;
use coord_checker::zookeeper::{free_tcp_ports, ZooKeeperEnsemble};
use coord_specs::history::format::json;
use coord_specs::history::{check, Client, History, Verdict};
use nemesis::{Fault, Injected, Nemesis};
use processes::Processes;
use progress::{Progress, Tally};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use record::Recorder;
use role::Role;
use sessions::{plain_read, stale_reads};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use subject::{lost_writes, read_back, Op, Ret, Subject};
use zk::{Actors, Server, Zk};
use zk_wire::Wire;

/// How long the cluster may take to be ready to serve.
const READY: Duration = Duration::from_secs(60);
/// How often a progress line is printed while clients run.
const PROGRESS: Duration = Duration::from_secs(2);

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The system to test.
    #[arg(value_enum)]
    system: System,
    /// Number of nodes.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// A chain's manager: the number of replicas of its Raft group.
    #[arg(long, default_value_t = DEFAULT_MANAGERS, value_parser = clap::value_parser!(u16).range(1..=7))]
    managers: u16,
    /// Concurrent clients, each with one operation in flight.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    clients: u16,
    /// Seconds of operations and faults.
    #[arg(long, default_value_t = 20.0)]
    duration: f64,
    /// Faults to inject, comma separated (none if not given).
    #[arg(long, value_enum, value_delimiter = ',')]
    faults: Vec<Fault>,
    /// The role of the member every fault hits: kv and zk `leader` or `follower`, chain
    /// `head`, `middle`, `tail` or `manager-leader` (the replica that leads the manager's
    /// Raft group) (default: a role chosen at random for each fault).
    #[arg(long, value_enum)]
    target: Option<Role>,
    #[arg(long, help = bug_help())]
    bug: Option<String>,
    /// How the workload's reads are served. zk: `sync` (the default; linearizable), or
    /// `local`, answered by whichever server the client reaches (ZooKeeper's default).
    /// chain: at the `tail` (the default), or `craq`, at every node.
    #[arg(long, value_enum)]
    reads: Option<Reads>,
    /// Keys the clients share.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(1..))]
    keys: u16,
    /// Percent of the workload's operations that are reads (the rest are writes, two in
    /// five of them conditional on the version last seen).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u8).range(0..=100))]
    read_share: u8,
    /// Operations per second to aim at, all clients together: each client pauses a random
    /// time between operations.
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    /// Where the data, the node logs and the history go (default: a new temp directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Node i listens on 127.0.0.1:(base-port + i) (default: free ports).
    #[arg(long)]
    base_port: Option<u16>,
    /// Seconds to wait, after the run, for the cluster to settle (every node caught up).
    #[arg(long, default_value_t = 60.0)]
    settle: f64,
    /// A shared secret: peer messages and admin commands must carry an HMAC made with it.
    #[arg(long)]
    cluster_key: Option<String>,
    /// Seed of the workload's and the fault injector's random choices (default: random).
    #[arg(long)]
    seed: Option<u64>,
    /// kv and zk: Raft without pre-vote and check-quorum, as in the paper (to compare: a
    /// server cut off by a partition then raises its term and deposes the leader when it
    /// returns).
    #[arg(long)]
    no_pre_vote: bool,
    /// zk: the protocol the clients speak: `coord`'s own (the model-checked client actor,
    /// over UDP; the default) or `zookeeper`'s (coord's jute client, over TCP to each
    /// server's client port). Over ZooKeeper's protocol, `--reads local` plain reads are
    /// judged as ZooKeeper promises them: per session.
    #[arg(long, value_enum)]
    protocol: Option<Protocol>,
    /// zk: the servers under test: `coord`'s nodes (the default), or a real `zookeeper`
    /// 3.8 ensemble of --nodes members (Debian's package), which the run starts and
    /// stops; its clients speak ZooKeeper's protocol. Its faults: kill, restart, pause and
    /// failover-pause (no partition).
    #[arg(long, value_enum)]
    server: Option<Server>,
}

/// The protocol the zk clients speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Protocol {
    Coord,
    #[value(name = "zookeeper")]
    ZooKeeper,
}

/// `--bug`'s help, with every system's bug names as the servers know them.
fn bug_help() -> String {
    let names = |names: Vec<&str>| names.join(", ");
    format!(
        "A deliberate-bug variant every server runs, by the name of its check without the \
         `SYSTEM-bug-` prefix (kv: {}; zk: {}; chain: {})",
        names(RaftBug::names()),
        names(ZkBug::names()),
        names(ChainBug::names()),
    )
}

/// How the workload's reads are served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum Reads {
    Sync,
    Local,
    Tail,
    Craq,
}

pub fn run(args: &TestArgs) -> Result<bool, String> {
    logging::init();
    if args.faults.contains(&Fault::Restart) && !args.faults.contains(&Fault::Kill) {
        return Err("--faults restart needs kill: it starts killed nodes again".into());
    }
    let known = |named: &[&str]| match &args.bug {
        Some(name) if !named.contains(&name.as_str()) => Err(format!(
            "no {} bug {name:?}; known: {}",
            args.system.name(),
            named.join(", ")
        )),
        _ => Ok(()),
    };
    role::check(args.system, args.target)?;
    match args.system {
        System::Kv => known(&RaftBug::names())?,
        System::Zk => known(&ZkBug::names())?,
        System::Chain => known(&ChainBug::names())?,
    }
    let reads = match (args.system, args.reads) {
        (System::Zk, None) => Reads::Sync,
        (System::Chain, None) => Reads::Tail,
        (System::Zk, Some(r @ (Reads::Sync | Reads::Local)))
        | (System::Chain, Some(r @ (Reads::Tail | Reads::Craq))) => r,
        (System::Kv, None) => Reads::Sync,
        (system, Some(reads)) => {
            let reads = format!("{reads:?}").to_lowercase();
            return Err(format!("{} has no {reads} reads", system.name()));
        }
    };
    let (protocol, server) = zk_servers(args)?;
    let stop = interrupt()?;
    let dir = data_dir(args.dir.as_deref(), "test")?;
    let sync = reads == Reads::Sync;
    // Over ZooKeeper's protocol a client's session carries what it saw to every server.
    let per_session = protocol == Protocol::ZooKeeper && !sync;
    if server == Server::ZooKeeper {
        let run = Run::zookeeper(args, dir, stop, per_session)?;
        let servers = run.addrs.clone();
        return run.go(&zk(args, Wire { servers }, Server::ZooKeeper, sync));
    }
    let managers = match args.system {
        System::Chain => args.managers,
        System::Kv | System::Zk => 0,
    };
    let count = args.system.members(args.nodes, managers);
    let members = match args.base_port {
        Some(base) => local_members(base, count)?,
        None => free_members(count)?,
    };
    let target = Target::of_members(members.clone(), managers, args.cluster_key.clone());
    let cluster = target.resolve(args.system)?;
    let nodes = members[..usize::from(args.nodes)].to_vec();
    let client_ports = match protocol {
        Protocol::ZooKeeper => free_tcp_ports(members.len())?,
        Protocol::Coord => Vec::new(),
    };
    let clients: Vec<SocketAddr> = (members.iter().zip(&client_ports))
        .map(|(m, &port)| SocketAddr::from((*m.ip(), port)))
        .collect();
    let mut config = ClusterConfig::new(args.system.name(), members, dir.clone());
    if args.system == System::Chain {
        config.managers = usize::from(managers);
    }
    config.bug = args.bug.clone();
    config.pre_vote = !args.no_pre_vote;
    config.tail_reads = reads == Reads::Tail;
    config.client_ports = client_ports;
    let run = Run::coord(args, dir, config, stop, per_session)?;
    match (args.system, protocol) {
        (System::Kv, _) => run.go(&kv::Kv {
            cluster,
            service: kv::Service::Raft,
        }),
        (System::Zk, Protocol::Coord) => run.go(&zk(args, Actors(cluster), Server::Coord, sync)),
        (System::Zk, Protocol::ZooKeeper) => {
            run.go(&zk(args, Wire { servers: clients }, Server::Coord, sync))
        }
        (System::Chain, _) => run.go(&kv::Kv {
            cluster,
            service: kv::Service::Chain(chain::Chain { nodes }),
        }),
    }
}

/// The znode workload of `args` on `server`, its clients' calls made `via` a transport.
fn zk<T>(args: &TestArgs, via: T, server: Server, sync: bool) -> Zk<T> {
    let keys = args.keys;
    Zk {
        via,
        server,
        keys,
        sync,
    }
}

/// The protocol and the servers of a run, checked against its other options: both are
/// zk's, and a ZooKeeper ensemble speaks only ZooKeeper's protocol, runs none of coord's
/// options, and cannot be partitioned here (its members talk over TCP on 127.0.0.1, and
/// cutting one off would need a packet filter, which needs root, where coord's nodes
/// take an admin command to drop their peers' messages).
fn zk_servers(args: &TestArgs) -> Result<(Protocol, Server), String> {
    if args.system != System::Zk && (args.protocol.is_some() || args.server.is_some()) {
        return Err("--protocol and --server are options of zk".into());
    }
    let server = args.server.unwrap_or(Server::Coord);
    if server == Server::Coord {
        return Ok((args.protocol.unwrap_or(Protocol::Coord), server));
    }
    let refused = [
        (
            args.protocol == Some(Protocol::Coord),
            "--protocol coord: it speaks only ZooKeeper's",
        ),
        (args.bug.is_some(), "--bug: its bugs are not coord's"),
        (args.no_pre_vote, "--no-pre-vote: it does not run Raft"),
        (
            args.cluster_key.is_some(),
            "--cluster-key: its members do not check one",
        ),
        (
            args.base_port.is_some(),
            "--base-port: its members listen on free ports",
        ),
        (
            args.faults.contains(&Fault::Partition),
            "--faults partition: its members talk over TCP on 127.0.0.1, and cutting one off \
             would need a packet filter (root), where coord's nodes drop their peers' \
             messages on an admin command",
        ),
    ];
    match refused.into_iter().find(|(refused, _)| *refused) {
        Some((_, why)) => Err(format!("--server zookeeper takes no {why}")),
        None => Ok((Protocol::ZooKeeper, server)),
    }
}

/// A flag that Ctrl-C sets: the run then stops, and stops every server it started.
fn interrupt() -> Result<Arc<AtomicBool>, String> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    ctrlc::set_handler(move || flag.store(true, Ordering::Relaxed))
        .map_err(|e| format!("cannot handle signals: {e}"))?;
    Ok(stop)
}

/// One run's setup.
struct Run<'a> {
    args: &'a TestArgs,
    dir: PathBuf,
    /// The addresses the servers are asked for their stats at (and told of partitions).
    addrs: Vec<SocketAddr>,
    /// What the servers are and how the clients reach them, if not coord's own way.
    servers: Option<String>,
    nodes: Box<dyn Processes>,
    stop: Arc<AtomicBool>,
    seed: u64,
    /// Whether the workload's plain reads are judged per session (see [`sessions`]).
    per_session: bool,
}

impl<'a> Run<'a> {
    /// Writes the cluster file `config` and starts every node.
    fn coord(
        args: &'a TestArgs,
        dir: PathBuf,
        config: ClusterConfig,
        stop: Arc<AtomicBool>,
        per_session: bool,
    ) -> Result<Self, String> {
        let config_path = dir.join("cluster.json");
        config.save(&config_path)?;
        let key = args.cluster_key.clone();
        let count = config.members.len();
        let mut nodes = Nodes::new(&config_path, count, key, Some(dir.clone()))?;
        for i in 0..count {
            nodes.start(i)?;
        }
        let servers = (!config.client_ports.is_empty()).then(|| {
            let ports = config.connect_string();
            format!("coord's nodes; clients speak ZooKeeper's protocol to {ports}")
        });
        Ok(Run {
            args,
            dir,
            addrs: config.members.into_iter().map(SocketAddr::from).collect(),
            servers,
            nodes: Box::new(nodes),
            stop,
            seed: args.seed.unwrap_or_else(rand::random),
            per_session,
        })
    }

    /// Starts a ZooKeeper ensemble of `--nodes` members and waits until each serves.
    fn zookeeper(
        args: &'a TestArgs,
        dir: PathBuf,
        stop: Arc<AtomicBool>,
        per_session: bool,
    ) -> Result<Self, String> {
        let ensemble = ZooKeeperEnsemble::start(usize::from(args.nodes))?;
        let servers = format!(
            "ZooKeeper {} (its files, removed at the end: {}); clients speak ZooKeeper's \
             protocol",
            ensemble.version(0)?,
            ensemble.dir().display()
        );
        Ok(Run {
            args,
            dir,
            addrs: (0..ensemble.count())
                .map(|i| ensemble.client_addr(i))
                .collect(),
            servers: Some(servers),
            nodes: Box::new(ensemble),
            stop,
            seed: args.seed.unwrap_or_else(rand::random),
            per_session,
        })
    }

    fn go<S: Subject>(mut self, subject: &S) -> Result<bool, String> {
        let args = self.args;
        let faults: BTreeSet<Fault> = args.faults.iter().copied().collect();
        let names: Vec<String> = faults.iter().map(role::value_name).collect();
        println!(
            "coord test {}: {} nodes{}, {} clients, {} s, faults: {}{}{}",
            args.system.name(),
            args.nodes,
            match args.system {
                System::Chain => format!(" and {} manager replicas", args.managers),
                System::Kv | System::Zk => String::new(),
            },
            args.clients,
            args.duration,
            if names.is_empty() {
                "none".into()
            } else {
                names.join(",")
            },
            match (names.is_empty(), args.target) {
                (true, _) => String::new(),
                (false, Some(role)) => format!(", target: {}", role::value_name(&role)),
                (false, None) => ", target: a random role per fault".into(),
            },
            args.bug
                .as_ref()
                .map_or(String::new(), |b| format!(", deliberate bug: {b}"))
        );
        println!(
            "nodes:  {}",
            self.addrs
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        );
        if let Some(servers) = &self.servers {
            println!("servers: {servers}");
        }
        println!(
            "data:   {}{}",
            self.dir.display(),
            match self.args.server {
                Some(Server::ZooKeeper) => "",
                _ => " (node logs: node-I.log)",
            }
        );
        println!("seed:   {}", self.seed);
        let progress = Progress {
            start: Instant::now(),
        };
        let stop = self.stop.clone();
        let probe = |a| subject.stats(a, settle::ASK);
        if !settle::wait_for(&self.addrs, READY, &stop, probe, |r| subject.ready(r)) {
            return Err(match stop.load(Ordering::Relaxed) {
                true => "interrupted".into(),
                false => format!("the cluster did not serve within {READY:?}"),
            });
        }
        let recorder = Recorder::new(progress.start);
        // The setup and the final reads are one more client of the history.
        let reader = Worker {
            subject,
            recorder: &recorder,
            tally: &Tally::default(),
            client: Client::from(args.clients),
            keys: args.keys,
            read_share: args.read_share,
            seed: 0,
            think: Duration::ZERO,
        };
        let setup = subject.setup();
        let unset = reader.strictly(&setup, &stop)?;
        if unset > 0 {
            return Err(format!(
                "{unset} of {} setup operations got no answer",
                setup.len()
            ));
        }
        progress.line(&format!(
            "the cluster serves; {} clients start",
            args.clients
        ));

        let tally = Tally::default();
        let injected = self.operate(subject, &recorder, &tally, &progress)?;
        let history_path = self.dir.join("history.jsonl");
        if stop.load(Ordering::Relaxed) {
            recorder.write(&history_path)?;
            println!(
                "interrupted; the history so far: {}",
                history_path.display()
            );
            return Err("interrupted".into());
        }
        progress.line(&format!("clients done, operations: {}", tally.summary()));
        let wait = Duration::from_secs_f64(args.settle.max(0.0));
        let settled = settle::wait_for(&self.addrs, wait, &stop, probe, |r| subject.settled(r));
        let terms = settle::highest(&self.addrs, "term", probe);
        progress.line(match settled {
            true => "the cluster has settled: every node caught up",
            false => "the cluster did NOT settle",
        });

        // Read every acknowledged write back.
        recorder.write(&history_path)?;
        let reads = read_back(subject, &load::<S>(&history_path)?);
        let unread = reader.strictly(&reads, &stop)?;
        drop(self.nodes);
        progress.line(&format!(
            "read back {} keys ({unread} without an answer)",
            reads.len()
        ));

        let events = recorder.write(&history_path)?;
        let history = load::<S>(&history_path)?;
        let checking = Instant::now();
        // Judged per session, plain reads are left out of the linearizability check.
        let strict: History<S::Spec> = (history.iter())
            .filter(|op| !(self.per_session && plain_read::<S>(op, reader.client)))
            .cloned()
            .collect();
        let verdict = check::<S::Spec>(&strict);
        let stale = match self.per_session {
            true => stale_reads(subject, &history, reader.client),
            false => Vec::new(),
        };
        let seconds = checking.elapsed().as_secs_f64();
        let writes = lost_writes(subject, &history, reader.client);

        println!("operations: {}", tally.summary());
        println!(
            "faults:     {} kills, {} restarts, {} partitions, {} pauses, {} failover pauses",
            injected.kills,
            injected.restarts,
            injected.partitions,
            injected.pauses,
            injected.failover_pauses
        );
        if let Some(term) = terms {
            println!("elections:  {term} (the highest Raft term reached)");
        }
        println!(
            "writes:     {} acknowledged, {} lost, {} not read back",
            writes.acknowledged, writes.lost, writes.unverified
        );
        println!(
            "history:    {} ({events} events, times in µs; coord history check {} --spec {})",
            history_path.display(),
            history_path.display(),
            S::SPEC
        );
        let linearizable = verdict == Verdict::Linearizable;
        let undecided = matches!(verdict, Verdict::Unknown(_));
        let plain = history.len() - strict.len();
        match verdict {
            Verdict::Linearizable => println!(
                "checked:    linearizable ({} operations in {seconds:.2} s{})",
                strict.len(),
                match self.per_session {
                    true => format!("; {plain} plain reads judged per session"),
                    false => String::new(),
                }
            ),
            Verdict::NotLinearizable(failure) => {
                println!("checked:    NOT linearizable ({seconds:.2} s)");
                print!("{failure}");
            }
            Verdict::Unknown(undecided) => {
                println!("checked:    UNKNOWN ({seconds:.2} s)");
                print!("{undecided}");
            }
        }
        if self.per_session {
            match stale.first() {
                None => println!(
                    "sessions:   {plain} plain reads, none older than its session had seen"
                ),
                Some(first) => println!(
                    "sessions:   {} of {plain} plain reads older than their session had \
                     seen; the first: {first}",
                    stale.len()
                ),
            }
        }
        let problems: Vec<&str> = [
            (!linearizable && !undecided, "not linearizable"),
            (!stale.is_empty(), "a session read older than it had seen"),
            (undecided, "the history could not be checked"),
            (writes.lost > 0, "acknowledged writes lost"),
            (writes.unverified > 0, "writes not read back"),
            (!settled, "the cluster did not settle"),
        ]
        .into_iter()
        .filter_map(|(bad, what)| bad.then_some(what))
        .collect();
        match problems.is_empty() {
            true => println!("verdict:    PASS"),
            false => println!("verdict:    FAIL: {}", problems.join("; ")),
        }
        Ok(problems.is_empty())
    }

    /// Runs the clients and the fault injector for the run's duration; prints progress.
    fn operate<S: Subject>(
        &mut self,
        subject: &S,
        recorder: &Recorder<Op<S>, Ret<S>>,
        tally: &Tally,
        progress: &Progress,
    ) -> Result<Injected, String> {
        let args = self.args;
        let end = Instant::now() + Duration::from_secs_f64(args.duration.max(0.0));
        let think = Duration::from_secs_f64(f64::from(args.clients) / args.rate.max(0.001));
        let mut rng = StdRng::seed_from_u64(self.seed);
        let stop: &AtomicBool = &self.stop;
        let key = args.cluster_key.as_deref().map(ClusterKey::new);
        let faults = args.faults.iter().copied().collect();
        let roles = match args.target {
            Some(role) => vec![role],
            None => Role::of(args.system).to_vec(),
        };
        let addrs = self.addrs.clone();
        let nodes = self.nodes.as_mut();
        let mut nemesis = Nemesis::new(nodes, addrs, key, faults, roles, progress);
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..args.clients)
                .map(|c| {
                    let worker = Worker {
                        subject,
                        recorder,
                        tally,
                        client: Client::from(c),
                        keys: args.keys,
                        read_share: args.read_share,
                        seed: rng.random(),
                        think,
                    };
                    scope.spawn(move || worker.run(end, stop))
                })
                .collect();
            let mut nemesis_rng = StdRng::seed_from_u64(rng.random());
            let injector = scope.spawn(move || {
                let outcome = nemesis.run(subject, &mut nemesis_rng, end, stop);
                outcome.map(|()| nemesis.injected)
            });
            let mut next = Instant::now() + PROGRESS;
            while !workers.iter().all(|w| w.is_finished()) {
                std::thread::sleep(Duration::from_millis(50));
                if Instant::now() >= next {
                    progress.line(&format!("operations: {}", tally.summary()));
                    next += PROGRESS;
                }
            }
            for worker in workers {
                worker.join().expect("a client panicked")?;
            }
            injector.join().expect("the fault injector panicked")
        })
    }
}

/// Reads a history this run wrote.
fn load<S: Subject>(path: &Path) -> Result<History<S::Spec>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    json::<S::Spec>(&text).map_err(|e| format!("{}: {e}", path.display()))
}
