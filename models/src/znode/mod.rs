//! The znode models: ZooKeeper's client protocol over Raft (3 servers unless a check says
//! otherwise) on FIFO channels, with clients running scripts of calls or the counter recipe, and the
//! properties of the notes' ZooKeeper parts: linearizable writes, possibly stale reads,
//! `sync`, sessions and ephemeral nodes, watches, mini-transactions.
//!
//! - this module: the configuration, the model, the bounds and the properties every znode
//!   model shares;
//! - [`counter`]: the counter recipe's checks;
//! - [`script`]: the checks of clients running scripts (reads, sync, ephemerals, watches).

pub mod counter;
pub mod script;

use crate::build::client_model;
use crate::history::History;
use crate::node::Node;
use crate::registry::{Bounds, ModelCfg};
use coord::client::RETRY_AT;
use coord::raft::{Index, RaftServer, Role, Term};
use coord::znode::client::{Program, ZkClient, ZkClientState};
use coord::znode::{ZkBug, ZkMsg, ZkServer, ZkServerState};
use coord_specs::znode::ZnodeSpec;
use stateright::actor::{model_timeout, Actor, ActorModel, ActorModelState, Id, Network};
use stateright::Expectation;

pub type ZnodeNode<P> = Node<ZkServer, ZkClient<P>>;
pub type ZnodeModel<P> = ActorModel<ZnodeNode<P>, ZnodeCfg<P>, History<ZnodeSpec>>;
pub type State<P> = ActorModelState<ZnodeNode<P>, History<ZnodeSpec>>;
pub type Condition<P> = fn(&ZnodeModel<P>, &State<P>) -> bool;
pub type Property<P> = crate::build::Property<ZnodeNode<P>, ZnodeCfg<P>, History<ZnodeSpec>>;

/// A program whose model has properties of its own (beyond those of every znode model).
pub trait Judged: Program<State: Send + Sync> + Send + Sync + 'static {
    fn properties() -> Vec<Property<Self>>;
}

/// The size, bounds and faults of one znode model.
#[derive(Clone, Debug)]
pub struct ZnodeCfg<P> {
    pub servers: usize,
    /// Each client's first server (an index into the servers) and program.
    pub clients: Vec<(usize, P)>,
    /// Only servers `s0` up to this many may campaign (1: a leader fixed in term 1).
    pub campaigners: usize,
    pub max_term: Term,
    pub max_log: usize,
    pub max_crashes: usize,
    /// States where the clients together have resent more calls are not explored.
    pub max_resends: u8,
    /// Whether the leader expires sessions.
    pub expiry: bool,
    /// Whether the history is also judged for sequential consistency.
    pub sequential: bool,
    pub bug: Option<ZkBug>,
}

impl<P: Judged> ZnodeCfg<P> {
    /// Three servers, any of which may be elected in term 1, no faults, the given clients.
    pub fn new(clients: Vec<(usize, P)>) -> Self {
        ZnodeCfg {
            servers: 3,
            clients,
            campaigners: 3,
            max_term: 1,
            max_log: 6,
            max_crashes: 0,
            max_resends: 0,
            expiry: false,
            sequential: false,
            bug: None,
        }
    }

    /// Applies the size overrides given on the command line.
    pub fn with(mut self, b: &Bounds) -> Self {
        self.servers = b.servers.unwrap_or(self.servers);
        if let Some(n) = b.clients {
            self.clients.truncate(n);
        }
        self.max_term = b.max_term.unwrap_or(self.max_term);
        self.max_log = b.max_log.unwrap_or(self.max_log);
        self.max_crashes = b.max_crashes.unwrap_or(self.max_crashes);
        self.max_resends = b.max_resends.unwrap_or(self.max_resends);
        self.campaigners = b.campaigners.unwrap_or(self.campaigners);
        self
    }

    /// Builds the model with the properties named in `judged`.
    pub fn into_model(self, judged: &[&str]) -> Result<ZnodeModel<P>, String> {
        if self.servers == 0 || self.servers + self.clients.len() > 16 {
            return Err("a znode model needs 1 to 16 actors, at least one a server".into());
        }
        let server_ids: Vec<Id> = (0..self.servers).map(Id::from).collect();
        let expiry = self.expiry.then(model_timeout);
        let servers = server_ids.iter().map(|&me| {
            let peers = server_ids.iter().copied().filter(|&p| p != me).collect();
            let raft = RaftServer::new(peers, model_timeout());
            let server = ZkServer::new(raft)
                .with_session_timeout(expiry.clone())
                .with_bug(self.bug);
            Node::Server(server)
        });
        let clients = self.clients.iter().map(|(first, program)| {
            let client =
                ZkClient::new(server_ids.clone(), *first, program.clone(), model_timeout());
            Node::Client(client)
        });
        // ZooKeeper runs over TCP, and its atomic broadcast relies on FIFO channels: every
        // channel (a pair of actors, one way) delivers in order, and loses nothing.
        let network = Network::new_ordered([]);
        let history = if self.sequential {
            History::with_sequential(ZnodeSpec::default())
        } else {
            History::new(ZnodeSpec::default())
        };
        let properties = common().into_iter().chain(P::properties());
        let model = client_model(
            self.clone(),
            history,
            servers.chain(clients),
            network,
            self.max_crashes,
            properties,
            judged,
        );
        Ok(model.within_boundary(within_boundary))
    }
}

