//! The chain replication model: chain nodes replicating the key-value map, the
//! configuration manager, clients running short scripts, FIFO links (the paper's
//! assumption) or links that lose, repeat and reorder messages (UDP's), and fail-stop
//! failures of nodes, with the properties of the chain replication and CRAQ papers plus
//! linearizability of what clients see. The manager is the paper's single master that never
//! fails, or (the `chain-managers` family) a Raft group of replicas that may restart, and
//! (`chain-power-loss`) every node and replica may restart at once.

use crate::cfg::{Bounds, ModelCfg, Representative};
use crate::check::{all_hold, Check};
use crate::dead_messages::drop_dead_messages;
use crate::history::History;
use crate::monotonic::ReadOrder;
use crate::node::Node;
use crate::restart::Restarting;
use crate::run::{
    Runnable, Search,
    Verdict::{Holds, Violated},
};
use crate::symmetry::without_dead;
use crate::workload::{get_x, kv_script};
use coord::chain::{
    ChainBug, ChainNode, Config, ConfigManager, Epoch, Links, ManagerBug, ManagerReplica, Msg,
    NodeState, ReadMode,
};
use coord::client::{Client, ClientMsg, ClientState, Wire};
use coord::raft::{RaftServer, Role, Term};
use coord_specs::kv::{KvOp, KvRet, KvSpec};
use stateright::actor::{
    model_timeout, Actor, ActorModel, ActorModelAction, ActorModelState, Envelope, Id,
    LossyNetwork, Network,
};
use stateright::Expectation;
use std::collections::{BTreeMap, BTreeSet};

pub type ChainMsg = Msg<KvOp, KvRet>;
/// The manager: the paper's single master, or one replica of a Raft group.
pub type Manager = Node<ConfigManager, ManagerReplica>;
/// A chain node or a manager: the two kinds of server in a chain model.
pub type Server = Node<ChainNode, Manager>;
pub type ChainClient = Client<KvOp, KvRet, ChainMsg>;
pub type ChainActor = Node<Server, ChainClient>;
pub type ChainModel = ActorModel<ChainActor, ChainCfg, Seen>;
pub type State = ActorModelState<ChainActor, Seen>;
/// The model of a chain whose manager replicas (and, on a power loss, nodes) restart.
pub type RestartingChain = Restarting<ChainActor, ChainCfg, Seen>;

/// What the clients have seen: the history checked for linearizability, and the order of
/// the versions each client read from each node; and what the run's nodes did that their
/// states forget: how many failed, and which one restarted to rejoin. With a Raft group
/// of managers: every configuration a replica published, by epoch (and whether two
/// differed in one epoch), the actors that restarted, and whether a node answered a
/// client's pending request once a power loss was over.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Seen {
    pub history: History<KvSpec>,
    pub reads: ReadOrder,
    pub failures: u8,
    pub rejoined: Option<Id>,
    pub configs: BTreeMap<Epoch, Config>,
    pub split: bool,
    pub restarted: BTreeSet<Id>,
    pub served_again: bool,
}

impl Seen {
    /// A client's first send of a request is an invocation; a node's failure notice and
    /// join request are counted, and a replica's configuration kept.
    fn on_send(cfg: &ChainCfg, seen: &Self, env: Envelope<&ChainMsg>) -> Option<Self> {
        match env.msg {
            Msg::Halted if env.dst == cfg.manager(0) => Some(Seen {
                failures: seen.failures + 1,
                ..seen.clone()
            }),
            Msg::Halted => None,
            Msg::NewConfig(config) | Msg::Resumed(config) if cfg.managers > 0 => {
                let known = seen.configs.get(&config.epoch);
                if known == Some(config) {
                    return None;
                }
                let mut next = seen.clone();
                next.split |= known.is_some();
                next.configs.entry(config.epoch).or_insert(config.clone());
                Some(next)
            }
            Msg::Join { .. } => Some(Seen {
                rejoined: Some(env.src),
                ..seen.clone()
            }),
            Msg::Client(ClientMsg::Reply { seq, .. })
                if !seen.served_again
                    && usize::from(env.src) < cfg.nodes
                    && cfg.all_restarted(seen)
                    && seen.history.awaits(env.dst, *seq) =>
            {
                Some(Seen {
                    served_again: true,
                    ..seen.clone()
                })
            }
            _ => {
                let history = History::on_send(cfg, &seen.history, env)?;
                Some(Seen {
                    history,
                    ..seen.clone()
                })
            }
        }
    }

