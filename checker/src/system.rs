//! The systems a cluster can run. Whatever differs between them (the server a node runs,
//! its status line, the command `cluster up` suggests) is one match arm per system here;
//! everything else (endpoints, signals, counters, clients' retries) is shared. Adding a
//! system is a variant and an arm in each match below, plus its client commands.

use crate::node::Member;
use coord::bug::NamedBug;
use coord::chain::{
    ChainBug, ChainNode, Detector, Links, ManagerBug, ManagerReplica, NodeState, ReadMode,
    ReplicaState,
};
use coord::kv::KvStore;
use coord::net::config::ClusterConfig;
use coord::net::door::NoDoor;
use coord::net::frame::encoded_len;
use coord::net::zk::door::{DoorConfig, ZkDoor};
use coord::raft::{Entry, RaftBug, RaftServer, RaftState, Role, StateMachine};
use coord::znode::server::{Expiry, SessionRules};
use coord::znode::txn::Txn;
use coord::znode::{ZkBug, ZkServer, ZkServerState};
use coord_models::raft::KvServer;
use std::net::SocketAddr;
use std::path::Path;

/// The most log entries in one KV AppendEntries: a batch of small puts well under a datagram.
const KV_BATCH: usize = 128;
/// The largest path and data `coord zk` sends...
pub const ZK_MAX_PATH: usize = 512;
pub const ZK_MAX_DATA: usize = 1024;
/// ...so that this many entries of at most about 1.6 KB each (path, data, a sequential
/// suffix, ids and tags) fit in one datagram with room to spare.
const ZK_BATCH: usize = 32;
/// A znode server looks at its connections every this many heartbeat periods and sends
/// the leader again the writes and sync asks that were waiting already at its last look
/// (a forwarded write travels in a datagram, which a full socket buffer drops).
const RESEND_BEATS: u32 = 4;
/// A ZooKeeper client's entries may be up to 1 MB each: one AppendEntries carries at most
/// this many bytes of them (or one entry), over a peer link when it exceeds a datagram.
const ZK_BATCH_BYTES: usize = 1 << 20;
/// The most client connections one node serves in all.
const ZK_MAX_CONNECTIONS: usize = 1_000;

/// The most updates in one chain `Copy` message: small puts, well under a datagram.
const CHAIN_COPY_CHUNK: usize = 64;
/// The chain manager checks its members' heartbeats every this many heartbeat periods...
const CHAIN_CHECK_BEATS: u32 = 5;
/// ...and removes a member silent for this many checks in a row.
const CHAIN_MISSES: u32 = 3;
/// UDP may lose a message: a chain node says again what it holds (or, joining, asks
/// again for its copy or its place) every this many heartbeat periods, and the manager
/// publishes its configuration again at every check.
const CHAIN_RESEND_BEATS: u32 = 5;
/// The replicas of a chain's manager that `cluster up chain` starts.
pub const DEFAULT_MANAGERS: u16 = 3;

/// A system that `coord cluster up` and `coord node` run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum System {
    /// Raft replicating a versioned key-value map.
    Kv,
    /// ZooKeeper's znode service over Raft: sessions, ephemeral and sequential nodes, watches.
    Zk,
    /// Chain replication of the key-value map with CRAQ reads: the nodes, in chain order,
    /// and the configuration manager as the last member.
    Chain,
}

