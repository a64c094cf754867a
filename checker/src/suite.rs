//! `coord suite kazoo|zkcli`: ZooKeeper clients' own test suites and sessions against a
//! cluster that speaks ZooKeeper's protocol, given by its connect string or started here
//! (a real ZooKeeper ensemble or a coord zk cluster, whose members the tests may then
//! stop and start).

use crate::ensemble::on_interrupt;
use coord_checker::coord_zk::CoordZkCluster;
use coord_checker::members::Members;
use coord_checker::zookeeper::ZooKeeperEnsemble;
use coord_checker::{kazoo, zkcli};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Subcommand, Debug)]
pub enum SuiteCommand {
    /// kazoo's own test modules, unmodified (Debian's python3-kazoo); prints passed,
    /// failed and skipped per module, and every failure with its reason if it is known.
    Kazoo(KazooArgs),
    /// A scripted zkCli.sh session (Debian's zookeeper package): prints its transcript
    /// with ids and times normalised, to compare with another cluster's.
    Zkcli(ZkcliArgs),
}

/// The cluster a suite runs against.
#[derive(clap::Args, Debug)]
pub struct Against {
    #[command(flatten)]
    which: Which,
    /// Members of a cluster started here.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    members: u16,
}

/// Which cluster: exactly one of these.
#[derive(clap::Args, Debug)]
#[group(required = true, multiple = false)]
struct Which {
    /// A running cluster's connect string (host:port,host:port,...); tests that stop or
    /// start a member are skipped.
    #[arg(long)]
    connect: Option<String>,
    /// Start a real ZooKeeper 3.8 ensemble (Debian's zookeeper package) on free ports,
    /// run against it, and stop it at the end.
    #[arg(long)]
    zookeeper: bool,
    /// Start a coord zk cluster (`coord cluster up zk`) on free ports, run against it,
    /// and stop it at the end.
    #[arg(long)]
    coord: bool,
}

/// The cluster under test, once started if it is ours.
enum Cluster {
    Given(String),
    ZooKeeper(ZooKeeperEnsemble),
    Coord(CoordZkCluster),
}

impl Against {
    fn start(&self) -> Result<Cluster, String> {
        let members = usize::from(self.members);
        let cluster = match &self.which.connect {
            Some(connect) => Cluster::Given(connect.clone()),
            None if self.which.zookeeper => {
                let ensemble = ZooKeeperEnsemble::start(members)?;
                eprintln!("ZooKeeper {} ensemble", ensemble.version(0)?);
                Cluster::ZooKeeper(ensemble)
            }
            None => {
                let exe = (std::env::current_exe())
                    .map_err(|e| format!("cannot find coord itself: {e}"))?;
                Cluster::Coord(CoordZkCluster::start(&exe, members)?)
            }
        };
        eprintln!("connect: {}", cluster.connect_string());
        Ok(cluster)
    }
}

impl Cluster {
    fn connect_string(&self) -> String {
        match self {
            Cluster::Given(connect) => connect.clone(),
            Cluster::ZooKeeper(ensemble) => ensemble.connect_string(),
            Cluster::Coord(cluster) => cluster.connect_string(),
        }
    }

    /// Its members, if it is ours to stop and start.
    fn members(&mut self) -> Option<&mut dyn Members> {
        match self {
            Cluster::Given(_) => None,
            Cluster::ZooKeeper(ensemble) => Some(ensemble),
            Cluster::Coord(cluster) => Some(cluster),
        }
    }

    /// Which known failures apply to it.
    fn target(&self) -> &'static str {
        match self {
            Cluster::Given(_) => "other",
            Cluster::ZooKeeper(_) => "zookeeper",
            Cluster::Coord(_) => "coord",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct KazooArgs {
    #[command(flatten)]
    against: Against,
    /// Test modules or groups, comma separated: `recipes` (lock, election, counter,
    /// barrier, queue, party, partitioner, lease, watchers, cache), `client` (client,
    /// connection), `all`, or module names such as test_lock.
    #[arg(long, default_value = "recipes")]
    modules: String,
    /// Only the tests matching this pytest `-k` expression.
    #[arg(long)]
    filter: Option<String>,
    /// Which known failures apply (zookeeper, coord) [default: that of the cluster
    /// started here; none with --connect].
    #[arg(long)]
    target: Option<String>,
    /// Seconds one test may take before it counts as failed.
    #[arg(long, default_value_t = 180)]
    test_timeout: u64,
    /// Minutes the whole run may take.
    #[arg(long, default_value_t = 60)]
    timeout: u64,
    /// The Python that runs the tests (Debian's, which sees python3-kazoo).
    #[arg(long, default_value = kazoo::DEBIAN_PYTHON)]
    python: PathBuf,
}

#[derive(clap::Args, Debug)]
pub struct ZkcliArgs {
    #[command(flatten)]
    against: Against,
    /// Print the transcript as zkCli.sh printed it.
    #[arg(long)]
    raw: bool,
}

pub fn run(command: &SuiteCommand) -> Result<bool, String> {
    match command {
        SuiteCommand::Kazoo(args) => run_kazoo(args),
        SuiteCommand::Zkcli(args) => run_zkcli(args),
    }
}

fn run_kazoo(args: &KazooArgs) -> Result<bool, String> {
    let interrupted = on_interrupt()?;
    let mut cluster = args.against.start()?;
    let options = kazoo::Options {
        python: args.python.clone(),
        modules: args.modules.clone(),
        target: (args.target.clone()).unwrap_or_else(|| cluster.target().into()),
        filter: args.filter.clone(),
        test_timeout: args.test_timeout,
        deadline: Duration::from_secs(60 * args.timeout),
    };
    let connect = cluster.connect_string();
    kazoo::run(&connect, cluster.members(), &options, &interrupted)
}

fn run_zkcli(args: &ZkcliArgs) -> Result<bool, String> {
    let cluster = args.against.start()?;
    let connect = cluster.connect_string();
    let transcript = zkcli::run(&connect, zkcli::SESSION)?;
    match args.raw {
        true => print!("{transcript}"),
        false => print!("{}", zkcli::normalise(&transcript, &connect)),
    }
    Ok(true)
}
