//! The cluster file that every node and client of one cluster reads: the members'
//! addresses, where data lives, and the timeouts of a real run.

use serde::{Deserialize, Serialize};
use stateright::actor::Id;
use std::fs;
use std::net::SocketAddrV4;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A cluster: which system it runs and who its members are. Member `i` has id `i` on the
/// command line; its actor id is derived from its address, as stateright's are. A member
/// added to a running cluster comes after the others; a removed one keeps its place (and
/// its data directory) but is a member no more.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterConfig {
    pub system: String,
    pub members: Vec<SocketAddrV4>,
    /// Member `i` keeps its storage in `data/node-i`.
    pub data: PathBuf,
    /// Election timeout range, in milliseconds.
    #[serde(default = "default_election_ms")]
    pub election_ms: (u64, u64),
    /// Leader heartbeat interval, in milliseconds.
    #[serde(default = "default_heartbeat_ms")]
    pub heartbeat_ms: u64,
    /// Session timeout of the systems that have sessions (zk), in milliseconds: the
    /// leader's expiry tick, so a silent session expires 1 to 2 timeouts after it was
    /// last heard from.
    #[serde(default = "default_session_ms")]
    pub session_ms: u64,
    /// The name of a deliberate-bug variant every server runs (`coord test --bug NAME`);
    /// none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bug: Option<String>,
    /// Chain nodes answer reads at the tail only, as chain replication does; by default
    /// every node answers them, as CRAQ does.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub tail_reads: bool,
    /// The TCP port on which member `i` speaks ZooKeeper's client protocol, at its own
    /// address (zk only); none by default.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub client_ports: Vec<u16>,
    /// The most client connections a member accepts from one address (ZooKeeper's
    /// `maxClientCnxns`).
    #[serde(default = "default_max_client_cnxns")]
    pub max_client_cnxns: usize,
    /// A chain's last `managers` members are the replicas of its configuration manager, a
    /// Raft group (one for a cluster file that does not say).
    #[serde(default = "one")]
    pub managers: usize,
    /// Raft servers ask for pre-votes before an election and leaders check their quorum
    /// (on unless the file says `"pre_vote": false`).
    #[serde(default = "yes", skip_serializing_if = "Clone::clone")]
    pub pre_vote: bool,
    /// The kv service's Raft servers snapshot their state machine and compact their log
    /// once this many applied entries follow their last snapshot (Raft paper §7); 0 for
    /// never.
    #[serde(default = "default_compact_after")]
    pub compact_after: u64,
    /// The members added to the running cluster (`coord cluster add`), by index: each
    /// starts outside the configuration and learns it from the leader (kv only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<usize>,
    /// The members removed from the cluster (`coord cluster remove`), by index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<usize>,
}

/// etcd's snapshot count before version 3.2: a snapshot every 10,000 entries keeps a
/// log (and the journal that holds it) to a few megabytes of kv entries.
pub const DEFAULT_COMPACT_AFTER: u64 = 10_000;

fn default_compact_after() -> u64 {
    DEFAULT_COMPACT_AFTER
}