impl System {
    /// The name used on the command line and in the cluster file.
    pub fn name(self) -> &'static str {
        match self {
            System::Kv => "kv",
            System::Zk => "zk",
            System::Chain => "chain",
        }
    }

    /// How many members (processes) a cluster of `nodes` nodes has: chain replication's
    /// configuration manager adds its `managers` replicas.
    pub fn members(self, nodes: u16, managers: u16) -> u16 {
        match self {
            System::Kv | System::Zk => nodes,
            System::Chain => nodes + managers,
        }
    }

    /// What member `i` of `members` is, for `cluster up` to print.
    pub fn role(self, i: usize, members: usize, managers: usize) -> &'static str {
        match self {
            System::Chain if i + managers >= members => "manager",
            _ => "node",
        }
    }

    /// Whether its nodes speak ZooKeeper's client protocol on a client port.
    pub fn has_client_port(self) -> bool {
        self == System::Zk
    }

    /// The system a cluster file names.
    pub fn named(name: &str) -> Result<System, String> {
        <System as clap::ValueEnum>::from_str(name, false)
            .map_err(|_| format!("unknown system {name:?} (known: kv, zk, chain)"))
    }

    /// The cluster file at `path`, which must describe a cluster of this system.
    pub fn load(self, path: &Path) -> Result<ClusterConfig, String> {
        let config = ClusterConfig::load(path)?;
        if config.system != self.name() {
            return Err(format!(
                "{} describes a {} cluster, not {}",
                path.display(),
                config.system,
                self.name()
            ));
        }
        Ok(config)
    }

    /// Runs `member` of the cluster until SIGINT or SIGTERM.
    pub fn serve(self, config: &ClusterConfig, member: Member) -> Result<bool, String> {
        match self {
            System::Kv => {
                let compact_after = (config.compact_after > 0).then_some(config.compact_after);
                let server: KvServer = (raft(config, &member).with_max_batch(KV_BATCH))
                    .with_compaction(compact_after)
                    .with_membership(true)
                    .joining(config.added.contains(&member.index()))
                    .with_bug(bug(config, RaftBug::named)?);
                member.serve_with_door(server, kv_status, NoDoor, Some(|me, s| s.servers(me)))
            }
            System::Zk => {
                let sessions = SessionRules {
                    tick_ms: u32::try_from(config.session_ms / 2)
                        .unwrap_or(u32::MAX)
                        .max(1),
                    secret: member.session_secret(),
                    expiry: Some(Expiry::Negotiated),
                    relay_touches: true,
                    resend_after: Some(config.heartbeats(RESEND_BEATS)),
                    genesis: Vec::new(),
                };
                let raft = (raft(config, &member).with_max_batch(ZK_BATCH))
                    .with_max_batch_bytes(ZK_BATCH_BYTES, encoded_len::<Entry<Txn>>);
                let server = ZkServer::new(raft)
                    .with_sessions(sessions)
                    .with_bug(bug(config, ZkBug::named)?);
                match client_port(config, member.index()) {
                    Some(door) => {
                        member.serve_with_door(server, zk_status, ZkDoor::new(door), None)
                    }
                    None => member.serve(server, zk_status),
                }
            }
            System::Chain => {
                let (ids, managers) = config.chain_roles();
                if managers.is_empty() || ids.is_empty() {
                    return Err("a chain needs a node and a manager".into());
                }
                let beat = config.heartbeat();
                let every = config.heartbeats(CHAIN_CHECK_BEATS);
                // The detector removes a member no sooner than `misses - 1` checks after
                // its last heartbeat arrived; a lease runs half of that from when the
                // heartbeat left, the other half a margin for clocks that run apart.
                let lease = every.start * (CHAIN_MISSES - 1) / 2;
                if member.index() >= ids.len() {
                    let me = managers[member.index() - ids.len()];
                    let peers = managers.iter().copied().filter(|&p| p != me).collect();
                    // A manager that is a chain-node bug's name runs correctly.
                    let bug = config.bug.as_deref().and_then(ManagerBug::named);
                    let server = ManagerReplica {
                        raft: RaftServer::new(peers, config.election_timeout())
                            .with_heartbeat(config.heartbeat()),
                        members: ids,
                        republish: Some(every.clone()),
                        detector: Some(Detector {
                            every,
                            misses: CHAIN_MISSES,
                        }),
                        bug,
                    };
                    return member.serve(server, manager_status);
                }
                let server = ChainNode {
                    managers,
                    members: ids,
                    reads: match config.tail_reads {
                        true => ReadMode::Tail,
                        false => ReadMode::Craq,
                    },
                    halt: None,
                    rejoin: None,
                    links: Links::Lossy {
                        resend: config.heartbeats(CHAIN_RESEND_BEATS),
                    },
                    heartbeat: Some(beat),
                    lease: Some(lease..lease),
                    copy_chunk: CHAIN_COPY_CHUNK,
                    bug: match config.bug.as_deref().and_then(ManagerBug::named) {
                        Some(_) => None,
                        None => bug(config, ChainBug::named)?,
                    },
                };
                member.serve(server, chain_status)
            }
        }
    }

    /// A first client command to try against a running cluster.
    pub fn example(self) -> &'static str {
        match self {
            System::Kv => "coord kv put greeting hello",
            System::Zk => "coord zk create /a hello",
            System::Chain => "coord chain put greeting hello",
        }
    }
}

