//! The two clusters that `coord diff zk` and `coord bench zk --both` compare: a coord zk
//! cluster and a real ZooKeeper 3.8 ensemble, each given by its connect string or started
//! here on free ports (both at once) and stopped at the end.

use crate::ensemble::on_interrupt;
use coord_checker::coord_zk::CoordZkCluster;
use coord_checker::members::Members;
use coord_checker::zookeeper::ZooKeeperEnsemble;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Where the two clusters are.
#[derive(clap::Args, Debug)]
pub struct BothArgs {
    /// A running coord zk cluster's connect string (host:port,...) [default: start one].
    #[arg(long)]
    coord: Option<String>,
    /// A running ZooKeeper ensemble's connect string [default: start one, from Debian's
    /// zookeeper package].
    #[arg(long)]
    zookeeper: Option<String>,
    /// Members of each cluster started here.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
    members: u16,
}

/// The two clusters, the ones started here kept until dropped.
pub struct Both {
    pub coord: Vec<SocketAddr>,
    pub zookeeper: Vec<SocketAddr>,
    /// Set by Ctrl-C (or SIGTERM): the caller stops at its next step, and what was
    /// started here is stopped as it is dropped.
    interrupted: Arc<AtomicBool>,
    /// What this process started, stopped when dropped.
    _started: (Option<CoordZkCluster>, Option<ZooKeeperEnsemble>),
}

impl BothArgs {
    /// Both clusters, those not given started here at once.
    pub fn start(&self) -> Result<Both, String> {
        let interrupted = on_interrupt()?;
        let n = usize::from(self.members);
        let exe = std::env::current_exe().map_err(|e| format!("cannot find coord itself: {e}"))?;
        let (coord, zookeeper) = std::thread::scope(|scope| {
            let zookeeper = scope.spawn(|| match &self.zookeeper {
                Some(_) => Ok(None),
                None => ZooKeeperEnsemble::start(n).map(Some),
            });
            let coord = match &self.coord {
                Some(_) => Ok(None),
                None => CoordZkCluster::start(&exe, n).map(Some),
            };
            let zookeeper = zookeeper.join().expect("starting ZooKeeper panicked");
            (coord, zookeeper)
        });
        let (coord, zookeeper) = (coord?, zookeeper?);
        let addrs = |given: &Option<String>, started: Option<&dyn Members>| match (given, started) {
            (Some(connect), _) => parse_connect(connect),
            (None, Some(cluster)) => Ok((0..cluster.count())
                .map(|i| cluster.client_addr(i))
                .collect()),
            (None, None) => Err("no cluster".to_string()),
        };
        let both = Both {
            coord: addrs(&self.coord, coord.as_ref().map(|c| c as &dyn Members))?,
            zookeeper: addrs(
                &self.zookeeper,
                zookeeper.as_ref().map(|z| z as &dyn Members),
            )?,
            interrupted,
            _started: (coord, zookeeper),
        };
        if let Some(ensemble) = &both._started.1 {
            eprintln!("ZooKeeper {} ensemble started", ensemble.version(0)?);
        }
        eprintln!("coord:     {}", show(&both.coord));
        eprintln!("ZooKeeper: {}", show(&both.zookeeper));
        Ok(both)
    }
}

impl Both {
    /// An error once Ctrl-C was pressed.
    pub fn go_on(&self) -> Result<(), String> {
        match self.interrupted.load(Ordering::Relaxed) {
            true => Err("interrupted".into()),
            false => Ok(()),
        }
    }
}

/// `host:port,host:port,...` as addresses.
pub fn parse_connect(connect: &str) -> Result<Vec<SocketAddr>, String> {
    use std::net::ToSocketAddrs;
    (connect.split(','))
        .map(|a| {
            (a.trim().to_socket_addrs().ok())
                .and_then(|mut addrs| addrs.next())
                .ok_or_else(|| format!("{a:?} is not host:port"))
        })
        .collect()
}

fn show(addrs: &[SocketAddr]) -> String {
    let addrs: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    addrs.join(",")
}
