//! `coord`: the front door. Parsing, wiring and printing only; what is checked lives in
//! `coord-models`.

mod bench;
mod bench_wire;
mod both;
mod chain;
mod check;
mod client;
mod cluster;
mod counter;
mod cpu_budget;
mod diff;
mod ensemble;
mod explore;
mod history;
mod kv;
mod lock;
mod logging;
mod node;
mod nodes;
mod reconfigure;
mod simulate;
mod stats;
mod suite;
mod system;
mod test;
mod zk;

use clap::{Parser, Subcommand};
use coord_models::Bounds;
use std::process::ExitCode;

/// Model checking clones and drops millions of small states a second; mimalloc makes that
/// markedly cheaper than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "coord",
    version,
    about = "Model-checked ZooKeeper-style coordination and chain replication",
    long_about = "Model-checked ZooKeeper-style coordination and chain replication.\n\n\
        `coord list` names the checks; `coord check` runs them all and exits 0 only if every \
        property's verdict is the expected one; `coord explore NAME` steps through one in a browser."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every named check, one per line, with what it checks.
    List,
    /// Run checks (all when no name is given; a name also selects its `NAME-*` family).
    Check(check::CheckArgs),
    /// Random walks over each check's model at a larger size than `check` can finish,
    /// judging every invariant in every state; a violation prints the seed that replays it.
    Simulate(simulate::SimulateArgs),
    /// Serve stateright's Explorer on one check, to step through it in a browser.
    Explore(explore::ExploreArgs),
    /// Run a local cluster of real node processes.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Run one node of a cluster described by a config file.
    Node(node::NodeArgs),
    /// Put and get keys in a running KV cluster.
    #[command(subcommand)]
    Kv(kv::KvCommand),
    /// Put and get keys in a running chain (reads at the tail, or anywhere with --craq).
    #[command(subcommand)]
    Chain(chain::ChainCommand),
    /// Create, read, change, delete and watch znodes in a running zk cluster.
    #[command(subcommand)]
    Zk(zk::ZkCommand),
    /// The counter recipe on a running zk cluster.
    #[command(subcommand)]
    Counter(counter::CounterCommand),
    /// The scalable lock recipe on a running zk cluster.
    #[command(subcommand)]
    Lock(lock::LockCommand),
    /// Print a running node's status and counters.
    Stats(stats::StatsArgs),
    /// Measure a running cluster's throughput and latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Check recorded client histories for linearizability, or benchmark that checker.
    History(history::HistoryArgs),
    /// Test a real cluster under faults (kill, restart, partition, pause, failover-pause):
    /// record what clients see, read back every acknowledged write, and check the history.
    Test(test::TestArgs),
    /// Run a real ZooKeeper 3.8 ensemble (Debian's package) on 127.0.0.1, to compare with.
    #[command(subcommand)]
    Zookeeper(ensemble::ZooKeeperCommand),
    /// Compare coord's ZooKeeper with ZooKeeper 3.8 on seeded plans of calls.
    #[command(subcommand)]
    Diff(diff::DiffCommand),
    /// Run ZooKeeper clients' own test suites (kazoo's) against a cluster.
    #[command(subcommand)]
    Suite(suite::SuiteCommand),
}

/// Size overrides shared by `check` and `explore`.
#[derive(clap::Args, Clone, Debug)]
pub struct SizeArgs {
    /// Number of servers.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=9))]
    servers: Option<u16>,
    /// Number of clients.
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=8))]
    clients: Option<u16>,
    /// Operations per client.
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=8))]
    ops: Option<u16>,
    /// Highest term explored.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=16))]
    max_term: Option<u64>,
    /// Longest log explored.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=16))]
    max_log: Option<u16>,
    /// Crashes: 0 for none. In the Raft checks any larger number lets any server crash at
    /// any step and restart from its storage.
    #[arg(long, value_parser = clap::value_parser!(u16).range(0..=8))]
    max_crashes: Option<u16>,
    /// Resends (retries and redirects) explored, all clients together.
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=16))]
    max_resends: Option<u8>,
    /// Servers that may stand for election (the first ones).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=9))]
    campaigners: Option<u16>,
}

impl SizeArgs {
    fn bounds(&self) -> Bounds {
        Bounds {
            servers: self.servers.map(usize::from),
            clients: self.clients.map(usize::from),
            ops: self.ops.map(usize::from),
            max_term: self.max_term,
            max_log: self.max_log.map(usize::from),
            max_crashes: self.max_crashes.map(usize::from),
            max_resends: self.max_resends,
            campaigners: self.campaigners.map(usize::from),
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Like other command-line tools, end quietly when the reader of our output goes away
    // (`coord list | head`) rather than panic on the failed write. Not a command that
    // starts nodes of its own: killed by the signal, it would leave them running, while
    // the failed write's panic unwinds through the code that stops them.
    if !matches!(
        cli.command,
        Command::Cluster(_)
            | Command::Test(_)
            | Command::Zookeeper(_)
            | Command::Suite(_)
            | Command::Diff(_)
            | Command::Bench(_)
    ) {
        // SAFETY: restoring a signal's default disposition before any thread starts.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let result = match cli.command {
        Command::List => {
            for c in coord_models::checks() {
                println!("{:<26} {}", c.name, c.about);
            }
            Ok(true)
        }
        Command::Check(args) => check::run(&args),
        Command::Simulate(args) => simulate::run(&args),
        Command::Explore(args) => explore::run(&args).map(|()| true),
        Command::Cluster(command) => cluster::run(&command),
        Command::Node(args) => node::run(&args),
        Command::Kv(command) => kv::run(&command),
        Command::Chain(command) => chain::run(&command),
        Command::Zk(command) => zk::run(&command),
        Command::Counter(command) => counter::run(&command),
        Command::Lock(command) => lock::run(&command),
        Command::Stats(args) => stats::run(&args),
        Command::Bench(command) => bench::run(&command),
        Command::History(args) => history::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Zookeeper(command) => ensemble::run(&command),
        Command::Suite(command) => suite::run(&command),
        Command::Diff(command) => diff::run(&command),
    };
    match result {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(message) => {
            eprintln!("coord: {message}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