/// Member `index`'s ZooKeeper client port, if the cluster file gives it one; `conf`
/// reports the port, the data directory and the session bounds as ZooKeeper names them.
fn client_port(config: &ClusterConfig, index: usize) -> Option<DoorConfig> {
    let addr = config.client_addr(index)?;
    let tick = (config.session_ms / 2).max(1);
    let conf = [
        ("clientPort", addr.port().to_string()),
        ("dataDir", config.node_dir(index).display().to_string()),
        ("tickTime", tick.to_string()),
        ("maxClientCnxns", config.max_client_cnxns.to_string()),
        ("minSessionTimeout", (2 * tick).to_string()),
        ("maxSessionTimeout", (20 * tick).to_string()),
        ("serverId", index.to_string()),
    ];
    Some(DoorConfig {
        bind: SocketAddr::from(addr),
        max_per_address: config.max_client_cnxns,
        max_connections: ZK_MAX_CONNECTIONS,
        conf: conf.map(|(k, v)| (k.to_string(), v)).to_vec(),
    })
}

/// A Raft server for `member` with the cluster's timeouts, heartbeats on, pipelined
/// replication, and pre-vote and check-quorum unless the cluster file turns them off.
fn raft<SM: StateMachine>(config: &ClusterConfig, member: &Member) -> RaftServer<SM> {
    RaftServer::new(member.peer_ids(), config.election_timeout())
        .with_heartbeat(config.heartbeat())
        .with_pre_vote(config.pre_vote)
        .with_pipeline(true)
}

/// The deliberate bug the cluster file names, if any, found by `named`.
fn bug<B: std::fmt::Debug>(
    config: &ClusterConfig,
    named: fn(&str) -> Option<B>,
) -> Result<Option<B>, String> {
    let Some(name) = &config.bug else {
        return Ok(None);
    };
    let bug = named(name).ok_or(format!("no {} bug named {name:?}", config.system))?;
    tracing::warn!(?bug, "running with a deliberate bug");
    Ok(Some(bug))
}

/// A Raft server's one-line status, as `coord stats` prints it.
fn raft_status<SM: StateMachine>(state: &RaftState<SM>) -> String {
    let role = match state.role {
        Role::Follower { .. } => "follower",
        Role::PreCandidate { .. } => "precandidate",
        Role::Candidate { .. } => "candidate",
        Role::Leader(_) => "leader",
    };
    format!(
        "role={role} term={} last={} commit={} applied={}",
        state.term,
        state.last_index(),
        state.commit,
        state.replica.applied
    )
}

/// A kv server's status: Raft's, then the last index its snapshot covers (0 for none),
/// the number of members of the configuration it uses, and whether that configuration's
/// entry is committed (`config=committed`) or not yet (`config=pending`: a change is in
/// progress).
fn kv_status(state: &RaftState<KvStore>) -> String {
    let snapshot = state.log.snapshot_index();
    let members = state.config.peers.len() + usize::from(state.config.member);
    let config = match state.config.index <= state.commit {
        true => "committed",
        false => "pending",
    };
    format!(
        "{} snapshot={snapshot} members={members} config={config}",
        raft_status(state)
    )
}

/// A znode server's status: Raft's, then the tree's zxid, the sessions the leader tracks,
/// the watches held here, the connections here and the requests they await answers to.
fn zk_status(state: &ZkServerState) -> String {
    let waiting: usize = state.conns.values().map(|c| c.queue.len()).sum();
    format!(
        "{} zxid={} sessions={} watches={} connections={} waiting={waiting}",
        raft_status(&state.raft),
        state.tree().zxid(),
        state.sessions.len(),
        state.watches.len(),
        state.conns.len(),
    )
}

/// A chain node's status: its epoch, the chain's length, its history and how much of it
/// is committed, and whether it is still joining (copying its predecessor's history).
fn chain_status(state: &NodeState) -> String {
    format!(
        "epoch={} members={} len={} committed={} joining={}",
        state.config.epoch,
        state.config.members.len(),
        state.history.len(),
        state.committed,
        state.is_joining()
    )
}

/// A manager replica's status: Raft's, then the epoch and the chain it has applied, head
/// first, by member id.
fn manager_status(state: &ReplicaState) -> String {
    let config = state.config();
    let members: Vec<String> = config.members.iter().map(|m| m.to_string()).collect();
    format!(
        "{} epoch={} chain={}",
        raft_status(&state.raft),
        config.epoch,
        members.join(",")
    )
}