    /// A client's first answer to its current request, also recorded in the read order
    /// if it answers a read (a late duplicate is not a read the client saw).
    fn on_receive(cfg: &ChainCfg, seen: &Self, env: Envelope<&ChainMsg>) -> Option<Self> {
        let history = History::on_receive(cfg, &seen.history, env)?;
        let reads = seen.reads.on_receive(env);
        Some(Seen {
            history,
            reads: reads.unwrap_or_else(|| seen.reads.clone()),
            ..seen.clone()
        })
    }
}

/// The size and bounds of one chain model.
#[derive(Clone, Debug)]
pub struct ChainCfg {
    pub nodes: usize,
    pub clients: usize,
    /// Operations per client.
    pub ops: usize,
    /// How many nodes may fail (fail-stop) in a run.
    pub max_failures: usize,
    /// Whether a failed node restarts from its storage and rejoins at the tail.
    pub rejoin: bool,
    /// States where the clients together have resent more requests are not explored.
    pub max_resends: u8,
    pub reads: ReadMode,
    /// Whether links may lose and repeat messages, in any order (then the nodes and the
    /// manager resend on their timers), or keep each link in order and lose nothing, as
    /// the paper assumes.
    pub lossy: bool,
    pub bug: Option<ChainBug>,
    /// 0 for the paper's single manager that never fails; otherwise the replicas of the
    /// Raft group that runs the manager.
    pub managers: usize,
    /// With a Raft group: states with a replica in a higher term, or a longer log, are not
    /// explored; only the first `campaigners` replicas stand for election, taking turns
    /// (term `t` is contested by replica `(t - 1) mod campaigners` alone).
    pub max_term: Term,
    pub max_log: usize,
    pub campaigners: usize,
    pub restart: Restart,
    pub manager_bug: Option<ManagerBug>,
}

/// Which actors restart from their storage (a crash and a restart in one step, see
/// [`Restarting`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Restart {
    /// None does.
    Never,
    /// One manager replica, once, at any step.
    OneManager,
    /// A power loss: every node and every manager replica, once, all at once (no other
    /// step happens until each of them has restarted), once every client's first write
    /// was acknowledged (so every node has data to restart on).
    PowerLoss,
}

impl ChainCfg {
    /// Applies the size overrides given on the command line (`--servers` is the number of
    /// chain nodes, `--max-crashes` the number of node failures).
    pub fn with(mut self, b: &Bounds) -> Self {
        self.nodes = b.servers.unwrap_or(self.nodes);
        self.clients = b.clients.unwrap_or(self.clients);
        self.ops = b.ops.unwrap_or(self.ops);
        self.max_failures = b.max_crashes.unwrap_or(self.max_failures);
        self.max_resends = b.max_resends.unwrap_or(self.max_resends);
        self.max_term = b.max_term.unwrap_or(self.max_term);
        self.max_log = b.max_log.unwrap_or(self.max_log);
        self.campaigners = b.campaigners.unwrap_or(self.campaigners);
        self
    }

    /// The manager, or the replicas of its Raft group.
    fn manager_count(&self) -> usize {
        self.managers.max(1)
    }

    fn manager(&self, i: usize) -> Id {
        Id::from(self.nodes + i)
    }

    fn manager_ids(&self) -> Vec<Id> {
        (0..self.manager_count()).map(|i| self.manager(i)).collect()
    }

    fn is_manager(&self, id: Id) -> bool {
        (self.nodes..self.nodes + self.manager_count()).contains(&usize::from(id))
    }

    fn client_id(&self, c: usize) -> Id {
        Id::from(self.nodes + self.manager_count() + c)
    }

    /// True once a power loss is over: every node and replica has restarted.
    fn all_restarted(&self, seen: &Seen) -> bool {
        self.restart == Restart::PowerLoss
            && seen.restarted.len() == self.nodes + self.manager_count()
    }

    /// Client `c`'s first node (an index into the chain) and script. With reads at the
    /// tail every client writes first at the head; with CRAQ reads client 0 writes and
    /// every other client only reads, starting at node `c`, so that reads meet dirty keys
    /// at every position.
    fn plan(&self, c: usize) -> (usize, Vec<KvOp>) {
        match self.reads {
            ReadMode::Tail => (0, kv_script(c, self.ops)),
            ReadMode::Craq | ReadMode::Newest if c == 0 => (0, kv_script(c, self.ops)),
            ReadMode::Craq | ReadMode::Newest => (c % self.nodes, vec![get_x(); self.ops]),
        }
    }

    /// The model of a chain with a Raft group of managers, with restarts.
    pub fn into_restarting(self, judged: &[&str]) -> RestartingChain {
        Restarting::new(self.into_model(judged).max_crashes(1))
    }

