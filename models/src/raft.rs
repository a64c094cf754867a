//! The Raft model: servers replicating the key-value map, clients running short scripts,
//! an unordered (optionally duplicating) network, crashes with recovery from storage, and
//! the properties of the Raft paper's figure 3 plus linearizability of what clients see.

use crate::build::client_model;
use crate::dead_messages::drop_dead_messages;
use crate::history::History;
use crate::node::Node;
use crate::registry::{Bounds, ModelCfg, Representative};
use crate::symmetry::{hash_key, sort_servers};
use coord::client::{Client, ClientState, Wire};
use coord::kv::KvStore;
use coord::raft::{LeaderState, Msg, RaftBug, RaftServer, RaftState, Replica, Role, Term};
use coord_specs::kv::{KvOp, KvRet, KvSpec};
use stateright::actor::{model_timeout, Actor, ActorModel, ActorModelState, Id, Network};
use stateright::Expectation;
use std::sync::Arc;

pub type KvServer = RaftServer<KvStore>;
pub type KvClient = Client<KvOp, KvRet, Msg<KvOp, KvRet>>;
pub type RaftNode = Node<KvServer, KvClient>;
pub type RaftModel = ActorModel<RaftNode, RaftCfg, History<KvSpec>>;
pub type State = ActorModelState<RaftNode, History<KvSpec>>;
pub type NodeState = Node<RaftState<KvStore>, ClientState>;
pub type RaftMsg = Msg<KvOp, KvRet>;

/// The size and bounds of one Raft model.
#[derive(Clone, Debug)]
pub struct RaftCfg {
    pub servers: usize,
    pub clients: usize,
    /// Operations per client: put and get alternating, starting with a put.
    pub ops: usize,
    /// States with a server in a higher term are not explored.
    pub max_term: Term,
    /// States with a longer log on any server are not explored.
    pub max_log: usize,
    /// How many servers may be down at once.
    pub max_crashes: usize,
    /// Only servers `s0` up to this many may campaign; the others vote and replicate but
    /// never stand for election (states where one is a candidate are not explored).
    pub campaigners: usize,
    /// States where the clients together have resent more requests are not explored.
    pub max_resends: u8,
    /// Whether the network may deliver a message more than once.
    pub duplicating: bool,
    /// Whether a new leader sends the initial empty AppendEntries at once.
    pub announce: bool,
    pub bug: Option<RaftBug>,
}

impl RaftCfg {
    /// Applies the size overrides given on the command line.
    pub fn with(mut self, b: &Bounds) -> Self {
        self.servers = b.servers.unwrap_or(self.servers);
        self.clients = b.clients.unwrap_or(self.clients);
        self.ops = b.ops.unwrap_or(self.ops);
        self.max_term = b.max_term.unwrap_or(self.max_term);
        self.max_log = b.max_log.unwrap_or(self.max_log);
        self.max_crashes = b.max_crashes.unwrap_or(self.max_crashes);
        self.max_resends = b.max_resends.unwrap_or(self.max_resends);
        self.campaigners = b.campaigners.unwrap_or(self.campaigners);
        self
    }

    /// Client `c`'s script. Client 1 (and every odd client) creates the key only if absent,
    /// so that both outcomes of a conditional put occur.
    fn script(&self, c: usize) -> Vec<KvOp> {
        let value = ["a", "b", "c", "d", "e", "f"][c % 6];
        (0..self.ops)
            .map(|i| {
                if i % 2 == 1 {
                    KvOp::Get { key: "x".into() }
                } else {
                    KvOp::Put {
                        key: "x".into(),
                        value: value.into(),
                        expected: (c % 2 == 1).then_some(0),
                    }
                }
            })
            .collect()
    }

    /// Builds the model with the properties named in `judged` (see [`PROPERTIES`]).
    pub fn into_model(self, judged: &[&str]) -> RaftModel {
        let server_ids: Vec<Id> = (0..self.servers).map(Id::from).collect();
        let servers = server_ids.iter().map(|&me| {
            let peers = server_ids.iter().copied().filter(|&p| p != me).collect();
            let server = KvServer::new(peers, model_timeout())
                .with_announce(self.announce)
                .with_bug(self.bug);
            Node::Server(server)
        });
        let clients = (0..self.clients).map(|c| {
            let client = KvClient::new(server_ids.clone(), c, self.script(c), model_timeout());
            Node::Client(client)
        });
        let network = if self.duplicating {
            Network::new_unordered_duplicating([])
        } else {
            Network::new_unordered_nonduplicating([])
        };
        client_model(
            self.clone(),
            History::new(KvSpec::default()),
            servers.chain(clients),
            network,
            self.max_crashes,
            PROPERTIES,
            judged,
        )
        .within_boundary(within_boundary)
    }
}

