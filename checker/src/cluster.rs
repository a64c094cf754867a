//! `coord cluster up`: a local cluster of real `coord node` processes on 127.0.0.1, in the
//! foreground until Ctrl-C, when every node is stopped.

use crate::system::System;
use coord::net::config::ClusterConfig;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a node may take to stop after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(3);
/// Where a cluster listens unless told otherwise; clients look there by default.
pub const DEFAULT_BASE_PORT: u16 = 7100;
pub const DEFAULT_NODES: u16 = 3;

#[derive(clap::Subcommand, Debug)]
pub enum ClusterCommand {
    /// Start a cluster and stay in the foreground; Ctrl-C stops it.
    Up(UpArgs),
}

#[derive(clap::Args, Debug)]
pub struct UpArgs {
    /// The system to run.
    #[arg(value_enum)]
    system: System,
    /// Number of nodes.
    #[arg(long, default_value_t = DEFAULT_NODES, value_parser = clap::value_parser!(u16).range(1..=9))]
    nodes: u16,
    /// Data directory (default: a new directory under the system's temp dir). A cluster
    /// started again on the same directory recovers its data.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Node i listens on 127.0.0.1:(base-port + i).
    #[arg(long, default_value_t = DEFAULT_BASE_PORT)]
    base_port: u16,
    /// A shared secret: peer messages must carry an HMAC made with it.
    #[arg(long)]
    cluster_key: Option<String>,
}

pub fn run(command: &ClusterCommand) -> Result<bool, String> {
    let ClusterCommand::Up(args) = command;
    let data = args.data.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("coord-cluster-{}", std::process::id()))
    });
    std::fs::create_dir_all(&data).map_err(|e| format!("{}: {e}", data.display()))?;
    let data = data
        .canonicalize()
        .map_err(|e| format!("{}: {e}", data.display()))?;
    let members = local_members(args.base_port, args.system.members(args.nodes))?;
    let config = ClusterConfig::new(args.system.name(), members.clone(), data.clone());
    let config_path = data.join("cluster.json");
    config.save(&config_path)?;

    let (tx, rx) = mpsc::channel();
    ctrlc::set_handler(move || {
        let _ = tx.send(());
    })
    .map_err(|e| format!("cannot handle signals: {e}"))?;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find coord itself: {e}"))?;
    let mut nodes = Nodes(Vec::new());
    for (i, addr) in members.iter().enumerate() {
        let mut command = Command::new(&exe);
        command
            .arg("node")
            .arg("--config")
            .arg(&config_path)
            .arg("--id")
            .arg(i.to_string());
        if let Some(key) = &args.cluster_key {
            command.arg("--cluster-key").arg(key);
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start node {i}: {e}"))?;
        let role = args.system.role(i, members.len());
        println!("{role} {i}: {addr} (pid {})", child.id());
        nodes.0.push(child);
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
        for (i, node) in nodes.0.iter_mut().enumerate() {
            if let Ok(Some(status)) = node.try_wait() {
                eprintln!("node {i} exited ({status}); the others keep running");
            }
        }
        nodes.0.retain_mut(|n| matches!(n.try_wait(), Ok(None)));
        if nodes.0.is_empty() {
            return Err("every node has exited".into());
        }
    }
    println!("stopping the cluster");
    drop(nodes);
    Ok(true)
}

/// The addresses of `nodes` nodes on 127.0.0.1 from port `base` up.
pub fn local_members(base: u16, nodes: u16) -> Result<Vec<SocketAddrV4>, String> {
    (0..nodes)
        .map(|i| {
            let port = base.checked_add(i).ok_or("--base-port too high")?;
            Ok(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
        })
        .collect()
}

/// The node processes; dropping it stops them (SIGTERM, then SIGKILL after a grace time).
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for node in &self.0 {
            // SAFETY: kill(2) on a child's pid has no memory effects.
            unsafe { libc::kill(node.id() as libc::pid_t, libc::SIGTERM) };
        }
        let deadline = Instant::now() + GRACE;
        for node in &mut self.0 {
            while matches!(node.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = node.kill();
            let _ = node.wait();
        }
    }
}