    /// One manager: the single one, or replica `i` of the group.
    fn manager_actor(&self, i: usize, members: &[Id]) -> ChainActor {
        let manager = match self.managers {
            0 => Node::Server(ConfigManager {
                members: members.to_vec(),
                republish: self.lossy.then(model_timeout),
            }),
            _ => {
                let me = self.manager(i);
                let peers = self.manager_ids().into_iter().filter(|&p| p != me);
                Node::Client(ManagerReplica {
                    raft: RaftServer::new(peers.collect(), model_timeout()),
                    members: members.to_vec(),
                    detector: None,
                    republish: self.lossy.then(model_timeout),
                    bug: self.manager_bug,
                })
            }
        };
        Node::Server(Node::Client(manager))
    }

    /// Builds the model with the properties named in `judged` (see [`PROPERTIES`]).
    pub fn into_model(self, judged: &[&str]) -> ChainModel {
        let members: Vec<Id> = (0..self.nodes).map(Id::from).collect();
        let nodes = members.iter().map(|_| {
            Node::Server(Node::Server(ChainNode {
                managers: self.manager_ids(),
                members: members.clone(),
                reads: self.reads,
                halt: Some(model_timeout()),
                heartbeat: None,
                links: match self.lossy {
                    true => Links::Lossy {
                        resend: model_timeout(),
                    },
                    false => Links::Fifo,
                },
                lease: None,
                rejoin: self.rejoin.then(model_timeout),
                copy_chunk: usize::MAX,
                bug: self.bug,
            }))
        });
        let managers = (0..self.manager_count()).map(|i| self.manager_actor(i, &members));
        let mut servers = members.clone();
        servers.extend(self.manager_ids());
        let clients = (0..self.clients).map(|c| {
            let (first, script) = self.plan(c);
            Node::Client(ChainClient::new(
                servers.clone(),
                first,
                script,
                model_timeout(),
            ))
        });
        let seen = Seen {
            history: History::new(KvSpec::default()),
            reads: ReadOrder::default(),
            failures: 0,
            rejoined: None,
            configs: BTreeMap::new(),
            split: false,
            restarted: BTreeSet::new(),
            served_again: false,
        };
        let (network, lossy) = match self.lossy {
            true => (Network::new_unordered_duplicating([]), LossyNetwork::Yes),
            false => (Network::new_ordered([]), LossyNetwork::No),
        };
        let mut model = ActorModel::new(self.clone(), seen)
            .actors(nodes)
            .actors(managers)
            .actors(clients)
            .init_network(network)
            .lossy_network(lossy)
            .record_msg_out(Seen::on_send)
            .record_msg_in(Seen::on_receive)
            .within_boundary(within_boundary);
        for (expectation, name, condition) in PROPERTIES {
            if judged.contains(&name) {
                model = model.property(expectation, name, condition);
            }
        }
        model
    }
}

impl ModelCfg<ChainActor, Seen> for ChainCfg {
    fn actor_name(&self, id: Id) -> String {
        let i = usize::from(id);
        if i < self.nodes {
            format!("n{i}")
        } else if self.is_manager(id) && self.managers == 0 {
            "manager".to_string()
        } else if self.is_manager(id) {
            format!("m{}", i - self.nodes)
        } else {
            format!("c{}", i - self.nodes - self.manager_count())
        }
    }

    /// Manager replicas restart; on a power loss, nodes too. Clients never do: their
    /// scripts and histories are stored nowhere.
    fn may_crash(&self, id: Id) -> bool {
        match self.restart {
            Restart::Never => false,
            Restart::OneManager => self.is_manager(id),
            Restart::PowerLoss => usize::from(id) < self.nodes || self.is_manager(id),
        }
    }

    /// Each actor restarts once; only one replica with [`Restart::OneManager`]; on a power
    /// loss, nothing else happens from the first restart until the last.
    fn allows(&self, state: &State, action: &crate::cfg::Action<ChainActor>) -> bool {
        let restarted = &state.history.restarted;
        let crash = match action {
            ActorModelAction::Crash(id) => Some(*id),
            _ => None,
        };
        match (self.restart, crash) {
            (Restart::OneManager, Some(_)) => restarted.is_empty(),
            (Restart::PowerLoss, Some(id)) => {
                !restarted.contains(&id) && clients(state).all(|c| c.next > 0)
            }
            (Restart::PowerLoss, None) => {
                restarted.is_empty() || self.all_restarted(&state.history)
            }
            (Restart::Never, Some(_)) => false,
            (_, None) => true,
        }
    }