impl ModelCfg<RaftNode, History<KvSpec>> for RaftCfg {
    fn actor_name(&self, id: Id) -> String {
        let i = usize::from(id);
        if i < self.servers {
            format!("s{i}")
        } else {
            format!("c{}", i - self.servers)
        }
    }

    /// The only choice is a client's: which server to retry at.
    fn choice_name(&self, key: &str, random: &<RaftNode as Actor>::Random) -> String {
        match random {
            Node::Client(server) => format!("{key} {}", self.actor_name(*server)),
            Node::Server(()) => key.to_string(),
        }
    }

    /// Servers are interchangeable unless only some may campaign.
    fn representative(&self) -> Option<Representative<RaftNode, History<KvSpec>>> {
        if self.campaigners >= self.servers {
            Some(forget_and_sort)
        } else {
            Some(forget)
        }
    }
}

/// The representative of a state: each crashed server's stale state reduced to what is
/// still observable. Recovery rebuilds a server from its storage alone, nothing is
/// delivered to a crashed server and its timers are gone, so the rest of its stale state
/// (log copy, vote, commit index, applied state, leader bookkeeping) cannot influence any
/// later step. The only stale facts a property reads are whether it was leading and in
/// which term (`leader_after_crash`); those are kept.
fn forget_crashed(state: &State) -> State {
    let mut canonical = state.clone();
    for (i, crashed) in state.crashed.iter().enumerate() {
        let Some(server) = state.actor_states[i].server().filter(|_| *crashed) else {
            continue;
        };
        let role = match server.role {
            Role::Leader(_) => Role::Leader(LeaderState {
                next: Default::default(),
                matched: Default::default(),
                round: 0,
                acked: Default::default(),
                reads: Vec::new(),
            }),
            _ => Role::Follower { leader: None },
        };
        canonical.actor_states[i] = Arc::new(Node::Server(RaftState {
            term: server.term,
            voted_for: None,
            log: Vec::new(),
            role,
            commit: 0,
            replica: Replica::default(),
        }));
    }
    canonical
}

/// What a crashed server or an ignored message cannot influence, forgotten: see
/// [`forget_crashed`] and [`drop_dead_messages`].
fn forget(state: &State) -> State {
    let mut state = forget_crashed(state);
    drop_dead_messages(&mut state, ignored_forever);
    state
}

/// Whether an actor in state `receiver` will never act on `msg` from `src`.
pub fn ignored_forever(receiver: &NodeState, src: Id, msg: &RaftMsg) -> bool {
    match receiver {
        Node::Server(s) => s.ignores_forever(src, msg),
        Node::Client(c) => msg.as_client().is_some_and(|m| c.ignores_forever(m)),
    }
}

/// [`forget`], then servers renamed in the order of their term, role, log and commit
/// index (see [`sort_servers`]).
fn forget_and_sort(state: &State) -> State {
    sort_servers(forget(state), |s, crashed| {
        let role = match s.role {
            Role::Follower { .. } => 0,
            Role::Candidate { .. } => 1,
            Role::Leader(_) => 2,
        };
        hash_key((crashed, s.term, role, &s.log, s.commit))
    })
}

type Condition = fn(&RaftModel, &State) -> bool;

/// Every property of the Raft model; a check includes those it judges.
pub const PROPERTIES: [(Expectation, &str, Condition); 10] = [
    (Expectation::Always, "election safety", election_safety),
    (Expectation::Always, "log matching", log_matching),
    (
        Expectation::Always,
        "leader completeness",
        leader_completeness,
    ),
    (
        Expectation::Always,
        "state machine safety",
        state_machine_safety,
    ),
    (Expectation::Always, "linearizable", linearizable),
    (
        Expectation::Sometimes,
        "a leader is elected",
        leader_elected,
    ),
    (Expectation::Sometimes, "a write commits", write_commits),
    (
        Expectation::Sometimes,
        "a new leader after the old one crashed",
        leader_after_crash,
    ),
    (
        Expectation::Sometimes,
        "a retried request is suppressed as a duplicate",
        duplicate_suppressed,
    ),
    (Expectation::Sometimes, "every client finishes", all_done),
];

/// Live servers with their index.
fn live_servers(state: &State) -> impl Iterator<Item = (usize, &RaftState<KvStore>)> {
    state
        .actor_states
        .iter()
        .enumerate()
        .filter(|(i, _)| !state.crashed[*i])
        .filter_map(|(i, s)| s.server().map(|s| (i, s)))
}

fn clients(state: &State) -> impl Iterator<Item = &ClientState> {
    state.actor_states.iter().filter_map(|s| s.client())
}

