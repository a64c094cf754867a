//! `coord cluster up`: a local cluster of real `coord node` processes on 127.0.0.1, in the
//! foreground until Ctrl-C, when every member is stopped (those added meanwhile too);
//! `cluster add` and `cluster remove` change a running kv cluster's members (see
//! `reconfigure`).

use crate::nodes::{stop_member, Nodes};
use crate::reconfigure::{self, AddArgs, RemoveArgs};
use crate::system::{System, DEFAULT_MANAGERS};
use coord::net::config::{ClusterConfig, DEFAULT_COMPACT_AFTER};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

/// Where a cluster listens unless told otherwise; clients look there by default.
pub const DEFAULT_BASE_PORT: u16 = 7100;
pub const DEFAULT_NODES: u16 = 3;

#[derive(clap::Subcommand, Debug)]
pub enum ClusterCommand {
    /// Start a cluster and stay in the foreground; Ctrl-C stops it.
    Up(UpArgs),
    /// Add a member to a running kv cluster: start it, and wait until the cluster has
    /// committed the change.
    Add(AddArgs),
    /// Remove a member from a running kv cluster, and stop it.
    Remove(RemoveArgs),
}

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// The system to run.
    #[arg(value_enum)]
    system: System,
    /// Number of nodes.
    #[arg(long, default_value_t = DEFAULT_NODES, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// A chain's manager: the number of replicas of its Raft group.
    #[arg(long, default_value_t = DEFAULT_MANAGERS, value_parser = clap::value_parser!(u16).range(1..=7))]
    managers: u16,
    /// Data directory (default: a new directory under the system's temp dir). A cluster
    /// started again on the same directory recovers its data and serves again, with the
    /// members its cluster file names.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Node i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = DEFAULT_BASE_PORT)]
    base_port: u16,
    /// A shared secret: peer messages must carry an HMAC made with it.
    #[arg(long)]
    cluster_key: Option<String>,
    /// zk: node i speaks ZooKeeper's client protocol on TCP port (client-port-base + i).
    #[arg(long, default_value_t = DEFAULT_CLIENT_PORT)]
    client_port_base: u16,
    /// zk: the most client connections a node accepts from one address (ZooKeeper's
    /// maxClientCnxns).
    #[arg(long, default_value_t = 60)]
    max_client_cnxns: usize,
    /// kv: each server snapshots its state and compacts its log once this many applied
    /// entries follow its last snapshot; 0 for never.
    #[arg(long, default_value_t = DEFAULT_COMPACT_AFTER)]
    compact_after: u64,
}

/// ZooKeeper's client port: a zk cluster's node i listens on it plus i.
pub const DEFAULT_CLIENT_PORT: u16 = 2181;

pub fn run(command: &ClusterCommand) -> Result<bool, String> {
    match command {
        ClusterCommand::Up(args) => up(args),
        ClusterCommand::Add(args) => reconfigure::add(args),
        ClusterCommand::Remove(args) => reconfigure::remove(args),
    }
}

fn up(args: &UpArgs) -> Result<bool, String> {
    let data = data_dir(args.data.as_deref(), "cluster")?;
    let config_path = data.join("cluster.json");
    let config = match earlier_members(&config_path, args.system)? {
        Some(config) => config,
        None => {
            let config = new_cluster(args, data.clone())?;
            config.save(&config_path)?;
            config
        }
    };
    let members = config.members.clone();

    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    let mut nodes = Nodes::new(&config_path, members.len(), args.cluster_key.clone(), None)?;
    for i in config.current() {
        let addr = members[i];
        let pid = nodes.start(i)?;
        let role = args.system.role(i, members.len(), config.managers);
        println!("{role} {i}: {addr} (pid {pid})");
    }
    if !config.client_ports.is_empty() {
        println!("connect: {}", config.connect_string());
    }
    println!("config: {}", config_path.display());
    println!("data:   {}", data.display());
    let defaults = args.base_port == DEFAULT_BASE_PORT && args.nodes >= DEFAULT_NODES;
    match defaults {
        true => println!("try:    {}", args.system.example()),
        false => println!(
            "try:    {} --config {}",
            args.system.example(),
            config_path.display()
        ),
    }
    println!("Ctrl-C stops the cluster.");
    loop {
        if rx.recv_timeout(Duration::from_millis(500)).is_ok() {
            break;
        }
        for (i, status) in nodes.reap() {
            eprintln!("node {i} exited ({status}); the others keep running");
        }
        if (0..nodes.len()).all(|i| !nodes.running(i)) {
            return Err("every node has exited".into());
        }
    }
    println!("stopping the cluster");
    drop(nodes);
    // The members `cluster add` started meanwhile, as the file now names them.
    let config = ClusterConfig::load(&config_path)?;
    for i in config.current() {
        if let Some(pid) = stop_member(&config, &config_path, i) {
            println!("member {i} stopped (pid {pid})");
        }
    }
    Ok(true)
}

/// The cluster file a cluster of `system` left at `path` when it ran there before, with
/// the members it had then; `None` if there is none.
fn earlier_members(path: &Path, system: System) -> Result<Option<ClusterConfig>, String> {
    if !path.exists() {
        return Ok(None);
    }
    let config = system.load(path)?;
    println!(
        "members: as {} names them ({} of {})",
        path.display(),
        config.current().len(),
        config.members.len()
    );
    Ok(Some(config))
}

/// The cluster file of a new cluster that `args` describe, its data in `data`.
fn new_cluster(args: &UpArgs, data: PathBuf) -> Result<ClusterConfig, String> {
    let members = local_members(
        args.base_port,
        args.system.members(args.nodes, args.managers),
    )?;
    let mut config = ClusterConfig::new(args.system.name(), members.clone(), data);
    config.managers = usize::from(args.managers);
    config.compact_after = args.compact_after;
    if args.system.has_client_port() {
        config.client_ports = ports(args.client_port_base, members.len())?;
        config.max_client_cnxns = args.max_client_cnxns;
    }
    Ok(config)
}

/// The addresses of `nodes` nodes on 127.0.0.1 from port `base` up.
pub fn local_members(base: u16, nodes: u16) -> Result<Vec<SocketAddrV4>, String> {
    let ports = ports(base, usize::from(nodes))?;
    Ok((ports.into_iter())
        .map(|port| SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
        .collect())
}

/// `n` addresses on 127.0.0.1 whose UDP ports were free a moment ago.
pub fn free_members(n: u16) -> Result<Vec<SocketAddrV4>, String> {
    let sockets = (0..n)
        .map(|_| UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("no free port: {e}"))?;
    (sockets.iter())
        .map(|s| match s.local_addr() {
            Ok(SocketAddr::V4(addr)) => Ok(addr),
            other => Err(format!("no IPv4 loopback address: {other:?}")),
        })
        .collect()
}

/// `count` consecutive ports from `base` up.
fn ports(base: u16, count: usize) -> Result<Vec<u16>, String> {
    (0..count)
        .map(|i| {
            let i = u16::try_from(i).map_err(|_| "too many nodes")?;
            base.checked_add(i)
                .ok_or(format!("port {base} + {i} is too high"))
        })
        .collect()
}

/// The directory `given`, or a new one named `coord-WHAT-PID` in the temp dir: created,
/// and as an absolute path (the nodes resolve it from the config file).
pub fn data_dir(given: Option<&Path>, what: &str) -> Result<PathBuf, String> {
    let pid = std::process::id();
    let dir = (given.map(Path::to_path_buf))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("coord-{what}-{pid}")));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    dir.canonicalize()
        .map_err(|e| format!("{}: {e}", dir.display()))
}