    fn on_restart(&self, id: Id, _before: &ActorState, history: &Seen) -> Option<Seen> {
        let mut seen = history.clone();
        seen.restarted.insert(id);
        Some(seen)
    }

    /// The only choice is a client's: which server to retry at.
    fn choice_name(&self, key: &str, random: &<ChainActor as Actor>::Random) -> String {
        match random {
            Node::Client(server) => format!("{key} {}", self.actor_name(*server)),
            Node::Server(_) => key.to_string(),
        }
    }

    /// Messages their receiver will never act on are dropped; with the old-epoch bug only
    /// those to halted nodes, since the buggy nodes act on old epochs.
    fn representative(&self) -> Option<Representative<ChainActor, Seen>> {
        if self.bug == Some(ChainBug::OldEpoch) {
            Some(|state| forget(state, halted_receiver))
        } else {
            Some(|state| forget(state, ignored_forever))
        }
    }

    /// In the models run through [`Restarting`] (a Raft group of managers), the messages
    /// the representative leaves out are dropped from the states explored as well: on
    /// FIFO links a message ignored at the front of its flow would otherwise hold back
    /// the messages behind it in every state of its class (a restarted replica's repeated
    /// configuration before its `Resumed`, say), and the search would never deliver them.
    fn tidy(&self, state: &mut State) {
        match self.bug {
            Some(ChainBug::OldEpoch) => drop_dead_messages(state, halted_receiver),
            _ => drop_dead_messages(state, ignored_forever),
        }
    }
}

/// Whether the receiver is a halted node, which acts on nothing.
fn halted_receiver(receiver: &ActorState, _: Id, _: &ChainMsg) -> bool {
    matches!(receiver, Node::Server(Node::Server(n)) if n.halted)
}

type ActorState = <ChainActor as Actor>::State;

/// `state` without the messages that `dead` declares ignored forever (see
/// [`without_dead`]).
fn forget(state: &State, dead: fn(&ActorState, Id, &ChainMsg) -> bool) -> State {
    without_dead(state, dead)
}

/// Whether an actor in state `receiver` will never act on `msg`.
pub fn ignored_forever(receiver: &ActorState, src: Id, msg: &ChainMsg) -> bool {
    match receiver {
        Node::Server(Node::Server(n)) => n.ignores_forever(msg),
        Node::Server(Node::Client(Node::Client(r))) => match msg {
            Msg::Manager(msg) => r.raft.ignores_forever(src, msg),
            _ => false,
        },
        Node::Server(Node::Client(Node::Server(_))) => false,
        Node::Client(c) => msg.as_client().is_some_and(|m| c.ignores_forever(m)),
    }
}

type Condition = fn(&ChainModel, &State) -> bool;

/// Every property of the chain model; a check includes those it judges.
pub const PROPERTIES: [(Expectation, &str, Condition); 13] = [
    (Expectation::Always, "linearizable", linearizable),
    (
        Expectation::Always,
        "reads at one node never go back",
        monotonic_reads,
    ),
    (Expectation::Always, "no split brain", no_split_brain),
    (
        Expectation::Always,
        "one configuration per epoch",
        |_, s| !s.history.split,
    ),
    (
        Expectation::Always,
        "update propagation",
        update_propagation,
    ),
    (
        Expectation::Always,
        "an acknowledged write is never lost",
        acknowledged_writes_kept,
    ),
    (
        Expectation::Sometimes,
        "the head fails and a later write commits",
        |_, s| recovers_after(s, Position::Head),
    ),
    (
        Expectation::Sometimes,
        "a middle node fails and a later write commits",
        |_, s| recovers_after(s, Position::Middle),
    ),
    (
        Expectation::Sometimes,
        "the tail fails and a later write commits",
        |_, s| recovers_after(s, Position::Tail),
    ),
    (
        Expectation::Sometimes,
        "a failed node rejoins at the tail and a later write commits",
        rejoined_and_committed,
    ),
    (
        Expectation::Sometimes,
        "a dirty read is resolved by the tail",
        dirty_read_resolved,
    ),
    (Expectation::Sometimes, "every client finishes", all_done),
    (Expectation::Sometimes, SERVED_AGAIN, |_, s| {
        s.history.served_again
    }),
];

/// The power loss's example: the chain serves once more, by a node's answer, sent after
/// the last restart, to a request its client still awaits (not a repeated answer).
const SERVED_AGAIN: &str = "a node answers a client after every node and replica restarted";