impl<P: Judged> ModelCfg<ZnodeNode<P>, History<ZnodeSpec>> for ZnodeCfg<P> {
    fn actor_name(&self, id: Id) -> String {
        let i = usize::from(id);
        if i < self.servers {
            format!("s{i}")
        } else {
            format!("c{}", i - self.servers)
        }
    }

    /// The only choice is a client's: which server to retry at.
    fn choice_name(&self, key: &str, random: &<ZnodeNode<P> as Actor>::Random) -> String {
        match random {
            Node::Client(server) if key == RETRY_AT => {
                format!("{key} {}", self.actor_name(*server))
            }
            _ => key.to_string(),
        }
    }
}

/// The bounds of the search: terms, log length and campaigners as in the Raft models,
/// resends across all clients; only servers crash.
fn within_boundary<P: Judged>(cfg: &ZnodeCfg<P>, state: &State<P>) -> bool {
    let clients_up = (state.actor_states.iter().zip(&state.crashed))
        .all(|(s, crashed)| s.server().is_some() || !crashed);
    let servers_ok = servers(state).enumerate().all(|(i, s)| {
        let campaigns = !matches!(s.raft.role, Role::Follower { .. });
        s.raft.term <= cfg.max_term
            && s.raft.last_index() <= cfg.max_log as Index
            && (i < cfg.campaigners || !campaigns)
    });
    let resends: usize = clients(state).map(|c| usize::from(c.resends)).sum();
    clients_up && servers_ok && resends <= usize::from(cfg.max_resends)
}

/// Every server's state, crashed or not.
fn servers<P: Program>(state: &State<P>) -> impl Iterator<Item = &ZkServerState> {
    state.actor_states.iter().filter_map(|s| s.server())
}

/// Live servers with their id.
pub fn live_servers<P: Program>(state: &State<P>) -> impl Iterator<Item = (Id, &ZkServerState)> {
    (state.actor_states.iter().enumerate())
        .filter(|(i, _)| !state.crashed[*i])
        .filter_map(|(i, s)| s.server().map(|s| (Id::from(i), s)))
}

/// Every message in flight, with its sender. (stateright 0.31's `Network::iter_all` never
/// ends on an ordered network with a channel holding two messages, so the channels are
/// walked here.)
pub fn in_flight<P: Program>(state: &State<P>) -> Vec<(Id, &ZkMsg)> {
    match &state.network {
        Network::Ordered(channels) => (channels.iter())
            .flat_map(|((src, _), msgs)| msgs.iter().map(|m| (*src, m)))
            .collect(),
        _ => unreachable!("znode models run on FIFO channels"),
    }
}

/// Every client's state, with its id.
pub fn clients_with_ids<P: Program>(
    state: &State<P>,
) -> impl Iterator<Item = (Id, &ZkClientState<P::State>)> {
    (state.actor_states.iter().enumerate())
        .filter_map(|(i, s)| s.client().map(|c| (Id::from(i), c)))
}

pub fn clients<P: Program>(state: &State<P>) -> impl Iterator<Item = &ZkClientState<P::State>> {
    clients_with_ids(state).map(|(_, c)| c)
}

/// The properties every znode model may judge.
fn common<P: Judged>() -> Vec<Property<P>> {
    vec![
        (Expectation::Always, "linearizable", linearizable),
        (
            Expectation::Always,
            "sequentially consistent",
            sequentially_consistent,
        ),
        (
            Expectation::Sometimes,
            "a leader is elected",
            leader_elected,
        ),
        (Expectation::Sometimes, "every client finishes", all_done),
    ]
}

/// Linearizability of what clients saw, against the znode spec (stateright's
/// `LinearizabilityTester`).
fn linearizable<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    state.history.is_linearizable()
}

/// Sequential consistency (stateright's `SequentialConsistencyTester`): one order of all
/// operations that keeps each client's order, real time aside. ZooKeeper promises this
/// for reads, and linearizability for writes.
fn sequentially_consistent<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    state.history.is_sequentially_consistent()
}

fn leader_elected<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    live_servers(state).any(|(_, s)| s.raft.is_leader())
}

fn all_done<P: Judged>(_: &ZnodeModel<P>, state: &State<P>) -> bool {
    clients(state).all(|c| c.done)
}
