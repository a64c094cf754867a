//! `coord cluster add` and `coord cluster remove`: a running kv cluster's members changed
//! one at a time (Raft dissertation §4.1). The command asks the cluster as an
//! administrator, the very client actor the `raft-membership` check runs, and records the
//! new members in the cluster file, so that clients, `coord node` and `cluster up` see
//! them. `add` starts the new member's process first; `remove` stops the removed one's.

use crate::client::{first_answer, Cluster, Target};
use crate::cluster::free_members;
use crate::logging;
use crate::nodes::{stop_member, Nodes};
use crate::system::System;
use coord::client::ClientMsg;
use coord::net::admin::request_stats;
use coord::net::config::ClusterConfig;
use coord::raft::{Change, Members, Msg};
use stateright::actor::Id;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// How long a member may take to answer a status request.
const STATUS_WAIT: Duration = Duration::from_millis(700);

/// What `add` and `remove` share: the cluster, how to talk to it, how long to wait.
#[derive(clap::Args, Debug)]
pub struct ChangeArgs {
    /// The cluster's file (the `cluster.json` that `cluster up` prints); the new
    /// members are recorded there.
    #[arg(long)]
    config: PathBuf,
    /// The cluster's shared secret.
    #[arg(long)]
    cluster_key: Option<String>,
    /// Seconds to wait for the change to be committed.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
}

#[derive(clap::Args, Debug)]
pub struct AddArgs {
    #[command(flatten)]
    change: ChangeArgs,
    /// The new member's port on 127.0.0.1 (default: a free one).
    #[arg(long)]
    port: Option<u16>,
}

#[derive(clap::Args, Debug)]
pub struct RemoveArgs {
    /// The member to remove: its index in the cluster file (`node I` as `cluster up`
    /// prints it).
    member: usize,
    #[command(flatten)]
    change: ChangeArgs,
}

/// Starts a new member on a free port of 127.0.0.1 (outside the configuration, with an
/// empty data directory), asks the cluster to add it, and waits until the change is
/// committed.
pub fn add(args: &AddArgs) -> Result<bool, String> {
    logging::init();
    let path = &args.change.config;
    let mut config = System::Kv.load(path)?;
    let cluster = args.change.cluster()?;
    require_idle(&config)?;
    let addr = match args.port {
        Some(port) => SocketAddrV4::new(Ipv4Addr::LOCALHOST, port),
        None => free_members(1)?[0],
    };
    if config.members.contains(&addr) {
        return Err(format!("{addr} is a member of the cluster already"));
    }
    let index = config.members.len();
    config.members.push(addr);
    config.added.push(index);
    std::fs::create_dir_all(config.node_dir(index))
        .map_err(|e| format!("{}: {e}", config.node_dir(index).display()))?;
    config.save(path)?;
    let key = args.change.cluster_key.clone();
    let mut nodes = Nodes::new(path, index + 1, key, Some(config.data.clone()))?;
    let pid = nodes.start(index)?;
    nodes.release(index);
    println!("member {index}: {addr} started (pid {pid}), joining");
    let added = wait_answering(addr, cluster.timeout)
        .and_then(|()| change(&cluster, &config, Change::Add(Id::from(addr))));
    let members = added.map_err(|e| {
        format!(
            "{e}; member {index} runs on (pid {pid}): `coord cluster remove {index}` takes it out"
        )
    })?;
    println!("member {index}: added; {}", describe(&config, &members));
    Ok(true)
}