/// Every chain node with its id.
fn nodes(state: &State) -> impl Iterator<Item = (Id, &NodeState)> {
    state
        .actor_states
        .iter()
        .enumerate()
        .filter_map(|(i, a)| match &**a {
            Node::Server(Node::Server(n)) => Some((Id::from(i), n)),
            _ => None,
        })
}

/// The nodes that have not halted.
fn live_nodes(state: &State) -> impl Iterator<Item = (Id, &NodeState)> {
    nodes(state).filter(|(_, n)| !n.halted)
}

/// The nodes that serve: live, and not joining (a joining node's history is a partial
/// copy, or stale updates from before its failure, and it acts on neither).
fn serving(state: &State, id: Id) -> Option<&NodeState> {
    node(state, id).filter(|n| !n.halted && !n.is_joining())
}

fn node(state: &State, id: Id) -> Option<&NodeState> {
    match &*state.actor_states[usize::from(id)] {
        Node::Server(Node::Server(n)) => Some(n),
        _ => None,
    }
}

/// The manager's (newest) configuration: the single manager's, or the newest a replica
/// of the group published (the first chain before any).
fn newest(model: &ChainModel, state: &State) -> Config {
    match &*state.actor_states[usize::from(model.cfg.manager(0))] {
        Node::Server(Node::Client(Node::Server(manager))) => manager.config.clone(),
        _ => (state.history.configs.values().next_back().cloned()).unwrap_or_else(|| {
            let members: Vec<Id> = (0..model.cfg.nodes).map(Id::from).collect();
            coord::chain::manager::first(&members)
        }),
    }
}

/// The manager replicas, in order.
fn replicas(state: &State) -> impl Iterator<Item = &coord::chain::ReplicaState> {
    state.actor_states.iter().filter_map(|a| match &**a {
        Node::Server(Node::Client(Node::Client(r))) => Some(r),
        _ => None,
    })
}

fn clients(state: &State) -> impl Iterator<Item = &ClientState> {
    state.actor_states.iter().filter_map(|a| a.client())
}

/// The bounds of the search: at most `max_failures` failures (a rejoined node's included)
/// and `max_resends` resends; with a Raft group, the replicas' terms, logs and turns to
/// campaign (see [`ChainCfg::max_term`]).
fn within_boundary(cfg: &ChainCfg, state: &State) -> bool {
    let resends: usize = clients(state).map(|c| usize::from(c.resends)).sum();
    let replicas_ok = replicas(state).enumerate().all(|(i, r)| {
        let raft = &r.raft;
        let campaigns = !matches!(raft.role, Role::Follower { .. });
        let in_turn = cfg.campaigners >= cfg.managers
            || (i < cfg.campaigners
                && (raft.term as usize).saturating_sub(1) % cfg.campaigners == i);
        raft.term <= cfg.max_term
            && raft.last_index() <= cfg.max_log as u64
            && (!campaigns || in_turn)
    });
    usize::from(state.history.failures) <= cfg.max_failures
        && resends <= usize::from(cfg.max_resends)
        && replicas_ok
}

fn linearizable(_: &ChainModel, state: &State) -> bool {
    state.history.history.is_linearizable()
}

/// CRAQ's eventual reads: a client reading one node never sees a version go back.
fn monotonic_reads(_: &ChainModel, state: &State) -> bool {
    state.history.reads.is_monotonic()
}

/// No split brain: two live nodes in one epoch agree on the members, so no two nodes act
/// as head, or as tail, in one epoch; and no node is ahead of the manager.
fn no_split_brain(model: &ChainModel, state: &State) -> bool {
    let epoch = newest(model, state).epoch;
    let live: Vec<_> = live_nodes(state).map(|(_, n)| &n.config).collect();
    live.iter()
        .all(|a| a.epoch <= epoch && live.iter().all(|b| a.epoch != b.epoch || a == b))
}

/// Update propagation (van Renesse and Schneider, section 3): along the newest chain,
/// each serving node's history is a prefix of its serving predecessor's.
fn update_propagation(model: &ChainModel, state: &State) -> bool {
    newest(model, state).members.windows(2).all(|pair| {
        match (serving(state, pair[0]), serving(state, pair[1])) {
            (Some(a), Some(b)) => a.extends(b),
            _ => true,
        }
    })
}