/// The bounds of the search. Only servers crash: stateright's `max_crashes` counts every
/// actor, so states with a crashed client are outside the model.
fn within_boundary(cfg: &RaftCfg, state: &State) -> bool {
    let clients_up = state
        .actor_states
        .iter()
        .zip(&state.crashed)
        .all(|(s, crashed)| s.server().is_some() || !crashed);
    let servers_ok = state
        .actor_states
        .iter()
        .filter_map(|s| s.server())
        .enumerate()
        .all(|(i, s)| {
            let campaigns = !matches!(s.role, Role::Follower { .. });
            s.term <= cfg.max_term
                && s.log.len() <= cfg.max_log
                && (i < cfg.campaigners || !campaigns)
        });
    let resends: usize = clients(state).map(|c| usize::from(c.resends)).sum();
    clients_up && servers_ok && resends <= usize::from(cfg.max_resends)
}

/// Figure 3, Election Safety: at most one leader in a term.
fn election_safety(_: &RaftModel, state: &State) -> bool {
    let mut leader_terms: Vec<Term> = live_servers(state)
        .filter(|(_, s)| s.is_leader())
        .map(|(_, s)| s.term)
        .collect();
    let leaders = leader_terms.len();
    leader_terms.sort_unstable();
    leader_terms.dedup();
    leader_terms.len() == leaders
}

/// Figure 3, Log Matching: if two logs have an entry with the same index and term, the
/// logs are identical up to that index.
fn log_matching(_: &RaftModel, state: &State) -> bool {
    let servers: Vec<_> = live_servers(state).map(|(_, s)| s).collect();
    servers.iter().enumerate().all(|(i, a)| {
        servers[i + 1..].iter().all(|b| {
            let common = a.log.len().min(b.log.len());
            match (0..common).rev().find(|&k| a.log[k].term == b.log[k].term) {
                Some(k) => a.log[..=k] == b.log[..=k],
                None => true,
            }
        })
    })
}

/// Figure 3, Leader Completeness: an entry committed in some term is in the log of the
/// leader of every later term. A server's commit index was learned in a term no later
/// than its current term, so every live leader of a term at least that one must hold it.
fn leader_completeness(_: &RaftModel, state: &State) -> bool {
    live_servers(state).all(|(_, s)| {
        live_servers(state)
            .filter(|(_, l)| l.is_leader() && l.term >= s.term)
            .all(|(_, l)| {
                let n = s.commit as usize;
                l.log.len() >= n && l.log[..n] == s.log[..n]
            })
    })
}

/// Figure 3, State Machine Safety: no two servers apply different entries at one index.
fn state_machine_safety(_: &RaftModel, state: &State) -> bool {
    let servers: Vec<_> = live_servers(state).map(|(_, s)| s).collect();
    servers.iter().enumerate().all(|(i, a)| {
        servers[i + 1..].iter().all(|b| {
            let n = a.commit.min(b.commit) as usize;
            a.log[..n] == b.log[..n]
        })
    })
}

fn linearizable(_: &RaftModel, state: &State) -> bool {
    state.history.is_linearizable()
}

fn leader_elected(_: &RaftModel, state: &State) -> bool {
    live_servers(state).any(|(_, s)| s.is_leader())
}

fn write_commits(_: &RaftModel, state: &State) -> bool {
    live_servers(state).any(|(_, s)| s.log[..s.commit as usize].iter().any(|e| !e.op.is_read()))
}

/// A crashed server's last state shows it leading, and a live server leads a later term.
fn leader_after_crash(_: &RaftModel, state: &State) -> bool {
    let crashed_leader_term = state
        .actor_states
        .iter()
        .enumerate()
        .filter(|(i, _)| state.crashed[*i])
        .filter_map(|(_, s)| s.server())
        .filter(|s| matches!(s.role, Role::Leader(_)))
        .map(|s| s.term)
        .min();
    crashed_leader_term
        .is_some_and(|t| live_servers(state).any(|(_, s)| s.is_leader() && s.term > t))
}

/// Some server has applied two log entries with the same (client, sequence).
fn duplicate_suppressed(_: &RaftModel, state: &State) -> bool {
    live_servers(state).any(|(_, s)| {
        let applied = &s.log[..s.replica.applied as usize];
        applied.iter().enumerate().any(|(i, a)| {
            applied[i + 1..]
                .iter()
                .any(|b| (a.client, a.seq) == (b.client, b.seq))
        })
    })
}

fn all_done(model: &RaftModel, state: &State) -> bool {
    clients(state).all(|c| c.next == model.cfg.ops)
}

/// The default `raft` check: 3 servers, 2 clients with a put and a get each.
pub fn base() -> RaftCfg {
    RaftCfg {
        servers: 3,
        clients: 2,
        ops: 2,
        max_term: 2,
        max_log: 2,
        max_crashes: 1,
        campaigners: 3,
        max_resends: 0,
        duplicating: false,
        announce: false,
        bug: None,
    }
}