fn default_max_client_cnxns() -> usize {
    60
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn default_election_ms() -> (u64, u64) {
    (400, 800)
}

fn default_heartbeat_ms() -> u64 {
    60
}

/// ZooKeeper's smallest session timeout with its default tick (2 ticks of 2 s).
fn default_session_ms() -> u64 {
    4_000
}

impl ClusterConfig {
    /// A config with the default timeouts.
    pub fn new(system: &str, members: Vec<SocketAddrV4>, data: PathBuf) -> Self {
        ClusterConfig {
            system: system.to_string(),
            members,
            data,
            election_ms: default_election_ms(),
            heartbeat_ms: default_heartbeat_ms(),
            session_ms: default_session_ms(),
            bug: None,
            tail_reads: false,
            client_ports: Vec::new(),
            max_client_cnxns: default_max_client_cnxns(),
            managers: one(),
            pre_vote: true,
            compact_after: DEFAULT_COMPACT_AFTER,
            added: Vec::new(),
            removed: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Self, String> {
        let text =
            fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let config: ClusterConfig = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a cluster config: {e}", path.display()))?;
        if config.members.is_empty() {
            return Err(format!("{} names no members", path.display()));
        }
        Ok(config)
    }

    /// Writes the file whole, through a temporary file renamed over it, so that a node or
    /// client reading it meanwhile (a running cluster's members change) reads the old
    /// file or the new one.
    pub fn save(&self, path: &Path) -> Result<(), String> {
        let text = serde_json::to_string_pretty(self).expect("a config serializes");
        let partial = path.with_extension("json.partial");
        (fs::write(&partial, text + "\n").and_then(|()| fs::rename(&partial, path)))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    }

    /// The actor ids of all members, in order.
    pub fn ids(&self) -> Vec<Id> {
        self.members.iter().map(|&a| Id::from(a)).collect()
    }

    /// The indexes of the members that were not removed, in order.
    pub fn current(&self) -> Vec<usize> {
        (0..self.members.len())
            .filter(|i| !self.removed.contains(i))
            .collect()
    }

    /// The cluster as its clients see it: the members that were not removed, in order
    /// (their indexes are not those of the cluster file).
    pub fn without_removed(&self) -> ClusterConfig {
        let mut current = self.clone();
        current.members = self.current().iter().map(|&i| self.members[i]).collect();
        if self.client_ports.len() == self.members.len() {
            current.client_ports = self
                .current()
                .iter()
                .map(|&i| self.client_ports[i])
                .collect();
        }
        current.added.clear();
        current.removed.clear();
        current
    }

    /// Where member `i`'s process, while it runs, writes its pid.
    pub fn pid_file(&self, member: usize) -> PathBuf {
        self.data.join(format!("node-{member}.pid"))
    }

    /// Member `i`'s client port address, if it has one.
    pub fn client_addr(&self, member: usize) -> Option<SocketAddrV4> {
        let port = *self.client_ports.get(member)?;
        Some(SocketAddrV4::new(*self.members.get(member)?.ip(), port))
    }

    /// ZooKeeper's connect string for the client ports: `host:port,host:port,...`.
    pub fn connect_string(&self) -> String {
        let addrs: Vec<String> = (0..self.members.len())
            .filter_map(|i| self.client_addr(i))
            .map(|a| a.to_string())
            .collect();
        addrs.join(",")
    }

    pub fn node_dir(&self, member: usize) -> PathBuf {
        self.data.join(format!("node-{member}"))
    }

    pub fn election_timeout(&self) -> Range<Duration> {
        let (lo, hi) = self.election_ms;
        Duration::from_millis(lo)..Duration::from_millis(hi.max(lo))
    }

    pub fn heartbeat(&self) -> Range<Duration> {
        self.heartbeats(1)
    }

    /// `n` heartbeat periods.
    pub fn heartbeats(&self, n: u32) -> Range<Duration> {
        let ms = Duration::from_millis(self.heartbeat_ms) * n;
        ms..ms
    }

    pub fn session_timeout(&self) -> Range<Duration> {
        let ms = Duration::from_millis(self.session_ms.max(1));
        ms..ms
    }

    /// A chain's nodes and its manager replicas, by actor id.
    pub fn chain_roles(&self) -> (Vec<Id>, Vec<Id>) {
        let mut nodes = self.ids();
        let managers = nodes.split_off(nodes.len().saturating_sub(self.managers));
        (nodes, managers)
    }

    /// How often a client sends a keepalive: a third of the session timeout, as
    /// ZooKeeper's client does, so that two lost pings do not expire a live session.
    pub fn ping_interval(&self) -> Range<Duration> {
        let ms = Duration::from_millis((self.session_ms / 3).max(1));
        ms..ms
    }
}