/// Every write a client has seen acknowledged is held by every serving member of the
/// newest configuration (a joining member holds it once its copy is complete), so no
/// failure within the bounds can lose it.
fn acknowledged_writes_kept(model: &ChainModel, state: &State) -> bool {
    let cfg = &model.cfg;
    let holders: Vec<&NodeState> = newest(model, state)
        .members
        .iter()
        .filter_map(|&id| serving(state, id))
        .collect();
    clients(state).enumerate().all(|(c, client)| {
        let id = cfg.client_id(c);
        let (_, script) = cfg.plan(c);
        script[..client.next]
            .iter()
            .enumerate()
            .filter(|(_, op)| !op.is_read())
            .all(|(i, _)| {
                let seq = i as u64 + 1;
                holders
                    .iter()
                    .all(|n| n.history.iter().any(|u| u.client == id && u.seq == seq))
            })
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Position {
    Head,
    Middle,
    Tail,
}

/// A node that halted while at `position` of its chain, and a live tail has committed a
/// write that the head accepted in a later epoch.
fn recovers_after(state: &State, position: Position) -> bool {
    let failed_epoch = nodes(state)
        .filter(|(id, n)| {
            let at = if n.is_head(*id) {
                Position::Head
            } else if n.is_tail(*id) {
                Position::Tail
            } else {
                Position::Middle
            };
            n.halted && at == position
        })
        .map(|(_, n)| n.config.epoch)
        .min();
    failed_epoch.is_some_and(|epoch| {
        live_nodes(state).any(|(id, n)| {
            n.is_tail(id) && n.history.iter().take(n.committed).any(|u| u.epoch > epoch)
        })
    })
}

/// Extending a chain: the node that failed and restarted is the tail, its copy complete,
/// and it has committed a write that the head accepted in its current epoch, after it
/// joined.
fn rejoined_and_committed(_: &ChainModel, state: &State) -> bool {
    state.history.rejoined.is_some_and(|id| {
        serving(state, id).is_some_and(|n| {
            let epoch = n.config.epoch;
            n.is_tail(id) && n.history.iter().take(n.committed).any(|u| u.epoch == epoch)
        })
    })
}

/// CRAQ: the tail has answered a version query for a dirty read.
fn dirty_read_resolved(_: &ChainModel, state: &State) -> bool {
    state
        .network
        .iter_deliverable()
        .any(|e| matches!(e.msg, Msg::Committed { .. }))
}

fn all_done(model: &ChainModel, state: &State) -> bool {
    clients(state).all(|c| c.next == model.cfg.ops)
}

/// The default `chain` check: 3 nodes, 2 clients with a put and a get each, one failure.
pub fn base() -> ChainCfg {
    ChainCfg {
        nodes: 3,
        clients: 2,
        ops: 2,
        max_failures: 1,
        rejoin: false,
        max_resends: 2,
        reads: ReadMode::Tail,
        lossy: false,
        bug: None,
        managers: 0,
        max_term: 0,
        max_log: 0,
        campaigners: 0,
        restart: Restart::Never,
        manager_bug: None,
    }
}

// ---------------------------------------------------------------------------------------
// The named checks of chain replication and CRAQ.
// ---------------------------------------------------------------------------------------

const CHAIN_SAFETY: [&str; 4] = [
    "linearizable",
    "no split brain",
    "update propagation",
    "an acknowledged write is never lost",
];
const CHAIN_FAILOVERS: [&str; 4] = [
    "the head fails and a later write commits",
    "a middle node fails and a later write commits",
    "the tail fails and a later write commits",
    "every client finishes",
];

/// The failovers judged on lossy links and with a Raft group of managers: a head's failure
/// needs the client's retry (its request went to the failed head), which their quick
/// sizes (no resends) leave out.
const RETRYLESS_FAILOVERS: [&str; 3] = [
    "a middle node fails and a later write commits",
    "the tail fails and a later write commits",
    "every client finishes",
];

const REJOIN_EXAMPLE: &str = "a failed node rejoins at the tail and a later write commits";

/// The `chain-rejoin` model: the chain, where the failed node restarts from its storage
/// and rejoins at the tail.
/// Each client writes once and the clients resend at most once: with 2 resends the
/// model has 6.5M states (650 s on the shared machine), with 1 it has 0.6M.
fn rejoin_base() -> ChainCfg {
    ChainCfg {
        rejoin: true,
        ops: 1,
        max_resends: 1,
        ..base()
    }
}

/// The `chain-lossy` model: the chain on links that lose and repeat messages, in any
/// order, with the nodes' and the manager's resend timers on. Two nodes and two clients
/// writing at once, so that an update can arrive after a gap as well as twice; no
/// failure (see `chain-lossy-failover`). With 3 nodes the model has more than 5M states.
fn lossy_base() -> ChainCfg {
    ChainCfg {
        lossy: true,
        nodes: 2,
        ops: 1,
        max_failures: 0,
        max_resends: 1,
        ..base()
    }
}

/// The `chain-lossy-failover` model: 3 nodes on lossy links, one client's write, and one
/// failure (head, middle or tail), so that configurations, `Holding` and `Halted` may be
/// lost or repeated too.
fn lossy_failover_base() -> ChainCfg {
    ChainCfg {
        nodes: 3,
        clients: 1,
        max_failures: 1,
        ..lossy_base()
    }
}

/// The `chain-managers` model: the chain of 3 with a client's write and one fail-stop
/// failure, its manager a Raft group of 3 replicas of which one may restart at any step.
/// Bounds: terms up to 2, replicas 0 and 1 taking turns to campaign (so a leader of term
/// 1 can be deposed, or restart, while the chain reconfigures), logs of at most 3
/// entries (each term's `Start`, the removal, one more).
fn managers_base() -> ChainCfg {
    ChainCfg {
        clients: 1,
        ops: 1,
        max_resends: 1,
        managers: 3,
        max_term: 2,
        max_log: 3,
        campaigners: 2,
        restart: Restart::OneManager,
        ..base()
    }
}

/// The `chain-power-loss` model: the chain of 3 with a client's put and get, its manager
/// a Raft group of one replica (which restarts from its log), and a power loss at any
/// step after the put was acknowledged: every node and the replica restart at once from
/// their storage. No fail-stop failure. Logs of at most 6 entries: a `Start` per term and
/// a request per node.
fn power_loss_base() -> ChainCfg {
    ChainCfg {
        clients: 1,
        max_failures: 0,
        max_resends: 1,
        managers: 1,
        max_term: 2,
        max_log: 6,
        campaigners: 1,
        restart: Restart::PowerLoss,
        ..base()
    }
}

const MANAGER_SAFETY: [&str; 5] = [
    "linearizable",
    "no split brain",
    "one configuration per epoch",
    "update propagation",
    "an acknowledged write is never lost",
];

/// Checks the sizes that every chain model needs to make sense.
fn chain_model(cfg: ChainCfg, judged: &[&str]) -> Result<Box<dyn Runnable>, String> {
    if cfg.nodes == 0 {
        return Err("--servers (chain nodes) must be at least 1".into());
    }
    if cfg.nodes + cfg.manager_count() + cfg.clients > 16 {
        return Err("at most 16 actors (nodes + managers + clients) fit a model".into());
    }
    if cfg.managers > 0 {
        return Ok(Box::new(cfg.into_restarting(judged)));
    }
    Ok(Box::new(cfg.into_model(judged)))
}

/// A deliberate-bug hunt on the chain: the base model with the bug.
fn chain_bug(bug: ChainBug, b: &Bounds, judged: &[&str]) -> Result<Box<dyn Runnable>, String> {
    let cfg = ChainCfg {
        bug: Some(bug),
        ..base()
    };
    chain_model(cfg.with(b), judged)
}

/// The chain replication and CRAQ checks.
pub fn checks() -> Vec<Check> {
    vec![
        Check {
            name: "chain",
            about: "chain replication, 3 nodes + manager, 2 clients x (put, get), 1 fail-stop failure: linearizable, update propagation, failover",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &CHAIN_FAILOVERS]),
            quick: Bounds {
                clients: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(base().with(b), judged),
        },
        Check {
            name: "craq",
            about: "chain with CRAQ reads at every node: dirty reads resolved by a version query to the tail",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &["a dirty read is resolved by the tail", "every client finishes"]]),
            quick: Bounds {
                ops: Some(1),
                max_crashes: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| {
                let cfg = ChainCfg {
                    reads: ReadMode::Craq,
                    ..base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "craq-eventual",
            about: "documented weakness: CRAQ reads of the newest local version without asking the tail are not linearizable",
            search: Search::Bfs,
            expect: vec![
                ("linearizable", Violated),
                ("reads at one node never go back", Holds),
            ],
            quick: Bounds::default(),
            build: |b, judged| {
                let cfg = ChainCfg {
                    reads: ReadMode::Newest,
                    clients: 3,
                    max_failures: 0,
                    max_resends: 0,
                    ..base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-rejoin",
            about: "chain, 2 clients x put, 1 failure: the failed node restarts from storage and rejoins at the tail after copying its predecessor's history",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &CHAIN_FAILOVERS, &[REJOIN_EXAMPLE]]),
            quick: Bounds {
                clients: Some(1),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(rejoin_base().with(b), judged),
        },
        Check {
            name: "chain-lossy",
            about: "chain of 2 on links that lose, repeat and reorder messages, 2 clients x put: positions on updates, resends on timers, retries answered from the results kept",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &["every client finishes"]]),
            quick: Bounds {
                clients: Some(1),
                max_resends: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(lossy_base().with(b), judged),
        },
        Check {
            name: "chain-lossy-failover",
            about: "chain of 3 on lossy links, 1 client x put, 1 fail-stop failure (head, middle or tail): failover when configurations, resends and failure notices may be lost or repeated",
            search: Search::Dfs,
            expect: all_hold(&[&CHAIN_SAFETY, &RETRYLESS_FAILOVERS]),
            quick: Bounds {
                max_resends: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(lossy_failover_base().with(b), judged),
        },
        Check {
            name: "chain-managers",
            about: "chain of 3, 1 client x put, 1 fail-stop failure, the manager a Raft group of 3 of which one restarts (terms <= 2, 2 campaigners): one configuration per epoch, no split brain, middle and tail failover",
            search: Search::Dfs,
            expect: all_hold(&[&MANAGER_SAFETY, &RETRYLESS_FAILOVERS]),
            // One term, and no resend: with the client's resend the model has 2.7M states
            // even at one term (250 s on one thread).
            quick: Bounds {
                max_term: Some(1),
                max_resends: Some(0),
                ..Bounds::default()
            },
            build: |b, judged| chain_model(managers_base().with(b), judged),
        },
        Check {
            name: "chain-bug-publish-own-state",
            about: "deliberate bug: the manager's leader publishes a change from its own state when it proposes it, so a deposed leader's configuration and the next leader's share an epoch",
            search: Search::Bfs,
            expect: vec![("one configuration per epoch", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                // Two failures, no client: the deposed leader removes one node, the next
                // leader the other.
                let cfg = ChainCfg {
                    clients: 0,
                    max_failures: 2,
                    restart: Restart::Never,
                    manager_bug: Some(ManagerBug::PublishOwnState),
                    ..managers_base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-power-loss",
            about: "chain of 3, 1 client x (put, get), its manager a Raft group of 1: every node and the manager restart at once on their storage (a power loss once the put is acknowledged): safety across the restart, and a node answers a client after it",
            search: Search::Dfs,
            expect: all_hold(&[&MANAGER_SAFETY, &["every client finishes", SERVED_AGAIN]]),
            quick: Bounds::default(),
            build: |b, judged| chain_model(power_loss_base().with(b), judged),
        },
        Check {
            name: "chain-bug-restart-empty",
            about: "deliberate bug: a restarted node ignores its storage and starts with an empty history in the first chain, so after a power loss the chain serves without its acknowledged writes",
            search: Search::Bfs,
            expect: vec![("an acknowledged write is never lost", Violated), ("linearizable", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                let cfg = ChainCfg {
                    bug: Some(ChainBug::RestartEmpty),
                    ..power_loss_base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-bug-no-position",
            about: "deliberate bug: an update is appended wherever it arrives, so after a lost or repeated one the histories diverge",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                let cfg = ChainCfg {
                    bug: Some(ChainBug::NoPosition),
                    ..lossy_base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-bug-keep-stale",
            about: "deliberate bug: a rejoining node keeps the history it stored before it failed, updates the chain never committed included",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| {
                // One client's one write: the head accepts it, fails before forwarding
                // it, and the client's retry at the new head commits it in a later epoch.
                let cfg = ChainCfg {
                    bug: Some(ChainBug::KeepStale),
                    clients: 1,
                    ..rejoin_base()
                };
                chain_model(cfg.with(b), judged)
            },
        },
        Check {
            name: "chain-bug-old-epoch",
            about: "deliberate bug: nodes act on messages of an older epoch, so a failed node's last update lands twice",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| chain_bug(ChainBug::OldEpoch, b, judged),
        },
        Check {
            name: "chain-bug-no-resend",
            about: "deliberate bug: after a reconfiguration a node does not resend what its successor lacks (the middle-failure repair)",
            search: Search::Dfs,
            expect: vec![("update propagation", Violated)],
            quick: Bounds::default(),
            build: |b, judged| chain_bug(ChainBug::NoResend, b, judged),
        },
        Check {
            name: "chain-bug-early-reply",
            about: "deliberate bug: a write is acknowledged when the head accepts it, before the tail applies it",
            search: Search::Bfs,
            expect: vec![("an acknowledged write is never lost", Violated), ("linearizable", Violated)],
            quick: Bounds::default(),
            build: |b, judged| chain_bug(ChainBug::EarlyReply, b, judged),
        },
    ]
}