/// Asks the cluster to remove a member, waits until the change is committed, records it,
/// and stops the member's process if it runs.
pub fn remove(args: &RemoveArgs) -> Result<bool, String> {
    logging::init();
    let path = &args.change.config;
    let mut config = System::Kv.load(path)?;
    let i = args.member;
    let current = config.current();
    if !current.contains(&i) {
        let known: Vec<String> = current.iter().map(usize::to_string).collect();
        return Err(format!(
            "no member {i} in {} (its members: {})",
            path.display(),
            known.join(", ")
        ));
    }
    if current.len() == 1 {
        return Err(format!("member {i} is the cluster's last member"));
    }
    let cluster = args.change.cluster()?;
    require_idle(&config)?;
    let members = change(&cluster, &config, Change::Remove(config.ids()[i]))?;
    config.removed.push(i);
    config.save(path)?;
    println!("member {i}: removed; {}", describe(&config, &members));
    match stop_member(&config, path, i) {
        Some(pid) => println!("member {i}: stopped (pid {pid})"),
        None => println!("member {i}: was not running"),
    }
    Ok(true)
}

impl ChangeArgs {
    /// The cluster's current members as an administrator reaches them.
    fn cluster(&self) -> Result<Cluster, String> {
        let timeout = Duration::from_secs_f64(self.timeout.max(0.0));
        let target = Target::of_config(self.config.clone(), self.cluster_key.clone(), timeout);
        target.resolve(System::Kv)
    }
}

/// The status line of every current member that answers, by index.
fn statuses(config: &ClusterConfig) -> Vec<(usize, String)> {
    (config.current().into_iter())
        .filter_map(|i| {
            let addr = SocketAddr::from(config.members[i]);
            Some((i, request_stats(addr, STATUS_WAIT).ok()?.status))
        })
        .collect()
}

/// An error unless some member runs and no change is in progress: a leader whose
/// configuration is not committed yet would not start another (one change at a time).
fn require_idle(config: &ClusterConfig) -> Result<(), String> {
    let answers = statuses(config);
    if answers.is_empty() {
        return Err("the cluster is not running: no member answers".into());
    }
    let busy =
        (answers.iter()).find(|(_, s)| s.contains("role=leader") && s.contains("config=pending"));
    match busy {
        Some((i, _)) => Err(format!(
            "refused: another change is in progress (leader {i}'s configuration is not \
             committed yet); try again once it is"
        )),
        None => Ok(()),
    }
}

/// Waits until the node at `addr` answers a status request.
fn wait_answering(addr: SocketAddrV4, within: Duration) -> Result<(), String> {
    request_stats(SocketAddr::from(addr), within)
        .map(|_| ())
        .map_err(|e| format!("the new member does not answer: {e}"))
}

/// Asks the cluster for `change` as an administrator, and waits for the committed
/// configuration; an error after the cluster's timeout, saying why if a member tells.
fn change(cluster: &Cluster, config: &ClusterConfig, change: Change) -> Result<Members, String> {
    let mut admin = cluster.kv_admin(change)?;
    let started = Instant::now();
    let answer = first_answer(cluster, &mut admin, |msg| match msg {
        Msg::Admin(ClientMsg::Reply { seq: 1, ret }) => Some(ret.clone()),
        _ => None,
    })?;
    if let Some(members) = answer {
        return Ok(members);
    }
    let waited = started.elapsed().as_secs_f64();
    let pending = (statuses(config).into_iter())
        .find(|(_, s)| s.contains("role=leader") && s.contains("config=pending"));
    Err(match pending {
        Some((i, _)) => format!(
            "timeout: leader {i} has not committed the change within {waited:.0} s (a new \
             member may still be catching up); it may still take effect"
        ),
        None => format!("timeout: no leader committed the change within {waited:.0} s"),
    })
}

/// The members of a configuration, by their indexes in the cluster file.
fn describe(config: &ClusterConfig, members: &Members) -> String {
    let ids = config.ids();
    let mut named: Vec<String> = (members.iter())
        .map(|m| match ids.iter().position(|id| id == m) {
            Some(i) => i.to_string(),
            None => SocketAddrV4::from(*m).to_string(),
        })
        .collect();
    named.sort_by_key(|n| n.parse::<usize>().unwrap_or(usize::MAX));
    format!("the members are {}", named.join(", "))
}
